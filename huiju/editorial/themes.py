"""Cross-department service themes (跨部门综合服务主题): ``editorial/themes.yaml``.

Each theme clusters the services of several departments around one need and lists ordered
steps. A step names the services it needs by matchers. A matcher sets one or more of
``catalog_code`` (a 基本编码 prefix), ``name_pattern`` (a regular expression searched in the
normalized 事项名称) and ``department`` (a regular expression searched in the normalized 实施主体).
A service matches when every condition the matcher sets holds, and the matchers of one step are
alternatives. File layout::

    themes:
      - id: newborn_birth
        name: 新生儿出生
        audience: natural_person          # natural_person | legal_person
        priority:
          text: 新生儿出生“一件事”
          source: 国发〔2024〕3号
        active_from: 2024-01-01           # optional, for short-term themes
        active_to: 2027-12-31             # optional
        steps:
          - id: birth_certificate
            name: 办理出生医学证明
            description: …
            matchers:
              - catalog_code: "512023377001"
              - name_pattern: 预防接种证
                department: 卫健
            business_systems: [golden_security]

Tables: ``theme_definitions`` (one row per theme), ``theme_steps`` (one row per step),
``theme_step_matchers`` (one row per matcher) and ``theme_step_systems`` (one row per step and
business system).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from huiju.editorial import EditorialError, read_yaml, string_table, validate_entries
from huiju.editorial.business_systems import SYSTEM_IDS as BUSINESS_SYSTEM_IDS

FILE_NAME = "themes.yaml"
IDENTIFIER = r"^[a-z][a-z0-9_]*$"
CATALOG_CODE_PREFIX = r"^[0-9A-Z]{1,20}$"



def _check_regex(value: str | None) -> str | None:
    """Compile ``value`` with DuckDB's RE2 engine, which the models match with."""
    if value is None:
        return None
    try:
        with duckdb.connect() as connection:
            connection.execute("select regexp_matches('', ?)", [value]).fetchone()
    except duckdb.Error as error:
        raise ValueError(f"invalid regular expression {value!r}: {error}") from error
    return value


class Matcher(BaseModel):
    """Conditions that one service must meet to belong to a step; every condition set must hold."""

    model_config = ConfigDict(extra="forbid")

    catalog_code: str | None = Field(default=None, pattern=CATALOG_CODE_PREFIX)
    name_pattern: str | None = Field(default=None, min_length=1)
    department: str | None = Field(default=None, min_length=1)

    _regex_name = field_validator("name_pattern")(_check_regex)
    _regex_department = field_validator("department")(_check_regex)

    @model_validator(mode="after")
    def _require_condition(self) -> Matcher:
        if self.catalog_code is None and self.name_pattern is None and self.department is None:
            raise ValueError("a matcher needs at least one of catalog_code, name_pattern, department")
        return self

    @property
    def kind(self) -> str:
        """Names of the conditions set, joined by '+', e.g. ``name_pattern+department``."""
        return "+".join(name for name in ("catalog_code", "name_pattern", "department") if getattr(self, name))


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=IDENTIFIER)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    matchers: list[Matcher] = Field(min_length=1)
    business_systems: list[Literal[BUSINESS_SYSTEM_IDS]] = Field(default_factory=list)  # type: ignore[valid-type]


