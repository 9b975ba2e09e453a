"""dbt build of the Huiju models on a small raw database of real and crafted records."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest

from huiju.editorial import write_editorial_tables
from huiju.warehouse import RAW_DDL

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
CATALOG_PATH = REPO_ROOT / "department_systems" / "data" / "guangan_service_guides.json"
CODELISTS_PATH = DBT_PROJECT_DIR / "seeds" / "service_item_codelists.csv"

# Real records of the 广安区 catalog, chosen by 实施编码, with the source format they are served in.
REAL_RECORDS = {
    "job_subsidy_current": ("json_api", "512B0159000000-511602000000-000-1251130145225903XN-1-00"),
    "job_subsidy_old": ("csv_export", "512014025002-511602000000-000-1251130145225903XN-1-00"),
    "disability_lowercase": ("json_api", "511F0045400001-511602000000-000-11511301452259996u-1-00"),
    "arbitration_missing_segments": ("csv_export", "E-000004-001-11511301008778386B"),
    "name_dispute_placeholder": ("json_api", "E-000021-001-1111111111111111"),
    "weather_award_placeholder": ("csv_export", "H-000185-001-4444444444"),
    "plant_quarantine_truncated": ("json_api", "511A0077700002-510000000000-000-8282348-1-00"),
    "tobacco_invalid_check": ("csv_export", "511A62001001-511602000000-000-TE5116020105116050-1-00"),
}

VALID_CODE = "511A0138000000-511602000000-000-115113010833722043-1-00"
REAL_LINK = "http://www.sczwfw.gov.cn/jiq/front/transition/ywTransToDetail?areaCode=511602000000&itemCode={code}"

# Crafted JSON API records, one case each. The source id sorts after the real
# sources, so a crafted duplicate survives only by having fewer code defects.
CRAFTED_SOURCE_ID = "zz_crafted"
CRAFTED_RECORDS = {
    "blank_name": {"task_name": " \u3000", "task_code": VALID_CODE, "dept_code": "083372204"},
    "null_name": {"task_name": None, "task_code": VALID_CODE, "dept_code": "083372204"},
    "relative_link": {
        "task_name": "测试事项相对链接",
        "task_code": VALID_CODE,
        "dept_code": "083372204",
        "link_addr": "/jiq/front/transition/ywTransToDetail?areaCode=511602000000",
    },
    "unparseable_code": {"task_name": "测试事项无法解析", "task_code": "511A0138000000", "dept_code": "11736"},
    "empty_code": {"task_name": "测试事项空编码", "task_code": None, "dept_code": ""},
    "retired_region": {
        "task_name": "测试事项已撤销区划",
        "task_code": "511A0138000000-110103000000-000-68236467-9-1-00",
        "dept_code": "1151130108778239R",
    },
    "disability_duplicate": {
        "task_name": "全国残疾人按比例\u3000就业情况联网认证\u200b",
        "task_code": "511F0045400001-511602000000-000-11511301452259996U-1-00",
        "dept_code": "11511301452259996U",
    },
}


def _real_catalog_records() -> dict[str, dict]:
    """Return the real catalog's sub items keyed by 实施编码, with their department and main item."""
    records = {}
    for department in json.loads(CATALOG_PATH.read_text(encoding="utf-8")):
        for main_item in department["items"]:
            for sub_item in main_item["sub_items"]:
                query = parse_qs(urlparse(sub_item["link"]).query)
                records[query["itemCode"][0]] = {
                    "name": sub_item["name"],
                    "link": sub_item["link"],
                    "task_type": query["taskType"][0],
                    "dept_code": query["deptCode"][0],
                    "department": department["department"],
                    "main_item": main_item["main_item"],
                }
    return records


def _task_type_labels() -> dict[str, str]:
    with open(CODELISTS_PATH, encoding="utf-8", newline="") as handle:
        return {row["code"]: row["label"] for row in csv.DictReader(handle) if row["field"] == "task_type"}


def _json_api_record(task_name, task_code, task_type, dept_name, dept_code, link, main_item) -> dict:
    return {
        "task_name": task_name,
        "task_code": task_code,
        "catalog_code": None,
        "task_type": task_type,
        "dept_name": dept_name,
        "dept_code": dept_code,
        "link_addr": link,
        "main_task_name": main_item,
        "server_type": None,
        "use_level": None,
        "task_state": None,
    }


