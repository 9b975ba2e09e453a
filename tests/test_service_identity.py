"""Stable service ids, source evidence and history over two pipeline runs on the local servers."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from huiju.history import services_as_of

pytestmark = pytest.mark.e2e

PORTAL_SOURCE_ID = "sczwfw_portal_republished"
RENAMED_SUFFIX = "（更名测试）"
NEW_TASK_NAME = "测试新增事项"
NEW_TASK_CODE = "51209999900001-511602000000-000-11511301008778298W-1-00"


@pytest.fixture(scope="module")
def changed_runs(demo_home_copy, department_server):
    """Run 1, the demo run on the real catalog; run 2 after 区民政局 renames, withdraws and adds one record each."""
    from flows.pipeline import pipeline_flow

    home = demo_home_copy
    first = json.loads((home / "runs" / "latest.json").read_text(encoding="utf-8"))
    marts = home / "published" / "current" / "marts"
    first_items = pd.read_parquet(marts / "fct_service_item.parquet")

    records = department_server.records("mzj")
    renamed, withdrawn = records[0], records[1]
    new_record = {**renamed, "task_name": NEW_TASK_NAME, "task_code": NEW_TASK_CODE,
                  "link_addr": renamed["link_addr"].replace(renamed["task_code"], NEW_TASK_CODE)}
    department_server.replace_records(
        "mzj", [{**renamed, "task_name": renamed["task_name"] + RENAMED_SUFFIX}, *records[2:], new_record]
    )
    try:
        second = pipeline_flow(home=str(home))
    finally:
        department_server.reset()
    return {
        "home": home,
        "first": first,
        "second": second,
        "first_items": first_items,
        "items": pd.read_parquet(marts / "fct_service_item.parquet"),
        "evidence": pd.read_parquet(marts / "fct_service_item_evidence.parquet"),
        "history": pd.read_parquet(marts / "fct_service_item_history.parquet"),
        "renamed": renamed,
        "withdrawn": withdrawn,
    }


def _item_id(items: pd.DataFrame, task_code: str) -> str:
    matches = items.loc[items["task_code"] == task_code.upper(), "service_item_id"]
    assert len(matches) == 1, task_code
    return matches.iloc[0]


def test_runs_succeed(changed_runs):
    assert changed_runs["first"]["status"] == "succeeded"
    assert changed_runs["second"]["status"] == "succeeded"


def test_portal_record_published_once(changed_runs, department_server):
    record = department_server.records("xfdd")[0]
    items = changed_runs["items"]
    item_id = _item_id(items, record["task_code"])
    item = items.set_index("service_item_id").loc[item_id]

    assert item["evidence_source_count"] == 2
    assert list(item["evidence_source_ids"]) == ["guangan_xfdd", PORTAL_SOURCE_ID]


def test_portal_record_has_two_evidence_rows(changed_runs, department_server):
    record = department_server.records("xfdd")[0]
    evidence = changed_runs["evidence"]
    rows = evidence[evidence["service_item_id"] == _item_id(changed_runs["items"], record["task_code"])]

    assert sorted(rows["source_id"]) == ["guangan_xfdd", PORTAL_SOURCE_ID]
    assert rows.loc[rows["source_id"] == "guangan_xfdd", "is_survivor"].item()
    assert not rows.loc[rows["source_id"] == PORTAL_SOURCE_ID, "is_survivor"].item()
    assert set(rows["task_name"]) == {record["task_name"]}


def test_portal_records_conserved(changed_runs):
    portal = changed_runs["second"]["sources"][PORTAL_SOURCE_ID]

    assert portal["fetched"] == 8
    assert portal["merged"] == 8
    assert portal["fetched"] == portal["published"] + portal["quarantined"] + portal["merged"]


def test_rename_keeps_service_id(changed_runs):
    code = changed_runs["renamed"]["task_code"]
    before = _item_id(changed_runs["first_items"], code)
    after = _item_id(changed_runs["items"], code)

    assert after == before
    assert changed_runs["items"].set_index("service_item_id").loc[after, "task_name"].endswith(RENAMED_SUFFIX)


def test_rename_adds_history_row(changed_runs):
    service_id = _item_id(changed_runs["items"], changed_runs["renamed"]["task_code"])
    rows = changed_runs["history"][changed_runs["history"]["service_item_id"] == service_id].sort_values("valid_from")

    assert len(rows) == 2
    assert rows.iloc[0]["task_name"] == changed_runs["renamed"]["task_name"]
    assert pd.notna(rows.iloc[0]["valid_to"])
    assert rows.iloc[0]["closed_run_id"] == changed_runs["second"]["run_id"]
    assert rows.iloc[0]["close_reason"] == "changed"
    assert rows.iloc[1]["task_name"].endswith(RENAMED_SUFFIX)
    assert pd.isna(rows.iloc[1]["valid_to"])
    assert rows.iloc[1]["is_current"]


def test_new_service_gets_new_id(changed_runs):
    new_id = _item_id(changed_runs["items"], NEW_TASK_CODE)

    assert new_id not in set(changed_runs["first_items"]["service_item_id"])
    assert changed_runs["items"].set_index("service_item_id").loc[new_id, "task_name"] == NEW_TASK_NAME


def test_withdrawn_service_closes_history(changed_runs):
    service_id = _item_id(changed_runs["first_items"], changed_runs["withdrawn"]["task_code"])
    rows = changed_runs["history"][changed_runs["history"]["service_item_id"] == service_id]

    assert service_id not in set(changed_runs["items"]["service_item_id"])
    assert len(rows) == 1
    assert rows.iloc[0]["close_reason"] == "withdrawn"
    assert rows.iloc[0]["closed_run_id"] == changed_runs["second"]["run_id"]
    assert not rows.iloc[0]["is_current"]


def test_as_of_first_run_returns_old_name(changed_runs):
    home = changed_runs["home"]
    path = home / "published" / "current" / "marts" / "fct_service_item_history.parquet"
    service_id = _item_id(changed_runs["items"], changed_runs["renamed"]["task_code"])

    rows = services_as_of(path, changed_runs["first"]["run_id"], service_id)

    assert [row["task_name"] for row in rows] == [changed_runs["renamed"]["task_name"]]


def test_as_of_first_run_counts_first_items(changed_runs):
    home = changed_runs["home"]
    path = home / "published" / "current" / "marts" / "fct_service_item_history.parquet"

    rows = services_as_of(path, changed_runs["first"]["run_id"])

    assert len(rows) == len(changed_runs["first_items"])
