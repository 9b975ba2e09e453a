"""Audit gates and the write-audit-publish switch, on small candidate marts written as Parquet."""

from __future__ import annotations

import json
import os
import shutil
import threading
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from huiju import audit as audit_module
from huiju import publish
from huiju.settings import PROJECT_ROOT
from theme_warehouse import write_empty_theme_candidates

EXPECTATIONS = PROJECT_ROOT / "expectations"
LINK = "http://www.sczwfw.gov.cn/jiq/front/transition/ywTransToDetail?areaCode=511602000000"


def _item(item_id: str, **overrides) -> dict:
    item = {
        "service_item_id": item_id,
        "match_key": f"key-{item_id}",
        "task_name": f"事项{item_id}",
        "task_name_raw": f"事项{item_id}",
        "task_code": "511A0138000000-511602000000-000-115113010833722043-1-00",
        "catalog_code": "511A0138000000",
        "region_code": "511602000000",
        "agency_code": "115113010833722043",
        "code_version": "1",
        "handle_item_code": "00",
        "task_code_pattern": "standard",
        "task_type_code": "01",
        "task_type_label": "行政许可",
        "department_id": "d1",
        "dept_name": "区教科体局",
        "dept_code": "083372204",
        "link_url": LINK,
        "link_area_code": "511602000000",
        "has_usable_link": True,
        "region_code_status": "valid",
        "agency_code_status": "valid_uscc",
        "dept_code_status": "valid_org_code",
        "source_id": "jky",
        "source_format": "json_api",
        "source_record_id": f"jky#{item_id}",
        "record_position": int(item_id),
        "run_id": "r1",
        "landing_file": "/landing/jky/r1/page-0001.json",
        "merged_record_count": 0,
    }
    item.update(overrides)
    return item


def _write_candidates(directory: Path, items: list[dict], merged: list[tuple[str, str]] = ()) -> Path:
    """Write the candidate marts of ``items``; each ``merged`` pair is (record id, surviving item id)."""
    directory.mkdir(parents=True, exist_ok=True)
    fct = pd.DataFrame(items)
    fct.to_parquet(directory / "fct_service_item.parquet")

    records = [
        {"source_record_id": item["source_record_id"], "source_id": item["source_id"], "source_format": "json_api",
         "run_id": "r1", "landing_file": item["landing_file"], "record_position": item["record_position"],
         "service_item_id": item["service_item_id"], "disposition": "survivor", "merged_into_service_item_id": None,
         "record": json.dumps({"task_name": item["task_name_raw"]}, ensure_ascii=False)}
        for item in items
    ]
    for record_id, into in merged:
        records.append({"source_record_id": record_id, "source_id": "jky", "source_format": "json_api", "run_id": "r1",
                        "landing_file": "/landing/jky/r1/page-0001.json", "record_position": 99,
                        "service_item_id": into, "disposition": "merged", "merged_into_service_item_id": into,
                        "record": "{}"})
    pd.DataFrame(records).to_parquet(directory / "fct_source_record.parquet")

    pd.DataFrame([{"department_id": "d1", "dept_name": "区教科体局", "dept_code": "083372204",
                   "dept_code_status": "valid_org_code"}]).to_parquet(directory / "dim_department.parquet")
    pd.DataFrame([{"region_code": "511602000000", "name": "广安区", "province": "四川省", "city": "广安市",
                   "status": "valid"}]).to_parquet(directory / "dim_region.parquet")

    themes = [
        {"service_item_id": item["service_item_id"], "audience": None, "theme_code": None, "theme_label": None,
         "rule_id": "unassigned", "is_unassigned": True}
        for item in items
    ]
    pd.DataFrame(themes).to_parquet(directory / "mart_service_themes.parquet")

    status = [
        {"service_item_id": item["service_item_id"], "source_id": item["source_id"],
         "first_seen_at": pd.Timestamp("2026-12-04", tz="UTC"), "is_withdrawn": False}
        for item in items
    ]
    pd.DataFrame(status).to_parquet(directory / "fct_service_item_status.parquet")
    write_empty_theme_candidates(directory)
    _write_content_candidates(directory)

    dimensions = [
        {"service_item_id": item["service_item_id"], "dimension": dimension, "dimension_label": label,
         "value": "unknown", "rule_id": "no_rule_matched", "evidence": "事项类型=01", "decided_by": "rule"}
        for item in items
        for dimension, label in (("resource_kind", "资源类型"), ("audience_breadth", "受众范围"),
                                 ("region_scope", "区域范围"), ("link_mode", "链接方式"),
                                 ("standardization", "规范程度"), ("duration", "时间周期"),
                                 ("responsible_body", "责任部门"), ("maturity", "实现程度"))
    ]
    pd.DataFrame(dimensions).to_parquet(directory / "fct_service_item_dimension.parquet")
    variance_columns = ["region_variance_id", "catalog_code", "service_item_id", "field_name", "field_position", "variance"]
    pd.DataFrame(columns=variance_columns).astype(str).to_parquet(directory / "mart_region_variance.parquet")

    evidence = [
        {"source_record_id": record["source_record_id"], "service_item_id": record["service_item_id"],
         "source_id": record["source_id"], "is_survivor": record["disposition"] == "survivor"}
        for record in records
    ]
    pd.DataFrame(evidence).to_parquet(directory / "fct_service_item_evidence.parquet")

    history = [
        {"history_row_id": f"h{item['service_item_id']}", "service_item_id": item["service_item_id"],
         "valid_from": pd.Timestamp("2026-12-04", tz="UTC"), "valid_to": pd.NaT, "opened_run_id": "r1",
         "is_current": True, "close_reason": None}
        for item in items
    ]
    pd.DataFrame(history).to_parquet(directory / "fct_service_item_history.parquet")
    return directory