def _csv_export_record(position, task_name, task_code, task_type_label, dept_name, dept_code, link, main_item) -> dict:
    return {
        "序号": str(position),
        "事项名称": task_name,
        "实施编码": task_code,
        "基本编码": "",
        "事项类型": task_type_label,
        "实施主体": dept_name,
        "实施主体编码": dept_code,
        "服务对象": "",
        "行使层级": "",
        "在线办理地址": link,
        "所属主项": main_item,
    }


def _write_raw_database(path: Path) -> dict[str, str]:
    """Create the raw tables with the real and crafted records and return record label -> source_record_id."""
    catalog = _real_catalog_records()
    labels = _task_type_labels()
    rows = {"json_api": [], "csv_export": []}
    record_ids = {}

    for label, (source_format, task_code) in REAL_RECORDS.items():
        real = catalog[task_code]
        source_id = f"real_{source_format}"
        position = sum(1 for row in rows[source_format] if row[0] == source_id) + 1
        if source_format == "json_api":
            record = _json_api_record(
                real["name"], task_code, real["task_type"], real["department"], real["dept_code"], real["link"], real["main_item"]
            )
        else:
            record = _csv_export_record(
                position,
                real["name"],
                task_code,
                labels[real["task_type"].zfill(2)],
                real["department"],
                real["dept_code"],
                real["link"],
                real["main_item"],
            )
        rows[source_format].append((source_id, position, record))
        record_ids[label] = f"{source_id}#{position}"

    for position, (label, fields) in enumerate(CRAFTED_RECORDS.items(), start=1):
        task_code = fields["task_code"]
        link = fields.get("link_addr", REAL_LINK.format(code=task_code))
        record = _json_api_record(
            fields["task_name"], task_code, "20", "区测试局", fields["dept_code"], link, "未分类"
        )
        rows["json_api"].append((CRAFTED_SOURCE_ID, position, record))
        record_ids[label] = f"{CRAFTED_SOURCE_ID}#{position}"

    connection = duckdb.connect(str(path))
    try:
        connection.execute(RAW_DDL)
        for source_id, source_format in (
            ("real_json_api", "json_api"),
            ("real_csv_export", "csv_export"),
            (CRAFTED_SOURCE_ID, "json_api"),
        ):
            connection.execute(
                "insert into raw.sources values (?, ?, ?, ?, ?, ?, ?)",
                [source_id, source_id, source_format, "区测试局", "http://127.0.0.1:1/test", "0 2 * * *", "test"],
            )
        for source_id, position, record in rows["json_api"]:
            connection.execute(
                "insert into raw.json_api_records values (?, 'run-1', ?, 1, ?, ?)",
                [source_id, f"landing/{source_id}/page-1.json", position, json.dumps(record, ensure_ascii=False)],
            )
        for source_id, position, record in rows["csv_export"]:
            connection.execute(
                "insert into raw.csv_export_records values (?, 'run-1', ?, ?, ?)",
                [source_id, f"landing/{source_id}/tasks.csv", position, json.dumps(record, ensure_ascii=False)],
            )
        connection.execute(
            "insert into raw.sources values (?, ?, ?, ?, ?, ?, ?)",
            [XML_SOURCE_ID, XML_SOURCE_ID, "xml_export", "区测试局", "http://127.0.0.1:1/test", "0 2 * * *", "test"],
        )
        connection.execute(
            "insert into raw.xml_export_records values (?, 'run-1', ?, 1, ?)",
            [XML_SOURCE_ID, f"landing/{XML_SOURCE_ID}/page-0001.xml", json.dumps(XML_RECORD, ensure_ascii=False)],
        )
        record_ids["xml_export_record"] = f"{XML_SOURCE_ID}#1"
        write_editorial_tables(connection, REPO_ROOT / "editorial")
    finally:
        connection.close()
    return record_ids


