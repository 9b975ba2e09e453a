"""Benchmark baselines against the bundled department server, compared with Huiju's own connectors."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import duckdb
import pytest

from benchmarks.baselines import (
    DEFAULT_MAX_WORKERS,
    _count_csv_records,
    fetch_with_requests,
    json_api_endpoints,
    load_with_dlt,
    run_isolated,
    transform_with_sql,
)
from connectors.http import HttpClient
from connectors.registry import Registry, load_registry
from huiju import warehouse
from huiju.harvest import fetch_source_pages, harvest_source
from huiju.state import SourceState

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCES_FILE = REPO_ROOT / "sources.yaml"
# Sources of the small warehouse: the portal republishes the items of the first three.
WAREHOUSE_SOURCE_IDS = ("guangan_xfdd", "guangan_jxj", "guangan_qxj", "sczwfw_portal_republished", "guangan_sfj")
PORTAL_SOURCE_ID = "sczwfw_portal_republished"


@pytest.fixture(scope="module")
def registry(department_server) -> Registry:
    return load_registry(SOURCES_FILE)


@pytest.fixture(scope="module")
def connector_pages(registry):
    """Every page that Huiju's connectors fetch for each source on a first, full fetch."""
    pages = {}
    with HttpClient(registry.allowed_hosts) as client:
        for source in registry.sources:
            pages[source.id] = fetch_source_pages(client, source, SourceState(source.id))
    return pages


@pytest.fixture(scope="module")
def small_warehouse(registry, tmp_path_factory) -> Path:
    """A warehouse whose raw tables the loader filled from five real sources."""
    work = tmp_path_factory.mktemp("small-warehouse")
    path = work / "warehouse.duckdb"
    connection = warehouse.connect(path)
    try:
        warehouse.replace_sources(connection, registry.sources)
        with HttpClient(registry.allowed_hosts) as client:
            for source_id in WAREHOUSE_SOURCE_IDS:
                source = registry.get(source_id)
                outcome = harvest_source(client, source, work / "landing", "run-1", SourceState(source_id))
                warehouse.load_landing(connection, outcome.landing, source=source)
    finally:
        connection.close()
    return path


@pytest.mark.parametrize(
    "body",
    [
        b"a,b\n1,2\n",
        b"a,b\n1,2",
        b"a,b\r\n1,2\r\n\r\n",
        b"\na,b\n1,2\n\n3,4\n",
        b'a,b\n"x\ny",2\n"q""\n\n",3\n',
        b'a,b\n1,"2"',
        b"a,b\n",
        b"",
        "名称,编码\n\"甲\n乙\",1\n".encode("gb18030"),
    ],
)
def test_csv_record_count_matches_csv_module(body):
    rows = [row for row in csv.reader(io.StringIO(body.decode("gb18030"), newline="")) if row]

    assert _count_csv_records(body) == max(len(rows) - 1, 0)


def test_requests_baseline_fetches_same_pages(registry, connector_pages):
    result = fetch_with_requests(registry, keep_request_urls=True)

    assert result.name == "requests"
    assert result.detail["max_workers"] == DEFAULT_MAX_WORKERS
    for source in registry.sources:
        pages = connector_pages[source.id]
        fetched = result.detail["by_source"][source.id]
        assert result.detail["request_urls"][source.id] == [page.response.request_url for page in pages], source.id
        assert fetched["records"] == sum(page.record_count for page in pages), source.id
        assert fetched["bytes"] == sum(len(page.response.body) for page in pages), source.id
    assert result.records == sum(page.record_count for pages in connector_pages.values() for page in pages)
    assert result.detail["requests"] == sum(len(pages) for pages in connector_pages.values())
    assert result.seconds > 0


def test_requests_baseline_reads_registry_file(department_server, connector_pages):
    environ = {"HUIJU_DEPT_BASE_URL": department_server.base_url}

    result = fetch_with_requests(SOURCES_FILE, environ, max_workers=2)

    assert result.records == sum(page.record_count for pages in connector_pages.values() for page in pages)
    assert result.detail["max_workers"] == 2


def test_requests_baseline_with_host_limits(registry, connector_pages):
    sources = tuple(registry.get(source_id) for source_id in ("guangan_jxj", "guangan_xfdd"))
    subset = Registry(path=registry.path, sources=sources, allowed_hosts=registry.allowed_hosts)

    result = fetch_with_requests(subset, respect_host_limits=True)

    assert result.detail["respect_host_limits"] is True
    assert result.records == sum(page.record_count for source in sources for page in connector_pages[source.id])


