"""Theme composition shares, principle breaches and their effect on publication."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pytest

from huiju.audit import AuditResult
from huiju.publish import export_candidates, write_version


@pytest.fixture(scope="module")
def warehouse_path(theme_warehouse_path):
    return theme_warehouse_path


@pytest.fixture(scope="module")
def composition(warehouse_path):
    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        cursor = connection.execute("select * from mart_theme_composition")
        columns = [column[0] for column in cursor.description]
        return {(row[0], row[columns.index("dimension")]): dict(zip(columns, row)) for row in cursor.fetchall()}


@pytest.fixture(scope="module")
def version(warehouse_path, tmp_path_factory):
    publish_dir = tmp_path_factory.mktemp("published")
    candidate_dir = publish_dir / "candidates" / "run-1"
    export_candidates(warehouse_path, candidate_dir)
    audit = AuditResult(passed=True, gates=[], decisions=[])
    version_id, _, _ = write_version(
        publish_dir=publish_dir, candidate_dir=candidate_dir, audit=audit, run_id="run-1",
        created_at=datetime(2025, 1, 15, tzinfo=UTC), sources={},
    )
    return publish_dir / "versions" / version_id


def test_shares_add_up(composition):
    for row in composition.values():
        if row["service_count"]:
            total = row["primary_share"] + row["secondary_share"] + row["unknown_share"]
            assert total == pytest.approx(1.0), row


def test_counts_match_step_services(warehouse_path, composition):
    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        distinct = connection.execute(
            "select count(distinct service_item_id) from mart_theme_steps where theme_id = 'newborn_birth'"
        ).fetchone()[0]

    assert composition[("newborn_birth", "resource_kind")]["service_count"] == distinct


def test_warn_breach_message(composition):
    breaches = composition[("retirement", "standardization")]["breaches"]

    assert breaches[0]["action"] == "warn"
    assert breaches[0]["message_zh"].startswith("主题“退休”在“规范程度”维度上未知事项占比")


def test_warn_theme_result(composition):
    assert composition[("retirement", "resource_kind")]["theme_result"] == "warn"


def test_block_breach(composition):
    breaches = composition[("flood_season_campaign", "audience_breadth")]["breaches"]
    block = [breach for breach in breaches if breach["principle_id"] == "minimum_broad_audience"]

    assert block[0]["action"] == "block"
    assert block[0]["message_zh"].endswith("该主题暂不发布。")
    assert composition[("flood_season_campaign", "resource_kind")]["theme_result"] == "block"


def test_blocked_theme_not_published(version):
    with duckdb.connect() as connection:
        published = {row[0] for row in connection.execute(
            f"select distinct theme_id from read_parquet('{version / 'marts' / 'mart_theme_steps.parquet'}')"
        ).fetchall()}

    assert "flood_season_campaign" not in published
    assert {"enterprise_startup", "newborn_birth", "employment_entrepreneurship", "retirement",
            "real_estate_registration"} <= published


def test_blocked_theme_absent_from_composition_mart(version):
    with duckdb.connect() as connection:
        count = connection.execute(
            f"select count(*) from read_parquet('{version / 'marts' / 'mart_theme_composition.parquet'}') "
            "where theme_id = 'flood_season_campaign'"
        ).fetchone()[0]

    assert count == 0


def test_audit_records_theme_results(version):
    themes = json.loads((version / "audit.json").read_text(encoding="utf-8"))["themes"]

    assert themes["flood_season_campaign"]["result"] == "block"
    assert themes["flood_season_campaign"]["is_published"] is False
    assert themes["retirement"]["result"] == "warn"
    assert themes["retirement"]["is_published"] is True


def test_audit_lists_gaps(version):
    themes = json.loads((version / "audit.json").read_text(encoding="utf-8"))["themes"]
    gap_steps = {gap["step_id"] for gap in themes["real_estate_registration"]["gaps"]}

    assert "property_registration" in gap_steps


def test_report_lists_results_and_overrides(version):
    report = (version / "composition_report.md").read_text(encoding="utf-8")

    assert "## 汛期服务专项（flood_season_campaign）" in report
    assert "发布结论：拦截（不发布）" in report
    assert "加入步骤“养老待遇领取”：城乡居民基本养老保险补助" in report
    assert "移出步骤“求职登记与就业服务”：招聘会服务" in report
    assert "【警告】主题“退休”" in report


def test_report_lists_content_forms(version):
    report = (version / "composition_report.md").read_text(encoding="utf-8")
    retirement = report.split("## 退休")[1].split("\n## ")[0]

    assert report.startswith("# 服务主题构成报告")
    assert "### 服务内容" in retirement
    assert "| 通知公告 | 0 | （缺少，需补充） |" in retirement
    assert "| 办事指南 |" in retirement
    assert "规范程度" in retirement