def _write_content_candidates(directory: Path) -> None:
    """Write the content and business-system marts: one real notice and the twelve systems, unlinked."""
    content_id = "0" * 32
    link = "http://www.sm.gov.cn/zw/gsgg/jt_5597/202604/t20260401_2096601.htm"
    pd.DataFrame([{
        "content_id": content_id, "content_kind": "notice", "content_kind_label": "通知公告",
        "title": "关于2026年4月逾期未处理涉案车辆的公告", "publisher": "三明高速公路交警支队",
        "published_at": pd.Timestamp("2026-04-01", tz="UTC"), "published_on": pd.Timestamp("2026-04-01").date(),
        "link_url": link, "category": None,
        "source_id": "portal_notices", "source_record_id": "portal_notices#1", "merged_record_count": 0,
    }]).to_parquet(directory / "fct_content_item.parquet")
    pd.DataFrame([{
        "source_record_id": "portal_notices#1", "source_id": "portal_notices", "source_format": "rss_feed",
        "run_id": "r1", "landing_file": "/landing/portal_notices/r1/feed.xml", "record_position": 1,
        "content_kind": "notice", "content_id": content_id, "disposition": "survivor",
        "merged_into_content_id": None, "quarantine_rule_id": None, "quarantine_reason_zh": None,
        "quarantine_reason_en": None, "record": "{}",
    }]).to_parquet(directory / "fct_content_record.parquet")
    pd.DataFrame({"theme_id": pd.Series([], dtype=str), "content_id": pd.Series([], dtype=str)}).to_parquet(
        directory / "bridge_theme_content.parquet")
    pd.DataFrame([{"theme_id": "retirement", "content_kind": "notice", "content_kind_label": "通知公告",
                   "content_count": 0, "is_gap": True}]).to_parquet(
        directory / "mart_theme_content_gaps.parquet")
    systems = ["golden_macro", "office_resources", "golden_finance", "golden_tax", "golden_card", "golden_audit",
               "golden_customs", "golden_shield", "golden_security", "golden_agriculture", "golden_water",
               "golden_quality"]
    pd.DataFrame([{"system_id": system_id, "system_order": order, "name": system_id, "full_name": system_id}
                  for order, system_id in enumerate(systems, start=1)]).to_parquet(directory / "dim_business_system.parquet")
    pd.DataFrame({"service_item_id": pd.Series([], dtype=str), "system_id": pd.Series([], dtype=str)}).to_parquet(
        directory / "bridge_service_business_system.parquet")