XML_SOURCE_ID = "xml_export_test"
XML_RECORD = {
    "task_name": "城镇污水排入排水管网许可（XML）",
    "task_code": "511A0173600001-511602000000-000-115113016823646795-1-00",
    "catalog_code": "",
    "task_type": "1",
    "dept_name": "区测试局",
    "dept_code": "68236467-9",
    "link_addr": "http://www.sczwfw.gov.cn/jiq/front/transition/ywTransToDetail?areaCode=511602000000",
    "main_task_name": "未分类",
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Build the dbt project on the small raw database and yield a connection to it with the record ids."""
    from dbt.cli.main import dbtRunner

    work_dir = tmp_path_factory.mktemp("dbt")
    warehouse_path = work_dir / "warehouse.duckdb"
    record_ids = _write_raw_database(warehouse_path)
    with duckdb.connect(str(warehouse_path)) as connection:
        write_editorial_tables(connection, REPO_ROOT / "editorial")

    previous = os.environ.get("HUIJU_WAREHOUSE_PATH")
    os.environ["HUIJU_WAREHOUSE_PATH"] = str(warehouse_path)
    try:
        result = dbtRunner().invoke(
            [
                "build",
                "--project-dir", str(DBT_PROJECT_DIR),
                "--profiles-dir", str(DBT_PROJECT_DIR),
                "--target-path", str(work_dir / "target"),
                "--log-path", str(work_dir / "logs"),
                "--quiet",
            ]
        )
    finally:
        if previous is None:
            os.environ.pop("HUIJU_WAREHOUSE_PATH", None)
        else:
            os.environ["HUIJU_WAREHOUSE_PATH"] = previous

    failed = [
        f"{node.node.unique_id}: {node.status} ({node.message})"
        for node in (result.result.results if result.result is not None and hasattr(result.result, "results") else [])
        if str(node.status) in ("error", "fail", "runtime error")
    ]
    assert result.success, f"dbt build failed: {failed or result.exception}; log in {work_dir / 'logs'}"

    # dbt-duckdb keeps its own connection to the file open in this process, and DuckDB
    # rejects a second connection with another configuration, so this one is not read-only.
    connection = duckdb.connect(str(warehouse_path))
    yield connection, record_ids
    connection.close()


def _record_values(connection, record_ids: dict[str, str], column: str) -> dict[str, object]:
    """Return label -> value of one int_service_items_deduplicated column for every test record."""
    values = dict(
        connection.execute(f"select source_record_id, {column} from int_service_items_deduplicated").fetchall()
    )
    return {label: values[record_id] for label, record_id in record_ids.items()}


def test_every_record_reaches_source_records(warehouse):
    connection, record_ids = warehouse
    source_record_ids = {row[0] for row in connection.execute("select source_record_id from fct_source_record").fetchall()}

    assert source_record_ids == set(record_ids.values())


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("job_subsidy_current", "valid_uscc"),
        ("disability_lowercase", "lowercase_check_character"),
        ("arbitration_missing_segments", "valid_uscc"),
        ("name_dispute_placeholder", "placeholder"),
        ("weather_award_placeholder", "placeholder"),
        ("plant_quarantine_truncated", "truncated"),
        ("tobacco_invalid_check", "invalid_check_character"),
        ("unparseable_code", "missing"),
        ("empty_code", "missing"),
        ("retired_region", "valid_org_code"),
        ("disability_duplicate", "valid_uscc"),
    ],
)
def test_agency_code_status(warehouse, label, expected):
    connection, record_ids = warehouse

    assert _record_values(connection, record_ids, "agency_code_status")[label] == expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("job_subsidy_current", "malformed"),
        ("disability_lowercase", "lowercase_check_character"),
        ("plant_quarantine_truncated", "valid_org_code"),
        ("tobacco_invalid_check", "valid_org_code"),
        ("weather_award_placeholder", "valid_org_code"),
        ("unparseable_code", "malformed"),
        ("empty_code", "missing"),
        ("retired_region", "truncated"),
        ("disability_duplicate", "valid_uscc"),
    ],
)
def test_dept_code_status(warehouse, label, expected):
    connection, record_ids = warehouse

    assert _record_values(connection, record_ids, "dept_code_status")[label] == expected


@pytest.mark.parametrize(
    ("label", "pattern", "region_status"),
    [
        ("job_subsidy_old", "standard", "valid"),
        ("plant_quarantine_truncated", "standard", "valid"),
        ("arbitration_missing_segments", "missing_segments", "missing"),
        ("name_dispute_placeholder", "missing_segments", "missing"),
        ("unparseable_code", "unparseable", "missing"),
        ("empty_code", "empty", "missing"),
        ("retired_region", "standard", "retired"),
    ],
)
def test_task_code_pattern_and_region(warehouse, label, pattern, region_status):
    connection, record_ids = warehouse

    assert _record_values(connection, record_ids, "task_code_pattern")[label] == pattern
    assert _record_values(connection, record_ids, "region_code_status")[label] == region_status


def test_missing_segments_code_parts(warehouse):
    connection, record_ids = warehouse
    catalog_code = _record_values(connection, record_ids, "catalog_code")
    agency_code = _record_values(connection, record_ids, "agency_code")

    assert catalog_code["arbitration_missing_segments"] == "E-000004-001"
    assert agency_code["arbitration_missing_segments"] == "11511301008778386B"
    assert catalog_code["weather_award_placeholder"] == "H-000185-001"
    assert agency_code["weather_award_placeholder"] == "4444444444"


def test_duplicate_keeps_current_catalog_code(warehouse):
    connection, record_ids = warehouse
    disposition = _record_values(connection, record_ids, "disposition")
    service_item_id = _record_values(connection, record_ids, "service_item_id")

    assert disposition["job_subsidy_current"] == "survivor"
    assert disposition["job_subsidy_old"] == "merged"
    assert service_item_id["job_subsidy_old"] == service_item_id["job_subsidy_current"]


def test_duplicate_with_fewer_defects_survives(warehouse):
    connection, record_ids = warehouse
    disposition = _record_values(connection, record_ids, "disposition")
    merged_into = dict(
        connection.execute("select source_record_id, merged_into_service_item_id from fct_source_record").fetchall()
    )
    survivor = connection.execute(
        "select service_item_id, task_name, merged_record_count from fct_service_item where source_record_id = ?",
        [record_ids["disability_duplicate"]],
    ).fetchone()

    assert disposition["disability_duplicate"] == "survivor"
    assert disposition["disability_lowercase"] == "merged"
    assert merged_into[record_ids["disability_lowercase"]] == survivor[0]
    assert survivor[1] == "全国残疾人按比例 就业情况联网认证"
    assert survivor[2] == 2


def test_nameless_records_never_merge(warehouse):
    connection, record_ids = warehouse
    disposition = _record_values(connection, record_ids, "disposition")
    service_item_id = _record_values(connection, record_ids, "service_item_id")
    task_name = _record_values(connection, record_ids, "task_name")

    assert task_name["blank_name"] is None
    assert task_name["null_name"] is None
    assert disposition["blank_name"] == "survivor"
    assert disposition["null_name"] == "survivor"
    assert service_item_id["blank_name"] != service_item_id["null_name"]


def test_service_item_count(warehouse):
    connection, record_ids = warehouse
    item_count = connection.execute("select count(*) from fct_service_item").fetchone()[0]

    # Two of the records merge into other items: job_subsidy_old and disability_lowercase.
    assert item_count == len(record_ids) - 2


def test_relative_link_not_usable(warehouse):
    connection, record_ids = warehouse
    has_usable_link = _record_values(connection, record_ids, "has_usable_link")
    link_area_code = _record_values(connection, record_ids, "link_area_code")

    assert has_usable_link["relative_link"] is False
    assert link_area_code["relative_link"] == "511602000000"
    assert has_usable_link["job_subsidy_current"] is True


def test_task_type_from_code_and_label(warehouse):
    connection, record_ids = warehouse
    task_type_code = _record_values(connection, record_ids, "task_type_code")
    task_type_label = _record_values(connection, record_ids, "task_type_label")

    # JSON publishes taskType 7 unpadded, and the CSV export publishes the label 行政裁决.
    assert task_type_code["disability_lowercase"] == "07"
    assert task_type_label["disability_lowercase"] == "行政确认"
    assert task_type_code["arbitration_missing_segments"] == "09"
    assert task_type_label["arbitration_missing_segments"] == "行政裁决"


def test_seed_codes_keep_leading_zeros(warehouse):
    connection, _ = warehouse
    codes = {
        (field, code)
        for field, code in connection.execute("select field, code from service_item_codelists").fetchall()
    }
    column_types = dict(
        connection.execute(
            "select column_name, data_type from information_schema.columns where table_name = 'service_item_codelists'"
        ).fetchall()
    )

    assert column_types["code"] == "VARCHAR"
    assert ("task_type", "01") in codes
    assert ("user_topic_type", "005") in codes
    assert ("user_topic_type", "010") in codes
    assert ("corp_topic_type", "005") in codes


def test_region_seed_codes_are_text(warehouse):
    connection, _ = warehouse
    column_types = dict(
        connection.execute(
            "select column_name, data_type from information_schema.columns where table_name = 'gbt2260_history'"
        ).fetchall()
    )

    assert set(column_types.values()) == {"VARCHAR"}


def test_every_item_in_theme_mart(warehouse):
    connection, _ = warehouse
    missing = connection.execute(
        """
        select service_item_id from fct_service_item
        except
        select service_item_id from mart_service_themes
        """
    ).fetchall()

    assert missing == []


def test_xml_export_records_reach_items(warehouse):
    connection, _ = warehouse
    row = connection.execute(
        "select source_format, task_name, task_type_code, dept_code_status from main.fct_service_item "
        "where source_id = ?",
        [XML_SOURCE_ID],
    ).fetchone()
    assert row == ("xml_export", "城镇污水排入排水管网许可（XML）", "01", "valid_org_code")
