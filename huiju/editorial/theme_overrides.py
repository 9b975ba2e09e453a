"""Reviewed corrections of theme steps: ``editorial/theme_overrides.yaml``.

An override adds a service to a theme step that no matcher finds, or removes one that a matcher
finds wrongly. It names the service by 实施编码 (``task_code``) or by ``service_item_id``, and
records the reason, the reviewer and the review date. File layout::

    overrides:
      - theme: retirement
        step: retiree_medical_insurance
        action: add                     # add | remove
        task_code: 512036005001-511602000000-000-…
        reason: 退休人员异地就医须先备案
        reviewer: 王某
        reviewed_on: 2025-03-01

Theme and step must exist in ``themes.yaml`` of the same directory. Table:
``theme_step_overrides``, one row per override.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from huiju.editorial import EditorialError, read_yaml, string_table, validate_entries
from huiju.editorial.themes import load_themes

FILE_NAME = "theme_overrides.yaml"


class ThemeOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    theme: str = Field(min_length=1)
    step: str = Field(min_length=1)
    action: Literal["add", "remove"]
    task_code: str | None = Field(default=None, min_length=1)
    service_item_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    reason: str = Field(min_length=1)
    reviewer: str = Field(min_length=1)
    reviewed_on: date

    @model_validator(mode="after")
    def _require_one_key(self) -> ThemeOverride:
        if (self.task_code is None) == (self.service_item_id is None):
            raise ValueError("set exactly one of task_code and service_item_id")
        return self


def load_overrides(directory: Path) -> list[ThemeOverride]:
    """Read ``theme_overrides.yaml`` and check that each theme and step exists in ``themes.yaml``."""
    path = directory / FILE_NAME
    document = read_yaml(path)
    if not isinstance(document, dict) or "overrides" not in document:
        raise EditorialError(f"{path}: the file must contain an 'overrides' list (use 'overrides: []' for none)")
    entries = document["overrides"] or []
    overrides: list[ThemeOverride] = validate_entries(path, entries, ThemeOverride, key="overrides", label="theme")

    steps = {theme.id: {step.id for step in theme.steps} for theme in load_themes(directory)}
    problems = []
    for index, override in enumerate(overrides):
        where = f"{path}: overrides[{index}] (theme {override.theme!r})"
        if override.theme not in steps:
            problems.append(f"{where}: field 'theme': theme {override.theme!r} is not defined in themes.yaml")
        elif override.step not in steps[override.theme]:
            problems.append(
                f"{where}: field 'step': step {override.step!r} is not a step of theme {override.theme!r} in themes.yaml"
            )
    if problems:
        raise EditorialError("\n".join(problems))
    return overrides


def tables(directory: Path) -> dict[str, pa.Table]:
    """Build ``theme_step_overrides`` from ``theme_overrides.yaml`` under ``directory``."""
    rows = [
        {
            "override_id": f"{override.theme}.{override.step}.{index}",
            "theme_id": override.theme,
            "step_id": override.step,
            "action": override.action,
            "task_code": override.task_code.strip().upper() if override.task_code else None,
            "service_item_id": override.service_item_id,
            "reason": override.reason,
            "reviewer": override.reviewer,
            "reviewed_on": override.reviewed_on,
        }
        for index, override in enumerate(load_overrides(directory), start=1)
    ]
    return {
        "theme_step_overrides": string_table(
            rows,
            {
                "override_id": pa.string(),
                "theme_id": pa.string(),
                "step_id": pa.string(),
                "action": pa.string(),
                "task_code": pa.string(),
                "service_item_id": pa.string(),
                "reason": pa.string(),
                "reviewer": pa.string(),
                "reviewed_on": pa.date32(),
            },
        )
    }
