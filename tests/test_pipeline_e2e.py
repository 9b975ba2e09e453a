"""End-to-end runs of the pipeline flow against local department systems serving the real catalog."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from huiju.cli import main as cli_main

pytestmark = pytest.mark.e2e

REAL_RECORD_COUNT = 1135
REAL_DEPARTMENT_COUNT = 34
# The demo registry also lists the portal's three feeds of notices and policy documents.
FEED_FORMATS = ("rss_feed", "atom_feed")
REAL_FEED_COUNT = 3
REAL_CONTENT_COUNT = 145
# The provincial portal source republishes the records of three departments (1 + 1 + 6), and
# each merges into its department's record.
PORTAL_RECORD_COUNT = 8
FETCHED_RECORD_COUNT = REAL_RECORD_COUNT + PORTAL_RECORD_COUNT
SOURCE_COUNT = REAL_DEPARTMENT_COUNT + 1 + REAL_FEED_COUNT


@pytest.fixture(scope="module")
def two_runs(prefect_harness, department_server, tmp_path_factory):
    """The pipeline run twice on unchanged input, into one fresh home."""
    from flows.pipeline import pipeline_flow

    home = tmp_path_factory.mktemp("home")
    first = pipeline_flow(home=str(home))
    first_current = os.readlink(home / "published" / "current")
    second = pipeline_flow(home=str(home))
    return home, first, second, first_current


def _service_sources(sources: dict) -> list[dict]:
    return [source for source in sources.values() if source.get("source_format") not in FEED_FORMATS]


def _totals(run: dict) -> Counter:
    """Sum the counts of the service-item sources of a run."""
    totals: Counter = Counter()
    for source in _service_sources(run["sources"]):
        for key in ("fetched", "published", "quarantined", "merged"):
            totals[key] += source[key] or 0
    return totals


def test_run_accounts_for_every_record(two_runs):
    _, first, _, _ = two_runs
    totals = _totals(first)

    assert first["status"] == "succeeded"
    assert totals["fetched"] == FETCHED_RECORD_COUNT
    assert totals["published"] + totals["quarantined"] + totals["merged"] == FETCHED_RECORD_COUNT
    for source_id, source in first["sources"].items():
        assert source["fetched"] == source["published"] + source["quarantined"] + source["merged"], source_id


def test_run_covers_all_departments(two_runs):
    home, first, _, _ = two_runs
    departments = {source["owner_department"] for source in _service_sources(first["sources"]) if source["fetched"]}
    assert len(departments) == REAL_DEPARTMENT_COUNT + 1

    manifest = json.loads((home / "published" / "current" / "manifest.json").read_text(encoding="utf-8"))
    fetched = sum(source["fetched"] for source in manifest["sources"].values())
    assert fetched == FETCHED_RECORD_COUNT + REAL_CONTENT_COUNT
    formats = {source["source_format"] for source in first["sources"].values()}
    assert formats == {"json_api", "csv_export", *FEED_FORMATS}


def test_real_duplicates_are_merged(two_runs):
    home, first, _, _ = two_runs
    merges = pd.read_parquet(home / "published" / "current" / "merges.parquet")
    items = pd.read_parquet(home / "published" / "current" / "marts" / "fct_service_item.parquet")

    assert _totals(first)["merged"] == 2 + PORTAL_RECORD_COUNT
    assert len(merges) == 2 + PORTAL_RECORD_COUNT
    assert set(merges["merged_into_service_item_id"]) <= set(items["service_item_id"])


def test_published_feed_matches_counts(two_runs):
    home, first, _, _ = two_runs
    current = home / "published" / "current"
    feed = json.loads((current / "feed.json").read_text(encoding="utf-8"))
    items = pd.read_parquet(current / "marts" / "fct_service_item.parquet")

    assert len(feed["items"]) == _totals(first)["published"]
    assert len(items) == len(feed["items"])
    assert feed["labels"]["name"] == "事项名称"
    assert items["service_item_id"].is_unique


def test_theme_content_has_four_forms(two_runs):
    home = two_runs[0]
    content = pd.read_parquet(home / "published" / "current" / "marts" / "mart_theme_content.parquet")
    startup = content[content["theme_id"] == "enterprise_startup"]
    forms = startup.groupby("content_form")["item_id"].count().to_dict()
    systems = set(startup.loc[startup["content_form"] == "business_system", "item_id"])
    steps = pd.read_parquet(home / "published" / "current" / "marts" / "mart_theme_steps.parquet")

    assert forms["service_guide"] == (steps["theme_id"] == "enterprise_startup").sum()
    assert forms["policy_document"] == 4
    assert forms["policy_interpretation"] == 5
    assert {"golden_tax", "golden_security"} <= systems
    assert startup["evidence"].notna().all()
    assert startup["content_form_label"].isin(["通知公告", "政策文件", "政策解读", "办事指南", "业务应用系统"]).all()


def test_theme_content_gaps_named(two_runs):
    home = two_runs[0]
    gaps = pd.read_parquet(home / "published" / "current" / "marts" / "mart_theme_content_gaps.parquet")
    gap_pairs = {(row.theme_id, row.content_kind) for row in gaps.itertuples() if row.is_gap}

    assert len(gaps) == 5 * 5
    assert ("newborn_birth", "notice") in gap_pairs
    assert ("enterprise_startup", "service_guide") not in gap_pairs
    assert ("enterprise_startup", "business_system") not in gap_pairs


def test_real_defects_are_flagged(two_runs):
    home, _, _, _ = two_runs
    audit = json.loads((home / "published" / "current" / "audit.json").read_text(encoding="utf-8"))
    counts = {rule: entry["records"] for rule, entry in audit["rule_counts"].items()}

    assert counts.get("task_code_agency_placeholder", 0) >= 1
    assert counts.get("dept_code_truncated", 0) >= 1
    assert counts.get("task_code_missing_segments", 0) >= 1
    assert counts.get("dept_code_lowercase_check_character", 0) >= 1
    assert audit["rule_counts"]["task_code_agency_placeholder"]["severity"] == "warn"


def test_second_run_publishes_identical_content(two_runs):
    home, first, second, first_current = two_runs
    versions = home / "published" / "versions"
    stages = {stage["stage"]: stage for stage in second["stages"]}

    assert second["status"] == "succeeded"
    assert not first["is_unchanged"]
    assert second["is_unchanged"]
    assert second["published_version"] == first["published_version"]
    assert stages["publish"]["detail"]["content_sha256"] == next(
        stage for stage in first["stages"] if stage["stage"] == "publish"
    )["detail"]["content_sha256"]
    assert [path.name for path in versions.iterdir()] == [first["published_version"]]
    assert [stages[name]["status"] for name in ("transform", "audit", "publish")] == ["skipped"] * 3
    assert _totals(second)["published"] == _totals(first)["published"]
    assert Path(first_current).name == first["published_version"]
    assert os.readlink(home / "published" / "current").endswith(first["published_version"])


def test_second_run_transfers_no_bodies(two_runs):
    _, _, second, _ = two_runs
    assert {source["status"] for source in second["sources"].values()} == {"unchanged"}
    assert sum(source["bytes"] for source in second["sources"].values()) == 0


def test_second_run_duplicates_nothing(two_runs):
    import duckdb

    home, _, second, _ = two_runs
    assert _totals(second)["fetched"] == FETCHED_RECORD_COUNT
    with duckdb.connect(str(home / "warehouse" / "huiju.duckdb"), read_only=True) as connection:
        raw_rows = connection.execute(
            "select (select count(*) from raw.json_api_records) + (select count(*) from raw.csv_export_records)"
        ).fetchone()[0]
        items = connection.execute("select count(*) from main.fct_service_item").fetchone()[0]
    assert raw_rows == FETCHED_RECORD_COUNT
    assert items == REAL_RECORD_COUNT - 2


def test_status_json_reports_last_run(two_runs, capsys):
    home, _, second, _ = two_runs
    assert cli_main(["--home", str(home), "status", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)

    assert document["run_id"] == second["run_id"]
    assert document["published_version"] == second["published_version"]
    assert len(document["sources"]) == SOURCE_COUNT
    for source in document["sources"].values():
        assert set(source) >= {"fetched", "published", "quarantined", "merged"}


def test_replay_reproduces_marts(two_runs, capsys):
    home, first, _, _ = two_runs
    before = {path.name: path.read_bytes() for path in (home / "published" / "current" / "marts").iterdir()}

    assert cli_main(["--home", str(home), "replay"]) == 0
    replayed = json.loads((home / "runs" / "latest.json").read_text(encoding="utf-8"))
    after = {path.name: path.read_bytes() for path in (home / "published" / "current" / "marts").iterdir()}

    assert replayed["stages"][0]["stage"] == "replay"
    assert {source["status"] for source in replayed["sources"].values()} == {"replayed"}
    assert replayed["is_unchanged"] is True
    assert replayed["published_version"] == first["published_version"]
    assert after == before
    assert "内容与当前版本相同" in capsys.readouterr().out


def test_sources_check_probes_every_source(department_server, capsys):
    department_server.queue_statuses(department_server.export_path("fgj"), 503)
    try:
        assert cli_main(["sources", "check", "--json"]) == 1
    finally:
        department_server.reset()
    results = {result["source_id"]: result for result in json.loads(capsys.readouterr().out)}

    assert len(results) == SOURCE_COUNT
    assert results["guangan_xzspj"]["record_count"] == 344
    assert results["guangan_gaqswj"]["record_count"] == 83
    assert results["guangan_fgj"]["is_reachable"] is False
    assert "503" in results["guangan_fgj"]["error"]
    assert sum(result["is_reachable"] for result in results.values()) == SOURCE_COUNT - 1
