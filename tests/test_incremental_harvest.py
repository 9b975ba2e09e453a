"""Harvest flow on local department servers: skipping, blocking, drift, concurrency, credentials."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from connectors.http import HttpClient
from connectors.registry import load_registry
from huiju.harvest import resolve_credential_headers
from huiju.politeness import HostLimiter, HostLimits, PoliteClient
from huiju.state import StateStore

pytestmark = pytest.mark.usefixtures("clean_server")

REGISTRY = """\
version: 1
sources:
  - id: guangan_xzspj
    name: 广安区行政审批局政务服务事项接口
    format: json_api
    base_url: {base}/xzspj
    owner_department: 区行政审批局
    contact: 区行政审批局信息化股
    max_concurrent_requests: 4
  - id: guangan_fgj
    name: 广安区发改局政务服务事项导出
    format: csv_export
    base_url: {base}/fgj
    owner_department: 区发改局
    contact: 区发改局办公室
  - id: guangan_jtysj
    name: 广安区交通运输局政务服务事项接口
    format: json_api
    base_url: {base}/jtysj
    owner_department: 区交通运输局
    contact: 区交通运输局办公室
"""


@pytest.fixture
def harvest(prefect_harness, server, tmp_path):
    """Run the harvest flow on a three-source registry and return outcomes by source id."""
    from flows.harvest import harvest_flow

    registry = tmp_path / "sources.yaml"
    registry.write_text(REGISTRY.format(base=server.base_url), encoding="utf-8")

    def run() -> dict:
        return harvest_flow(home=str(tmp_path / "home"), sources_file=str(registry))["sources"]

    return run


def _raw_count(home: Path, source_id: str) -> int:
    with duckdb.connect(str(home / "warehouse" / "huiju.duckdb"), read_only=True) as connection:
        return connection.execute(
            "select (select count(*) from raw.json_api_records where source_id = ?)"
            " + (select count(*) from raw.csv_export_records where source_id = ?)",
            [source_id, source_id],
        ).fetchone()[0]


def test_unchanged_sources_are_skipped(harvest, tmp_path):
    first = harvest()
    second = harvest()

    assert {outcome["status"] for outcome in first.values()} == {"landed"}
    assert {outcome["status"] for outcome in second.values()} == {"unchanged"}
    assert all(outcome["landing_dir"] is None for outcome in second.values())
    assert len(list((tmp_path / "home" / "landing" / "guangan_xzspj").iterdir())) == 1
    assert _raw_count(tmp_path / "home", "guangan_xzspj") == 344


def test_changed_source_alone_is_loaded(harvest, server, tmp_path):
    harvest()
    records = server.records("fgj")
    server.replace_records("fgj", [{**records[0], "task_name": records[0]["task_name"] + "（变更）"}, *records[1:]])

    outcomes = harvest()
    assert outcomes["guangan_fgj"]["status"] == "landed"
    assert outcomes["guangan_xzspj"]["status"] == "unchanged"
    assert outcomes["guangan_jtysj"]["status"] == "unchanged"
    state = StateStore(tmp_path / "home" / "state").load("guangan_fgj")
    assert state.last_good_run_id in outcomes["guangan_fgj"]["landing_dir"]


def test_shrunk_catalog_is_blocked(harvest, server, tmp_path):
    harvest()
    records = server.records("jtysj")
    server.replace_records("jtysj", records[: len(records) // 2])

    outcomes = harvest()
    assert outcomes["guangan_jtysj"]["status"] == "failed"
    assert outcomes["guangan_jtysj"]["error"]["stage"] == "circuit_breaker"
    assert "107" in outcomes["guangan_jtysj"]["error"]["reason"]
    assert _raw_count(tmp_path / "home", "guangan_jtysj") == 107
    assert StateStore(tmp_path / "home" / "state").load("guangan_jtysj").record_count == 107


def test_renamed_field_blocks_source(harvest, server, tmp_path):
    harvest()
    renamed = [{("taskName" if key == "task_name" else key): value for key, value in record.items()}
               for record in server.records("xzspj")]
    server.replace_records("xzspj", renamed)

    outcomes = harvest()
    error = outcomes["guangan_xzspj"]["error"]
    assert outcomes["guangan_xzspj"]["status"] == "failed"
    assert error["stage"] == "schema"
    assert "task_name" in error["reason"]
    assert "taskName" in error["reason"]
    assert outcomes["guangan_fgj"]["status"] == "unchanged"
    assert _raw_count(tmp_path / "home", "guangan_xzspj") == 344


def test_new_field_is_reported(harvest, server):
    harvest()
    server.replace_records("jtysj", [{**record, "handle_area": "1"} for record in server.records("jtysj")])

    outcomes = harvest()
    assert outcomes["guangan_jtysj"]["status"] == "landed"
    assert any("handle_area" in warning for warning in outcomes["guangan_jtysj"]["warnings"])


def test_slow_source_does_not_delay_others(harvest, server):
    server.queue_delay(server.export_path("fgj"), 3.0)
    started = time.monotonic()
    outcomes = harvest()

    assert {outcome["status"] for outcome in outcomes.values()} == {"landed"}
    assert outcomes["guangan_fgj"]["finished_at"] - started >= 3.0
    assert outcomes["guangan_xzspj"]["finished_at"] < outcomes["guangan_fgj"]["finished_at"]
    assert outcomes["guangan_jtysj"]["finished_at"] < outcomes["guangan_fgj"]["finished_at"]


def test_host_limiter_caps_parallel_requests():
    limiter = HostLimiter({"h": HostLimits(max_concurrent_requests=2, max_requests_per_second=1000.0)})
    barrier = threading.Barrier(5)

    def request():
        barrier.wait()
        limiter.acquire("h")
        time.sleep(0.05)
        limiter.release("h")

    threads = [threading.Thread(target=request) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limiter.max_in_flight["h"] == 2


def test_host_limiter_spaces_requests():
    now = [0.0]
    waits: list[float] = []
    limiter = HostLimiter({"h": HostLimits(5, 4.0)}, clock=lambda: now[0], sleep=waits.append)
    for _ in range(3):
        limiter.acquire("h")
        limiter.release("h")
    assert waits == [0.25, 0.5]


def test_strictest_limits_apply_per_host(server, monkeypatch):
    monkeypatch.setenv("HUIJU_DEPT_BASE_URL", server.base_url)
    registry = load_registry(Path(__file__).resolve().parent.parent / "sources.yaml")
    limiter = HostLimiter.for_sources(registry.sources)
    assert limiter.limits["127.0.0.1"] == HostLimits(2, 5.0)


class _HeaderCapture(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self):  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        _HeaderCapture.seen.append(dict(self.headers))
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_credentials_sent_not_logged(tmp_path, monkeypatch, caplog):
    capture = ThreadingHTTPServer(("127.0.0.1", 0), _HeaderCapture)
    thread = threading.Thread(target=capture.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{capture.server_address[1]}"
    registry_file = tmp_path / "sources.yaml"
    registry_file.write_text(
        REGISTRY.format(base=base).replace(
            "    max_concurrent_requests: 4\n",
            "    max_concurrent_requests: 4\n    credentials:\n      header: Authorization\n      env: HUIJU_TEST_TOKEN\n",
        ),
        encoding="utf-8",
    )
    source = load_registry(registry_file).get("guangan_xzspj")

    with pytest.raises(RuntimeError, match="HUIJU_TEST_TOKEN is not set") as missing:
        resolve_credential_headers(source, {})
    assert "Bearer" not in str(missing.value)

    monkeypatch.setenv("HUIJU_TEST_TOKEN", "Bearer s3cret-token")
    client = PoliteClient(HttpClient(["127.0.0.1"]), HostLimiter.for_sources([source]), resolve_credential_headers(source))
    try:
        response = client.get(f"{base}/xzspj/api/tasks", source_id=source.id)
    finally:
        client.close()
        capture.shutdown()

    assert _HeaderCapture.seen[-1]["Authorization"] == "Bearer s3cret-token"
    assert "Authorization" not in response.headers
    assert "s3cret" not in caplog.text


ALL_FORMATS = """\
version: 1
sources:
  - {{id: xzspj_offset, name: 偏移分页接口, format: json_api, base_url: "{base}/xzspj", path: /api/v2/tasks,
     pagination: offset_limit, owner_department: 区行政审批局, contact: 区行政审批局信息化股}}
  - {{id: xzspj_cursor, name: 游标分页接口, format: json_api, base_url: "{base}/xzspj", path: /api/cursor/tasks,
     pagination: cursor, owner_department: 区行政审批局, contact: 区行政审批局信息化股}}
  - {{id: xzspj_links, name: 链接分页接口, format: json_api, base_url: "{base}/xzspj", path: /api/links/tasks,
     pagination: next_link, owner_department: 区行政审批局, contact: 区行政审批局信息化股}}
  - {{id: rsj_xml, name: 区人社局 XML 导出, format: xml_export, base_url: "{base}/rsj",
     owner_department: 区人社局, contact: 区人社局办公室}}
  - {{id: portal_notices, name: 通知公告, format: rss_feed, base_url: "{base}/feeds", path: /notices.rss,
     content_kind: notice, owner_department: 门户网站编辑部, contact: 门户网站编辑部}}
  - {{id: portal_policies, name: 政策文件, format: atom_feed, base_url: "{base}/feeds", path: /policies.atom,
     content_kind: policy_document, owner_department: 门户网站编辑部, contact: 门户网站编辑部}}
  - {{id: portal_interpretations, name: 政策解读, format: rss_feed, base_url: "{base}/feeds",
     path: /interpretations.rss, content_kind: policy_interpretation, owner_department: 门户网站编辑部,
     contact: 门户网站编辑部}}