def _gate(result, name):
    return next(gate for gate in result.gates if gate.gate == name)


@pytest.fixture
def mixed_batch(tmp_path):
    items = [_item(str(number)) for number in range(1, 40)]
    items.append(_item("40", task_name=None, task_name_raw=""))
    items.append(_item("41", has_usable_link=False, link_url="javascript:void(0)"))
    items.append(_item("42", agency_code_status="placeholder", agency_code="2222222222222"))
    items.append(_item("43", dept_code_status="lowercase_check_character", dept_code="11511301452259996u"))
    return _write_candidates(tmp_path / "candidates" / "r1", items, merged=[("jky#dup", "1")])


def test_block_and_warn_rules_decide_rows(mixed_batch):
    result = audit_module.audit_candidates(mixed_batch, EXPECTATIONS)
    decisions = {(d.row_key, d.rule_id): d for d in result.decisions}

    assert decisions[("40", "missing_name")].severity == "block"
    assert decisions[("41", "unusable_link")].value == "javascript:void(0)"
    assert decisions[("42", "task_code_agency_placeholder")].value == "2222222222222"
    assert decisions[("42", "task_code_agency_placeholder")].severity == "warn"
    assert decisions[("43", "dept_code_lowercase_check_character")].value == "11511301452259996u"
    assert result.blocked_keys == {"40", "41"}
    assert all(decision.reason_zh and decision.reason_en for decision in result.decisions)


def test_share_gates_block_batch(mixed_batch, tmp_path):
    strict = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS, strict)
    (strict / "gate.yaml").write_text("thresholds:\n  max_block_share: 0.01\n  max_warn_share: 0.5\n", encoding="utf-8")

    result = audit_module.audit_candidates(mixed_batch, strict)
    assert not result.passed
    assert not _gate(result, "block_share").passed
    assert _gate(result, "warn_share").passed


def test_expectations_report_no_exceptions(mixed_batch):
    result = audit_module.audit_candidates(mixed_batch, EXPECTATIONS)
    assert result.expectation_results
    assert [entry for entry in result.expectation_results if entry["exception"]] == []


def test_duplicate_ids_fail_dataset_suite(tmp_path):
    candidates = _write_candidates(tmp_path / "c", [_item("1"), _item("1", source_record_id="jky#1b")])
    result = audit_module.audit_candidates(candidates, EXPECTATIONS)
    assert not _gate(result, "suite:fct_service_item").passed
    assert not result.passed


def test_unthemed_item_fails_domain_check(tmp_path):
    candidates = _write_candidates(tmp_path / "c", [_item("1"), _item("2")])
    themes = pd.read_parquet(candidates / "mart_service_themes.parquet")
    themes[themes["service_item_id"] == "1"].to_parquet(candidates / "mart_service_themes.parquet")

    result = audit_module.audit_candidates(candidates, EXPECTATIONS)
    assert not _gate(result, "theme_coverage").passed


def test_invalid_severity_is_rejected(tmp_path):
    broken = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS, broken)
    suite = json.loads((broken / "fct_service_item.json").read_text(encoding="utf-8"))
    suite["expectations"][-1]["meta"]["severity"] = "fatal"
    (broken / "fct_service_item.json").write_text(json.dumps(suite), encoding="utf-8")

    with pytest.raises(audit_module.AuditConfigError, match="fct_service_item.json.*severity"):
        audit_module.load_suite_definitions(broken)