class Priority(BaseModel):
    """The government priority a theme serves: its wording and the document it comes from."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    source: str = Field(min_length=1)


class Theme(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=IDENTIFIER)
    name: str = Field(min_length=1)
    audience: Literal["natural_person", "legal_person"]
    priority: Priority
    active_from: date | None = None
    active_to: date | None = None
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_steps_and_period(self) -> Theme:
        step_ids = [step.id for step in self.steps]
        duplicates = sorted({step_id for step_id in step_ids if step_ids.count(step_id) > 1})
        if duplicates:
            raise ValueError(f"step ids must be unique within a theme, repeated: {', '.join(duplicates)}")
        if self.active_from and self.active_to and self.active_to < self.active_from:
            raise ValueError(f"active_to {self.active_to} is before active_from {self.active_from}")
        return self


def _step_problems(path: Path, index: int, theme_id: str, step_index: int, step: dict) -> list[str]:
    """Describe the invalid fields of one raw step, naming theme, step and field."""
    where = f"{path}: themes[{index}] (id {theme_id!r}): steps[{step_index}] (id {step.get('id')!r})"
    try:
        Step.model_validate(step)
    except ValueError as error:
        return [
            f"{where}: field {'.'.join(str(part) for part in detail['loc']) or 'entry'!r}: "
            f"{str(detail['msg']).removeprefix('Value error, ')}"
            for detail in error.errors()  # type: ignore[attr-defined]
        ]
    return []


def load_themes(directory: Path) -> list[Theme]:
    """Read and validate ``themes.yaml`` under ``directory``.

    A step's problems are reported with the theme id and the step id, so an editor finds the
    entry without counting list positions.
    """
    path = directory / FILE_NAME
    document = read_yaml(path)
    if not isinstance(document, dict) or "themes" not in document:
        raise EditorialError(f"{path}: the file must contain a 'themes' list")
    entries = document["themes"]

    step_problems: list[str] = []
    if isinstance(entries, list):
        for index, entry in enumerate(entries):
            steps = entry.get("steps") if isinstance(entry, dict) else None
            if isinstance(steps, list):
                for step_index, step in enumerate(steps):
                    if isinstance(step, dict):
                        step_problems += _step_problems(path, index, str(entry.get("id")), step_index, step)
    if step_problems:
        raise EditorialError("\n".join(step_problems))

    themes: list[Theme] = validate_entries(path, entries, Theme, key="themes")
    theme_ids = [theme.id for theme in themes]
    duplicates = sorted({theme_id for theme_id in theme_ids if theme_ids.count(theme_id) > 1})
    if duplicates:
        raise EditorialError(f"{path}: theme ids must be unique, repeated: {', '.join(duplicates)}")
    return themes


def tables(directory: Path) -> dict[str, pa.Table]:
    """Build the theme tables from ``themes.yaml`` under ``directory``."""
    themes = load_themes(directory)
    definitions, steps, matchers, systems = [], [], [], []
    for theme_position, theme in enumerate(themes, start=1):
        definitions.append(
            {
                "theme_id": theme.id,
                "theme_name": theme.name,
                "theme_position": theme_position,
                "audience": theme.audience,
                "priority_text": theme.priority.text,
                "priority_source": theme.priority.source,
                "active_from": theme.active_from,
                "active_to": theme.active_to,
            }
        )
        for step_position, step in enumerate(theme.steps, start=1):
            steps.append(
                {
                    "theme_id": theme.id,
                    "step_id": step.id,
                    "step_position": step_position,
                    "step_name": step.name,
                    "step_description": step.description,
                }
            )
            for matcher_position, matcher in enumerate(step.matchers, start=1):
                matchers.append(
                    {
                        "theme_id": theme.id,
                        "step_id": step.id,
                        "matcher_id": f"{theme.id}.{step.id}.{matcher_position}",
                        "matcher_kind": matcher.kind,
                        "catalog_code_prefix": matcher.catalog_code,
                        "name_pattern": matcher.name_pattern,
                        "department_pattern": matcher.department,
                    }
                )
            for system_id in step.business_systems:
                systems.append({"theme_id": theme.id, "step_id": step.id, "business_system_id": system_id})

    return {
        "theme_definitions": string_table(
            definitions,
            {
                "theme_id": pa.string(),
                "theme_name": pa.string(),
                "theme_position": pa.int32(),
                "audience": pa.string(),
                "priority_text": pa.string(),
                "priority_source": pa.string(),
                "active_from": pa.date32(),
                "active_to": pa.date32(),
            },
        ),
        "theme_steps": string_table(
            steps,
            {
                "theme_id": pa.string(),
                "step_id": pa.string(),
                "step_position": pa.int32(),
                "step_name": pa.string(),
                "step_description": pa.string(),
            },
        ),
        "theme_step_matchers": string_table(
            matchers,
            {
                "theme_id": pa.string(),
                "step_id": pa.string(),
                "matcher_id": pa.string(),
                "matcher_kind": pa.string(),
                "catalog_code_prefix": pa.string(),
                "name_pattern": pa.string(),
                "department_pattern": pa.string(),
            },
        ),
        "theme_step_systems": string_table(
            systems, {"theme_id": pa.string(), "step_id": pa.string(), "business_system_id": pa.string()}
        ),
    }
