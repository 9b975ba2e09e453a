"""The themes page's model: which departments serve each theme, and each theme's composition.

Coverage counts the distinct service items of each department in each theme's steps
(``mart_theme_steps``). Composition is ``mart_theme_composition``: per theme and dimension of the
eight principles, the shares of primary, secondary and unknown services and the breaches.
Themes that a principle blocked are missing from the published marts, so their results come from
the version's ``audit.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from huiju.serve.versions import PublishedVersion


@dataclass
class Coverage:
    """Service counts per department (rows) and theme (columns); departments in no theme listed apart."""

    themes: list[dict[str, Any]]
    departments: list[dict[str, Any]]
    counts: dict[tuple[str, str], int]
    departments_without_theme: list[str]

    @property
    def max_count(self) -> int:
        return max(self.counts.values(), default=0)


@dataclass
class DimensionShare:
    dimension: str
    label: str
    service_count: int
    primary_share: float
    secondary_share: float
    unknown_share: float
    breaches: list[dict[str, Any]]


@dataclass
class ThemeComposition:
    theme_id: str
    name: str
    audience: str | None
    is_active: bool
    result: str
    service_count: int
    dimensions: list[DimensionShare] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ThemesView:
    coverage: Coverage
    compositions: list[ThemeComposition]
    unpublished: list[dict[str, Any]]


def load_themes(version: PublishedVersion) -> ThemesView:
    """Read coverage, composition, empty steps and blocked themes of one version."""
    marts = version.path / "marts"
    with duckdb.connect() as connection:
        coverage = _coverage(connection, marts)
        compositions = _compositions(connection, marts)
    return ThemesView(coverage=coverage, compositions=compositions, unpublished=_unpublished_themes(version.path))


def _coverage(connection: duckdb.DuckDBPyConnection, marts: Path) -> Coverage:
    steps = marts / "mart_theme_steps.parquet"
    if not steps.exists():
        return Coverage([], [], {}, [])
    themes = [
        {"theme_id": theme_id, "name": name, "is_active": is_active}
        for theme_id, name, is_active in connection.execute(
            f"select theme_id, any_value(theme_name), bool_or(is_active) from read_parquet('{_sql_path(steps)}') "
            "group by theme_id order by min(theme_position), theme_id"
        ).fetchall()
    ]

    cells = connection.execute(
        f"""
        select department_id, any_value(dept_name), theme_id, count(distinct service_item_id)
        from read_parquet('{_sql_path(steps)}')
        where service_item_id is not null
        group by department_id, theme_id
        """
    ).fetchall()
    counts = {(department, theme): count for department, _, theme, count in cells}
    names = {department: name for department, name, _, _ in cells}
    totals: dict[str, int] = {}
    for (department, _), count in counts.items():
        totals[department] = totals.get(department, 0) + count
    departments = [
        {"department_id": department, "name": names[department], "total": total}
        for department, total in sorted(totals.items(), key=lambda item: (-item[1], names[item[0]]))
    ]

    without = [name for department, name in _all_departments(connection, marts) if department not in totals]
    return Coverage(themes=themes, departments=departments, counts=counts, departments_without_theme=without)


def _all_departments(connection: duckdb.DuckDBPyConnection, marts: Path) -> list[tuple[str, str]]:
    path = marts / "dim_department.parquet"
    if not path.exists():
        return []
    return connection.execute(
        f"select department_id, dept_name from read_parquet('{_sql_path(path)}') order by dept_name"
    ).fetchall()


def _compositions(connection: duckdb.DuckDBPyConnection, marts: Path) -> list[ThemeComposition]:
    path = marts / "mart_theme_composition.parquet"
    if not path.exists():
        return []
    rows = connection.execute(
        f"""
        select theme_id, theme_name, audience, is_active, theme_result, dimension, dimension_label, service_count,
               primary_share, secondary_share, unknown_share, breaches
        from read_parquet('{_sql_path(path)}')
        order by theme_position, theme_id, dimension_position
        """
    ).fetchall()
    themes: dict[str, ThemeComposition] = {}
    for (theme_id, name, audience, is_active, result, dimension, label, service_count,
         primary, secondary, unknown, breaches) in rows:
        theme = themes.setdefault(
            theme_id, ThemeComposition(theme_id, name, audience, bool(is_active), result or "pass", service_count or 0)
        )
        theme.dimensions.append(DimensionShare(
            dimension=dimension, label=label, service_count=service_count or 0,
            primary_share=primary or 0.0, secondary_share=secondary or 0.0, unknown_share=unknown or 0.0,
            breaches=list(breaches or []),
        ))
    gaps = marts / "mart_theme_gaps.parquet"
    if gaps.exists():
        for theme_id, step_name, reason in connection.execute(
            f"select theme_id, step_name, gap_reason from read_parquet('{_sql_path(gaps)}') order by theme_id, step_position"
        ).fetchall():
            if theme_id in themes:
                themes[theme_id].gaps.append({"step_name": step_name, "reason_zh": reason})
    return list(themes.values())


def _unpublished_themes(version_dir: Path) -> list[dict[str, Any]]:
    path = version_dir / "audit.json"
    if not path.exists():
        return []
    themes = json.loads(path.read_text(encoding="utf-8")).get("themes", {})
    return [
        {"theme_id": theme_id, "name": theme.get("name", theme_id), "result": theme.get("result"),
         "breaches": theme.get("breaches", [])}
        for theme_id, theme in sorted(themes.items())
        if not theme.get("is_published", True)
    ]


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
