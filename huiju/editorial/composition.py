"""Composition principles of service themes: ``editorial/composition.yaml``.

Each principle tests the shares of primary (为主), secondary (为辅) and unknown services of a
theme on one or more of the eight dimensions, and sets whether a breach ``warn``s editors or
``block``s publication of that theme. File layout::

    principles:
      - id: services_over_information
        name: 办事服务多于信息服务
        kind: max_secondary_to_primary_ratio   # see KINDS
        dimensions: [resource_kind]            # optional, default all eight
        threshold: 1.0
        action: block                          # warn | block

Table: ``theme_composition_principles``, one row per principle and dimension.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from huiju.editorial import EditorialError, read_yaml, string_table, validate_entries

FILE_NAME = "composition.yaml"

DIMENSIONS = (
    "resource_kind",
    "audience_breadth",
    "region_scope",
    "link_mode",
    "standardization",
    "duration",
    "responsible_body",
    "maturity",
)

# Breach conditions by kind; shares are fractions of the theme's distinct services.
KINDS = {
    "min_primary_share": "primary_share < threshold",
    "max_unknown_share": "unknown_share > threshold",
    "max_secondary_to_primary_ratio": "secondary_count > threshold * primary_count",
}


class Principle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    kind: Literal[tuple(KINDS)]  # type: ignore[valid-type]
    dimensions: list[Literal[DIMENSIONS]] = Field(default_factory=lambda: list(DIMENSIONS), min_length=1)  # type: ignore[valid-type]
    threshold: float = Field(ge=0)
    action: Literal["warn", "block"]

    @model_validator(mode="after")
    def _check_threshold(self) -> Principle:
        if self.kind != "max_secondary_to_primary_ratio" and self.threshold > 1:
            raise ValueError(f"threshold of a {self.kind} principle is a share between 0 and 1, got {self.threshold}")
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError("dimensions must not repeat")
        return self


def load_principles(directory: Path) -> list[Principle]:
    """Read and validate ``composition.yaml`` under ``directory``."""
    path = directory / FILE_NAME
    document = read_yaml(path)
    if not isinstance(document, dict) or "principles" not in document:
        raise EditorialError(f"{path}: the file must contain a 'principles' list")
    principles: list[Principle] = validate_entries(path, document["principles"], Principle, key="principles")
    ids = [principle.id for principle in principles]
    duplicates = sorted({principle_id for principle_id in ids if ids.count(principle_id) > 1})
    if duplicates:
        raise EditorialError(f"{path}: principle ids must be unique, repeated: {', '.join(duplicates)}")
    return principles


def tables(directory: Path) -> dict[str, pa.Table]:
    """Build ``theme_composition_principles`` from ``composition.yaml`` under ``directory``."""
    rows = [
        {
            "principle_id": principle.id,
            "principle_name": principle.name,
            "principle_kind": principle.kind,
            "dimension": dimension,
            "threshold": principle.threshold,
            "action": principle.action,
        }
        for principle in load_principles(directory)
        for dimension in principle.dimensions
    ]
    return {
        "theme_composition_principles": string_table(
            rows,
            {
                "principle_id": pa.string(),
                "principle_name": pa.string(),
                "principle_kind": pa.string(),
                "dimension": pa.string(),
                "threshold": pa.float64(),
                "action": pa.string(),
            },
        )
    }
