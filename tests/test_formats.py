"""Tests of the pagination styles, the XML export and the feeds against the local server, and of
the registry fields that configure them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from connectors import (
    AtomFeedSource,
    HostNotAllowedError,
    HttpClient,
    JsonApiSource,
    PaginationError,
    RecordCountMismatchError,
    RegistryError,
    ResponseFormatError,
    RssFeedSource,
    XmlExportSource,
    fetch_feed,
    fetch_pages,
    load_registry,
    parse_feed_entries,
    parse_xml_records,
)
from connectors import xml_export
from department_systems.catalog import RECORD_FIELDS
from department_systems.server import Fault

pytestmark = pytest.mark.usefixtures("clean_server")

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTICES_FILE = REPO_ROOT / "department_systems" / "data" / "gov_notices.csv"
CATALOG_ITEM_COUNT = 1135
XZSPJ_ITEM_COUNT = 344
URL = "http://127.0.0.1/export/tasks.xml"
STYLES = ("page_number", "offset_limit", "cursor", "next_link")

# Example registry entries of the three portal feeds, as sources.yaml would list them.
FEED_ENTRIES = [
    {
        "id": "portal_notices",
        "name": "门户网站通知公告",
        "format": "rss_feed",
        "base_url": "${HUIJU_DEPT_BASE_URL}/feeds",
        "path": "/notices.rss",
        "content_kind": "notice",
        "owner_department": "门户网站编辑部",
        "contact": "门户网站编辑部",
    },
    {
        "id": "portal_policies",
        "name": "门户网站政策文件",
        "format": "atom_feed",
        "base_url": "${HUIJU_DEPT_BASE_URL}/feeds",
        "path": "/policies.atom",
        "content_kind": "policy_document",
        "owner_department": "门户网站编辑部",
        "contact": "门户网站编辑部",
    },
    {
        "id": "portal_interpretations",
        "name": "门户网站政策解读",
        "format": "rss_feed",
        "base_url": "${HUIJU_DEPT_BASE_URL}/feeds",
        "path": "/interpretations.rss",
        "content_kind": "policy_interpretation",
        "owner_department": "门户网站编辑部",
        "contact": "门户网站编辑部",
    },
]

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE tasks [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<tasks total="1"><task><task_name>&lol9;</task_name></task></tasks>
"""


def external_entity_body(server) -> bytes:
    """An XML body whose entity points at a path of the test server, so a fetch would be recorded."""
    return (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE tasks [<!ENTITY ext SYSTEM "{server.base_url}/leak/entity">]>\n'
        '<tasks total="1"><task><task_name>&ext;</task_name></task></tasks>\n'
    ).encode("utf-8")


def external_dtd_body(server) -> bytes:
    return (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE tasks SYSTEM "{server.base_url}/leak/dtd">\n'
        '<tasks total="0"></tasks>\n'
    ).encode("utf-8")


@pytest.fixture(scope="module")
def registry(server):
    return load_registry(REPO_ROOT / "sources.yaml", {"HUIJU_DEPT_BASE_URL": server.base_url})


@pytest.fixture()
def client(registry):
    with HttpClient(registry.allowed_hosts, timeout_seconds=2) as http_client:
        yield http_client


@pytest.fixture(scope="module")
def feed_registry(server, tmp_path_factory):
    path = tmp_path_factory.mktemp("feeds") / "sources.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "sources": FEED_ENTRIES}, allow_unicode=True), encoding="utf-8")
    return load_registry(path, {"HUIJU_DEPT_BASE_URL": server.base_url})


def common_fields(server, slug):
    return {
        "id": f"test_{slug}",
        "name": "测试接口",
        "base_url": f"{server.base_url}/{slug}",
        "schedule": "0 2 * * *",
        "owner_department": server.department_name(slug),
        "contact": "测试股",
        "timeout_seconds": 2,
        "max_retries": 1,
        "backoff_seconds": 0.01,
        "max_response_bytes": 1_000_000,
    }


