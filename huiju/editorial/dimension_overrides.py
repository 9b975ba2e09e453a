"""Reviewed corrections of single dimension values, by editors.

``editorial/dimension_overrides.yaml`` lists entries under ``overrides``. Each names one
service item, by ``task_code`` (实施编码) or ``service_item_id`` but not both, a ``dimension``
and the ``value`` that replaces the rule's value, with ``理由`` (reason), ``审核人`` (reviewer)
and ``审核日期`` (review date, YYYY-MM-DD). ``fct_service_item_dimension`` applies them with
``decided_by = 'override'`` and keeps the rule's own decision beside them. Table:
``dimension_overrides``.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from huiju.editorial import EditorialError, read_yaml, string_table, validate_entries
from huiju.editorial.dimensions import DIMENSION_IDS

FILE_NAME = "dimension_overrides.yaml"


class Override(BaseModel):
    """One reviewed correction of a dimension value."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^override_[a-z0-9_]+$")
    task_code: str | None = Field(default=None, min_length=1)
    service_item_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    dimension: Literal[DIMENSION_IDS]  # type: ignore[valid-type]
    value: Literal["primary", "secondary", "unknown"]
    reason: str = Field(alias="理由", min_length=1)
    reviewer: str = Field(alias="审核人", min_length=1)
    review_date: datetime.date = Field(alias="审核日期")

    @model_validator(mode="after")
    def _one_item_key(self) -> Override:
        if (self.task_code is None) == (self.service_item_id is None):
            raise ValueError("name the service item by exactly one of task_code (实施编码) and service_item_id")
        return self


def load_overrides(path: Path) -> list[Override]:
    """Read and validate ``dimension_overrides.yaml``; raise :class:`EditorialError` naming file, entry and field."""
    document = read_yaml(path)
    if not isinstance(document, dict) or "overrides" not in document:
        raise EditorialError(f"{path}: missing the top-level key 'overrides'")
    overrides = validate_entries(path, document["overrides"] or [], Override, key="overrides")

    problems = []
    seen_ids: set[str] = set()
    seen_targets: dict[tuple[str, str], str] = {}
    for index, override in enumerate(overrides):
        where = f"{path}: overrides[{index}] (id {override.id!r})"
        if override.id in seen_ids:
            problems.append(f"{where}: field 'id': duplicate override id")
        seen_ids.add(override.id)
        target = (override.task_code or override.service_item_id or "", override.dimension)
        if target in seen_targets:
            problems.append(
                f"{where}: field 'dimension': item {target[0]!r} already has an override of "
                f"{override.dimension!r} in {seen_targets[target]!r}"
            )
        seen_targets[target] = override.id
    if problems:
        raise EditorialError("\n".join(problems))
    return overrides


def tables(directory: Path) -> dict[str, pa.Table]:
    """Build the ``dimension_overrides`` table from ``directory / dimension_overrides.yaml``."""
    rows = [
        {
            "override_id": override.id,
            "task_code": override.task_code.strip().upper() if override.task_code else None,
            "service_item_id": override.service_item_id,
            "dimension": override.dimension,
            "value": override.value,
            "reason": override.reason,
            "reviewer": override.reviewer,
            "review_date": override.review_date.isoformat(),
        }
        for override in load_overrides(directory / FILE_NAME)
    ]
    return {
        "dimension_overrides": string_table(rows, {
            "override_id": pa.string(),
            "task_code": pa.string(),
            "service_item_id": pa.string(),
            "dimension": pa.string(),
            "value": pa.string(),
            "reason": pa.string(),
            "reviewer": pa.string(),
            "review_date": pa.string(),
        })
    }
