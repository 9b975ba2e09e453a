"""The twelve national business systems: the editorial loader and the links of real services."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import pytest
import yaml

from huiju.editorial import EditorialError
from huiju.editorial.business_systems import (
    STATE_COUNCIL_DEPARTMENTS_PATH,
    SYSTEM_IDS,
    load_business_systems,
    tables,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
EDITORIAL_DIR = REPO_ROOT / "editorial"
SYSTEMS_FILE = EDITORIAL_DIR / "business_systems.yaml"


def _write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "business_systems.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def document() -> dict:
    return copy.deepcopy(yaml.safe_load(SYSTEMS_FILE.read_text(encoding="utf-8")))


def _load_error(tmp_path: Path, document: dict) -> str:
    with pytest.raises(EditorialError) as raised:
        load_business_systems(_write(tmp_path, document))
    return str(raised.value)


# The repository file


def test_repository_file_lists_twelve_systems():
    systems = load_business_systems(SYSTEMS_FILE)

    assert [system.id for system in systems] == list(SYSTEM_IDS)


def test_repository_names_match_official_list():
    with STATE_COUNCIL_DEPARTMENTS_PATH.open(encoding="utf-8", newline="") as handle:
        official = {row["name"]: row["official_name"] for row in csv.DictReader(handle)}

    for system in load_business_systems(SYSTEMS_FILE):
        for department in system.departments:
            if department.kind == "constituent":
                assert official[department.name] == department.official_name, (system.id, department.name)


def test_quality_and_card_history_recorded():
    systems = {system.id: system for system in load_business_systems(SYSTEMS_FILE)}
    quality_history = [d.name for d in systems["golden_quality"].departments if d.role == "historical"]
    card_history = [d.name for d in systems["golden_card"].departments if d.role == "historical"]

    assert quality_history == ["国家质量监督检验检疫总局"]
    assert "中国银行保险监督管理委员会" in card_history
    assert {d.name for d in systems["golden_quality"].departments if d.role == "current"} == {
        "国家市场监督管理总局", "海关总署"}


def test_application_urls_left_empty():
    applications = tables(EDITORIAL_DIR)["business_system_applications"].to_pylist()

    assert applications
    assert all(application["url"] is None for application in applications)


def test_rule_kinds_cover_three_conditions():
    kinds = set(tables(EDITORIAL_DIR)["business_system_rules"].column("rule_kind").to_pylist())

    assert {"department", "name", "item_type+department"} <= kinds


# Loader errors


def test_missing_system_named(tmp_path, document):
    document["systems"] = [system for system in document["systems"] if system["id"] != "golden_water"]

    message = _load_error(tmp_path, document)

    assert "field 'systems'" in message
    assert "golden_water" in message


def test_unknown_system_id_named(tmp_path, document):
    document["systems"][0]["id"] = "golden_gold"

    message = _load_error(tmp_path, document)

    assert "systems[0] (id 'golden_gold'): field 'id'" in message


def test_duplicate_system_named(tmp_path, document):
    document["systems"].append(copy.deepcopy(document["systems"][0]))

    message = _load_error(tmp_path, document)

    assert f"systems[12] (id {document['systems'][0]['id']!r}): field 'id': listed twice" in message


def test_constituent_name_checked(tmp_path, document):
    document["systems"][2]["departments"][0]["name"] = "财政厅"

    message = _load_error(tmp_path, document)

    assert "systems[2] (id 'golden_finance'): field 'departments.0.name'" in message
    assert "'财政厅'" in message


def test_official_name_checked(tmp_path, document):
    document["systems"][2]["departments"][0]["official_name"] = "财政部"

    message = _load_error(tmp_path, document)

    assert "field 'departments.0.official_name'" in message
    assert "'中华人民共和国财政部'" in message


def test_rule_without_condition_rejected(tmp_path, document):
    document["systems"][3]["service_rules"][0] = {"id": "tax_nothing", "description": "无条件"}

    message = _load_error(tmp_path, document)

    assert "systems[3] (id 'golden_tax'): field 'service_rules.0'" in message
    assert "needs department_keywords, name_keywords or task_types" in message


def test_unknown_task_type_rejected(tmp_path, document):
    document["systems"][8]["service_rules"][0]["task_types"] = ["行政给予"]

    message = _load_error(tmp_path, document)

    assert "field 'service_rules.0.task_types'" in message
    assert "行政给予" in message


def test_invalid_url_rejected(tmp_path, document):
    document["systems"][6]["applications"][0]["url"] = "singlewindow"

    message = _load_error(tmp_path, document)

    assert "systems[6] (id 'golden_customs'): field 'applications.0.url'" in message


def test_duplicate_rule_id_named(tmp_path, document):
    document["systems"][3]["service_rules"][0]["id"] = "finance_department"

    message = _load_error(tmp_path, document)

    assert "rule id 'finance_department' is already used by system 'golden_finance'" in message


def test_system_without_current_department(tmp_path, document):
    for department in document["systems"][11]["departments"]:
        department["role"] = "historical"

    message = _load_error(tmp_path, document)

    assert "systems[11] (id 'golden_quality'): field 'entry'" in message or "golden_quality" in message
    assert "role 'current'" in message


def test_wrong_version_rejected(tmp_path, document):
    document["version"] = 2

    assert "field 'version' must be 1" in _load_error(tmp_path, document)


# Links of real services, from one pipeline run on the departments that the rules name

LINKED_SOURCE_IDS = (
    "guangan_gafj", "guangan_gaqswj", "guangan_rsj", "guangan_sjj", "guangan_shuiwj",
    "guangan_nyncj", "guangan_czj", "guangan_fgj", "guangan_xzspj", "guangan_ylbzj",
)


@pytest.fixture(scope="module")
def linked_run(prefect_harness, tmp_path_factory):
    """Run the pipeline on ten real departments; return the published marts directory."""
    import os

    from department_systems.server import DepartmentSystemServer
    from flows.pipeline import pipeline_flow

    work = tmp_path_factory.mktemp("systems")
    registry = yaml.safe_load((REPO_ROOT / "sources.yaml").read_text(encoding="utf-8"))
    registry["sources"] = [source for source in registry["sources"] if source["id"] in LINKED_SOURCE_IDS]
    sources_file = work / "sources.yaml"
    sources_file.write_text(yaml.safe_dump(registry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with DepartmentSystemServer() as server:
        previous = os.environ.get("HUIJU_DEPT_BASE_URL")
        os.environ["HUIJU_DEPT_BASE_URL"] = server.base_url
        try:
            run = pipeline_flow(home=str(work / "home"), sources_file=str(sources_file))
        finally:
            if previous is None:
                os.environ.pop("HUIJU_DEPT_BASE_URL", None)
            else:
                os.environ["HUIJU_DEPT_BASE_URL"] = previous
    assert run["status"] == "succeeded"
    return work / "home" / "published" / "current" / "marts"


def _links(marts: Path):
    import pandas as pd

    bridge = pd.read_parquet(marts / "bridge_service_business_system.parquet")
    items = pd.read_parquet(marts / "fct_service_item.parquet")[["service_item_id", "task_name", "dept_name"]]
    return bridge.merge(items, on="service_item_id")


def _link_of(links, task_name: str, system_id: str):
    rows = links[(links["task_name"] == task_name) & (links["system_id"] == system_id)]
    assert len(rows) == 1, (task_name, system_id)
    return rows.iloc[0]


@pytest.mark.e2e
def test_department_rule_links_tax(linked_run):
    links = _links(linked_run)
    tax = links[(links["dept_name"] == "广安区税务局") & (links["system_id"] == "golden_tax")]

    assert len(tax) == 83
    assert set(tax["rule_id"]) == {"tax_department"}
    assert tax["evidence"].str.contains("实施主体“广安区税务局”含“税务”").all()


@pytest.mark.e2e
def test_department_rule_links_social_insurance(linked_run):
    links = _links(linked_run)
    hrss = links[links["dept_name"] == "区人社局"]

    assert set(hrss[hrss["system_id"] == "golden_security"]["rule_kind"]) == {"department"}
    assert len(hrss[hrss["system_id"] == "golden_security"]) == len(set(hrss["service_item_id"]))


@pytest.mark.e2e
def test_name_rule_links_water_abstraction(linked_run):
    link = _link_of(_links(linked_run), "取水许可证新办审批", "golden_water")

    assert link["rule_id"] == "water_name_keywords"
    assert link["evidence"] == "事项名称“取水许可证新办审批”含“取水”"


@pytest.mark.e2e
def test_name_rule_links_special_equipment(linked_run):
    link = _link_of(_links(linked_run), "特种设备作业人员资格认定取证", "golden_quality")

    assert link["rule_id"] == "quality_name_keywords"


@pytest.mark.e2e
def test_name_rule_links_veterinary_drugs(linked_run):
    link = _link_of(_links(linked_run), "兽药经营许可证核发（普通兽药）", "golden_agriculture")

    assert link["rule_kind"] == "name"


@pytest.mark.e2e
def test_item_type_rule_links_police(linked_run):
    links = _links(linked_run)
    police = links[(links["dept_name"] == "区公安分局") & (links["system_id"] == "golden_shield")]

    assert "item_type+department" in set(police["rule_kind"])
    assert police[police["rule_kind"] == "item_type+department"]["evidence"].str.startswith("事项类型“行政确认”").all()


@pytest.mark.e2e
def test_systems_without_services_listed(linked_run):
    import pandas as pd

    systems = pd.read_parquet(linked_run / "dim_business_system.parquet").set_index("system_id")

    assert len(systems) == 12
    assert systems.loc["golden_customs", "service_item_count"] == 0
    assert systems.loc["golden_audit", "service_item_count"] == 0
    assert systems.loc["golden_tax", "service_item_count"] >= 83
