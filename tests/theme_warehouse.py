"""Build the dbt project once per test process on the whole real 广安区 catalog and test editorial files."""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import yaml

from huiju.editorial import write_editorial_tables
from huiju.warehouse import RAW_DDL

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
CATALOG_PATH = REPO_ROOT / "department_systems" / "data" / "guangan_service_guides.json"
SOURCE_ID = "guangan_all"

# Name of a real item that the test configuration removes by override.
JOB_FAIR_NAME = "招聘会服务"


def _catalog_records() -> list[dict]:
    records = []
    for department in json.loads(CATALOG_PATH.read_text(encoding="utf-8")):
        for main_item in department["items"]:
            for sub_item in main_item["sub_items"]:
                query = parse_qs(urlparse(sub_item["link"]).query)
                records.append({
                    "task_name": sub_item["name"],
                    "task_code": query["itemCode"][0],
                    "catalog_code": None,
                    "task_type": query["taskType"][0],
                    "dept_name": department["department"],
                    "dept_code": query["deptCode"][0],
                    "link_addr": sub_item["link"],
                    "main_task_name": main_item["main_item"],
                    "server_type": None,
                    "use_level": None,
                    "task_state": None,
                })
    return records


def task_code_of(name: str) -> str:
    """Return the 实施编码 of the first real catalog item named ``name``."""
    return next(record["task_code"] for record in _catalog_records() if record["task_name"] == name)


def write_test_editorial(directory: Path) -> Path:
    """Copy the repository's editorial files and change them for the tests.

    Changes: a department-only step and an inactive short-term theme, one add and one remove
    override, and a block principle that only the short-term theme breaks.
    """
    shutil.copytree(REPO_ROOT / "editorial", directory)
    themes = yaml.safe_load((directory / "themes.yaml").read_text(encoding="utf-8"))
    themes["themes"].append({
        "id": "flood_season_campaign",
        "name": "汛期服务专项",
        "audience": "legal_person",
        "priority": {"text": "测试用短期主题", "source": "测试配置"},
        "active_from": "2020-05-01",
        "active_to": "2020-09-30",
        "steps": [
            {"id": "water_affairs", "name": "水务事项", "description": "区水务局的全部事项。",
             "matchers": [{"department": "^区水务局$"}], "business_systems": ["golden_water"]},
            {"id": "tax_queries", "name": "涉税查询", "description": "查询类涉税事项。",
             "matchers": [{"department": "税务局", "name_pattern": "查询"}]},
        ],
    })
    (directory / "themes.yaml").write_text(yaml.safe_dump(themes, allow_unicode=True), encoding="utf-8")

    overrides = {"overrides": [
        {"theme": "retirement", "step": "pension_benefit", "action": "add",
         "task_code": task_code_of("城乡居民基本养老保险补助"), "reason": "补助随养老待遇一并发放",
         "reviewer": "测试审核人", "reviewed_on": "2025-01-15"},
        {"theme": "employment_entrepreneurship", "step": "job_seeking", "action": "remove",
         "task_code": task_code_of(JOB_FAIR_NAME), "reason": "招聘会服务面向用人单位",
         "reviewer": "测试审核人", "reviewed_on": "2025-01-15"},
    ]}
    (directory / "theme_overrides.yaml").write_text(yaml.safe_dump(overrides, allow_unicode=True), encoding="utf-8")

    composition = yaml.safe_load((directory / "composition.yaml").read_text(encoding="utf-8"))
    composition["principles"].append({
        "id": "minimum_broad_audience", "name": "量大面广服务不少于一成", "kind": "min_primary_share",
        "dimensions": ["audience_breadth"], "threshold": 0.1, "action": "block",
    })
    (directory / "composition.yaml").write_text(yaml.safe_dump(composition, allow_unicode=True), encoding="utf-8")
    return directory