def test_sql_baseline_builds_marts(small_warehouse, tmp_path):
    original_digest = hashlib.sha256(small_warehouse.read_bytes()).hexdigest()

    result = run_isolated(transform_with_sql, small_warehouse, tmp_path / "sql")

    assert hashlib.sha256(small_warehouse.read_bytes()).hexdigest() == original_digest
    assert result.peak_rss_mb is not None and result.peak_rss_mb > 0
    parquet_dir = tmp_path / "sql" / "parquet"
    output_rows = result.detail["output_rows"]
    assert set(output_rows) == {"fct_service_item", "dim_department", "mart_service_themes"}
    assert result.records == sum(output_rows.values())
    assert result.bytes == sum(path.stat().st_size for path in parquet_dir.glob("*.parquet"))

    with duckdb.connect() as connection:
        def query(sql: str) -> list[tuple]:
            return connection.execute(sql.replace("{dir}", str(parquet_dir))).fetchall()

        input_records = result.detail["input_records"]
        portal_records = query(
            f"select count(*) from read_parquet('{{dir}}/fct_service_item.parquet') "
            f"where list_contains(evidence_source_ids, '{PORTAL_SOURCE_ID}')"
        )[0][0]
        assert portal_records > 0
        # Each republished record merges into its department's record, which survives.
        assert output_rows["fct_service_item"] == input_records - portal_records
        assert query(
            f"select count(*) from read_parquet('{{dir}}/fct_service_item.parquet') where source_id = '{PORTAL_SOURCE_ID}'"
        ) == [(0,)]
        assert query(
            "select count(distinct service_item_id) = count(*) from read_parquet('{dir}/fct_service_item.parquet')"
        ) == [(True,)]
        assert query(
            "select count(*) from read_parquet('{dir}/fct_service_item.parquet') where task_code_pattern is null"
        ) == [(0,)]
        assert output_rows["dim_department"] == query(
            "select count(distinct dept_name) from read_parquet('{dir}/fct_service_item.parquet')"
        )[0][0]
        # Every service has at least one theme row, and no audience twice.
        assert query(
            "select count(distinct service_item_id) from read_parquet('{dir}/mart_service_themes.parquet')"
        ) == [(output_rows["fct_service_item"],)]
        assert query(
            "select count(distinct theme_assignment_id) = count(*) from read_parquet('{dir}/mart_service_themes.parquet')"
        ) == [(True,)]


def test_sql_baseline_leaves_original_without_outputs(small_warehouse, tmp_path):
    transform_with_sql(small_warehouse, tmp_path / "sql")

    with duckdb.connect(str(small_warehouse), read_only=True) as connection:
        schemas = {row[0] for row in connection.execute("select schema_name from information_schema.schemata").fetchall()}
    assert "baseline" not in schemas


def test_sql_baseline_rejects_original_as_copy(small_warehouse):
    with pytest.raises(ValueError, match="contains the original warehouse"):
        transform_with_sql(small_warehouse, small_warehouse.parent)


def test_json_api_endpoints_cover_pagination_styles(registry):
    endpoints = {endpoint["name"]: endpoint["endpoint"] for endpoint in json_api_endpoints(registry)}

    assert set(endpoints) == {source.id for source in registry.sources if source.format == "json_api"}
    assert endpoints["guangan_gafj"]["paginator"]["type"] == "page_number"
    assert endpoints["guangan_gafj"]["paginator"]["total_path"] == "data.totalPages"
    assert endpoints["guangan_jtysj"]["paginator"]["type"] == "offset"
    assert endpoints["guangan_shuiwj"]["paginator"]["type"] == "cursor"
    assert endpoints["guangan_nyncj"]["paginator"]["type"] == "json_link"


def test_dlt_baseline_loads_json_api_records(registry, connector_pages, tmp_path):
    pytest.importorskip("dlt")
    json_pages = {
        source.id: connector_pages[source.id] for source in registry.sources if source.format == "json_api"
    }

    result = load_with_dlt(registry, tmp_path / "dlt")

    for source_id, pages in json_pages.items():
        assert result.detail["rows_by_source"][source_id] == sum(page.record_count for page in pages), source_id
    assert result.records == sum(page.record_count for pages in json_pages.values() for page in pages)
    assert result.detail["requests"] == sum(len(pages) for pages in json_pages.values())
    assert result.bytes == sum(len(page.response.body) for pages in json_pages.values() for page in pages)
    assert (tmp_path / "dlt" / "dlt.duckdb").is_file()
