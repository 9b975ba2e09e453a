"""Pipeline runs after the demo run on the real catalog, with bad records, a failing source, a
blocked batch and a withdrawn item. Each fixture builds on the home the previous one left."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest
from test_pipeline_e2e import FETCHED_RECORD_COUNT, _totals

from huiju.cli import main as cli_main
from huiju.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def faulty_run(demo_home_copy, department_server):
    """A run after the demo run: 区统计局 adds two unpublishable records and 区财政局's API returns 500."""
    from flows.pipeline import pipeline_flow

    home = demo_home_copy
    good = department_server.records("tjj")[0]
    department_server.replace_records("tjj", [
        good,
        {**good, "task_name": "   ", "task_code": "512034008002-511602000000-000-11511301008778378G-1-00"},
        {**good, "task_name": "统计信息查询", "task_code": "512034008003-511602000000-000-11511301008778378G-1-00",
         "link_addr": "javascript:void(0)"},
    ])
    department_server.queue_statuses(department_server.json_api_path("czj"), 500, 500, 500, 500)
    try:
        run = pipeline_flow(home=str(home))
    finally:
        department_server.reset()
    return home, run


def test_bad_records_are_quarantined(faulty_run):
    home, run = faulty_run
    statistics = run["sources"]["guangan_tjj"]
    quarantine = pd.read_parquet(home / "published" / "current" / "quarantine.parquet")

    assert run["status"] == "partial"
    assert statistics["fetched"] == 3
    assert statistics["published"] == 1
    assert statistics["quarantined"] == 2
    assert set(quarantine["rule_id"]) == {"missing_name", "unusable_link"}
    assert quarantine["source_id"].eq("guangan_tjj").all()
    link_row = quarantine[quarantine["rule_id"] == "unusable_link"].iloc[0]
    assert link_row["value"] == "javascript:void(0)"
    assert "javascript:void(0)" in link_row["source_record"]
    assert link_row["reason_zh"] and link_row["reason_en"]


def test_failed_source_is_carried_forward_stale(faulty_run):
    home, run = faulty_run
    finance = run["sources"]["guangan_czj"]
    manifest = json.loads((home / "published" / "current" / "manifest.json").read_text(encoding="utf-8"))

    assert finance["status"] == "failed"
    assert finance["error"]["stage"] == "harvest"
    assert finance["error"]["status_code"] == 500
    assert "/czj/api/tasks" in finance["error"]["url"]
    assert finance["is_stale"] is True
    assert manifest["sources"]["guangan_czj"]["is_stale"] is True
    assert manifest["sources"]["guangan_czj"]["published"] == 4
    assert _totals(run)["fetched"] == FETCHED_RECORD_COUNT + 2
    for source_id, source in run["sources"].items():
        assert source["fetched"] == source["published"] + source["quarantined"] + source["merged"], source_id


def test_blocked_batch_keeps_current(faulty_run, monkeypatch, tmp_path, capsys):
    home, previous = faulty_run
    strict = tmp_path / "expectations"
    shutil.copytree(PROJECT_ROOT / "expectations", strict)
    (strict / "gate.yaml").write_text("thresholds:\n  max_block_share: 0.05\n  max_warn_share: 0.10\n", encoding="utf-8")
    monkeypatch.setenv("HUIJU_EXPECTATIONS_DIR", str(strict))
    current_before = os.readlink(home / "published" / "current")

    assert cli_main(["--home", str(home), "run"]) == 2
    output = capsys.readouterr().out
    status = json.loads((home / "runs" / "latest.json").read_text(encoding="utf-8"))

    assert os.readlink(home / "published" / "current") == current_before
    assert status["status"] == "blocked"
    assert status["published_version"] is None
    assert status["current_version"] == previous["published_version"]
    assert "warn_share" in status["message"]
    assert "未发布新版本" in output
    assert (home / "published" / "rejected" / status["run_id"] / "audit.json").exists()


@pytest.fixture(scope="module")
def withdrawal_runs(faulty_run, department_server):
    """Two more runs: 区交通运输局, whose API has no updated-since filter, drops one item and then sends it again."""
    from flows.pipeline import pipeline_flow

    home = faulty_run[0]
    records = department_server.records("jtysj")
    dropped = records[10]
    department_server.replace_records("jtysj", records[:10] + records[11:])
    try:
        missing = pipeline_flow(home=str(home))
        status_missing = pd.read_parquet(home / "published" / "current" / "marts" / "fct_service_item_status.parquet")
    finally:
        department_server.reset()
    restored = pipeline_flow(home=str(home))
    status_restored = pd.read_parquet(home / "published" / "current" / "marts" / "fct_service_item_status.parquet")
    return dropped, missing, status_missing, restored, status_restored


def test_missing_item_is_withdrawn_then_restored(withdrawal_runs):
    dropped, missing, status_missing, restored, status_restored = withdrawal_runs
    withdrawn = status_missing[status_missing["is_withdrawn"]]

    assert missing["sources"]["guangan_jtysj"]["fetched"] == 106
    assert withdrawn["task_code"].tolist() == [dropped["task_code"]]
    assert withdrawn["withdrawn_at"].notna().all()
    row = status_restored[status_restored["task_code"] == dropped["task_code"]].iloc[0]
    assert not row["is_withdrawn"]
    assert pd.notna(row["restored_at"])
    assert row["first_seen_at"] == withdrawn["first_seen_at"].iloc[0]
    assert restored["sources"]["guangan_jtysj"]["fetched"] == 107