def styled_source(server, slug, style, **overrides):
    """A JSON API source for one department in one pagination style, with the server's parameters."""
    path = server.api_path(slug, style).removeprefix(f"/{slug}")
    values = common_fields(server, slug) | {"format": "json_api", "pagination": style, "path": path}
    return JsonApiSource.model_validate(values | overrides)


def xml_source(server, slug, **overrides):
    return XmlExportSource.model_validate(common_fields(server, slug) | {"format": "xml_export"} | overrides)


def page_records(page):
    return json.loads(page.response.body)["data"]["records"]


def as_xml_values(record):
    return {name: None if record.get(name) is None else str(record[name]) for name in RECORD_FIELDS}


def notice_rows(kind):
    with NOTICES_FILE.open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["kind"] == kind]


# Pagination styles


@pytest.mark.parametrize("style", STYLES)
def test_style_harvests_whole_department(server, client, style):
    source = styled_source(server, "xzspj", style)

    pages = list(fetch_pages(client, source))

    records = [record for page in pages for record in page_records(page)]
    assert [page.record_count for page in pages] == [100, 100, 100, 44]
    assert len(records) == XZSPJ_ITEM_COUNT
    assert records == server.records("xzspj")
    assert [page.is_last_page for page in pages] == [False, False, False, True]
    assert {page.total for page in pages} == {XZSPJ_ITEM_COUNT}


@pytest.mark.parametrize("style", STYLES)
def test_style_sums_over_departments(server, client, style):
    total = 0
    for department in server.departments:
        pages = list(fetch_pages(client, styled_source(server, department.slug, style)))
        total += sum(page.record_count for page in pages)

    assert total == CATALOG_ITEM_COUNT


def test_cursor_first_request_has_no_cursor(server, client):
    list(fetch_pages(client, styled_source(server, "xzspj", "cursor")))

    queries = [request.query for request in server.received_requests]
    assert queries[0] == "limit=100"
    assert all("cursor=" in query for query in queries[1:])
    assert len(queries) == 4


def test_offset_requests_count_records(server, client):
    list(fetch_pages(client, styled_source(server, "xzspj", "offset_limit")))

    queries = [request.query for request in server.received_requests]
    assert queries == [f"offset={offset}&limit=100" for offset in (0, 100, 200, 300)]


def test_next_link_hints_are_absolute(server, client):
    pages = list(fetch_pages(client, styled_source(server, "xzspj", "next_link")))

    assert pages[0].next_page_hint == f"{server.base_url}/xzspj/api/links/tasks?page=2&pageSize=100"
    assert pages[-1].next_page_hint is None


def test_cursor_empty_string_ends(server, client):
    records = server.records("fgj")
    body = {"code": "200", "data": {"total": 3, "records": records, "nextCursor": ""}}
    server.queue_fault("/fgj/api/cursor/tasks", Fault(body=json.dumps(body).encode("utf-8")))

    pages = list(fetch_pages(client, styled_source(server, "fgj", "cursor")))

    assert [page.record_count for page in pages] == [3]
    assert pages[0].is_last_page


def test_repeated_cursor_guard(server, client):
    path = server.api_path("xzspj", "cursor")
    server.queue_repeated_next(path, skip=1)

    pages = []
    with pytest.raises(PaginationError) as caught:
        for page in fetch_pages(client, styled_source(server, "xzspj", "cursor")):
            pages.append(page)

    assert len(pages) == 2
    assert caught.value.page_number == 3
    assert "cursor" in str(caught.value)
    assert "again" in str(caught.value)
    assert len(server.received_requests) == 2


def test_repeated_next_link_guard(server, client):
    path = server.api_path("xzspj", "next_link")
    server.queue_repeated_next(path, skip=1)

    with pytest.raises(PaginationError) as caught:
        list(fetch_pages(client, styled_source(server, "xzspj", "next_link")))

    assert caught.value.page_number == 3
    assert "next link" in str(caught.value)
    assert "page=2" in caught.value.url
    assert len(server.received_requests) == 2


