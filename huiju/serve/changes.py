"""Publication history and what changed between consecutive published versions.

A change compares two versions' ``fct_service_item`` (per department, keyed by service item) and
``mart_theme_steps`` (per theme, keyed by theme, step and service item). A key only in the newer
version is added, only in the older one removed, and in both with different values changed.
Only the columns that both versions have are compared, so a new column alone changes nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb

from huiju.publish import list_versions, publications

MAX_COMPARED_PAIRS = 10


@dataclass(frozen=True)
class ChangeCount:
    """Items added, removed and changed within one department or one theme."""

    key: str
    name: str
    added: int
    removed: int
    changed: int


@dataclass
class VersionChange:
    older: str
    newer: str
    departments: list[ChangeCount] = field(default_factory=list)
    themes: list[ChangeCount] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return {kind: sum(getattr(count, kind) for count in self.departments) for kind in ("added", "removed", "changed")}

    @property
    def is_empty(self) -> bool:
        return not self.departments and not self.themes


@dataclass
class PublicationEntry:
    """One switch of ``current``; ``is_inferred`` when it was read from a manifest, not the log."""

    at: str
    action: str
    version: str
    previous: str | None
    run_id: str | None
    is_inferred: bool = False


def publication_entries(publish_dir: Path) -> list[PublicationEntry]:
    """Return every switch of ``current``, newest first.

    Homes published before ``publications.jsonl`` existed have no log, so each version's manifest
    stands for its publication, marked as inferred.
    """
    logged = publications(publish_dir)
    if logged:
        entries = [
            PublicationEntry(at=entry.get("at", ""), action=entry.get("action", "publish"), version=entry["version"],
                             previous=entry.get("previous"), run_id=entry.get("run_id"))
            for entry in logged
        ]
    else:
        entries = []
        previous = None
        for manifest in list_versions(publish_dir):
            entries.append(PublicationEntry(at=manifest.get("created_at", ""), action="publish",
                                            version=manifest["version"], previous=previous,
                                            run_id=manifest.get("run_id"), is_inferred=True))
            previous = manifest["version"]
    return list(reversed(entries))


class ChangeCache:
    """Changes between version pairs, computed once per pair because versions are immutable."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._changes: OrderedDict[tuple[str, str], VersionChange] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, publish_dir: Path, older: str, newer: str) -> VersionChange:
        key = (older, newer)
        with self._lock:
            if key in self._changes:
                self._changes.move_to_end(key)
                return self._changes[key]
        change = compare_versions(publish_dir / "versions" / older, publish_dir / "versions" / newer)
        with self._lock:
            self._changes[key] = change
            while len(self._changes) > self._size:
                self._changes.popitem(last=False)
        return change


def consecutive_changes(publish_dir: Path, cache: ChangeCache) -> list[VersionChange]:
    """Return the changes between consecutive versions in order of creation, newest first.

    Only the last ``MAX_COMPARED_PAIRS`` pairs are compared.
    """
    versions = [manifest["version"] for manifest in list_versions(publish_dir)]
    pairs = list(pairwise(versions))[-MAX_COMPARED_PAIRS:]
    return [cache.get(publish_dir, older, newer) for older, newer in reversed(pairs)]


def compare_versions(older_dir: Path, newer_dir: Path) -> VersionChange:
    """Count added, removed and changed service items per department and per theme."""
    change = VersionChange(older=older_dir.name, newer=newer_dir.name)
    with duckdb.connect() as connection:
        change.departments = _compare(
            connection,
            older_dir / "marts" / "fct_service_item.parquet",
            newer_dir / "marts" / "fct_service_item.parquet",
            keys=("service_item_id",),
            group=("department_id", "dept_name"),
        )
        change.themes = _compare(
            connection,
            older_dir / "marts" / "mart_theme_steps.parquet",
            newer_dir / "marts" / "mart_theme_steps.parquet",
            keys=("theme_id", "step_id", "service_item_id"),
            group=("theme_id", "theme_name"),
            # Rows without a service item mark an empty step, not an item of the theme.
            condition="service_item_id is not null",
        )
    return change


def _compare(
    connection: duckdb.DuckDBPyConnection,
    older: Path,
    newer: Path,
    *,
    keys: tuple[str, ...],
    group: tuple[str, str],
    condition: str = "true",
) -> list[ChangeCount]:
    if not older.exists() or not newer.exists():
        return []
    columns = sorted(_columns(connection, older) & _columns(connection, newer))
    if not set(keys) | set(group) <= set(columns):
        return []
    row_value = "md5(to_json({" + ", ".join(f"'{name}': \"{name}\"" for name in columns) + "}))"
    key_list = ", ".join(keys)
    group_id, group_name = group
    rows = connection.execute(
        f"""
        with
        older as (
            select {key_list}, {group_id}, {group_name}, {row_value} as row_value
            from read_parquet('{_sql_path(older)}') where {condition}
        ),
        newer as (
            select {key_list}, {group_id}, {group_name}, {row_value} as row_value
            from read_parquet('{_sql_path(newer)}') where {condition}
        ),
        compared as (
            select
                coalesce(newer.{group_id}, older.{group_id}) as group_id,
                coalesce(newer.{group_name}, older.{group_name}) as group_name,
                older.row_value is null as is_added,
                newer.row_value is null as is_removed,
                older.row_value is not null and newer.row_value is not null
                    and older.row_value != newer.row_value as is_changed
            from older
            full outer join newer using ({key_list})
        )
        select
            group_id,
            any_value(group_name),
            count(*) filter (where is_added),
            count(*) filter (where is_removed),
            count(*) filter (where is_changed)
        from compared
        where is_added or is_removed or is_changed
        group by group_id
        order by any_value(group_name), group_id
        """
    ).fetchall()
    return [ChangeCount(key or "", name or "—", added, removed, changed) for key, name, added, removed, changed in rows]


def _columns(connection: duckdb.DuckDBPyConnection, path: Path) -> set[str]:
    return {row[0] for row in connection.execute(f"describe select * from read_parquet('{_sql_path(path)}')").fetchall()}


def version_summaries(publish_dir: Path, current: str | None) -> list[dict[str, Any]]:
    """Return each version's id, creation time, run and row counts, newest first."""
    summaries = []
    for manifest in reversed(list_versions(publish_dir)):
        row_counts = manifest.get("row_counts", {})
        sources = manifest.get("sources", {}).values()
        summaries.append({
            "version": manifest["version"],
            "created_at": manifest.get("created_at"),
            "run_id": manifest.get("run_id"),
            "service_items": row_counts.get("fct_service_item"),
            "quarantine_rows": row_counts.get("quarantine_rows"),
            "flagged": sum(source.get("flagged") or 0 for source in sources),
            "content_items": row_counts.get("fct_content_item"),
            "is_current": manifest["version"] == current,
        })
    return summaries


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
