"""Rules that classify every service item on the eight dimensions of the portal's principles.

``editorial/dimension_rules.yaml`` lists the eight dimensions, each with an ordered list of
rules. A rule assigns ``primary`` (为主) or ``secondary`` (为辅) when all of its conditions hold.
The first matching rule of a dimension wins, and an item that no rule matches gets ``unknown``
with the rule id ``no_rule_matched``. The dbt model ``fct_service_item_dimension`` evaluates the
rules in SQL on the facts of ``int_service_item_dimension_facts``.

A condition names one fact from :data:`FACTS` and exactly one operator:

- ``in``: a list of strings; the fact has one of these values.
- ``matches``: an RE2 regular expression that matches somewhere in the fact (DuckDB
  ``regexp_matches``). Lookaround and back-references are rejected because RE2 lacks them.
- ``at_least``: an integer; a numeric fact is at least this value.
- ``present``: ``true`` when the fact has a non-empty value, ``false`` when it has none.
- ``is``: ``true`` or ``false``, for a boolean fact.

A fact with several values (``serve_object``) satisfies ``in`` and ``matches`` when any value
does. Each rule records as evidence the values of the facts its conditions test, followed by
the facts listed under ``evidence``.

Tables: ``dimension_definitions``, ``dimension_rules``, ``dimension_rule_conditions`` and
``dimension_facts`` (the fact vocabulary with Chinese labels, used to render evidence).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from huiju.editorial import EditorialError, read_yaml, string_table, validate_entries

FILE_NAME = "dimension_rules.yaml"

DIMENSION_IDS = (
    "resource_kind",
    "audience_breadth",
    "region_scope",
    "link_mode",
    "standardization",
    "duration",
    "responsible_body",
    "maturity",
)
NO_RULE_MATCHED = "no_rule_matched"

# Fact id -> (Chinese label, type). The dbt model int_service_item_dimension_facts computes
# these facts, and its relationships test rejects any fact missing here.
FACTS: dict[str, tuple[str, str]] = {
    "task_type": ("事项类型", "text"),
    "task_name": ("事项名称", "text"),
    "dept_name": ("实施主体", "text"),
    "link_host": ("在线办理地址主机名", "text"),
    "link_site_kind": ("在线办理地址所属网站类别", "text"),
    "has_usable_link": ("有可用的在线办理地址", "boolean"),
    "serve_object": ("服务对象", "text"),
    "use_level": ("行使层级", "text"),
    "handle_area": ("通办范围", "text"),
    "region_level": ("实施区划层级", "text"),
    "catalog_region_count": ("实施同一基本编码的区划数", "number"),
    "catalog_online_other_region_count": ("其他区划中实施同一基本编码且可在线办理的区划数", "number"),
    "state_council_department": ("国务院组成部门", "text"),
    "by_law": ("设定依据", "text"),
    "plan_effective_date": ("计划生效日期", "text"),
    "plan_cancel_date": ("计划取消日期", "text"),
    "implementation_variance": ("与其他区划实施的比较", "text"),
}

OPERATORS_BY_TYPE = {
    "text": ("in", "matches", "present"),
    "number": ("at_least", "present"),
    "boolean": ("is",),
}
OPERATORS = ("in", "matches", "at_least", "present", "is")

IDENTIFIER = r"^[a-z][a-z0-9_]*$"

# RE2, which DuckDB's regexp_matches uses, has no lookaround and no back-references.
RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]")


class Condition(BaseModel):
    """One condition of a rule: a fact and exactly one operator."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    fact: str
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)
    matches: str | None = Field(default=None, min_length=1)
    at_least: int | None = Field(default=None, ge=0)
    present: bool | None = None
    is_: bool | None = Field(default=None, alias="is")

    @field_validator("fact")
    @classmethod
    def _known_fact(cls, fact: str) -> str:
        if fact not in FACTS:
            raise ValueError(f"unknown fact {fact!r}; use one of {', '.join(FACTS)}")
        return fact

    @field_validator("matches")
    @classmethod
    def _valid_pattern(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"invalid regular expression {pattern!r}: {error}") from error
        if RE2_UNSUPPORTED.search(pattern):
            raise ValueError(f"regular expression {pattern!r} uses lookaround or a back-reference, which RE2 lacks")
        return pattern

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        operators_given = [name for name in OPERATORS if self.operand(name) is not None]
        if len(operators_given) != 1:
            raise ValueError(f"a condition needs exactly one operator of {', '.join(OPERATORS)}; found {operators_given or 'none'}")
        operator = operators_given[0]
        fact_type = FACTS[self.fact][1]
        if operator not in OPERATORS_BY_TYPE[fact_type]:
            allowed = ", ".join(OPERATORS_BY_TYPE[fact_type])
            raise ValueError(f"operator {operator!r} does not apply to the {fact_type} fact {self.fact!r}; use {allowed}")
        return self

    def operand(self, operator: str) -> Any:
        return {"in": self.in_, "matches": self.matches, "at_least": self.at_least,
                "present": self.present, "is": self.is_}[operator]

    @property
    def operator(self) -> str:
        return next(name for name in OPERATORS if self.operand(name) is not None)