def test_repeated_body_guard_offset(server, client):
    path = server.api_path("xzspj", "offset_limit")
    first = list(fetch_pages(client, styled_source(server, "xzspj", "offset_limit")))[0].response.body
    server.reset()
    server.queue_fault(path, Fault())
    server.queue_fault(path, Fault(body=first))

    with pytest.raises(PaginationError) as caught:
        list(fetch_pages(client, styled_source(server, "xzspj", "offset_limit")))

    assert caught.value.page_number == 2
    assert "same body as page 1" in str(caught.value)
    assert "'offset'" in str(caught.value)


@pytest.mark.parametrize("style", ("offset_limit", "cursor", "next_link"))
def test_style_max_pages_guard(server, client, style):
    source = styled_source(server, "xzspj", style, max_pages=2)

    with pytest.raises(PaginationError, match="max_pages"):
        list(fetch_pages(client, source))

    assert len(server.received_requests) == 2


def test_next_link_absolute_url_followed(server, client):
    records = server.records("fgj")
    next_link = f"{server.base_url}/fgj/api/links/tasks?page=2&pageSize=2"
    body = {"code": "200", "data": {"total": 3, "records": records[:2]}, "links": {"next": next_link}}
    server.queue_fault("/fgj/api/links/tasks", Fault(body=json.dumps(body).encode("utf-8")))

    pages = list(fetch_pages(client, styled_source(server, "fgj", "next_link")))

    assert [page.record_count for page in pages] == [2, 1]
    assert pages[1].response.request_url == next_link


def test_next_link_relative_to_page(server, client):
    records = server.records("fgj")
    body = {"code": "200", "data": {"total": 3, "records": records[:2]}, "links": {"next": "tasks?page=2&pageSize=2"}}
    server.queue_fault("/fgj/api/links/tasks", Fault(body=json.dumps(body).encode("utf-8")))

    pages = list(fetch_pages(client, styled_source(server, "fgj", "next_link")))

    assert pages[1].response.request_url == f"{server.base_url}/fgj/api/links/tasks?page=2&pageSize=2"
    assert sum(page.record_count for page in pages) == 3


def test_next_link_other_host_rejected(server, client):
    # localhost is not in the allow-list, so the client rejects the link before connecting.
    body = {"code": "200", "data": {"total": 3, "records": []}, "links": {"next": "http://localhost:9/fgj/tasks"}}
    server.queue_fault("/fgj/api/links/tasks", Fault(body=json.dumps(body).encode("utf-8")))

    with pytest.raises(HostNotAllowedError) as caught:
        list(fetch_pages(client, styled_source(server, "fgj", "next_link")))

    assert caught.value.host == "localhost"
    assert len(server.received_requests) == 1


def test_invalid_next_cursor_type(server, client):
    body = {"code": "200", "data": {"total": 3, "records": [], "nextCursor": {"offset": 3}}}
    server.queue_fault("/fgj/api/cursor/tasks", Fault(body=json.dumps(body).encode("utf-8")))

    with pytest.raises(ResponseFormatError) as caught:
        list(fetch_pages(client, styled_source(server, "fgj", "cursor")))

    assert caught.value.field == "data.nextCursor"


# XML export


def test_xml_export_all_departments(server, client):
    total = 0
    for department in server.departments:
        source = xml_source(server, department.slug)
        page = xml_export.fetch_export(client, source)
        records = parse_xml_records(
            page.response.body, source_id=source.id, url=page.response.request_url, record_element="task"
        )

        assert records == [as_xml_values(record) for record in server.records(department.slug)], department.slug
        assert page.record_count == len(records)
        assert page.total == len(records)
        total += len(records)

    assert total == CATALOG_ITEM_COUNT


def test_xml_export_empty_fields_are_none(server, client):
    page = xml_export.fetch_export(client, xml_source(server, "xzspj"))
    record = parse_xml_records(page.response.body, source_id="test_xzspj", url=URL, record_element="task")[0]

    assert page.encoding == "utf-8"
    assert page.response.content_type == "application/xml; charset=UTF-8"
    assert list(record) == list(RECORD_FIELDS)
    assert record["catalog_code"] is None
    assert record["dept_name"] == "区行政审批局"
    assert "&itemCode=" in record["link_addr"]