"""


def test_every_format_harvested_then_not_modified(prefect_harness, server, tmp_path):
    from flows.harvest import harvest_flow

    registry = tmp_path / "sources.yaml"
    registry.write_text(ALL_FORMATS.format(base=server.base_url), encoding="utf-8")
    home = tmp_path / "home"

    first = harvest_flow(home=str(home), sources_file=str(registry))["sources"]
    assert {source_id: outcome["status"] for source_id, outcome in first.items()} == dict.fromkeys(first, "landed")
    with duckdb.connect(str(home / "warehouse" / "huiju.duckdb"), read_only=True) as connection:
        counts = dict(connection.execute(
            "select source_id, count(*) from raw.json_api_records group by 1 union all "
            "select source_id, count(*) from raw.xml_export_records group by 1 union all "
            "select source_id, count(*) from raw.feed_entries group by 1"
        ).fetchall())
        kinds = dict(connection.execute("select source_id, any_value(content_kind) from raw.feed_entries group by 1").fetchall())
        title = connection.execute(
            "select record->>'title' from raw.feed_entries where source_id = 'portal_notices' order by record_position limit 1"
        ).fetchone()[0]
    assert counts == {"xzspj_offset": 344, "xzspj_cursor": 344, "xzspj_links": 344, "rsj_xml": 144,
                      "portal_notices": 64, "portal_policies": 48, "portal_interpretations": 33}
    assert kinds["portal_policies"] == "policy_document"
    assert any("\u4e00" <= char <= "\u9fff" for char in title)

    second = harvest_flow(home=str(home), sources_file=str(registry))["sources"]
    assert {outcome["status"] for outcome in second.values()} == {"unchanged"}
    assert sum(outcome["bytes"] for outcome in second.values()) == 0


def test_changed_department_refetches_only_its_pages(harvest, server, tmp_path):
    harvest()
    records = server.records("jtysj")
    server.replace_records("jtysj", [*records[:-1], {**records[-1], "task_name": records[-1]["task_name"] + "（新）"}])

    outcomes = harvest()
    assert outcomes["guangan_jtysj"]["status"] == "landed"
    assert outcomes["guangan_jtysj"]["bytes"] > 0
    assert outcomes["guangan_xzspj"]["bytes"] == 0
    assert outcomes["guangan_fgj"]["bytes"] == 0


def test_only_changed_pages_are_parsed(harvest, server, tmp_path, caplog):
    harvest()
    records = server.records("xzspj")
    changed = {**records[150], "task_name": records[150]["task_name"] + "（调整）"}
    server.replace_records("xzspj", [*records[:150], changed, *records[151:]])

    with caplog.at_level("INFO", logger="huiju.warehouse"):
        outcomes = harvest()
    home = tmp_path / "home"
    with duckdb.connect(str(home / "warehouse" / "huiju.duckdb"), read_only=True) as connection:
        run_ids = dict(connection.execute(
            "select page_number, any_value(run_id) from raw.json_api_records where source_id = 'guangan_xzspj' group by 1"
        ).fetchall())
        positions = [row[0] for row in connection.execute(
            "select record_position from raw.json_api_records where source_id = 'guangan_xzspj' order by record_position"
        ).fetchall()]
        name = connection.execute(
            "select record->>'task_name' from raw.json_api_records where source_id = 'guangan_xzspj' and record_position = 151"
        ).fetchone()[0]

    assert outcomes["guangan_xzspj"]["status"] == "landed"
    assert "(1 of 4 pages parsed)" in caplog.text
    assert len(set(run_ids.values())) == 2
    assert run_ids[2] != run_ids[1]
    assert positions == list(range(1, 345))
    assert name == changed["task_name"]


def test_credentials_from_prefect_secret(prefect_harness, tmp_path):
    from prefect.blocks.system import Secret

    Secret(value="Bearer block-token").save("huiju-test-token", overwrite=True)
    registry_file = tmp_path / "sources.yaml"
    registry_file.write_text(
        REGISTRY.format(base="http://127.0.0.1:9").replace(
            "    max_concurrent_requests: 4\n",
            "    max_concurrent_requests: 4\n    credentials:\n      header: X-Api-Key\n"
            "      prefect_secret: huiju-test-token\n",
        ),
        encoding="utf-8",
    )
    registry = load_registry(registry_file)

    assert resolve_credential_headers(registry.get("guangan_xzspj")) == {"X-Api-Key": "Bearer block-token"}
    missing = registry.get("guangan_xzspj").model_copy(
        update={"credentials": registry.get("guangan_xzspj").credentials.model_copy(update={"prefect_secret": "absent-token"})}
    )
    with pytest.raises(RuntimeError, match="absent-token"):
        resolve_credential_headers(missing)