def test_publish_writes_version_and_quarantine(mixed_batch, tmp_path):
    result = audit_module.audit_candidates(mixed_batch, EXPECTATIONS)
    publish_dir = tmp_path / "published"
    warned = {decision.row_key for decision in result.decisions if decision.severity == "warn"}
    counts = publish.source_counts(mixed_batch, result.blocked_keys, warned)
    version, manifest, is_unchanged = publish.write_version(
        publish_dir=publish_dir, candidate_dir=mixed_batch, audit=result, run_id="r1",
        created_at=datetime(2026, 12, 4, tzinfo=timezone.utc), sources=counts,
    )
    publish.switch_current(publish_dir, version)
    current = publish_dir / "current"

    assert not is_unchanged
    assert counts["jky"] == {"run_id": "r1", "fetched": 44, "published": 41, "quarantined": 2, "merged": 1,
                             "flagged": 2}
    items = pd.read_parquet(current / "marts" / "fct_service_item.parquet")
    assert set(items["service_item_id"]) == {str(n) for n in range(1, 44)} - {"40", "41"}
    assert "run_id" not in items.columns
    assert list(items.loc[items["service_item_id"] == "42", "quality_flags"].iloc[0]) == ["task_code_agency_placeholder"]
    quarantine = pd.read_parquet(current / "quarantine.parquet")
    assert set(quarantine["rule_id"]) == {"missing_name", "unusable_link"}
    assert quarantine["source_record"].notna().all()
    flags = pd.read_parquet(current / "quality_flags.parquet")
    assert set(flags["rule_id"]) == {"task_code_agency_placeholder", "dept_code_lowercase_check_character"}
    assert flags["source_record"].notna().all()
    feed = json.loads((current / "feed.json").read_text(encoding="utf-8"))
    assert len(feed["items"]) == 41
    assert manifest["row_counts"]["quarantine_rows"] == 2
    merges = pd.read_parquet(current / "merges.parquet")
    assert merges["merged_into_service_item_id"].tolist() == ["1"]
    assert publish.current_version(publish_dir) == version


def test_unchanged_content_adds_no_version(mixed_batch, tmp_path):
    result = audit_module.audit_candidates(mixed_batch, EXPECTATIONS)
    publish_dir = tmp_path / "published"
    arguments = dict(publish_dir=publish_dir, candidate_dir=mixed_batch, audit=result, sources={})
    first, _, _ = publish.write_version(**arguments, run_id="r1", created_at=datetime(2026, 12, 4, tzinfo=timezone.utc))
    publish.switch_current(publish_dir, first)

    second, manifest, is_unchanged = publish.write_version(
        **arguments, run_id="r2", created_at=datetime(2026, 12, 5, tzinfo=timezone.utc)
    )
    assert is_unchanged
    assert second == first
    assert manifest["run_id"] == "r1"
    assert [path.name for path in (publish_dir / "versions").iterdir()] == [first]


def test_switch_refuses_incomplete_version(tmp_path):
    (tmp_path / "versions" / "v1").mkdir(parents=True)
    with pytest.raises(publish.PublishError, match="manifest.json"):
        publish.switch_current(tmp_path, "v1")


def test_readers_never_see_missing_current(tmp_path):
    """Readers resolving ``current`` while it switches always find a complete version."""
    for version in ("v1", "v2"):
        (tmp_path / "versions" / version).mkdir(parents=True)
        (tmp_path / "versions" / version / "manifest.json").write_text(json.dumps({"version": version}))
    publish.switch_current(tmp_path, "v1")
    errors: list[Exception] = []
    stop = threading.Event()

    def read_loop():
        while not stop.is_set():
            try:
                version = json.loads((tmp_path / "current" / "manifest.json").read_text())["version"]
                assert version in ("v1", "v2")
            except Exception as error:  # noqa: BLE001 - collected for the assertion below
                errors.append(error)

    reader = threading.Thread(target=read_loop)
    reader.start()
    for index in range(300):
        publish.switch_current(tmp_path, "v2" if index % 2 == 0 else "v1")
    stop.set()
    reader.join()
    assert errors == []
    assert os.readlink(tmp_path / "current") in ("versions/v1", "versions/v2")


