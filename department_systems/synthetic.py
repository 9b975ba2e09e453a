"""Synthetic national catalogs for load tests: N service items across M department systems.

The bundled 广安区 catalog has 1,135 items in 34 departments; a province publishes some
hundred thousand and the whole country a few million. This module scales the real catalog up
without inventing new kinds of content:

- Every synthetic department copies one real department kind (区人社局, 区行政审批局 …) and
  sits in one in-use county-level region of GB/T 2260 (from the dbt seed
  ``gbt2260_history.csv``), so its name reads like ``东城区人社局（合成）``.
- A kind's share of departments and of items follows the real catalog: 区行政审批局 has 344
  of the 1,135 real items, so its synthetic copies get about 30 % of N.
- Each item copies a real item of its kind (事项名称, 事项类型, 所属主项). Its standard
  实施编码 joins the real 基本编码, the department's 12-digit region code and the department's
  own 统一社会信用代码, whose check characters are valid (GB 32100). Identity resolution and the
  code audit therefore do the same work as on real data.
- Departments are spread over the supported formats in roughly the real registry's mix.

Everything produced is marked synthetic: department names end in （合成）, source names start
with 合成数据, every online link carries ``synthetic=1``, and ``manifest.json`` says
``"synthetic": true``. The output is deterministic for a given N, M and seed.

Output directory::

    catalog.json      the catalog in the shape of guangan_service_guides.json
    departments.csv   slug,department, as department_systems/departments.csv
    sources.yaml      a Huiju registry of the M department systems
    manifest.json     sizes, seed, format mix, and the synthetic marker

``python -m department_systems.synthetic --items 100000 --departments 300 --out DIR`` writes
it; ``python -m department_systems --catalog DIR/catalog.json --departments DIR/departments.csv``
serves it.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from department_systems.catalog import CATALOG_PATH

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REGIONS_PATH = PROJECT_ROOT / "dbt_project" / "seeds" / "gbt2260_history.csv"

SYNTHETIC_SUFFIX = "（合成）"
SOURCE_NAME_PREFIX = "合成数据·"
LINK_BASE = "http://www.sczwfw.gov.cn/jiq/front/transition/ywTransToDetail"
STANDARD_CODE = re.compile(r"^(.+?)-([0-9]{12})-([0-9]{3})-(.+)-([0-9]+)-([0-9]{2})$")

# (format, pagination) and its share of departments. The real registry has 18 JSON APIs (one
# each of offset/limit, cursor and next-link) and 17 CSV exports; XML represents the
# provinces that export XML.
FORMAT_MIX: tuple[tuple[str, str | None, float], ...] = (
    ("json_api", "page_number", 0.40),
    ("json_api", "offset_limit", 0.06),
    ("json_api", "cursor", 0.06),
    ("json_api", "next_link", 0.06),
    ("csv_export", None, 0.34),
    ("xml_export", None, 0.08),
)
# Path of each pagination style on the department system server.
JSON_API_PATHS = {
    "page_number": "/api/tasks",
    "offset_limit": "/api/v2/tasks",
    "cursor": "/api/cursor/tasks",
    "next_link": "/api/links/tasks",
}
# Bulk exchange interfaces page in the thousands; the server's maximum is 1000.
JSON_PAGE_SIZE = 1000
# All synthetic systems share 127.0.0.1, and the harvest limits requests per host, so the
# registry raises the per-host limits to what one local server takes.
MAX_CONCURRENT_REQUESTS = 8
MAX_REQUESTS_PER_SECOND = 1000.0

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class RealItem:
    name: str
    main_item: str
    task_type: str
    catalog_code: str


@dataclass(frozen=True)
class Region:
    code: str
    name: str


@dataclass(frozen=True)
class SyntheticDepartment:
    slug: str
    name: str
    kind: str
    region: Region
    uscc: str
    source_format: str
    pagination: str | None
    item_count: int


def org_code_check(body: str) -> str:
    """Check character of an 8-digit organisation code body (GB 11714)."""
    remainder = 11 - sum(int(digit) * weight for digit, weight in zip(body, ORG_CODE_WEIGHTS)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def uscc_check(body: str) -> str:
    """Check character of the first 17 characters of a 统一社会信用代码 (GB 32100)."""
    total = sum(USCC_ALPHABET.index(char) * weight for char, weight in zip(body, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def make_uscc(region_code: str, serial: int) -> str:
    """Build a valid 统一社会信用代码 of a government body (category 1, type 1) in ``region_code``."""
    org_body = f"{90000000 + serial:08d}"
    body = "11" + region_code + org_body + org_code_check(org_body)
    return body + uscc_check(body)


def load_real_items(catalog_path: Path = CATALOG_PATH) -> dict[str, list[RealItem]]:
    """Read the real catalog's items, grouped by department kind (the name without its 区/广安区 prefix)."""
    catalog = json.loads(catalog_path.read_text(encoding="utf-8"))
    items: dict[str, list[RealItem]] = {}
    for department in catalog:
        kind = re.sub(r"^(广安区|区)", "", department["department"])
        for main_item in department["items"]:
            for sub_item in main_item["sub_items"]:
                query = parse_qs(urlsplit(sub_item["link"]).query)
                code = (query.get("itemCode") or [""])[0].upper()
                match = STANDARD_CODE.match(code)
                items.setdefault(kind, []).append(RealItem(
                    name=sub_item["name"],
                    main_item=main_item["main_item"],
                    task_type=(query.get("taskType") or [""])[0],
                    # Three real codes lack the standard shape; their items keep a code of
                    # the kind's first letters so that they still resolve to one identity.
                    catalog_code=match.group(1) if match else "SYN" + code[:9],
                ))
    return items