@functools.lru_cache(maxsize=1)
def build_warehouse(work_dir: Path | None = None) -> tuple[Path, Path]:
    """Load the real catalog, write the test editorial tables and run ``dbt build`` in ``work_dir``.

    ``work_dir`` defaults to a new temporary directory. Returns the warehouse path and the editorial
    directory.
    """
    from dbt.cli.main import dbtRunner

    work_dir = work_dir or Path(tempfile.mkdtemp(prefix="huiju-themes-"))
    editorial_dir = write_test_editorial(work_dir / "editorial")
    warehouse_path = work_dir / "warehouse.duckdb"
    with duckdb.connect(str(warehouse_path)) as connection:
        connection.execute(RAW_DDL)
        connection.execute(
            "insert into raw.sources values (?, ?, ?, ?, ?, ?, ?)",
            [SOURCE_ID, "广安区全部事项", "json_api", "区行政审批局", "http://127.0.0.1:1/test", "0 2 * * *", "test"],
        )
        for position, record in enumerate(_catalog_records(), start=1):
            connection.execute(
                "insert into raw.json_api_records values (?, 'run-1', ?, 1, ?, ?)",
                [SOURCE_ID, f"landing/{SOURCE_ID}/page-1.json", position, json.dumps(record, ensure_ascii=False)],
            )
        write_editorial_tables(connection, editorial_dir)

    previous = os.environ.get("HUIJU_WAREHOUSE_PATH")
    os.environ["HUIJU_WAREHOUSE_PATH"] = str(warehouse_path)
    try:
        result = dbtRunner().invoke([
            "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"), "--quiet",
        ])
    finally:
        if previous is None:
            os.environ.pop("HUIJU_WAREHOUSE_PATH", None)
        else:
            os.environ["HUIJU_WAREHOUSE_PATH"] = previous
    assert result.success, f"dbt build failed; log in {work_dir / 'logs'}"

    # dbt-duckdb keeps its connection to the built file open in this process, and DuckDB rejects
    # a read-only connection next to it, so readers get a copy (with its write-ahead log).
    copy_path = work_dir / "warehouse_copy.duckdb"
    shutil.copyfile(warehouse_path, copy_path)
    wal_path = warehouse_path.with_name(warehouse_path.name + ".wal")
    if wal_path.exists():
        shutil.copyfile(wal_path, copy_path.with_name(copy_path.name + ".wal"))
    return copy_path, editorial_dir


# Columns of the candidate theme marts, for batches that contain no theme.
EMPTY_THEME_MARTS = {
    "mart_theme_steps": """theme_id varchar, theme_name varchar, audience varchar, is_active boolean,
        step_id varchar, step_position integer, step_name varchar, service_item_id varchar, task_name varchar,
        matched_by varchar, evidence varchar, service_rank bigint""",
    "mart_theme_gaps": """theme_id varchar, theme_name varchar, is_active boolean, step_id varchar,
        step_position integer, step_name varchar, gap_reason varchar""",
    "mart_theme_composition": """theme_id varchar, theme_name varchar, theme_position integer, audience varchar,
        is_active boolean, dimension_position integer, dimension varchar, dimension_label varchar,
        service_count bigint, primary_count bigint, secondary_count bigint, unknown_count bigint,
        primary_share double, secondary_share double, unknown_share double, breach_count bigint,
        breaches struct(principle_id varchar, principle_name varchar, action varchar, message_zh varchar)[],
        theme_result varchar""",
    "int_theme_override_applications": """override_id varchar, theme_id varchar, step_id varchar, action varchar,
        task_code varchar, service_item_id varchar, reason varchar, reviewer varchar, reviewed_on date,
        application_status varchar""",
    "mart_theme_content": """theme_id varchar, theme_name varchar, content_form varchar, content_form_label varchar,
        step_id varchar, item_id varchar, title varchar, url varchar, provider varchar, published_on date,
        evidence varchar, item_rank bigint""",
}


def write_empty_theme_candidates(directory: Path) -> None:
    """Write the theme candidate marts without rows into ``directory``."""
    with duckdb.connect() as connection:
        for mart, columns in EMPTY_THEME_MARTS.items():
            connection.execute(f"create table {mart} ({columns})")
            connection.execute(f"copy {mart} to '{directory / f'{mart}.parquet'}' (format parquet)")