def _every_string_column(path: Path, names: list[str]) -> list[str]:
    schema = pq.read_schema(path)
    return [name for name in names if pa.types.is_string(schema.field(name).type)
            or pa.types.is_large_string(schema.field(name).type)]


@pytest.fixture
def failing_batch(tmp_path):
    """A batch whose dataset-level expectations fail: duplicate ids, a bad region code, a bad dimension value."""
    items = [_item("1"), _item("1", source_record_id="jky#1b"), _item("2", task_type_label=None, task_name=None)]
    candidates = _write_candidates(tmp_path / "failing", items)
    regions = pd.read_parquet(candidates / "dim_region.parquet")
    bad_region = {"region_code": "51160X", "name": None, "province": None, "city": None, "status": "bogus"}
    pd.concat([regions, pd.DataFrame([bad_region])]).to_parquet(candidates / "dim_region.parquet")
    dimensions = pd.read_parquet(candidates / "fct_service_item_dimension.parquet")
    dimensions.loc[0, "value"] = "bogus"
    dimensions.loc[1, "evidence"] = None
    dimensions.to_parquet(candidates / "fct_service_item_dimension.parquet")
    return candidates


@pytest.mark.parametrize("batch", ["mixed_batch", "failing_batch"])
def test_categorical_columns_keep_results(batch, request, monkeypatch):
    candidates = request.getfixturevalue(batch)
    suites = audit_module.load_suite_definitions(EXPECTATIONS)
    thresholds = audit_module.load_thresholds(EXPECTATIONS / "gate.yaml")
    plain = audit_module.audit_in_process(candidates, suites, thresholds)

    monkeypatch.setattr(audit_module, "dictionary_columns", _every_string_column)
    items = audit_module.read_mart(candidates, "fct_service_item", None)
    assert isinstance(items["agency_code_status"].dtype, pd.CategoricalDtype)
    categorical = audit_module.audit_in_process(candidates, suites, thresholds)

    assert categorical.to_dict() == plain.to_dict()
    assert categorical.decisions == plain.decisions
    assert plain.decisions
    if batch == "failing_batch":
        assert not plain.passed


def test_dictionary_columns_use_duckdb_statistics(tmp_path):
    written = tmp_path / "duckdb.parquet"
    duckdb.sql(
        "SELECT 'item-' || i AS item_id, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END AS parity, i AS number "
        "FROM range(1000) AS numbers(i)"
    ).write_parquet(str(written))
    assert audit_module.dictionary_columns(written, ["item_id", "parity", "number"]) == ["parity"]

    rewritten = tmp_path / "pyarrow.parquet"
    pd.read_parquet(written).to_parquet(rewritten)
    assert audit_module.dictionary_columns(rewritten, ["item_id", "parity", "number"]) == []


def test_audit_runs_from_thread(mixed_batch):
    """Prefect runs tasks in worker threads, so the audit's child process must start from one."""
    results = []
    worker = threading.Thread(target=lambda: results.append(
        audit_module.audit_candidates(mixed_batch, EXPECTATIONS, isolate=True)))
    worker.start()
    worker.join()

    assert len(results) == 1
    assert results[0].blocked_keys == {"40", "41"}


def test_isolated_audit_equals_in_process(mixed_batch):
    isolated = audit_module.audit_candidates(mixed_batch, EXPECTATIONS, isolate=True)
    in_process = audit_module.audit_candidates(mixed_batch, EXPECTATIONS, isolate=False)

    assert isolated.to_dict() == in_process.to_dict()
    assert isolated.decisions == in_process.decisions