def test_xml_export_total_mismatch(server, client):
    body = b'<?xml version="1.0" encoding="UTF-8"?><tasks total="5"><task><task_name>a</task_name></task></tasks>'
    server.queue_fault("/fgj/export/tasks.xml", Fault(body=body, content_type="application/xml"))

    with pytest.raises(RecordCountMismatchError) as caught:
        xml_export.fetch_export(client, xml_source(server, "fgj"))

    assert caught.value.expected == 5
    assert caught.value.received == 1


def test_xml_custom_record_element():
    body = '<catalog><item><name>居住证办理</name><code/></item><other/></catalog>'.encode("utf-8")

    records = parse_xml_records(body, source_id="test_source", url=URL, record_element="item")

    assert records == [{"name": "居住证办理", "code": None}]


def test_xml_malformed_names_line():
    body = b'<?xml version="1.0"?>\n<tasks>\n<task><task_name>a</task></tasks>'

    with pytest.raises(ResponseFormatError) as caught:
        parse_xml_records(body, source_id="test_source", url=URL, record_element="task")

    message = str(caught.value)
    assert "test_source" in message
    assert URL in message
    assert "line 3" in message


def test_xml_repeated_field_rejected():
    body = b"<tasks><task><task_name>a</task_name><task_name>b</task_name></task></tasks>"

    with pytest.raises(ResponseFormatError) as caught:
        parse_xml_records(body, source_id="test_source", url=URL, record_element="task")

    assert caught.value.field == "task_name"


# XML safety: each body is rejected before any entity is expanded or fetched


def test_xml_billion_laughs_rejected():
    with pytest.raises(ResponseFormatError) as caught:
        parse_xml_records(BILLION_LAUGHS, source_id="test_source", url=URL, record_element="task")

    message = str(caught.value)
    assert "DTD" in message
    assert "line 2" in message
    assert "lollol" not in message


def test_xml_external_entity_not_fetched(server, client):
    server.queue_fault("/fgj/export/tasks.xml", Fault(body=external_entity_body(server), content_type="application/xml"))

    with pytest.raises(ResponseFormatError, match="DTD"):
        xml_export.fetch_export(client, xml_source(server, "fgj"))

    paths = [request.path for request in server.received_requests]
    assert paths == ["/fgj/export/tasks.xml"]


def test_xml_external_dtd_not_fetched(server, client):
    server.queue_fault("/fgj/export/tasks.xml", Fault(body=external_dtd_body(server), content_type="application/xml"))

    with pytest.raises(ResponseFormatError, match="DTD"):
        xml_export.fetch_export(client, xml_source(server, "fgj"))

    paths = [request.path for request in server.received_requests]
    assert paths == ["/fgj/export/tasks.xml"]


def test_xml_internal_dtd_rejected():
    body = b'<?xml version="1.0"?>\n<!DOCTYPE tasks [<!ELEMENT tasks ANY>]>\n<tasks/>'

    with pytest.raises(ResponseFormatError, match="line 2"):
        parse_xml_records(body, source_id="test_source", url=URL, record_element="task")


def test_xml_undeclared_entity_not_expanded():
    body = b"<tasks><task><task_name>&ext;</task_name></task></tasks>"

    with pytest.raises(ResponseFormatError, match="not well-formed"):
        parse_xml_records(body, source_id="test_source", url=URL, record_element="task")


# Feeds


@pytest.mark.parametrize(
    ("source_id", "kind", "count"),
    [("portal_notices", "通知公告", 64), ("portal_policies", "政策文件", 48), ("portal_interpretations", "政策解读", 33)],
)
def test_feed_complete(feed_registry, client, source_id, kind, count):
    source = feed_registry.get(source_id)
    rows = notice_rows(kind)

    page = fetch_feed(client, source)
    entries = parse_feed_entries(
        page.response.body, source_id=source.id, url=page.response.request_url, feed_format=source.format
    )

    assert page.record_count == count
    assert len(entries) == count
    assert [entry["title"] for entry in entries] == [row["title"] for row in rows]
    assert [entry["link"] for entry in entries] == [row["url"] for row in rows]
    assert [entry["entry_id"] for entry in entries] == [row["url"] for row in rows]
    assert [entry["publisher"] for entry in entries] == [row["publisher"] or None for row in rows]
    assert [entry["category"] for entry in entries] == [row["category"] or None for row in rows]
    assert [entry["published_at"][:10] for entry in entries] == [row["published_on"] for row in rows]
    assert all(entry["published_at"].endswith("+08:00") for entry in entries)
    assert all(set(entry) == {"entry_id", "title", "link", "published_at", "updated_at", "publisher",
                              "category", "summary"} for entry in entries)


