"""The synthetic catalog: sizes, real distributions, valid codes, the synthetic marks, and a harvest of every format."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from connectors.http import HttpClient
from connectors.registry import load_registry
from department_systems import synthetic
from department_systems.server import DepartmentSystemServer
from huiju import warehouse
from huiju.harvest import harvest_source
from huiju.state import SourceState

ITEMS = 2_000
DEPARTMENTS = 60
SEED = 7


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("synthetic")
    synthetic.generate(directory, ITEMS, DEPARTMENTS, SEED)
    return directory


@pytest.fixture(scope="module")
def catalog(catalog_dir) -> list[dict]:
    return json.loads((catalog_dir / "catalog.json").read_text(encoding="utf-8"))


def _sub_items(catalog: list[dict]):
    for department in catalog:
        for main_item in department["items"]:
            for sub_item in main_item["sub_items"]:
                yield department, main_item, sub_item


def _query(link: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))


def test_sizes_match_the_request(catalog, catalog_dir):
    manifest = json.loads((catalog_dir / "manifest.json").read_text(encoding="utf-8"))
    assert len(catalog) == DEPARTMENTS
    assert sum(1 for _ in _sub_items(catalog)) == ITEMS
    assert manifest["items"] == ITEMS
    assert manifest["departments"] == DEPARTMENTS
    assert sum(manifest["items_by_format"].values()) == ITEMS
    assert all(department["items"] for department in catalog)


def test_everything_is_marked_synthetic(catalog, catalog_dir):
    manifest = json.loads((catalog_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True
    assert all(department["department"].endswith("（合成）") for department in catalog)
    assert all(_query(sub_item["link"])["synthetic"] == "1" for _, _, sub_item in _sub_items(catalog))
    registry = load_registry(catalog_dir / "sources.yaml", environ={"HUIJU_DEPT_BASE_URL": "http://127.0.0.1:1"})
    assert all(source.name.startswith("合成数据") for source in registry.sources)
    assert "synthetic" in (catalog_dir / "sources.yaml").read_text(encoding="utf-8").splitlines()[0]


def test_names_and_types_are_real(catalog):
    real = synthetic.load_real_items()
    real_names = {item.name for items in real.values() for item in items}
    real_types = Counter(item.task_type for items in real.values() for item in items)
    names = [sub_item["name"] for _, _, sub_item in _sub_items(catalog)]
    types = Counter(_query(sub_item["link"])["taskType"] for _, _, sub_item in _sub_items(catalog))
    for name in names:
        assert name in real_names or re.sub(r"（(变更|延续|注销|补证|办理项[0-9]+)）$", "", name) in real_names, name
    assert set(types) <= set(real_types)
    # 行政许可 (code 1) is the most common type in the real catalog and stays so.
    assert types.most_common(1)[0][0] == real_types.most_common(1)[0][0]


def test_department_kinds_follow_the_real_shares(catalog):
    kinds = Counter()
    for department, _, _ in _sub_items(catalog):
        kinds[re.sub(r"^.+?(县|区|市|旗)", "", department["department"])] += 1
    # 区行政审批局 publishes 344 of the 1,135 real items, the largest share.
    assert kinds.most_common(1)[0][0].startswith("行政审批局")


def test_names_are_unique_within_a_department(catalog):
    for department in catalog:
        names = [sub_item["name"] for main_item in department["items"] for sub_item in main_item["sub_items"]]
        assert len(names) == len(set(names)), department["department"]


def test_codes_are_standard_unique_and_valid(catalog):
    regions = {region.code for region in synthetic.load_regions()}
    codes = []
    for _, _, sub_item in _sub_items(catalog):
        query = _query(sub_item["link"])
        match = synthetic.STANDARD_CODE.match(query["itemCode"])
        assert match, query["itemCode"]
        assert match.group(4) == query["deptCode"]
        assert match.group(2)[:6] in regions
        assert match.group(2) == query["areaCode"]
        codes.append(query["itemCode"])
    assert len(codes) == len(set(codes))
    uscc = {_query(sub_item["link"])["deptCode"] for _, _, sub_item in _sub_items(catalog)}
    assert len(uscc) == DEPARTMENTS
    for code in uscc:
        assert code[17] == synthetic.uscc_check(code[:17])
        assert code[16] == synthetic.org_code_check(code[8:16])


def test_check_characters_of_real_codes():
    # 统一社会信用代码 of the real 区经信局 and its organisation code from the bundled catalog.
    assert synthetic.uscc_check("11511301008778183") == "N"
    assert synthetic.org_code_check("00877818") == "3"


def test_output_is_deterministic(catalog_dir, tmp_path):
    synthetic.generate(tmp_path, ITEMS, DEPARTMENTS, SEED)
    for name in ("catalog.json", "departments.csv", "sources.yaml", "manifest.json"):
        assert (tmp_path / name).read_bytes() == (catalog_dir / name).read_bytes(), name


def test_rejects_fewer_items_than_departments(tmp_path):
    with pytest.raises(ValueError, match="at least one item per department"):
        synthetic.generate(tmp_path, 10, 20)


def test_every_format_harvests_and_loads_completely(catalog_dir, tmp_path):
    with DepartmentSystemServer(
        catalog_path=catalog_dir / "catalog.json", departments_path=catalog_dir / "departments.csv", portal_slugs=(),
    ) as server:
        registry = load_registry(catalog_dir / "sources.yaml", environ={"HUIJU_DEPT_BASE_URL": server.base_url})
        with (catalog_dir / "departments.csv").open(encoding="utf-8") as handle:
            slugs = {row["department"]: row["slug"] for row in csv.DictReader(handle)}
        # One source of each format and pagination style.
        chosen = {}
        for source in registry.sources:
            chosen.setdefault((source.format, getattr(source, "pagination", None)), source)
        assert len(chosen) == len(synthetic.FORMAT_MIX)
        connection = warehouse.connect(tmp_path / "warehouse.duckdb")
        try:
            warehouse.replace_sources(connection, registry.sources)
            with HttpClient(registry.allowed_hosts) as client:
                for source in chosen.values():
                    outcome = harvest_source(client, source, tmp_path / "landing", "run-1", SourceState(source.id))
                    loaded = warehouse.load_landing(connection, outcome.landing, source=source)
                    served = len(server.records(slugs[source.owner_department]))
                    assert loaded == served, source.id
        finally:
            connection.close()