def load_regions(path: Path = REGIONS_PATH) -> list[Region]:
    """In-use county-level regions of GB/T 2260, in code order."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        regions = [
            Region(code=row["代码"], name=row["名称"])
            for row in rows
            if row["级别"] == "县级" and row["状态"] == "在用" and row["名称"] != "市辖区"
        ]
    return sorted({region.code: region for region in regions}.values(), key=lambda region: region.code)


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder method)."""
    weight_sum = sum(weights)
    exact = [total * weight / weight_sum for weight in weights]
    counts = [int(value) for value in exact]
    order = sorted(range(len(weights)), key=lambda index: exact[index] - counts[index], reverse=True)
    for index in order[: total - sum(counts)]:
        counts[index] += 1
    return counts


def plan_departments(
    item_count: int, department_count: int, items_by_kind: dict[str, list[RealItem]], regions: list[Region], seed: int
) -> list[SyntheticDepartment]:
    """Decide each synthetic department's kind, region, code, format and item count."""
    if department_count < 1 or item_count < department_count:
        raise ValueError("need at least one department and at least one item per department")
    rng = random.Random(seed)
    kinds = sorted(items_by_kind, key=lambda kind: (-len(items_by_kind[kind]), kind))
    kind_weights = [len(items_by_kind[kind]) for kind in kinds]
    # Every kind gets departments in proportion to its items, at least one while M allows.
    per_kind = _apportion(department_count, kind_weights)
    if department_count >= len(kinds):
        for index, count in enumerate(per_kind):
            if count == 0:
                donor = per_kind.index(max(per_kind))
                per_kind[donor] -= 1
                per_kind[index] = 1
    department_kinds = [kind for kind, count in zip(kinds, per_kind) for _ in range(count)]
    rng.shuffle(department_kinds)
    # Items follow the kind's real share, split evenly over that kind's departments.
    items_per_kind = _apportion(item_count - department_count, [
        weight if count else 0 for weight, count in zip(kind_weights, per_kind)
    ])
    kind_items_left = dict(zip(kinds, items_per_kind))
    kind_departments_left = dict(zip(kinds, per_kind))

    region_pool = rng.sample(regions, k=min(len(regions), department_count))
    formats = [(fmt, pagination) for fmt, pagination, _ in FORMAT_MIX]
    format_counts = _apportion(department_count, [share for _, _, share in FORMAT_MIX])
    department_formats = [pair for pair, count in zip(formats, format_counts) for _ in range(count)]
    rng.shuffle(department_formats)

    departments = []
    for index, kind in enumerate(department_kinds):
        region = region_pool[index % len(region_pool)]
        share = kind_items_left[kind] // kind_departments_left[kind]
        kind_items_left[kind] -= share
        kind_departments_left[kind] -= 1
        name = f"{region.name}{kind}{SYNTHETIC_SUFFIX}"
        if index >= len(region_pool):
            # More departments than regions: a second department of one kind and region.
            name = f"{region.name}{kind}{index // len(region_pool) + 1}{SYNTHETIC_SUFFIX}"
        source_format, pagination = department_formats[index]
        departments.append(SyntheticDepartment(
            slug=f"d{index + 1:05d}",
            name=name,
            kind=kind,
            region=region,
            uscc=make_uscc(region.code, index + 1),
            source_format=source_format,
            pagination=pagination,
            item_count=share + 1,
        ))
    return departments


