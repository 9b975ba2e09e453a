"""Updated-since harvest: the server's change filter, the cursor, the merge load, replay and full refresh."""

from __future__ import annotations

import email.utils
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import requests

from connectors.registry import RegistryError, load_registry
from huiju.harvest import format_updated_since, updated_since_value
from huiju.replay import replay_landings
from huiju.settings import Settings
from huiju.state import SourceState, StateStore

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
    page_size: 100
    updated_since:
      param: updatedSince
      record_key: task_code
      full_refresh_hours: 24
  - id: guangan_fgj
    name: 广安区发改局政务服务事项导出
    format: csv_export
    base_url: {base}/fgj
    owner_department: 区发改局
    contact: 区发改局办公室
"""

SOURCE_ID = "guangan_xzspj"


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def harvest(prefect_harness, server, home, tmp_path):
    """Run the harvest flow on a registry whose JSON API supports updated-since."""
    from flows.harvest import harvest_flow

    registry = tmp_path / "sources.yaml"
    registry.write_text(REGISTRY.format(base=server.base_url), encoding="utf-8")
    # clean_server marks records that it restored as changed now, or up to a few seconds ahead when
    # they changed several times in one second. The cursor has whole-second precision, so the first
    # fetch starts at least one second after the department's Last-Modified.
    last_modified = email.utils.parsedate_to_datetime(server.last_modified("xzspj")).timestamp()
    time.sleep(max(0.0, last_modified + 1.05 - time.time()))

    def run() -> dict:
        result = harvest_flow(home=str(home), sources_file=str(registry))
        run.run_ids.append(result["run_id"])
        return result["sources"]

    run.registry_file = registry
    run.run_ids = []
    return run


def _raw_records(home: Path, source_id: str = SOURCE_ID) -> list[dict]:
    with duckdb.connect(str(home / "warehouse" / "huiju.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "select record from raw.json_api_records where source_id = ? order by record_position", [source_id]
        ).fetchall()
    return [json.loads(row[0]) for row in rows]


def _updated_since_requests(server) -> list[str]:
    return [request.query for request in server.received_requests
            if request.path == "/xzspj/api/tasks" and "updatedSince" in request.query]


def _change_one_and_add_one(server) -> tuple[dict, dict]:
    records = server.records("xzspj")
    changed = {**records[200], "task_name": records[200]["task_name"] + "（调整）"}
    added = {**records[0], "task_code": "11511602MB1234567X4000120001000", "task_name": "新增事项（测试）"}
    server.replace_records("xzspj", [*records[:200], changed, *records[201:], added])
    return changed, added


def test_server_filters_every_style(server):
    time.sleep(1.05)  # records restored by clean_server count as changed in its second
    since = requests.get(f"{server.base_url}/xzspj/api/tasks", timeout=5).headers["Date"]
    time.sleep(1.05)
    _change_one_and_add_one(server)
    iso = datetime.strptime(since, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC).isoformat()

    for pagination in ("page_number", "offset_limit", "cursor", "next_link"):
        url = server.base_url + server.api_path("xzspj", pagination)
        body = requests.get(url, params={"updatedSince": iso}, timeout=5).json()
        assert body["data"]["total"] == 2, pagination
        names = [record["task_name"] for record in body["data"]["records"]]
        assert names[-1] == "新增事项（测试）", pagination
    linked = requests.get(server.base_url + server.api_path("xzspj", "next_link"),
                          params={"updatedSince": iso, "pageSize": 1}, timeout=5).json()
    assert "updatedSince=" in linked["links"]["next"]


def test_server_rejects_invalid_updated_since(server):
    response = requests.get(f"{server.base_url}/xzspj/api/tasks", params={"updatedSince": "昨天"}, timeout=5)

    assert response.status_code == 400
    assert "updatedSince" in response.json()["message"]


def test_first_run_full_then_nothing_updated(harvest, server, home):
    first = harvest()
    state = StateStore(home / "state").load(SOURCE_ID)
    server_requests_before = len(_updated_since_requests(server))
    second = harvest()

    assert first[SOURCE_ID]["fetch_mode"] == "full"
    assert first[SOURCE_ID]["status"] == "landed"
    assert state.cursor is not None
    assert state.last_full_fetch_at is not None
    assert second[SOURCE_ID]["fetch_mode"] == "updated_since"
    assert second[SOURCE_ID]["status"] == "unchanged"
    assert second[SOURCE_ID]["bytes"] == 0
    assert len(_updated_since_requests(server)) == server_requests_before + 1
    assert len(_raw_records(home)) == 344


def test_changed_records_are_merged(harvest, server, home):
    harvest()
    changed, added = _change_one_and_add_one(server)
    outcome = harvest()[SOURCE_ID]
    records = _raw_records(home)
    landing = json.loads((Path(outcome["landing_dir"]) / "_COMMITTED.json").read_text(encoding="utf-8"))
    codes = [record["task_code"] for record in records]

    assert outcome["status"] == "landed"
    assert outcome["fetch_mode"] == "updated_since"
    assert landing["mode"] == "updated_since"
    assert landing["base_run_id"] is not None
    assert outcome["fetched"] == 345
    assert len(records) == 345
    assert codes.count(changed["task_code"]) == 1
    assert next(record for record in records if record["task_code"] == changed["task_code"]) == changed
    assert records[-1] == added
    assert [record["task_name"] for record in records].count(changed["task_name"].removesuffix("（调整）")) == 0


def test_change_in_cursor_second_is_fetched(harvest, server, home):
    harvest()
    store = StateStore(home / "state")
    state = store.load(SOURCE_ID)
    state.cursor = datetime.now(UTC).replace(microsecond=0).isoformat()
    store.save(state)
    changed, _ = _change_one_and_add_one(server)

    outcome = harvest()[SOURCE_ID]

    assert outcome["status"] == "landed"
    assert changed in _raw_records(home)


def test_merge_keeps_fields_and_positions(harvest, server, home):
    harvest()
    _change_one_and_add_one(server)
    harvest()

    with duckdb.connect(str(home / "warehouse" / "huiju.duckdb"), read_only=True) as connection:
        positions = [row[0] for row in connection.execute(
            "select record_position from raw.json_api_records where source_id = ? order by record_position",
            [SOURCE_ID],
        ).fetchall()]
    state = StateStore(home / "state").load(SOURCE_ID)

    assert positions == list(range(1, 346))
    assert "task_name" in state.fields
    assert state.record_count == 345
    assert state.pages == {}


def test_renamed_field_in_update_blocks(harvest, server, home):
    harvest()
    records = server.records("xzspj")
    renamed = {("taskName" if key == "task_name" else key): value for key, value in records[5].items()}
    renamed["taskName"] += "（改名）"
    server.replace_records("xzspj", [*records[:5], renamed, *records[6:]])
    outcome = harvest()[SOURCE_ID]

    assert outcome["status"] == "failed"
    assert outcome["error"]["stage"] == "schema"
    assert "taskName" in outcome["error"]["reason"]
    assert _raw_records(home)[5] == records[5]


def test_replay_applies_updates_in_order(harvest, server, home):
    harvest()
    _change_one_and_add_one(server)
    harvest()
    time.sleep(1.05)
    records = server.records("xzspj")
    server.replace_records("xzspj", [{**records[10], "task_name": "第二次调整"}, *records[:10], *records[11:]])
    third = harvest()[SOURCE_ID]
    before = _raw_records(home)

    settings = Settings.with_overrides(str(home), str(harvest.registry_file))
    outcomes = replay_landings(settings, load_registry(harvest.registry_file))

    assert third["fetch_mode"] == "updated_since"
    assert outcomes[SOURCE_ID]["status"] == "replayed"
    assert outcomes[SOURCE_ID]["snapshot_id"] == StateStore(home / "state").load(SOURCE_ID).snapshot_id()
    assert _raw_records(home) == before


def test_replay_of_unchanged_run_uses_earlier_landing(harvest, server, home):
    harvest()
    second = harvest()
    before = _raw_records(home)

    settings = Settings.with_overrides(str(home), str(harvest.registry_file))
    outcomes = replay_landings(settings, load_registry(harvest.registry_file), run_id=harvest.run_ids[1])

    assert second[SOURCE_ID]["status"] == "unchanged"
    assert outcomes[SOURCE_ID]["status"] == "replayed"
    assert outcomes["guangan_fgj"]["status"] == "replayed"
    assert Path(outcomes[SOURCE_ID]["landing_dir"]).name == harvest.run_ids[0]
    assert _raw_records(home) == before


def test_misspelt_record_key_blocks(harvest, home):
    registry = harvest.registry_file
    registry.write_text(registry.read_text(encoding="utf-8").replace("record_key: task_code", "record_key: taskcode"),
                        encoding="utf-8")

    outcome = harvest()[SOURCE_ID]

    assert outcome["status"] == "failed"
    assert outcome["error"]["stage"] == "schema"
    assert "'taskcode'" in outcome["error"]["reason"]
    assert "task_code" in outcome["error"]["reason"]


def test_full_refresh_detects_removal(harvest, server, home):
    harvest()
    _change_one_and_add_one(server)
    harvest()
    store = StateStore(home / "state")
    state = store.load(SOURCE_ID)
    state.last_full_fetch_at = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    store.save(state)
    records = server.records("xzspj")
    server.replace_records("xzspj", records[:-1])

    outcome = harvest()[SOURCE_ID]

    assert outcome["fetch_mode"] == "full"
    assert outcome["status"] == "landed"
    assert len(_raw_records(home)) == 344
    assert "新增事项（测试）" not in [record["task_name"] for record in _raw_records(home)]
    assert store.load(SOURCE_ID).pages != {}


def test_state_survives_port_change(harvest, home, tmp_path):
    from department_systems.server import DepartmentSystemServer
    from flows.harvest import harvest_flow

    harvest()
    with DepartmentSystemServer() as moved:
        registry = tmp_path / "moved.yaml"
        registry.write_text(REGISTRY.format(base=moved.base_url), encoding="utf-8")
        outcomes = harvest_flow(home=str(home), sources_file=str(registry))["sources"]

    assert outcomes["guangan_fgj"]["status"] == "unchanged"
    assert outcomes["guangan_fgj"]["bytes"] == 0
    assert outcomes[SOURCE_ID]["status"] == "unchanged"
    assert outcomes[SOURCE_ID]["bytes"] == 0


@pytest.mark.parametrize(
    ("time_format", "expected"),
    [("iso8601", "2026-12-04T02:00:00Z"), ("epoch_seconds", "1796349600"), ("epoch_millis", "1796349600000")],
)
def test_format_updated_since(time_format, expected):
    assert format_updated_since("2026-12-04T10:00:00+08:00", time_format) == expected


def test_full_fetch_when_due(tmp_path, server):
    registry_file = tmp_path / "sources.yaml"
    registry_file.write_text(REGISTRY.format(base=server.base_url), encoding="utf-8")
    source = load_registry(registry_file).get(SOURCE_ID)
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    loaded = SourceState(SOURCE_ID, last_good_run_id="run-1", cursor="2026-12-04T02:00:00+00:00",
                         last_full_fetch_at="2026-12-04T02:00:05+00:00")

    assert updated_since_value(source, loaded, now) == "2026-12-04T02:00:00+00:00"
    assert updated_since_value(source, SourceState(SOURCE_ID), now) is None
    assert updated_since_value(source, loaded, now + timedelta(hours=20)) is None
    csv_source = load_registry(registry_file).get("guangan_fgj")
    assert updated_since_value(csv_source, loaded, now) is None


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ("      param: updatedSince\n      record_key: task-code\n", "updated_since.record_key"),
        ("      param: updatedSince\n", "updated_since.record_key"),
        ("      param: updatedSince\n      record_key: task_code\n      full_refresh_hours: 0\n",
         "updated_since.full_refresh_hours"),
        ("      param: updatedSince\n      record_key: task_code\n      since: 1\n", "updated_since.since"),
    ],
)
def test_registry_rejects_invalid_updated_since(tmp_path, block, field):
    text = REGISTRY.format(base="http://127.0.0.1:9").replace(
        "      param: updatedSince\n      record_key: task_code\n      full_refresh_hours: 24\n", block
    )
    registry_file = tmp_path / "sources.yaml"
    registry_file.write_text(text, encoding="utf-8")

    with pytest.raises(RegistryError) as raised:
        load_registry(registry_file)
    assert raised.value.field == field
    assert raised.value.source_id == SOURCE_ID


def test_registry_rejects_updated_since_on_export(tmp_path):
    text = REGISTRY.format(base="http://127.0.0.1:9") + (
        "    updated_since:\n      param: updatedSince\n      record_key: 实施编码\n"
    )
    registry_file = tmp_path / "sources.yaml"
    registry_file.write_text(text, encoding="utf-8")

    with pytest.raises(RegistryError) as raised:
        load_registry(registry_file)
    assert raised.value.source_id == "guangan_fgj"
    assert raised.value.field == "updated_since"
    assert "applies only to sources of format json_api" in str(raised.value)
