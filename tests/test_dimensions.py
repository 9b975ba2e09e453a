"""Dimension classification on the real 广安区 catalog: rules, unknowns, overrides and loader errors.

The module builds the dbt project on a raw database holding every record of the bundled
catalog as JSON API records, with the repository's editorial files plus one override.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from department_systems.catalog import load_catalog_records
from huiju.editorial import EditorialError, write_editorial_tables
from huiju.editorial.dimension_overrides import load_overrides
from huiju.editorial.dimensions import DIMENSION_IDS, FACTS, load_dimension_rules
from huiju.editorial.sites import load_sites
from huiju.warehouse import RAW_DDL

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EDITORIAL_DIR = REPO_ROOT / "editorial"

JOB_SUBSIDY = "512B0159000000-511602000000-000-1251130145225903XN-1-00"
SOLE_TRADER_REGISTRATION = "511A0074300005-511602000000-000-115113016823646795-1-00"
PUBLICATION_PERMIT = "511A0000600001-511602000000-000-115113016823646795-1-00"
SAFETY_REPORT_FILING = "1J-5100-00019-511602000000-000-11511301008778386B-1-00"
PLANT_QUARANTINE = "511A0077700002-510000000000-000-8282348-1-00"
SOCIAL_INSURANCE_DEREGISTRATION = "512B0359100009-511602000000-000-12511301452260997J-1-00"

OVERRIDE = {
    "id": "override_job_subsidy_region_scope",
    "task_code": JOB_SUBSIDY,
    "dimension": "region_scope",
    "value": "primary",
    "理由": "测试用更正：规则只依据区县级实施编码判断为属地服务。",
    "审核人": "测试编辑",
    "审核日期": "2026-01-15",
}


def _write_raw_catalog(path: Path) -> int:
    """Write every record of the bundled catalog as one JSON API source; return the record count."""
    records = [record for department in load_catalog_records().values() for record in department]
    connection = duckdb.connect(str(path))
    try:
        connection.execute(RAW_DDL)
        connection.execute(
            "insert into raw.sources values (?, ?, ?, ?, ?, ?, ?)",
            ["real_catalog", "广安区", "json_api", "区测试局", "http://127.0.0.1:1/test", "0 2 * * *", "test"],
        )
        for position, record in enumerate(records, start=1):
            connection.execute(
                "insert into raw.json_api_records values ('real_catalog', 'run-1', 'landing/page.json', 1, ?, ?)",
                [position, json.dumps(record, ensure_ascii=False)],
            )
    finally:
        connection.close()
    return len(records)


def build_dbt(warehouse_path: Path, work_dir: Path) -> None:
    """Run ``dbt build`` on ``warehouse_path`` and fail the test with the failing nodes."""
    from dbt.cli.main import dbtRunner

    previous = os.environ.get("HUIJU_WAREHOUSE_PATH")
    os.environ["HUIJU_WAREHOUSE_PATH"] = str(warehouse_path)
    try:
        result = dbtRunner().invoke([
            "build",
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(work_dir / "target"),
            "--log-path", str(work_dir / "logs"),
            "--quiet",
        ])
    finally:
        if previous is None:
            os.environ.pop("HUIJU_WAREHOUSE_PATH", None)
        else:
            os.environ["HUIJU_WAREHOUSE_PATH"] = previous
    results = result.result.results if result.result is not None and hasattr(result.result, "results") else []
    failed = [f"{node.node.unique_id}: {node.status} ({node.message})" for node in results
              if str(node.status) in ("error", "fail", "runtime error")]
    assert result.success, f"dbt build failed: {failed or result.exception}; log in {work_dir / 'logs'}"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("dimensions")
    warehouse_path = work_dir / "warehouse.duckdb"
    _write_raw_catalog(warehouse_path)

    editorial_dir = work_dir / "editorial"
    shutil.copytree(EDITORIAL_DIR, editorial_dir)
    (editorial_dir / "dimension_overrides.yaml").write_text(
        json.dumps({"overrides": [OVERRIDE]}, ensure_ascii=False), encoding="utf-8"
    )
    with duckdb.connect(str(warehouse_path)) as connection:
        write_editorial_tables(connection, editorial_dir)

    build_dbt(warehouse_path, work_dir)
    connection = duckdb.connect(str(warehouse_path))
    yield connection
    connection.close()


def _decision(connection, task_code: str, dimension: str) -> dict:
    row = connection.execute(
        """
        select dimension.*
        from fct_service_item_dimension as dimension
        inner join fct_service_item as item using (service_item_id)
        where item.task_code = ? and dimension.dimension = ?
        """,
        [task_code, dimension],
    ).fetchone()
    assert row is not None, f"no {dimension} row for {task_code}"
    columns = [column[0] for column in connection.description]
    return dict(zip(columns, row))


def test_every_item_has_eight_rows(warehouse):
    items = warehouse.execute("select count(*) from fct_service_item").fetchone()[0]
    per_item = warehouse.execute(
        "select distinct count(*) from fct_service_item_dimension group by service_item_id"
    ).fetchall()

    assert items == 1133
    assert per_item == [(8,)]


@pytest.mark.parametrize(
    ("task_code", "dimension", "value", "rule_id", "evidence"),
    [
        (SOLE_TRADER_REGISTRATION, "resource_kind", "primary", "resource_kind_transaction_type",
         "事项类型=01；在线办理地址主机名=www.sczwfw.gov.cn；有可用的在线办理地址=true"),
        (SOLE_TRADER_REGISTRATION, "audience_breadth", "primary", "audience_breadth_livelihood_name",
         "事项名称=个体工商户设立登记"),
        (PUBLICATION_PERMIT, "audience_breadth", "secondary", "audience_breadth_trade_specific_name",
         "事项名称=一次性内部资料性出版物准印证核发（县级）"),
        (SOLE_TRADER_REGISTRATION, "region_scope", "secondary", "region_scope_local_region_code",
         "实施区划层级=county"),
        (SOLE_TRADER_REGISTRATION, "link_mode", "primary", "link_mode_direct_site",
         "在线办理地址主机名=www.sczwfw.gov.cn；在线办理地址所属网站类别=provincial_portal"),
        (SAFETY_REPORT_FILING, "duration", "primary", "duration_administrative_power_type", "事项类型=10"),
        (SAFETY_REPORT_FILING, "responsible_body", "secondary", "responsible_body_local_region_code",
         "实施主体=区交通运输局；实施区划层级=county"),
        (SAFETY_REPORT_FILING, "maturity", "primary", "maturity_online_here",
         "在线办理地址主机名=www.sczwfw.gov.cn；有可用的在线办理地址=true"),
    ],
)
def test_rule_on_real_item(warehouse, task_code, dimension, value, rule_id, evidence):
    decision = _decision(warehouse, task_code, dimension)

    assert decision["value"] == value
    assert decision["rule_id"] == rule_id
    assert decision["evidence"] == evidence
    assert decision["decided_by"] == "rule"


@pytest.mark.parametrize(
    ("task_code", "dimension", "evidence"),
    [
        (SOLE_TRADER_REGISTRATION, "standardization", "与其他区划实施的比较=（无）"),
        (PLANT_QUARANTINE, "region_scope", "行使层级=（无）；通办范围=（无）；实施区划层级=province"),
        (SOCIAL_INSURANCE_DEREGISTRATION, "duration", "事项类型=20；设定依据=（无）；计划取消日期=（无）"),
    ],
)
def test_unknown_where_data_is_silent(warehouse, task_code, dimension, evidence):
    decision = _decision(warehouse, task_code, dimension)

    assert decision["value"] == "unknown"
    assert decision["rule_id"] == "no_rule_matched"
    assert decision["evidence"] == evidence


def test_standardization_unknown_on_one_region(warehouse):
    values = warehouse.execute(
        "select distinct value from fct_service_item_dimension where dimension = 'standardization'"
    ).fetchall()
    variance_rows = warehouse.execute("select count(*) from mart_region_variance").fetchone()[0]

    assert values == [("unknown",)]
    assert variance_rows == 0


def test_override_replaces_rule(warehouse):
    decision = _decision(warehouse, JOB_SUBSIDY, "region_scope")

    assert decision["value"] == "primary"
    assert decision["rule_id"] == "override_job_subsidy_region_scope"
    assert decision["decided_by"] == "override"
    assert decision["evidence"] == "理由：测试用更正：规则只依据区县级实施编码判断为属地服务。；审核人：测试编辑；审核日期：2026-01-15"
    assert decision["rule_value"] == "secondary"
    assert decision["matched_rule_id"] == "region_scope_local_region_code"
    assert decision["rule_evidence"] == "实施区划层级=county"


def test_override_leaves_other_dimensions(warehouse):
    decision = _decision(warehouse, JOB_SUBSIDY, "responsible_body")
    override_rows = warehouse.execute(
        "select count(*) from fct_service_item_dimension where decided_by = 'override'"
    ).fetchone()[0]

    assert decision["decided_by"] == "rule"
    assert override_rows == 1


def test_sites_cover_real_catalog_hosts():
    registered = {site.host for site in load_sites(EDITORIAL_DIR / "sites.yaml")}
    hosts = {
        urlsplit(record["link_addr"]).hostname
        for department in load_catalog_records().values()
        for record in department
    }

    assert hosts == {"www.sczwfw.gov.cn"}
    assert hosts <= registered


def test_repository_rules_cover_all_dimensions():
    dimensions = load_dimension_rules(EDITORIAL_DIR / "dimension_rules.yaml")

    assert [dimension.id for dimension, _ in dimensions] == list(DIMENSION_IDS)
    assert all(rules for _, rules in dimensions)


def test_facts_model_uses_known_facts(warehouse):
    facts = {row[0] for row in warehouse.execute("select distinct fact from int_service_item_dimension_facts").fetchall()}

    assert facts <= set(FACTS)


# Loader errors. Each case changes one rule of a valid file and expects the message to name the
# file, the entry and the field.

VALID_RULE = {"id": "resource_kind_test", "value": "primary", "when": [{"fact": "task_type", "in": ["01"]}],
              "说明": "测试规则。"}


def _rules_document(rule: dict, extra_rule: dict | None = None, dimension_id: str = "resource_kind") -> dict:
    dimensions = []
    for identifier in DIMENSION_IDS:
        rules = []
        if identifier == "resource_kind":
            rules = [rule] + ([extra_rule] if extra_rule else [])
        dimensions.append({"id": dimension_id if identifier == "resource_kind" else identifier,
                           "名称": "名称", "为主": "为主", "为辅": "为辅", "rules": rules})
    return {"dimensions": dimensions}


def _write(tmp_path: Path, name: str, document: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        ({**VALID_RULE, "when": [{"fact": "colour", "in": ["red"]}]}, "when.0.fact", "unknown fact 'colour'"),
        ({**VALID_RULE, "when": [{"fact": "task_name", "matches": "(unclosed"}]}, "when.0.matches", "invalid regular expression"),
        ({**VALID_RULE, "when": [{"fact": "task_name", "matches": "许可(?!证)"}]}, "when.0.matches", "lookaround"),
        ({**VALID_RULE, "when": [{"fact": "task_type", "in": ["01"], "present": True}]}, "when.0", "exactly one operator"),
        ({**VALID_RULE, "when": [{"fact": "catalog_region_count", "in": ["2"]}]}, "when.0", "does not apply"),
        ({**VALID_RULE, "when": [{"fact": "task_type", "between": ["01"]}]}, "when.0.between", "Extra inputs"),
        ({**VALID_RULE, "value": "maybe"}, "value", "'primary' or 'secondary'"),
        ({**VALID_RULE, "id": "no_rule_matched"}, "id", "reserved"),
        ({**VALID_RULE, "evidence": ["colour"]}, "evidence", "unknown evidence fact"),
        ({key: value for key, value in VALID_RULE.items() if key != "说明"}, "说明", "Field required"),
    ],
)
def test_rule_loader_rejects(tmp_path, rule, field, message):
    path = _write(tmp_path, "dimension_rules.yaml", _rules_document(rule))

    with pytest.raises(EditorialError) as raised:
        load_dimension_rules(path)

    text = str(raised.value)
    assert f"{path}: dimensions[0].rules[0] (id {rule.get('id')!r})" in text
    assert f"field '{field}'" in text
    assert message in text


def test_rule_loader_rejects_duplicate_rule_id(tmp_path):
    path = _write(tmp_path, "dimension_rules.yaml", _rules_document(VALID_RULE, VALID_RULE))

    with pytest.raises(EditorialError, match=r"rules\[1\] \(id 'resource_kind_test'\): field 'id': duplicate rule id"):
        load_dimension_rules(path)


def test_rule_loader_rejects_unknown_dimension(tmp_path):
    path = _write(tmp_path, "dimension_rules.yaml", _rules_document(VALID_RULE, dimension_id="popularity"))

    with pytest.raises(EditorialError) as raised:
        load_dimension_rules(path)

    assert "dimensions[0] (id 'popularity'): field 'id': unknown dimension id 'popularity'" in str(raised.value)


def test_rule_loader_rejects_missing_dimension(tmp_path):
    document = _rules_document(VALID_RULE)
    document["dimensions"] = document["dimensions"][:-1]
    path = _write(tmp_path, "dimension_rules.yaml", document)

    with pytest.raises(EditorialError, match=r"dimension_rules.yaml: dimensions: missing dimension\(s\) maturity"):
        load_dimension_rules(path)


def test_site_loader_rejects(tmp_path):
    path = _write(tmp_path, "sites.yaml", {"sites": [
        {"host": "www.sczwfw.gov.cn", "网站名称": "四川政务服务网", "kind": "provincial_portal"},
        {"host": "www.sczwfw.gov.cn", "网站名称": "重复", "kind": "provincial_portal"},
        {"host": "https://example.gov.cn/", "网站名称": "带协议", "kind": "provincial_portal"},
        {"host": "www.gov.cn", "网站名称": "中国政府网", "kind": "portal"},
    ]})

    with pytest.raises(EditorialError) as raised:
        load_sites(path)

    text = str(raised.value)
    assert "sites[2] (host 'https://example.gov.cn/'): field 'host'" in text
    assert "sites[3] (host 'www.gov.cn'): field 'kind': unknown site kind 'portal'" in text


def test_site_loader_rejects_duplicate_host(tmp_path):
    path = _write(tmp_path, "sites.yaml", {"sites": [
        {"host": "www.sczwfw.gov.cn", "网站名称": "四川政务服务网", "kind": "provincial_portal"},
        {"host": "www.sczwfw.gov.cn", "网站名称": "重复", "kind": "provincial_portal"},
    ]})

    with pytest.raises(EditorialError, match=r"sites\[1\] \(host 'www.sczwfw.gov.cn'\): field 'host': duplicate host"):
        load_sites(path)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"service_item_id": "0" * 32}, "entry", "exactly one of task_code"),
        ({"审核日期": "2026-13-40"}, "审核日期", "valid date"),
        ({"dimension": "popularity"}, "dimension", "resource_kind"),
        ({"value": "maybe"}, "value", "unknown"),
        ({"id": "job_subsidy"}, "id", "override_"),
    ],
)
def test_override_loader_rejects(tmp_path, changes, field, message):
    path = _write(tmp_path, "dimension_overrides.yaml", {"overrides": [{**OVERRIDE, **changes}]})

    with pytest.raises(EditorialError) as raised:
        load_overrides(path)

    text = str(raised.value)
    assert f"{path}: overrides[0]" in text
    assert f"field '{field}'" in text
    assert message in text