HANDLE_ITEM_LABELS = ("变更", "延续", "注销", "补证")


def _handle_item_label(repeat: int) -> str:
    """Name suffix of the ``repeat``-th further 办理项 of one item: 变更, 延续, 注销, 补证, then 办理项6 …"""
    if repeat <= len(HANDLE_ITEM_LABELS):
        return HANDLE_ITEM_LABELS[repeat - 1]
    return f"办理项{repeat + 1}"


def department_items(department: SyntheticDepartment, real_items: list[RealItem], seed: int) -> list[dict[str, Any]]:
    """The main items of one department in catalog shape, drawn from its kind's real items."""
    rng = random.Random(f"{seed}:{department.slug}")
    region12 = department.region.code + "000000"
    repeats: Counter[str] = Counter()
    name_repeats: Counter[str] = Counter()
    by_main_item: dict[str, list[dict[str, str]]] = defaultdict(list)
    for _ in range(department.item_count):
        item = rng.choice(real_items)
        # One 基本编码 implemented many times in one department differs by 办理项 and version,
        # as real multi-handle items do, and so does its name: otherwise the records would share
        # a match key and merge as duplicates.
        repeat = repeats[item.catalog_code]
        repeats[item.catalog_code] += 1
        name_repeat = name_repeats[item.name]
        name_repeats[item.name] += 1
        name = item.name if not name_repeat else f"{item.name}（{_handle_item_label(name_repeat)}）"
        task_code = f"{item.catalog_code}-{region12}-000-{department.uscc}-{1 + repeat // 100}-{repeat % 100:02d}"
        query = urlencode({
            "areaCode": region12, "itemCode": task_code, "taskType": item.task_type,
            "deptCode": department.uscc, "synthetic": "1",
        })
        by_main_item[item.main_item].append({"name": name, "link": f"{LINK_BASE}?{query}", "qrcode": ""})
    return [{"main_item": main_item, "sub_items": sub_items} for main_item, sub_items in by_main_item.items()]


