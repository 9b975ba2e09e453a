"""The twelve national business systems (十二金工程) and the rules that link services to them.

``editorial/business_systems.yaml`` lists every system with its names, responsible
departments (current and historical), the application systems the portal links to, and
``service_rules``. A service rule matches a service item when every condition it sets holds:
the item's 实施主体 contains one of ``department_keywords``, its 事项名称 contains one of
``name_keywords``, its 事项类型 label is one of ``task_types``, and its name contains none of
``exclude_name_keywords``. Four tables result: ``business_systems``,
``business_system_departments``, ``business_system_applications`` and ``business_system_rules``.

A department of ``kind: constituent`` must be one of the 26 constituent departments of the
State Council (国务院组成部门) with its official name, as listed in
``state_council_departments.csv`` next to this module (Xinhua list of 2018-03-13, unchanged by
the 2023 reform).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from huiju.editorial import (
    EditorialError,
    read_versioned_document,
    string_table,
    unique_non_blank,
    validate_entries,
)
from huiju.settings import PROJECT_ROOT

FILE_NAME = "business_systems.yaml"
# The same file is the dbt seed of the responsible-body dimension.
STATE_COUNCIL_DEPARTMENTS_PATH = PROJECT_ROOT / "dbt_project" / "seeds" / "state_council_departments.csv"
SYSTEM_IDS = (
    "golden_macro",
    "office_resources",
    "golden_finance",
    "golden_tax",
    "golden_card",
    "golden_audit",
    "golden_customs",
    "golden_shield",
    "golden_security",
    "golden_agriculture",
    "golden_water",
    "golden_quality",
)
TASK_TYPE_LABELS = (
    "行政许可", "行政处罚", "行政强制", "行政征收", "行政给付", "行政检查",
    "行政确认", "行政奖励", "行政裁决", "其他行政权力", "公共服务", "其它类",
)
IDENTIFIER = r"^[a-z][a-z0-9_]*$"

SYSTEM_COLUMNS = {
    "system_id": pa.string(),
    "system_order": pa.int32(),
    "name": pa.string(),
    "full_name": pa.string(),
    "description": pa.string(),
}
DEPARTMENT_COLUMNS = {
    "system_id": pa.string(),
    "department_name": pa.string(),
    "official_name": pa.string(),
    "department_kind": pa.string(),
    "role": pa.string(),
    "period": pa.string(),
    "certainty": pa.string(),
    "note": pa.string(),
}
APPLICATION_COLUMNS = {
    "system_id": pa.string(),
    "application_name": pa.string(),
    "url": pa.string(),
    "note": pa.string(),
}
RULE_COLUMNS = {
    "system_id": pa.string(),
    "rule_id": pa.string(),
    "rule_order": pa.int32(),
    "rule_kind": pa.string(),
    "department_keywords": pa.list_(pa.string()),
    "name_keywords": pa.list_(pa.string()),
    "task_types": pa.list_(pa.string()),
    "exclude_name_keywords": pa.list_(pa.string()),
    "description": pa.string(),
}


class Department(BaseModel):
    """A department responsible for a system now (``current``) or before a reform (``historical``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    official_name: str = Field(min_length=1)
    kind: Literal["constituent", "other"]
    role: Literal["current", "historical"]
    period: str | None = None
    certainty: Literal["certain", "uncertain"]
    note: str | None = None


class Application(BaseModel):
    """An application system of a business system that the portal links to."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    url: HttpUrl | None = None
    note: str | None = None


class ServiceRule(BaseModel):
    """Conditions that link a service item to the system; every condition set must hold."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=IDENTIFIER)
    department_keywords: list[str] = Field(default_factory=list)
    name_keywords: list[str] = Field(default_factory=list)
    task_types: list[str] = Field(default_factory=list)
    exclude_name_keywords: list[str] = Field(default_factory=list)
    description: str = Field(min_length=1)

    @field_validator("department_keywords", "name_keywords", "exclude_name_keywords")
    @classmethod
    def _check_keywords(cls, values: list[str]) -> list[str]:
        return unique_non_blank(values)

    @field_validator("task_types")
    @classmethod
    def _check_task_types(cls, values: list[str]) -> list[str]:
        unknown = [value for value in values if value not in TASK_TYPE_LABELS]
        if unknown:
            raise ValueError(f"unknown 事项类型 {unknown}; expected labels of the national code list {list(TASK_TYPE_LABELS)}")
        return unique_non_blank(values)

    @model_validator(mode="after")
    def _require_condition(self) -> ServiceRule:
        if not (self.department_keywords or self.name_keywords or self.task_types):
            raise ValueError("a rule needs department_keywords, name_keywords or task_types")
        return self

    @property
    def kind(self) -> str:
        """Return the conditions the rule sets, e.g. ``department``, ``name`` or ``item_type+department``."""
        parts = [
            label
            for label, values in (("item_type", self.task_types), ("department", self.department_keywords),
                                  ("name", self.name_keywords))
            if values
        ]
        return "+".join(parts)


class BusinessSystem(BaseModel):
    """One of the twelve national business systems."""

    model_config = ConfigDict(extra="forbid")

    id: Literal[SYSTEM_IDS]  # type: ignore[valid-type]
    name: str = Field(min_length=1)
    full_name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    departments: list[Department] = Field(min_length=1)
    applications: list[Application] = Field(default_factory=list)
    service_rules: list[ServiceRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _require_current_department(self) -> BusinessSystem:
        if not any(department.role == "current" for department in self.departments):
            raise ValueError("needs at least one department with role 'current'")
        return self


def read_state_council_departments(path: Path = STATE_COUNCIL_DEPARTMENTS_PATH) -> dict[str, str]:
    """Return the constituent departments of the State Council as short name -> official name."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["name"]: row["official_name"] for row in csv.DictReader(handle)}


def _check_systems(path: Path, systems: list[BusinessSystem]) -> None:
    """Check what one entry cannot: unique ids, all twelve systems, constituent names, rule ids."""
    constituents = read_state_council_departments()
    problems = []
    seen_systems: set[str] = set()
    seen_rules: dict[str, str] = {}
    for index, system in enumerate(systems):
        where = f"{path}: systems[{index}] (id {system.id!r})"
        if system.id in seen_systems:
            problems.append(f"{where}: field 'id': listed twice")
        seen_systems.add(system.id)
        for department_index, department in enumerate(system.departments):
            if department.kind != "constituent":
                continue
            official = constituents.get(department.name)
            if official is None:
                problems.append(
                    f"{where}: field 'departments.{department_index}.name': {department.name!r} is not a "
                    "constituent department of the State Council; use its short name or set kind: other"
                )
            elif official != department.official_name:
                problems.append(
                    f"{where}: field 'departments.{department_index}.official_name': expected {official!r}, "
                    f"got {department.official_name!r}"
                )
        for rule_index, rule in enumerate(system.service_rules):
            if rule.id in seen_rules:
                problems.append(
                    f"{where}: field 'service_rules.{rule_index}.id': rule id {rule.id!r} is already used by "
                    f"system {seen_rules[rule.id]!r}"
                )
            seen_rules.setdefault(rule.id, system.id)
    missing = [system_id for system_id in SYSTEM_IDS if system_id not in seen_systems]
    if missing:
        problems.append(f"{path}: field 'systems': missing the systems {missing}")
    if problems:
        raise EditorialError("\n".join(problems))


def load_business_systems(path: Path) -> list[BusinessSystem]:
    """Read and validate ``business_systems.yaml``; all twelve systems must appear exactly once."""
    data = read_versioned_document(path, "systems")
    systems = validate_entries(path, data.get("systems"), BusinessSystem, key="systems")
    _check_systems(path, systems)
    return systems


def tables(directory: Path) -> dict[str, pa.Table]:
    """Build the four business-system tables from ``business_systems.yaml`` in ``directory``."""
    systems = load_business_systems(directory / FILE_NAME)
    system_rows = []
    department_rows = []
    application_rows = []
    rule_rows = []
    for order, system in enumerate(systems, start=1):
        system_rows.append({"system_id": system.id, "system_order": order, "name": system.name,
                            "full_name": system.full_name, "description": system.description})
        for department in system.departments:
            department_rows.append({
                "system_id": system.id, "department_name": department.name,
                "official_name": department.official_name, "department_kind": department.kind,
                "role": department.role, "period": department.period,
                "certainty": department.certainty, "note": department.note,
            })
        for application in system.applications:
            application_rows.append({
                "system_id": system.id, "application_name": application.name,
                "url": str(application.url) if application.url is not None else None, "note": application.note,
            })
        for rule_order, rule in enumerate(system.service_rules, start=1):
            rule_rows.append({
                "system_id": system.id, "rule_id": rule.id, "rule_order": rule_order, "rule_kind": rule.kind,
                "department_keywords": rule.department_keywords, "name_keywords": rule.name_keywords,
                "task_types": rule.task_types, "exclude_name_keywords": rule.exclude_name_keywords,
                "description": rule.description,
            })
    return {
        "business_systems": string_table(system_rows, SYSTEM_COLUMNS),
        "business_system_departments": string_table(department_rows, DEPARTMENT_COLUMNS),
        "business_system_applications": string_table(application_rows, APPLICATION_COLUMNS),
        "business_system_rules": string_table(rule_rows, RULE_COLUMNS),
    }
