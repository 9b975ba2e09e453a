"""Variance between regions, through the whole pipeline.

The real 广安区 catalog has one region, so this test builds several regions from it. The
department server of 区人社局 serves its real records plus copies of two of them. The copies
carry the real GB/T 2260 codes of 岳池县 (511621), 武胜县 (511622) and 邻水县 (511623) in
their 实施编码 and in the link's areaCode. The test adds 受理条件, 申请材料, 承诺办结时限 and 是否收费
values, written for this test, to those implementations and varies them between the regions.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from department_systems.server import DepartmentSystemServer

pytestmark = pytest.mark.e2e

SLUG = "rsj"
HOME_REGION = "511602000000"
OTHER_REGIONS = ("511621000000", "511622000000", "511623000000")

# 就业困难人员认定 and 公益性岗位申请 of the real catalog, by 实施编码 prefix (catalog code).
VARIED_CATALOG_CODE = "512B0159000000"
UNPUBLISHED_CATALOG_CODE = "512B0066400004"

STANDARD_CONDITION = "具有本地户籍或持有居住证的就业困难人员。"
STANDARD_MATERIALS = [{"material_name": "居民身份证"}, {"material_name": "就业创业证"}]


def _in_region(record: dict, region: str) -> dict:
    copy = dict(record)
    copy["task_code"] = record["task_code"].replace(HOME_REGION, region, 1)
    copy["link_addr"] = record["link_addr"].replace(f"areaCode={HOME_REGION}", f"areaCode={region}")
    return copy


def _varied(record: dict, region: str) -> dict:
    """The varied implementation in ``region``: 511623 requires one more material and a shorter time limit."""
    copy = _in_region(record, region)
    copy["accept_condition"] = STANDARD_CONDITION
    copy["materials"] = STANDARD_MATERIALS if region != "511623000000" else [*STANDARD_MATERIALS, {"material_name": "户口簿"}]
    copy["promise_day"] = 10 if region != "511623000000" else 5
    copy["promise_type"] = "1"
    # The home region does not publish 是否收费.
    copy["is_fee"] = None if region == HOME_REGION else "0"
    return copy


@pytest.fixture(scope="module")
def published(prefect_harness, tmp_path_factory):
    """Run the pipeline once on the multi-region catalog; return the published marts' directory."""
    from flows.pipeline import pipeline_flow

    with DepartmentSystemServer() as server:
        records = server.records(SLUG)
        varied = next(record for record in records if record["task_code"].startswith(VARIED_CATALOG_CODE))
        unpublished = next(record for record in records if record["task_code"].startswith(UNPUBLISHED_CATALOG_CODE))
        served = [record for record in records if record is not varied]
        served.append(_varied(varied, HOME_REGION))
        served += [_varied(varied, region) for region in OTHER_REGIONS]
        served += [_in_region(unpublished, region) for region in OTHER_REGIONS]
        server.replace_records(SLUG, served)

        previous = os.environ.get("HUIJU_DEPT_BASE_URL")
        os.environ["HUIJU_DEPT_BASE_URL"] = server.base_url
        try:
            home = tmp_path_factory.mktemp("variance-home")
            run = pipeline_flow(home=str(home))
        finally:
            if previous is None:
                os.environ.pop("HUIJU_DEPT_BASE_URL", None)
            else:
                os.environ["HUIJU_DEPT_BASE_URL"] = previous
    assert run["status"] == "succeeded"
    return home / "published" / "current" / "marts"


@pytest.fixture(scope="module")
def variance(published):
    frame = pd.read_parquet(published / "mart_region_variance.parquet")
    return {
        (row.catalog_code, row.implementation_region_code, row.field_name): row
        for row in frame.itertuples()
    }


def test_variance_covers_multi_region_codes(variance):
    catalog_codes = {key[0] for key in variance}

    assert catalog_codes == {VARIED_CATALOG_CODE, UNPUBLISHED_CATALOG_CODE}
    assert len(variance) == 2 * 4 * 4


def test_equal_condition_is_standard(variance):
    for region in (HOME_REGION, *OTHER_REGIONS):
        row = variance[(VARIED_CATALOG_CODE, region, "accept_condition")]
        assert row.variance == "standard", region
        assert row.baseline_value == STANDARD_CONDITION, region


def test_extra_material_is_differentiated(variance):
    differing = variance[(VARIED_CATALOG_CODE, "511623000000", "materials")]
    agreeing = variance[(VARIED_CATALOG_CODE, "511621000000", "materials")]

    assert differing.variance == "differentiated"
    # Material names are sorted by code point, so lists in another order compare equal.
    assert differing.field_value == "就业创业证；居民身份证；户口簿"
    assert differing.baseline_value == "就业创业证；居民身份证"
    assert differing.baseline_implementation_count == 3
    assert agreeing.variance == "standard"
    assert agreeing.field_label == "申请材料"


def test_shorter_time_limit_is_differentiated(variance):
    differing = variance[(VARIED_CATALOG_CODE, "511623000000", "time_limit")]

    assert differing.variance == "differentiated"
    assert differing.field_value == "承诺5（单位代码 1）"
    assert differing.baseline_value == "承诺10（单位代码 1）"


def test_unpublished_fee_is_unknown(variance):
    home = variance[(VARIED_CATALOG_CODE, HOME_REGION, "is_fee")]
    other = variance[(VARIED_CATALOG_CODE, "511621000000", "is_fee")]

    assert home.variance == "unknown"
    assert home.baseline_value == "0"
    assert other.variance == "standard"
    assert other.compared_implementation_count == 2


def test_silent_implementations_are_unknown(variance):
    rows = [row for key, row in variance.items() if key[0] == UNPUBLISHED_CATALOG_CODE]

    assert {row.variance for row in rows} == {"unknown"}


def _standardization(published) -> dict[str, tuple[str, str]]:
    dimensions = pd.read_parquet(published / "fct_service_item_dimension.parquet")
    items = pd.read_parquet(published / "fct_service_item.parquet")
    joined = dimensions[dimensions["dimension"] == "standardization"].merge(items, on="service_item_id")
    return {row.task_code: (row.value, row.rule_id) for row in joined.itertuples()}


def test_standardization_follows_variance(published):
    by_code = _standardization(published)
    varied = {code: decision for code, decision in by_code.items() if code.startswith(VARIED_CATALOG_CODE)}

    assert len(varied) == 4
    for code, decision in varied.items():
        if "-511623000000-" in code:
            assert decision == ("secondary", "standardization_differs_from_other_regions"), code
        else:
            assert decision == ("primary", "standardization_matches_other_regions"), code


def test_standardization_unknown_without_fields(published):
    by_code = _standardization(published)
    silent = {decision for code, decision in by_code.items() if code.startswith(UNPUBLISHED_CATALOG_CODE)}

    assert silent == {("unknown", "no_rule_matched")}
