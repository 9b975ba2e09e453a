"""Notices, policy documents and interpretations: harvest, conservation, merge and theme matching.

One pipeline run harvests 区经信局 and the three portal feeds from the local department server.
The notices feed is served once with every real notice plus crafted entries: one per quarantine
rule and one that repeats the link of a real notice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from department_systems.feeds import FEEDS_BY_PATH, load_notices, render_feed
from department_systems.server import DepartmentSystemServer, Fault
from huiju.cli import main as cli_main
from huiju.editorial import EditorialError
from huiju.editorial.theme_content import THEME_IDS, load_theme_content

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parent.parent
THEME_CONTENT_FILE = REPO_ROOT / "editorial" / "theme_content.yaml"
FEED_SOURCE_IDS = ("portal_notices", "portal_policies", "portal_interpretations")
SELECTED_SOURCE_IDS = ("guangan_jxj", *FEED_SOURCE_IDS)
REAL_COUNTS = {"portal_notices": 64, "portal_policies": 48, "portal_interpretations": 33}

CRAFTED_ITEMS = """
<item><link>https://example.gov.cn/notice/untitled.html</link><guid>untitled</guid>
  <pubDate>Mon, 02 Mar 2026 00:00:00 +0800</pubDate></item>
<item><title>缺少链接的通知</title><guid>no-link-guid</guid><pubDate>Mon, 02 Mar 2026 00:00:00 +0800</pubDate></item>
<item><title>相对链接的通知</title><link>/notice/relative.html</link>
  <pubDate>Mon, 02 Mar 2026 00:00:00 +0800</pubDate></item>
