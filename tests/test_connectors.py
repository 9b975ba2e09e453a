"""Tests of decoding and of the JSON API and CSV export connectors against the local server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors import (
    CsvExportSource,
    DecodeError,
    FetchedPage,
    HttpClient,
    JsonApiSource,
    PaginationError,
    RecordCountMismatchError,
    ResponseFormatError,
    decode_body,
    fetch_export,
    fetch_pages,
    load_registry,
    parse_export,
)
from connectors.decoding import charset_from_content_type
from connectors.registry import Registry
from department_systems.catalog import EXPORT_HEADER
from department_systems.server import Fault

pytestmark = pytest.mark.usefixtures("clean_server")

REPO_ROOT = Path(__file__).resolve().parent.parent
CATALOG_ITEM_COUNT = 1135
TEXT = "序号,事项名称\r\n1,居住证办理\r\n"
URL = "http://127.0.0.1/x"


@pytest.fixture(scope="module")
def registry(server):
    """The bundled registry's department systems: without the portal's republication and feeds."""
    registry = load_registry(REPO_ROOT / "sources.yaml", {"HUIJU_DEPT_BASE_URL": server.base_url})
    departments = tuple(
        source for source in registry
        if source.format in ("json_api", "csv_export") and source.id != "sczwfw_portal_republished"
    )
    return Registry(path=registry.path, sources=departments, allowed_hosts=registry.allowed_hosts)


@pytest.fixture()
def client(registry):
    with HttpClient(registry.allowed_hosts, timeout_seconds=2) as http_client:
        yield http_client


def json_source(server, slug, **overrides):
    values = {
        "id": f"test_{slug}",
        "name": "测试接口",
        "format": "json_api",
        "base_url": f"{server.base_url}/{slug}",
        "schedule": "0 2 * * *",
        "owner_department": server.department_name(slug),
        "contact": "测试股",
        "timeout_seconds": 2,
        "max_retries": 1,
        "backoff_seconds": 0.01,
        "max_response_bytes": 1_000_000,
    }
    return JsonApiSource.model_validate(values | overrides)


def csv_source(server, slug, **overrides):
    values = {
        "id": f"test_{slug}",
        "name": "测试导出",
        "format": "csv_export",
        "base_url": f"{server.base_url}/{slug}",
        "schedule": "0 2 * * *",
        "owner_department": server.department_name(slug),
        "contact": "测试股",
        "timeout_seconds": 2,
        "max_retries": 1,
        "backoff_seconds": 0.01,
        "max_response_bytes": 1_000_000,
    }
    return CsvExportSource.model_validate(values | overrides)


def decode(body, content_type=None, encoding="auto"):
    return decode_body(body, content_type=content_type, source_id="test_source", url=URL, encoding=encoding)


# Decoding


def test_decode_utf8():
    decoded = decode(TEXT.encode("utf-8"))

    assert decoded.text == TEXT
    assert decoded.encoding == "utf-8"


def test_decode_utf8_with_bom():
    decoded = decode(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))

    assert decoded.text == TEXT
    assert decoded.encoding == "utf-8"


def test_decode_gb18030_detected():
    decoded = decode(TEXT.encode("gb18030"))

    assert decoded.text == TEXT
    assert decoded.encoding == "gb18030"


def test_decode_characters_outside_gbk():
    # 𠀀 (U+20000) takes four bytes in GB18030 and is not in GBK.
    text = "𠀀字事项"

    assert decode(text.encode("gb18030")).text == text


def test_decode_declared_charset_wins():
    body = TEXT.encode("gb18030")

    decoded = decode(body, content_type="text/csv; charset=GB2312")

    assert decoded.text == TEXT
    assert decoded.encoding == "gb18030"


def test_decode_declared_charset_mismatch_raises():
    with pytest.raises(DecodeError) as caught:
        decode(TEXT.encode("gb18030"), content_type="application/json;charset=UTF-8")

    assert caught.value.offset == 0
    assert "utf-8" in str(caught.value)


def test_decode_unknown_charset_falls_back():
    decoded = decode(TEXT.encode("gb18030"), content_type="text/csv; charset=no-such-charset")

    assert decoded.encoding == "gb18030"


def test_decode_configured_encoding_overrides():
    body = TEXT.encode("gb18030")

    with pytest.raises(DecodeError):
        decode(body, encoding="utf-8")
    assert decode(body, content_type="text/csv; charset=utf-8", encoding="gb18030").text == TEXT


def test_decode_undecodable_bytes():
    body = "事项".encode("utf-8") + b"ab\xff\xfe"

    with pytest.raises(DecodeError) as caught:
        decode(body)

    message = str(caught.value)
    assert caught.value.attempts == (("utf-8", 8), ("gb18030", 8))
    assert caught.value.offset == 8
    assert "test_source" in message
    assert URL in message
    assert "offset 8" in message


def test_charset_from_content_type():
    assert charset_from_content_type("application/json;charset=UTF-8") == "UTF-8"
    assert charset_from_content_type('text/csv; charset="gbk"') == "gbk"
    assert charset_from_content_type("text/csv") is None
    assert charset_from_content_type(None) is None


# JSON API


def test_fetch_pages_multi_page_department(server, client, registry):
    source = registry.get("guangan_xzspj")

    pages = list(fetch_pages(client, source))

    assert [page.page_number for page in pages] == [1, 2, 3, 4]
    assert [page.record_count for page in pages] == [100, 100, 100, 44]
    assert {page.encoding for page in pages} == {"utf-8"}
    assert pages[0].response.request_url.endswith("/xzspj/api/tasks?pageNo=1&pageSize=100")
    records = [record for page in pages for record in json.loads(page.response.body)["data"]["records"]]
    assert records == server.records("xzspj")


def test_fetch_pages_stops_at_total(server, client):
    source = json_source(server, "fgj", page_size=3)

    pages = list(fetch_pages(client, source))

    assert [page.record_count for page in pages] == [3]
    assert len(server.received_requests) == 1


def test_fetch_pages_custom_first_page(server, client):
    source = json_source(server, "xzspj", first_page=2, page_size=100, total_path=None)

    pages = list(fetch_pages(client, source))

    assert [page.record_count for page in pages] == [100, 100, 44]
    assert server.received_requests[0].query == "pageNo=2&pageSize=100"


def test_repeated_page_guard(server, client):
    source = json_source(server, "xzspj")
    server.queue_repeated_page("/xzspj/api/tasks", page=2)

    pages = []
    with pytest.raises(PaginationError) as caught:
        for page in fetch_pages(client, source):
            pages.append(page)

    assert len(pages) == 1
    assert caught.value.page_number == 2
    assert "same body as page 1" in str(caught.value)
    assert "pageNo=2" in caught.value.url


def test_max_pages_guard(server, client):
    source = json_source(server, "xzspj", max_pages=2)

    with pytest.raises(PaginationError) as caught:
        list(fetch_pages(client, source))

    assert "max_pages" in str(caught.value)
    assert len(server.received_requests) == 2


def test_missing_records_path_names_field(server, client):
    source = json_source(server, "fgj")
    server.queue_fault("/fgj/api/tasks", Fault(body='{"code": "500", "message": "系统繁忙"}'.encode("utf-8")))

    with pytest.raises(ResponseFormatError) as caught:
        list(fetch_pages(client, source))

    message = str(caught.value)
    assert caught.value.field == "data.records"
    assert "test_fgj" in message
    assert "/fgj/api/tasks?pageNo=1" in message
    assert "'data.records'" in message
    assert "系统繁忙" in message


def test_invalid_json_page(server, client):
    source = json_source(server, "fgj")
    server.queue_fault("/fgj/api/tasks", Fault(body=b"<html>error</html>", content_type="text/html"))

    with pytest.raises(ResponseFormatError, match="not valid JSON"):
        list(fetch_pages(client, source))


def test_record_count_mismatch(server, client):
    source = json_source(server, "fgj")
    envelope = {"code": "200", "data": {"total": 5, "records": server.records("fgj")}}
    server.queue_fault("/fgj/api/tasks", Fault(body=json.dumps(envelope).encode("utf-8")))

    with pytest.raises(RecordCountMismatchError) as caught:
        list(fetch_pages(client, source))

    assert caught.value.expected == 5
    assert caught.value.received == 3


def test_json_api_retries_through_connector(server, client):
    source = json_source(server, "fgj")
    server.queue_statuses("/fgj/api/tasks", 503)

    pages = list(fetch_pages(client, source))

    assert [page.record_count for page in pages] == [3]
    assert len(server.received_requests) == 2


# CSV export


def test_fetch_export_gb18030(server, client, registry):
    source = registry.get("guangan_gaqswj")

    page = fetch_export(client, source)

    assert isinstance(page, FetchedPage)
    assert page.page_number == 1
    assert page.encoding == "gb18030"
    assert page.record_count == 83
    assert page.response.body == server.export_body("gaqswj")
    assert "charset" not in page.response.content_type


def test_fetch_export_utf8_with_bom(server, client):
    server.replace_export_body("fgj", b"\xef\xbb\xbf" + TEXT.encode("utf-8"))

    page = fetch_export(client, csv_source(server, "fgj"))

    assert page.encoding == "utf-8"
    assert page.record_count == 1


def test_fetch_export_undecodable(server, client):
    server.replace_export_body("fgj", TEXT.encode("gb18030") + b"\xff")

    with pytest.raises(DecodeError) as caught:
        fetch_export(client, csv_source(server, "fgj"))

    assert "test_fgj" in str(caught.value)
    assert caught.value.offset == len(TEXT.encode("gb18030"))


def test_parse_export_records():
    text = "序号,事项名称,实施编码\r\n1,居住证办理,\r\n\r\n2,\"含,逗号\",X1\r\n"

    records = parse_export(text, source_id="test_source", url=URL)

    assert records == [
        {"序号": "1", "事项名称": "居住证办理", "实施编码": ""},
        {"序号": "2", "事项名称": "含,逗号", "实施编码": "X1"},
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("序号,序号\r\n1,2\r\n", "duplicate column"),
        ("序号,事项名称\r\n1\r\n", "has 1 cells"),
        ('序号,事项名称\r\n1,"未闭合\r\n', "not valid CSV"),
    ],
)
def test_parse_export_rejects_bad_csv(text, reason):
    with pytest.raises(ResponseFormatError, match=reason):
        parse_export(text, source_id="test_source", url=URL)


# Whole registry


def test_registry_harvest_totals(server, client, registry):
    counts = {}
    for source in registry:
        if source.format == "json_api":
            pages = list(fetch_pages(client, source))
        else:
            pages = [fetch_export(client, source)]
        counts[source.id] = sum(page.record_count for page in pages)

    formats = {source.format for source in registry}
    assert sum(counts.values()) == CATALOG_ITEM_COUNT
    assert formats == {"json_api", "csv_export"}
    assert all(count > 0 for count in counts.values())


def test_export_header_matches_server(server, client):
    page = fetch_export(client, csv_source(server, "tjj"))
    records = parse_export(page.response.body.decode(page.encoding), source_id="test_tjj", url=URL)

    assert list(records[0]) == list(EXPORT_HEADER)
