"""Rules that select the notices, policy documents and policy interpretations of each theme.

``editorial/theme_content.yaml`` lists, per theme id, rules that match content items by
``title`` (标题), ``category`` (分类) or ``publisher`` (发布机构). A rule matches an item when
the field contains any of its ``keywords`` and the item's kind is one of the rule's
``content_kinds`` (all three kinds when omitted). The table ``theme_content_rules`` contains one
row per rule and is read by the dbt model ``bridge_theme_content``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from huiju.editorial import (
    EditorialError,
    read_versioned_document,
    string_table,
    unique_non_blank,
    validate_entries,
)

FILE_NAME = "theme_content.yaml"
THEME_IDS = (
    "enterprise_startup",
    "newborn_birth",
    "employment_entrepreneurship",
    "retirement",
    "real_estate_registration",
)
CONTENT_KINDS = ("notice", "policy_document", "policy_interpretation")
IDENTIFIER = r"^[a-z][a-z0-9_]*$"

RULE_COLUMNS = {
    "theme_id": pa.string(),
    "theme_name": pa.string(),
    "rule_id": pa.string(),
    "rule_order": pa.int32(),
    "match_field": pa.string(),
    "keywords": pa.list_(pa.string()),
    "content_kinds": pa.list_(pa.string()),
    "description": pa.string(),
}


class ContentRule(BaseModel):
    """One keyword rule of a theme."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=IDENTIFIER)
    match_field: Literal["title", "category", "publisher"]
    keywords: list[str] = Field(min_length=1)
    content_kinds: list[Literal["notice", "policy_document", "policy_interpretation"]] = Field(
        default_factory=lambda: list(CONTENT_KINDS), min_length=1
    )
    description: str = Field(min_length=1)

    @field_validator("keywords")
    @classmethod
    def _check_keywords(cls, values: list[str]) -> list[str]:
        return unique_non_blank(values)


class ThemeContent(BaseModel):
    """The content rules of one theme."""

    model_config = ConfigDict(extra="forbid")

    theme_id: Literal[THEME_IDS]  # type: ignore[valid-type]
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    rules: list[ContentRule] = Field(min_length=1)


def load_theme_content(path: Path) -> list[ThemeContent]:
    """Read and validate ``theme_content.yaml``; every theme id must appear exactly once."""
    data = read_versioned_document(path, "themes")
    themes = validate_entries(path, data.get("themes"), ThemeContent, key="themes", label="theme_id")

    problems = []
    seen_themes: set[str] = set()
    seen_rules: dict[str, str] = {}
    for index, theme in enumerate(themes):
        if theme.theme_id in seen_themes:
            problems.append(f"{path}: themes[{index}] (theme_id {theme.theme_id!r}): field 'theme_id': listed twice")
        seen_themes.add(theme.theme_id)
        for rule_index, rule in enumerate(theme.rules):
            if rule.id in seen_rules:
                problems.append(
                    f"{path}: themes[{index}] (theme_id {theme.theme_id!r}): field 'rules.{rule_index}.id': "
                    f"rule id {rule.id!r} is already used by theme {seen_rules[rule.id]!r}"
                )
            seen_rules.setdefault(rule.id, theme.theme_id)
    missing = [theme_id for theme_id in THEME_IDS if theme_id not in seen_themes]
    if missing:
        problems.append(f"{path}: field 'themes': missing the themes {missing}")
    if problems:
        raise EditorialError("\n".join(problems))
    return themes


def tables(directory: Path) -> dict[str, pa.Table]:
    """Build the table ``theme_content_rules`` from ``theme_content.yaml`` in ``directory``."""
    themes = load_theme_content(directory / FILE_NAME)
    rows = [
        {
            "theme_id": theme.theme_id,
            "theme_name": theme.name,
            "rule_id": rule.id,
            "rule_order": order,
            "match_field": rule.match_field,
            "keywords": rule.keywords,
            "content_kinds": list(rule.content_kinds),
            "description": rule.description,
        }
        for theme in themes
        for order, rule in enumerate(theme.rules, start=1)
    ]
    return {"theme_content_rules": string_table(rows, RULE_COLUMNS)}
