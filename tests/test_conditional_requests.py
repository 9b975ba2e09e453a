"""Tests of conditional requests: the server's ETag, Last-Modified and 304, and connectors that
turn a 304 into a ``not_modified`` page from the previous fetch's summary."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import requests

from connectors import (
    CsvExportSource,
    FetchedPageSummary,
    HttpClient,
    JsonApiSource,
    PageValidators,
    PaginationError,
    RssFeedSource,
    XmlExportSource,
    fetch_export,
    fetch_feed,
    fetch_pages,
    load_registry,
)
from connectors import xml_export
from connectors.registry import Registry

pytestmark = pytest.mark.usefixtures("clean_server")

REPO_ROOT = Path(__file__).resolve().parent.parent
CATALOG_ITEM_COUNT = 1135
STYLES = ("page_number", "offset_limit", "cursor", "next_link")


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


def common_fields(server, slug):
    return {
        "id": f"test_{slug}",
        "name": "测试接口",
        "base_url": f"{server.base_url}/{slug}",
        "schedule": "0 2 * * *",
        "owner_department": server.department_name(slug),
        "contact": "测试股",
        "timeout_seconds": 2,
        "max_retries": 2,
        "backoff_seconds": 0.01,
        "max_response_bytes": 1_000_000,
    }


def styled_source(server, slug, style):
    path = server.api_path(slug, style).removeprefix(f"/{slug}")
    return JsonApiSource.model_validate(common_fields(server, slug) | {"format": "json_api", "pagination": style, "path": path})


def remember(pages):
    """Return the validators and stored summaries of fetched pages, as a caller would keep them."""
    validators = {page.response.request_url: page.validators for page in pages}
    summaries = {page.response.request_url: page.summary() for page in pages}
    return validators, summaries


def harvest(client, source, validators=None, previous_pages=None):
    if source.format == "json_api":
        return list(fetch_pages(client, source, validators, previous_pages))
    return [fetch_export(client, source, validators, previous_pages)]


# Server


def test_server_sends_validators(server):
    response = requests.get(server.base_url + "/xzspj/export/tasks.xml", timeout=2)

    assert response.status_code == 200
    assert response.headers["ETag"] == '"' + hashlib.sha256(response.content).hexdigest() + '"'
    assert response.headers["Last-Modified"] == server.last_modified("xzspj")


def test_server_304_on_matching_etag(server):
    url = server.base_url + "/xzspj/api/cursor/tasks?limit=100"
    first = requests.get(url, timeout=2)

    second = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=2)

    assert second.status_code == 304
    assert second.content == b""
    assert second.headers["ETag"] == first.headers["ETag"]


def test_server_etag_precedes_modified_since(server):
    url = server.base_url + "/feeds/notices.rss"
    first = requests.get(url, timeout=2)
    headers = {"If-None-Match": '"other"', "If-Modified-Since": first.headers["Last-Modified"]}

    second = requests.get(url, headers=headers, timeout=2)

    assert second.status_code == 200


def test_server_modified_since_moves_on_replace(server):
    url = server.base_url + "/fgj/export/tasks.csv"
    first = requests.get(url, timeout=2)
    since = {"If-Modified-Since": first.headers["Last-Modified"]}
    assert requests.get(url, headers=since, timeout=2).status_code == 304

    server.replace_records("fgj", server.records("fgj")[:1])

    assert requests.get(url, headers=since, timeout=2).status_code == 200


# HTTP client


def test_client_returns_304_without_retry(server, client):
    url = server.base_url + "/fgj/export/tasks.xml"
    first = client.get(url, source_id="test_fgj")

    response = client.get(url, source_id="test_fgj", headers={"If-None-Match": first.headers["ETag"]})

    assert response.status_code == 304
    assert response.body == b""
    assert len(server.received_requests) == 2


# Summaries


def test_summary_round_trip_through_json():
    summary = FetchedPageSummary(record_count=100, total=344, next_page_hint="b2Zmc2V0OjEwMA==", is_last_page=False,
                                 encoding="utf-8")

    stored = json.dumps(summary.to_dict())

    assert FetchedPageSummary.from_dict(json.loads(stored)) == summary


@pytest.mark.parametrize(
    "data",
    [
        {"record_count": 1, "total": 1, "next_page_hint": None},
        {"record_count": -1, "total": 1, "next_page_hint": None, "is_last_page": True},
        {"record_count": 1, "total": 1, "next_page_hint": [2], "is_last_page": True},
        {"record_count": 1, "total": 1, "next_page_hint": None, "is_last_page": "yes"},
    ],
)
def test_summary_from_invalid_dict(data):
    with pytest.raises(ValueError, match="page summary"):
        FetchedPageSummary.from_dict(data)


def test_validators_request_headers():
    validators = PageValidators(etag='"abc"', last_modified="Fri, 04 Dec 2026 20:00:00 GMT")

    assert validators.request_headers() == {
        "If-None-Match": '"abc"',
        "If-Modified-Since": "Fri, 04 Dec 2026 20:00:00 GMT",
    }
    assert PageValidators().request_headers() == {}


# Connectors


@pytest.mark.parametrize("style", STYLES)
def test_unchanged_pages_not_modified(server, client, style):
    source = styled_source(server, "xzspj", style)
    first = list(fetch_pages(client, source))
    validators, summaries = remember(first)
    server.reset()

    second = list(fetch_pages(client, source, validators, summaries))

    assert len(second) == 4
    assert all(page.not_modified for page in second)
    assert all(page.response.status_code == 304 for page in second)
    assert all(page.response.body == b"" for page in second)
    assert [page.summary() for page in second] == [page.summary() for page in first]
    assert [page.response.request_url for page in second] == [page.response.request_url for page in first]
    assert sum(page.record_count for page in second) == 344
    assert all("If-None-Match" in request.headers for request in server.received_requests)


def test_summaries_from_storage_continue_pagination(server, client):
    source = styled_source(server, "xzspj", "cursor")
    first = list(fetch_pages(client, source))
    stored = json.dumps({page.response.request_url: page.summary().to_dict() for page in first})
    summaries = {url: FetchedPageSummary.from_dict(data) for url, data in json.loads(stored).items()}
    validators = {page.response.request_url: page.validators for page in first}

    second = list(fetch_pages(client, source, validators, summaries))

    assert [page.next_page_hint for page in second] == [page.next_page_hint for page in first]
    assert all(page.not_modified for page in second)


def test_replace_records_refetches_one_department(server, client, registry):
    first = {source.id: harvest(client, source) for source in registry}
    remembered = {source_id: remember(pages) for source_id, pages in first.items()}
    changed = registry.get("guangan_xzspj")
    server.replace_records("xzspj", server.records("xzspj")[:-1])

    second = {source.id: harvest(client, source, *remembered[source.id]) for source in registry}

    for source_id, pages in second.items():
        if source_id == changed.id:
            assert [page.response.status_code for page in pages] == [200, 200, 200, 200]
            assert sum(page.record_count for page in pages) == 343
        else:
            assert all(page.not_modified for page in pages), source_id
    unchanged_total = sum(page.record_count for source_id, pages in second.items() for page in pages
                          if source_id != changed.id)
    assert unchanged_total == CATALOG_ITEM_COUNT - 344


def test_modified_since_only_validators(server, client):
    source = XmlExportSource.model_validate(common_fields(server, "fgj") | {"format": "xml_export"})
    first = xml_export.fetch_export(client, source)
    url = first.response.request_url
    only_date = {url: PageValidators(last_modified=first.validators.last_modified)}
    summaries = {url: first.summary()}

    unchanged = xml_export.fetch_export(client, source, only_date, summaries)
    server.replace_records("fgj", server.records("fgj")[:2])
    changed = xml_export.fetch_export(client, source, only_date, summaries)

    assert unchanged.not_modified
    assert unchanged.record_count == 3
    assert not changed.not_modified
    assert changed.record_count == 2


def test_csv_export_not_modified(server, client):
    source = CsvExportSource.model_validate(common_fields(server, "gaqswj") | {"format": "csv_export"})
    first = fetch_export(client, source)
    validators, summaries = remember([first])

    second = fetch_export(client, source, validators, summaries)

    assert second.not_modified
    assert second.encoding == "gb18030"
    assert second.record_count == 83


def test_feed_not_modified(server, client):
    values = common_fields(server, "fgj") | {
        "base_url": server.base_url + "/feeds",
        "format": "rss_feed",
        "path": "/notices.rss",
        "content_kind": "notice",
    }
    source = RssFeedSource.model_validate(values)
    first = fetch_feed(client, source)
    validators, summaries = remember([first])

    second = fetch_feed(client, source, validators, summaries)

    assert second.not_modified
    assert second.record_count == 64
    assert second.response.body == b""


def test_validators_without_summary_not_sent(server, client):
    source = styled_source(server, "fgj", "page_number")
    first = list(fetch_pages(client, source))
    validators, _ = remember(first)

    second = list(fetch_pages(client, source, validators, None))

    assert [page.response.status_code for page in second] == [200]
    assert second[0].response.body == first[0].response.body


def test_total_change_between_pages(server, client):
    source = styled_source(server, "xzspj", "page_number")
    first = list(fetch_pages(client, source))
    validators, summaries = remember(first)
    page_two_url = first[1].response.request_url
    changed = dict(summaries)
    changed[page_two_url] = FetchedPageSummary(100, 999, 3, False, "utf-8")

    with pytest.raises(PaginationError, match="total changed"):
        list(fetch_pages(client, source, validators, changed))