def test_feed_sources_from_registry(feed_registry):
    notices = feed_registry.get("portal_notices")
    policies = feed_registry.get("portal_policies")

    assert isinstance(notices, RssFeedSource)
    assert isinstance(policies, AtomFeedSource)
    assert notices.content_kind == "notice"
    assert policies.url.endswith("/feeds/policies.atom")


def test_atom_dates_and_author(feed_registry, client):
    source = feed_registry.get("portal_policies")
    page = fetch_feed(client, source)
    first = parse_feed_entries(page.response.body, source_id=source.id, url=URL, feed_format="atom_feed")[0]

    assert first["published_at"] == "2019-01-03T00:00:00+08:00"
    assert first["updated_at"] == "2019-01-03T00:00:00+08:00"
    assert first["publisher"] == "住建部"
    assert page.response.content_type == "application/atom+xml; charset=UTF-8"


def test_feed_wrong_format_rejected(feed_registry, client):
    source = feed_registry.get("portal_notices")
    page = fetch_feed(client, source)

    with pytest.raises(ResponseFormatError, match="not an Atom feed"):
        parse_feed_entries(page.response.body, source_id=source.id, url=URL, feed_format="atom_feed")


def test_rss_item_author_and_missing_fields():
    body = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>t</title>
<item><title>关于开展专项检查的通知</title><link>http://127.0.0.1/a.htm</link><author>office@127.0.0.1 (办公室)</author>
<description>摘要</description><pubDate>Thu, 03 Jan 2019 08:30:00 GMT</pubDate></item>
<item><title>无日期</title><guid>id-2</guid></item>
</channel></rss>""".encode("utf-8")

    first, second = parse_feed_entries(body, source_id="test_source", url=URL, feed_format="rss_feed")

    assert first["entry_id"] == "http://127.0.0.1/a.htm"
    assert first["publisher"] == "office@127.0.0.1 (办公室)"
    assert first["summary"] == "摘要"
    assert first["published_at"] == "2019-01-03T08:30:00+00:00"
    assert second["entry_id"] == "id-2"
    assert second["link"] is None
    assert second["published_at"] is None


def test_feed_invalid_date_names_entry():
    body = b'<rss version="2.0"><channel><item><link>http://127.0.0.1/a</link><pubDate>yesterday</pubDate></item></channel></rss>'

    with pytest.raises(ResponseFormatError) as caught:
        parse_feed_entries(body, source_id="test_source", url=URL, feed_format="rss_feed")

    assert "entry 1" in str(caught.value)
    assert "'yesterday'" in str(caught.value)


def test_feed_entry_without_id_rejected():
    body = b'<rss version="2.0"><channel><item><title>x</title></item></channel></rss>'

    with pytest.raises(ResponseFormatError, match="neither an id nor a link"):
        parse_feed_entries(body, source_id="test_source", url=URL, feed_format="rss_feed")


def test_feed_billion_laughs_rejected():
    body = BILLION_LAUGHS.replace(b"<tasks", b"<rss").replace(b"</tasks>", b"</rss>")

    with pytest.raises(ResponseFormatError, match="DTD"):
        parse_feed_entries(body, source_id="test_source", url=URL, feed_format="rss_feed")


def test_feed_external_entity_not_fetched(server, feed_registry, client):
    body = external_entity_body(server).replace(b"tasks", b"rss")
    server.queue_fault("/feeds/notices.rss", Fault(body=body, content_type="application/rss+xml"))

    with pytest.raises(ResponseFormatError, match="DTD"):
        fetch_feed(client, feed_registry.get("portal_notices"))

    assert [request.path for request in server.received_requests] == ["/feeds/notices.rss"]


# Registry fields of the new formats


VALID_JSON_SOURCE = {
    "id": "guangan_xzspj",
    "name": "广安区行政审批局政务服务事项接口",
    "format": "json_api",
    "base_url": "http://127.0.0.1:8765/xzspj",
    "owner_department": "区行政审批局",
    "contact": "区行政审批局信息化股",
}


def registry_error(tmp_path, source) -> RegistryError:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "sources": [source]}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        load_registry(path, {})
    return caught.value


def load_one(tmp_path, source):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "sources": [source]}, allow_unicode=True), encoding="utf-8")
    return load_registry(path, {}).sources[0]


def test_registry_new_format_defaults(tmp_path):
    source = load_one(tmp_path, VALID_JSON_SOURCE | {"format": "xml_export"})

    assert isinstance(source, XmlExportSource)
    assert source.path == "/export/tasks.xml"
    assert source.record_element == "task"
    assert source.max_concurrent_requests == 2
    assert source.max_requests_per_second == 5.0
    assert source.credentials is None


def test_registry_pagination_defaults(tmp_path):
    source = load_one(tmp_path, VALID_JSON_SOURCE | {"pagination": "cursor"})

    assert source.pagination == "cursor"
    assert source.cursor_param == "cursor"
    assert source.limit_param == "limit"
    assert source.next_cursor_path == "data.nextCursor"


def test_registry_credentials_store_names(tmp_path):
    credentials = {"header": "Authorization", "prefect_secret": "xzspj-api-token"}
    source = load_one(tmp_path, VALID_JSON_SOURCE | {"credentials": credentials})

    assert source.credentials.header == "Authorization"
    assert source.credentials.prefect_secret == "xzspj-api-token"
    assert source.credentials.env is None


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"pagination": "token"}, "pagination", "page_number"),
        ({"pagination": "cursor", "page_param": "pageNo"}, "page_param", "only to pagination page_number"),
        ({"next_link_path": "links.next"}, "next_link_path", "only to pagination next_link"),
        ({"format": "xml_export", "record_element": "1task"}, "record_element", "not an XML element name"),
        ({"format": "rss_feed", "path": "/notices.rss"}, "content_kind", "missing"),
        ({"format": "atom_feed", "path": "/p.atom", "content_kind": "news"}, "content_kind", "policy_document"),
        ({"format": "rss_feed", "content_kind": "notice"}, "path", "missing"),
        ({"max_concurrent_requests": 0}, "max_concurrent_requests", "greater than or equal to 1"),
        ({"max_requests_per_second": 0}, "max_requests_per_second", "greater than 0"),
        ({"credentials": {"header": "Authorization"}}, "credentials", "exactly one"),
        ({"credentials": {"header": "Authorization", "env": "T", "prefect_secret": "t"}}, "credentials", "exactly one"),
        ({"credentials": {"header": "Authorization", "env": "Bearer abc123"}}, "credentials.env", "not an environment variable name"),
        ({"credentials": {"header": "Auth header", "env": "TOKEN"}}, "credentials.header", "not an HTTP header name"),
        ({"credentials": {"header": "Authorization", "token": "abc"}}, "credentials.token", "unknown field"),
        ({"credentials": {"header": "Authorization", "prefect_secret": "My Token"}}, "credentials.prefect_secret", "Prefect block name"),
    ],
)
def test_registry_rejects_invalid_new_fields(tmp_path, overrides, field, reason):
    error = registry_error(tmp_path, VALID_JSON_SOURCE | overrides)

    message = str(error)
    assert error.field == field
    assert error.source_id == "guangan_xzspj"
    assert str(tmp_path / "sources.yaml") in message
    assert f"field {field!r}" in message
    assert reason in message


def test_registry_secret_value_not_in_error(tmp_path):
    error = registry_error(tmp_path, VALID_JSON_SOURCE | {"credentials": {"header": "Authorization", "env": "Bearer abc123"}})

    assert error.field == "credentials.env"
    assert "abc123" not in str(error)