<item><title>缺少发布日期的通知</title><link>https://example.gov.cn/notice/undated.html</link></item>
<item><title>重复链接的通知</title><link>{duplicate_link}</link><pubDate>Tue, 03 Mar 2026 00:00:00 +0800</pubDate></item>
"""
CRAFTED_RULES = {
    "content_title_missing", "content_link_missing", "content_link_not_absolute", "content_date_missing",
}


def _crafted_notices_feed(feed_url: str) -> tuple[bytes, str]:
    """Return the real notices feed with the crafted items appended, and the repeated link."""
    rows = load_notices()
    duplicate_link = next(row["url"] for row in rows if row["kind"] == "通知公告")
    body = render_feed(FEEDS_BY_PATH["/feeds/notices.rss"], rows, feed_url).decode("utf-8")
    body = body.replace("</channel>", CRAFTED_ITEMS.format(duplicate_link=duplicate_link) + "</channel>")
    return body.encode("utf-8"), duplicate_link


def _registry(path: Path) -> Path:
    document = yaml.safe_load((REPO_ROOT / "sources.yaml").read_text(encoding="utf-8"))
    document["sources"] = [source for source in document["sources"] if source["id"] in SELECTED_SOURCE_IDS]
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def content_run(prefect_harness, tmp_path_factory):
    """One pipeline run on 区经信局 and the three feeds, the notices feed with crafted entries."""
    from flows.pipeline import pipeline_flow

    work = tmp_path_factory.mktemp("content")
    with DepartmentSystemServer() as server:
        previous = os.environ.get("HUIJU_DEPT_BASE_URL")
        os.environ["HUIJU_DEPT_BASE_URL"] = server.base_url
        body, duplicate_link = _crafted_notices_feed(server.base_url + "/feeds/notices.rss")
        server.queue_fault("/feeds/notices.rss", Fault(body=body, content_type="application/rss+xml"))
        try:
            run = pipeline_flow(home=str(work / "home"), sources_file=str(_registry(work / "sources.yaml")))
        finally:
            if previous is None:
                os.environ.pop("HUIJU_DEPT_BASE_URL", None)
            else:
                os.environ["HUIJU_DEPT_BASE_URL"] = previous
    return work / "home", run, duplicate_link


def _published(home: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(home / "published" / "current" / name)


# Harvest, conservation and merge


def test_run_publishes_with_feeds(content_run):
    _, run, _ = content_run

    assert run["status"] == "succeeded"
    assert set(run["sources"]) == set(SELECTED_SOURCE_IDS)


@pytest.mark.parametrize("source_id", FEED_SOURCE_IDS)
def test_feed_counts_add_up(content_run, source_id):
    _, run, _ = content_run
    source = run["sources"][source_id]

    assert source["fetched"] == source["published"] + source["quarantined"] + source["merged"]


def test_real_feeds_fully_published(content_run):
    _, run, _ = content_run

    assert run["sources"]["portal_policies"]["published"] == REAL_COUNTS["portal_policies"]
    assert run["sources"]["portal_interpretations"]["published"] == REAL_COUNTS["portal_interpretations"]
    assert run["sources"]["portal_notices"]["fetched"] == REAL_COUNTS["portal_notices"] + 5
    assert run["sources"]["portal_notices"]["published"] == REAL_COUNTS["portal_notices"]


def test_content_items_cover_every_real_entry(content_run):
    home, _, _ = content_run
    items = _published(home, "marts/fct_content_item.parquet")

    assert len(items) == sum(REAL_COUNTS.values())
    assert items.groupby("content_kind").size().to_dict() == {
        "notice": 64, "policy_document": 48, "policy_interpretation": 33,
    }
    assert items["content_id"].is_unique


def test_bad_entries_quarantined_with_reason(content_run):
    home, run, _ = content_run
    quarantine = _published(home, "content_quarantine.parquet")

    assert set(quarantine["rule_id"]) == CRAFTED_RULES
    assert len(quarantine) == len(CRAFTED_RULES)
    assert quarantine["reason_zh"].notna().all()
    assert set(quarantine["source_id"]) == {"portal_notices"}
    assert run["sources"]["portal_notices"]["quarantined"] == len(CRAFTED_RULES)


def test_duplicate_link_merged(content_run):
    home, run, duplicate_link = content_run
    merges = _published(home, "content_merges.parquet")
    items = _published(home, "marts/fct_content_item.parquet").set_index("content_id")

    assert len(merges) == 1
    assert run["sources"]["portal_notices"]["merged"] == 1
    survivor = items.loc[merges["merged_into_content_id"].iloc[0]]
    assert survivor["link_url"] == duplicate_link
    assert survivor["merged_record_count"] == 1
    assert survivor["title"] != "重复链接的通知"


def test_content_gate_recorded(content_run):
    home, _, _ = content_run
    manifest = json.loads((home / "published" / "current" / "manifest.json").read_text(encoding="utf-8"))
    gates = {gate["gate"]: gate for gate in manifest["gates"]}

    assert gates["content_conservation"]["passed"] is True
    assert gates["content_conservation"]["observed"]["quarantined"] == len(CRAFTED_RULES)
    assert manifest["row_counts"]["content_quarantine_rows"] == len(CRAFTED_RULES)


def test_feeds_are_not_departments(content_run):
    home, _, _ = content_run
    departments = _published(home, "marts/dim_department.parquet")

    assert "门户网站编辑部" not in set(departments["dept_name"])
    assert list(departments["dept_name"]) == ["区经信局"]


def test_status_reports_content_sources(content_run, capsys):
    home, _, _ = content_run
    assert cli_main(["--home", str(home), "status", "--json"]) == 0
    sources = json.loads(capsys.readouterr().out)["sources"]

    assert sources["portal_notices"]["record_kind"] == "content"
    assert sources["guangan_jxj"]["record_kind"] == "service_item"
    assert sources["portal_notices"]["quarantined"] == len(CRAFTED_RULES)


def test_status_table_separates_feeds(content_run, capsys):
    home, _, _ = content_run
    assert cli_main(["--home", str(home), "status"]) == 0
    output = capsys.readouterr().out
    department_table, content_table = output.split("通知公告、政策文件和政策解读：")

    assert "portal_notices" not in department_table
    assert "portal_notices" in content_table
    assert "内容条目：抓取 150 = 发布 145 + 隔离 4 + 合并 1" in output


# Theme matching on the real notices and policy documents


def _theme_titles(home: Path) -> dict[str, set[str]]:
    bridge = _published(home, "marts/bridge_theme_content.parquet")
    items = _published(home, "marts/fct_content_item.parquet")[["content_id", "title"]]
    joined = bridge.merge(items, on="content_id")
    return {theme_id: set(group["title"]) for theme_id, group in joined.groupby("theme_id")}


def test_startup_matches_business_environment(content_run):
    home, _, _ = content_run
    titles = _theme_titles(home)["enterprise_startup"]

    assert "三明市人民政府办公室关于聚焦提升企业感受持续优化营商环境的通知" in titles
    assert "《关于聚焦提升企业感受持续优化营商环境的通知》政策解读" in titles
    assert not any("不动产" in title for title in titles)


def test_real_estate_matches_policies(content_run):
    home, _, _ = content_run
    titles = _theme_titles(home)["real_estate_registration"]

    assert "国务院办公厅关于压缩不动产登记办理时间的通知" in titles
    assert len(titles) == 5


def test_retirement_matches_pension(content_run):
    home, _, _ = content_run

    assert _theme_titles(home)["retirement"] == {"《中央财政加大对基本养老保险补助力度》"}


def test_employment_matches_hrss_notices(content_run):
    home, _, _ = content_run
    titles = _theme_titles(home)["employment_entrepreneurship"]

    assert "三明市人力资源和社会保障局关于延续实施扩大社会保险补贴范围政策的公告" in titles
    assert len(titles) == 4


def test_bridge_records_rule_and_evidence(content_run):
    home, _, _ = content_run
    bridge = _published(home, "marts/bridge_theme_content.parquet")
    retirement = bridge[bridge["theme_id"] == "retirement"].iloc[0]

    assert retirement["matched_rule_id"] == "retirement_title_keywords"
    assert retirement["evidence"] == "标题“《中央财政加大对基本养老保险补助力度》”含“养老保险”"


def test_theme_gaps_reported(content_run):
    home, _, _ = content_run
    gaps = _published(home, "marts/mart_theme_content_gaps.parquet")
    gap_pairs = {(row.theme_id, row.content_kind) for row in gaps.itertuples() if row.is_gap}

    assert len(gaps) == len(THEME_IDS) * 5
    assert {("newborn_birth", kind) for kind in ("notice", "policy_document", "policy_interpretation")} <= gap_pairs
    assert ("real_estate_registration", "notice") in gap_pairs
    assert ("real_estate_registration", "policy_document") not in gap_pairs


# Loader errors of theme_content.yaml


@pytest.fixture
def theme_document() -> dict:
    return yaml.safe_load(THEME_CONTENT_FILE.read_text(encoding="utf-8"))


def _theme_error(tmp_path: Path, document: dict) -> str:
    path = tmp_path / "theme_content.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(EditorialError) as raised:
        load_theme_content(path)
    return str(raised.value)


def test_theme_file_lists_every_theme():
    assert [theme.theme_id for theme in load_theme_content(THEME_CONTENT_FILE)] == list(THEME_IDS)


def test_unknown_match_field_named(tmp_path, theme_document):
    theme_document["themes"][1]["rules"][0]["match_field"] = "body"

    message = _theme_error(tmp_path, theme_document)

    assert "themes[1] (theme_id 'newborn_birth'): field 'rules.0.match_field'" in message


def test_blank_keyword_rejected(tmp_path, theme_document):
    theme_document["themes"][3]["rules"][0]["keywords"] = ["退休", " "]

    message = _theme_error(tmp_path, theme_document)

    assert "themes[3] (theme_id 'retirement'): field 'rules.0.keywords'" in message
    assert "blank" in message


def test_unknown_content_kind_named(tmp_path, theme_document):
    theme_document["themes"][2]["rules"][1]["content_kinds"] = ["guide"]

    message = _theme_error(tmp_path, theme_document)

    assert "field 'rules.1.content_kinds.0'" in message


def test_missing_theme_named(tmp_path, theme_document):
    theme_document["themes"] = theme_document["themes"][:4]

    message = _theme_error(tmp_path, theme_document)

    assert "missing the themes ['real_estate_registration']" in message


def test_duplicate_rule_id_named(tmp_path, theme_document):
    theme_document["themes"][4]["rules"][0]["id"] = "retirement_title_keywords"

    message = _theme_error(tmp_path, theme_document)

    assert "rule id 'retirement_title_keywords' is already used by theme 'retirement'" in message