class Rule(BaseModel):
    """One rule of a dimension: the value it assigns when all its conditions hold."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=IDENTIFIER)
    value: Literal["primary", "secondary"]
    when: list[Condition] = Field(min_length=1)
    evidence: list[str] = Field(default_factory=list)
    description: str = Field(alias="说明", min_length=1)

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, rule_id: str) -> str:
        if rule_id == NO_RULE_MATCHED or rule_id.startswith("override_"):
            raise ValueError(f"rule id {rule_id!r} is reserved; choose another id")
        return rule_id

    @field_validator("evidence")
    @classmethod
    def _known_evidence(cls, facts: list[str]) -> list[str]:
        unknown = [fact for fact in facts if fact not in FACTS]
        if unknown:
            raise ValueError(f"unknown evidence fact(s) {unknown}; use facts of {', '.join(FACTS)}")
        return facts


class Dimension(BaseModel):
    """One of the eight dimensions and its ordered rules."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str = Field(alias="名称", min_length=1)
    primary_label: str = Field(alias="为主", min_length=1)
    secondary_label: str = Field(alias="为辅", min_length=1)
    rules: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _known_dimension(cls, dimension_id: str) -> str:
        if dimension_id not in DIMENSION_IDS:
            raise ValueError(f"unknown dimension id {dimension_id!r}; use one of {', '.join(DIMENSION_IDS)}")
        return dimension_id


def load_dimension_rules(path: Path) -> list[tuple[Dimension, list[Rule]]]:
    """Read and validate ``dimension_rules.yaml``; raise :class:`EditorialError` naming file, entry and field."""
    document = read_yaml(path)
    if not isinstance(document, dict) or "dimensions" not in document:
        raise EditorialError(f"{path}: missing the top-level key 'dimensions'")
    dimensions = validate_entries(path, document["dimensions"], Dimension, key="dimensions")

    problems: list[str] = []
    seen_dimensions: set[str] = set()
    seen_rules: dict[str, str] = {}
    result = []
    for index, dimension in enumerate(dimensions):
        if dimension.id in seen_dimensions:
            problems.append(f"{path}: dimensions[{index}] (id {dimension.id!r}): field 'id': duplicate dimension id")
        seen_dimensions.add(dimension.id)
        try:
            rules = validate_entries(path, dimension.rules, Rule, key=f"dimensions[{index}].rules")
        except EditorialError as error:
            problems.append(str(error))
            continue
        for rule_index, rule in enumerate(rules):
            where = f"{path}: dimensions[{index}].rules[{rule_index}] (id {rule.id!r})"
            if rule.id in seen_rules:
                problems.append(f"{where}: field 'id': duplicate rule id, already used in dimension {seen_rules[rule.id]!r}")
            seen_rules[rule.id] = dimension.id
        result.append((dimension, rules))

    missing = [dimension_id for dimension_id in DIMENSION_IDS if dimension_id not in seen_dimensions]
    if missing:
        problems.append(f"{path}: dimensions: missing dimension(s) {', '.join(missing)}; list all eight")
    if problems:
        raise EditorialError("\n".join(problems))
    return result


def tables(directory: Path) -> dict[str, pa.Table]:
    """Build the dimension tables from ``directory / dimension_rules.yaml``."""
    dimensions = load_dimension_rules(directory / FILE_NAME)

    definition_rows = []
    rule_rows = []
    condition_rows = []
    for dimension, rules in dimensions:
        definition_rows.append({
            "dimension": dimension.id,
            "dimension_label": dimension.name,
            "primary_label": dimension.primary_label,
            "secondary_label": dimension.secondary_label,
        })
        for position, rule in enumerate(rules, start=1):
            rule_rows.append({
                "dimension": dimension.id,
                "rule_id": rule.id,
                "rule_position": position,
                "value": rule.value,
                "description": rule.description,
                "evidence_facts": rule.evidence,
            })
            for condition_index, condition in enumerate(rule.when, start=1):
                condition_rows.append({
                    "rule_id": rule.id,
                    "condition_index": condition_index,
                    "fact": condition.fact,
                    "operator": condition.operator,
                    "value_list": condition.in_,
                    "pattern": condition.matches,
                    "threshold": condition.at_least,
                    "expected": condition.present if condition.present is not None else condition.is_,
                })

    fact_rows = [
        {"fact": fact, "fact_label": label, "fact_type": fact_type, "fact_position": position}
        for position, (fact, (label, fact_type)) in enumerate(FACTS.items(), start=1)
    ]
    return {
        "dimension_definitions": string_table(definition_rows, {
            "dimension": pa.string(),
            "dimension_label": pa.string(),
            "primary_label": pa.string(),
            "secondary_label": pa.string(),
        }),
        "dimension_rules": string_table(rule_rows, {
            "dimension": pa.string(),
            "rule_id": pa.string(),
            "rule_position": pa.int32(),
            "value": pa.string(),
            "description": pa.string(),
            "evidence_facts": pa.list_(pa.string()),
        }),
        "dimension_rule_conditions": string_table(condition_rows, {
            "rule_id": pa.string(),
            "condition_index": pa.int32(),
            "fact": pa.string(),
            "operator": pa.string(),
            "value_list": pa.list_(pa.string()),
            "pattern": pa.string(),
            "threshold": pa.int64(),
            "expected": pa.bool_(),
        }),
        "dimension_facts": string_table(fact_rows, {
            "fact": pa.string(),
            "fact_label": pa.string(),
            "fact_type": pa.string(),
            "fact_position": pa.int32(),
        }),
    }
