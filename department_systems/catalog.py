"""Load the bundled service catalog and render it in the two department-system formats.

A record's values come only from the catalog: the sub item's ``name``, the query string of its
``link`` (``itemCode``, ``taskType``, ``deptCode``) and the ``main_item`` it sits under. Fields
that the catalog does not publish are ``None`` in JSON and empty cells in CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape as xml_escape

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
CATALOG_PATH = DATA_DIR / "guangan_service_guides.json"
CODELISTS_PATH = DATA_DIR / "service_item_codelists.csv"
DEPARTMENTS_PATH = PACKAGE_DIR / "departments.csv"

# Field names of the national data-exchange tables, in the order the JSON API sends them.
RECORD_FIELDS = (
    "task_name",
    "task_code",
    "catalog_code",
    "task_type",
    "dept_name",
    "dept_code",
    "link_addr",
    "main_task_name",
    "server_type",
    "use_level",
    "task_state",
)

# Chinese header of the CSV export. The first column is the 1-based row number (序号).
EXPORT_HEADER = (
    "序号",
    "事项名称",
    "实施编码",
    "基本编码",
    "事项类型",
    "实施主体",
    "实施主体编码",
    "服务对象",
    "行使层级",
    "在线办理地址",
    "所属主项",
)

# Record field behind each CSV column after 序号. 事项类型 is written as its label, not its code.
EXPORT_COLUMN_FIELDS = (
    "task_name",
    "task_code",
    "catalog_code",
    "task_type",
    "dept_name",
    "dept_code",
    "server_type",
    "use_level",
    "link_addr",
    "main_task_name",
)

EXPORT_ENCODING = "gb18030"


@dataclass(frozen=True)
class Department:
    """One department of the catalog and the URL slug it is served under."""

    slug: str
    name: str


def load_departments(path: Path = DEPARTMENTS_PATH) -> list[Department]:
    """Read ``departments.csv`` (columns slug, department) in file order."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [Department(slug=row["slug"], name=row["department"]) for row in csv.DictReader(handle)]


def load_task_type_labels(path: Path = CODELISTS_PATH) -> dict[str, str]:
    """Return the 事项类型 code list as a mapping from two-digit code to label."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row["label"] for row in csv.DictReader(handle) if row["field"] == "task_type"}


def load_catalog_records(path: Path = CATALOG_PATH) -> dict[str, list[dict[str, Any]]]:
    """Convert the catalog into JSON API records grouped by department name, in catalog order."""
    with path.open(encoding="utf-8") as handle:
        catalog = json.load(handle)

    records_by_department: dict[str, list[dict[str, Any]]] = {}
    for department in catalog:
        records = records_by_department.setdefault(department["department"], [])
        for main_item in department["items"]:
            for sub_item in main_item["sub_items"]:
                records.append(build_record(department["department"], main_item["main_item"], sub_item))
    return records_by_department


def build_record(department_name: str, main_item_name: str, sub_item: Mapping[str, Any]) -> dict[str, Any]:
    """Build one JSON API record from a catalog sub item. Query parameters missing from the link become ``None``."""
    query = parse_qs(urlsplit(sub_item["link"]).query, keep_blank_values=True)

    def query_value(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    return {
        "task_name": sub_item["name"],
        "task_code": query_value("itemCode"),
        "catalog_code": None,
        "task_type": query_value("taskType"),
        "dept_name": department_name,
        "dept_code": query_value("deptCode"),
        "link_addr": sub_item["link"],
        "main_task_name": main_item_name,
        "server_type": None,
        "use_level": None,
        "task_state": None,
    }


def task_type_label(task_type: Any, labels: Mapping[str, str]) -> str:
    """Return the 事项类型 label for an unpadded code such as ``"1"`` or ``"20"``.

    The catalog writes codes without the leading zero, so a code of one digit is padded to two
    before the lookup. A code that is not in the code list is returned unchanged, so that an
    unknown value stays visible in the export. ``None`` becomes an empty string.
    """
    if task_type is None:
        return ""
    code = str(task_type)
    padded = code.zfill(2) if code.isdigit() else code
    return labels.get(padded, code)


def render_export(records: Iterable[Mapping[str, Any]], labels: Mapping[str, str]) -> bytes:
    """Render records as the CSV export: GB18030 bytes, CRLF line ends, Chinese header row."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)

    for row_number, record in enumerate(records, start=1):
        cells = [str(row_number)]
        for field in EXPORT_COLUMN_FIELDS:
            value = record.get(field)
            if field == "task_type":
                cells.append(task_type_label(value, labels))
            else:
                cells.append("" if value is None else str(value))
        writer.writerow(cells)

    return buffer.getvalue().encode(EXPORT_ENCODING)


def render_xml_export(records: Iterable[Mapping[str, Any]]) -> bytes:
    """Render records as the XML export: UTF-8 bytes, one ``<task>`` with every record field.

    A field that a record lacks or that is ``None`` becomes an empty element, and the root's
    ``total`` attribute is the record count.
    """
    records = list(records)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<tasks total="{len(records)}">']
    for record in records:
        lines.append("<task>")
        for name in RECORD_FIELDS:
            value = record.get(name)
            if value is None:
                lines.append(f"<{name}/>")
            else:
                lines.append(f"<{name}>{xml_escape(str(value))}</{name}>")
        lines.append("</task>")
    lines.append("</tasks>")
    return ("\n".join(lines) + "\n").encode("utf-8")