def _source_entry(department: SyntheticDepartment) -> dict[str, Any]:
    label = "接口" if department.source_format == "json_api" else "导出"
    entry: dict[str, Any] = {
        "id": f"syn_{department.slug}",
        "name": f"{SOURCE_NAME_PREFIX}{department.name.removesuffix(SYNTHETIC_SUFFIX)}政务服务事项{label}",
        "format": department.source_format,
        "base_url": "${HUIJU_DEPT_BASE_URL}/" + department.slug,
        "owner_department": department.name,
        "contact": f"{department.kind}办公室",
        "max_concurrent_requests": MAX_CONCURRENT_REQUESTS,
        "max_requests_per_second": MAX_REQUESTS_PER_SECOND,
    }
    if department.source_format == "json_api":
        entry["pagination"] = department.pagination
        entry["path"] = JSON_API_PATHS[department.pagination]
        entry["page_size"] = JSON_PAGE_SIZE
        if department.pagination == "page_number":
            entry["size_param"] = "pageSize"
            entry["updated_since"] = {"param": "updatedSince", "record_key": "task_code"}
    return entry


def write_registry(path: Path, departments: list[SyntheticDepartment], item_count: int) -> None:
    """Write ``sources.yaml`` for the synthetic departments; JSON is valid YAML, so no YAML writer is needed."""
    header = (
        f"# 合成数据 (synthetic): {item_count} service items in {len(departments)} department systems,\n"
        "# generated by `python -m department_systems.synthetic` from the distributions of the real\n"
        "# 广安区 catalog. Serve it with `python -m department_systems --catalog catalog.json\n"
        "# --departments departments.csv` and set HUIJU_DEPT_BASE_URL to the URL that prints.\n"
    )
    registry = {
        "version": 1,
        "defaults": {
            "schedule": "0 2 * * *",
            "timeout_seconds": 30,
            "max_retries": 3,
            "backoff_seconds": 0.5,
            "max_response_bytes": 200_000_000,
            "max_shrink_share": 0.2,
        },
        "sources": [_source_entry(department) for department in departments],
    }
    path.write_text(header + json.dumps(registry, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def generate(out_dir: Path, item_count: int, department_count: int, seed: int = 2260) -> dict[str, Any]:
    """Write a synthetic catalog of ``item_count`` items in ``department_count`` departments to ``out_dir``."""
    items_by_kind = load_real_items()
    departments = plan_departments(item_count, department_count, items_by_kind, load_regions(), seed)
    out_dir.mkdir(parents=True, exist_ok=True)

    with (out_dir / "catalog.json").open("w", encoding="utf-8") as handle:
        handle.write("[\n")
        for index, department in enumerate(departments):
            entry = {"department": department.name,
                     "items": department_items(department, items_by_kind[department.kind], seed)}
            handle.write(("," if index else "") + json.dumps(entry, ensure_ascii=False) + "\n")
        handle.write("]\n")
    with (out_dir / "departments.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["slug", "department"])
        writer.writerows([department.slug, department.name] for department in departments)
    write_registry(out_dir / "sources.yaml", departments, item_count)

    manifest = {
        "synthetic": True,
        "description": "合成数据：按广安区真实目录的分布生成，不是任何部门发布的事项。",
        "items": item_count,
        "departments": department_count,
        "seed": seed,
        "regions": len({department.region.code for department in departments}),
        "formats": dict(Counter(
            department.source_format + (f"/{department.pagination}" if department.pagination else "")
            for department in departments
        )),
        "items_by_format": dict(_sum_items_by_format(departments)),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


def _sum_items_by_format(departments: list[SyntheticDepartment]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for department in departments:
        totals[department.source_format] += department.item_count
    return totals


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m department_systems.synthetic",
        description="Write a synthetic catalog of N items in M department systems, drawn from the real 广安区 catalog.",
    )
    parser.add_argument("--items", type=int, required=True, help="number of service items (N)")
    parser.add_argument("--departments", type=int, required=True, help="number of department systems (M)")
    parser.add_argument("--out", type=Path, required=True, help="directory to write catalog.json, departments.csv, sources.yaml")
    parser.add_argument("--seed", type=int, default=2260, help="random seed (default: 2260)")
    args = parser.parse_args(argv)
    manifest = generate(args.out, args.items, args.departments, args.seed)
    print(json.dumps(manifest, ensure_ascii=False))


if __name__ == "__main__":
    main()
