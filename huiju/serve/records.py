"""Read the inputs of the dashboard: run records, the source registry and facts of a published version.

Run records and the registry change while the server runs, so they are read again when their
files change. Facts of a version are computed once per version, because versions are immutable.
Nothing here opens the warehouse.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from connectors.registry import RegistryError, load_registry
from huiju.runs import LATEST
from huiju.serve.versions import PublishedVersion

logger = logging.getLogger(__name__)

CONTENT_FORMATS = frozenset({"rss_feed", "atom_feed"})
# Source statuses of a run record that mean the fetch succeeded: new data, or a 304 Not Modified.
FETCHED_STATUSES = frozenset({"landed", "unchanged"})


@dataclass(frozen=True)
class RegisteredSource:
    """The fields of a registry entry that the dashboard reads."""

    source_id: str
    name: str
    owner_department: str
    source_format: str
    schedule: str
    content_kind: str | None

    @property
    def is_content(self) -> bool:
        return self.source_format in CONTENT_FORMATS


class _PlaceholderEnvironment(Mapping[str, str]):
    """``os.environ`` in which every unset variable reads as a placeholder URL.

    The dashboard reads only schedules and owners from the registry, so a base URL variable that
    is unset in the server's environment, such as ``HUIJU_DEPT_BASE_URL``, must not hide them.
    """

    PLACEHOLDER = "http://placeholder.invalid"

    def __getitem__(self, name: str) -> str:
        return os.environ.get(name) or self.PLACEHOLDER

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


class SourceRegistryReader:
    """The registered sources by id, read again when ``sources.yaml`` changes.

    An unreadable or invalid registry is logged and read as empty, so the pages still show what
    the run records and published versions contain.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._sources: dict[str, RegisteredSource] = {}

    def sources(self) -> dict[str, RegisteredSource]:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        with self._lock:
            if stamp is not None and stamp == self._stamp:
                return self._sources
            self._sources = self._load()
            self._stamp = stamp
            return self._sources

    def _load(self) -> dict[str, RegisteredSource]:
        try:
            registry = load_registry(self.path, _PlaceholderEnvironment())
        except RegistryError as error:
            logger.warning("Source registry %s not read; schedules and owners unknown: %s", self.path, error)
            return {}
        return {
            source.id: RegisteredSource(
                source_id=source.id,
                name=source.name,
                owner_department=source.owner_department,
                source_format=source.format,
                schedule=source.schedule,
                content_kind=getattr(source, "content_kind", None),
            )
            for source in registry.sources
        }


class RunHistory:
    """Run records under ``runs_dir``, newest first, each parsed once per change of its file."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self._lock = threading.Lock()
        self._parsed: dict[str, tuple[tuple[int, int], dict[str, Any] | None]] = {}

    def records(self) -> list[dict[str, Any]]:
        """Return every run record except ``latest.json``, newest start first."""
        if not self.runs_dir.is_dir():
            return []
        records = []
        seen = set()
        for path in self.runs_dir.glob("*.json"):
            if path.name == LATEST or path.name.startswith("."):
                continue
            record = self._read(path)
            if record is not None:
                records.append(record)
                seen.add(path.name)
        with self._lock:
            for name in set(self._parsed) - seen:
                del self._parsed[name]
        return sorted(records, key=lambda run: (run.get("started_at") or "", run.get("run_id") or ""), reverse=True)

    def latest(self) -> dict[str, Any] | None:
        """Return the record of the last run that ended (``latest.json``), or None."""
        path = self.runs_dir / LATEST
        return self._read(path) if path.exists() else None

    def get(self, run_id: str) -> dict[str, Any] | None:
        path = self.runs_dir / f"{run_id}.json"
        return self._read(path) if path.is_file() else None

    def last_fetches(self) -> dict[str, datetime]:
        """Return, per source, when the newest harvest that fetched it successfully started.

        A replay rebuilds tables from landing without fetching, so it does not count.
        """
        fetched: dict[str, datetime] = {}
        for run in self.records():
            harvest = next((stage for stage in run.get("stages", []) if stage.get("stage") == "harvest"), None)
            if harvest is None or not harvest.get("started_at"):
                continue
            started = datetime.fromisoformat(harvest["started_at"])
            for source_id, source in run.get("sources", {}).items():
                if source.get("status") in FETCHED_STATUSES and source_id not in fetched:
                    fetched[source_id] = started
        return fetched

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._parsed.get(path.name)
            if cached is not None and cached[0] == stamp and path.name != LATEST:
                return cached[1]
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            # A run writes its record atomically, so this is a damaged or foreign file. It is
            # remembered as unreadable until it changes, so the warning is logged once.
            logger.warning("Run record %s not read: %s", path, error)
            record = None
        if path.name != LATEST:
            with self._lock:
                self._parsed[path.name] = (stamp, record)
        return record


@dataclass(frozen=True)
class RuleTally:
    """How many records of one source one rule rejected (``quarantined``) or flagged (``suspect``)."""

    rule_id: str
    severity: str
    reason_zh: str
    reason_en: str
    records: int


@dataclass(frozen=True)
class Department:
    department_id: str
    name: str
    service_item_count: int


@dataclass
class VersionFacts:
    """Facts of one published version that every dashboard page shares."""

    departments: list[Department] = field(default_factory=list)
    withdrawn: dict[str, int] = field(default_factory=dict)
    rule_tallies: dict[str, list[RuleTally]] = field(default_factory=dict)


def load_version_facts(version: PublishedVersion) -> VersionFacts:
    """Read departments, withdrawn items and problem counts per source from a version's files."""
    facts = VersionFacts()
    marts = version.path / "marts"
    with duckdb.connect() as connection:
        departments = marts / "dim_department.parquet"
        if departments.exists():
            rows = connection.execute(
                f"select department_id, dept_name, service_item_count from read_parquet('{_sql_path(departments)}') "
                "order by dept_name"
            ).fetchall()
            facts.departments = [Department(*row) for row in rows]
        status = marts / "fct_service_item_status.parquet"
        if status.exists():
            facts.withdrawn = dict(connection.execute(
                f"select source_id, count(*) filter (where is_withdrawn) from read_parquet('{_sql_path(status)}') "
                "group by source_id"
            ).fetchall())
        facts.rule_tallies = _rule_tallies(connection, version.path)
    return facts


def _rule_tallies(connection: duckdb.DuckDBPyConnection, version_dir: Path) -> dict[str, list[RuleTally]]:
    parts = []
    for severity, file_name in (("quarantined", "quarantine.parquet"), ("suspect", "quality_flags.parquet"),
                                ("quarantined", "content_quarantine.parquet")):
        path = version_dir / file_name
        if path.exists():
            parts.append(
                f"select source_id, source_record_id, rule_id, '{severity}' as severity, reason_zh, reason_en "
                f"from read_parquet('{_sql_path(path)}')"
            )
    if not parts:
        return {}
    rows = connection.execute(
        f"""
        select source_id, rule_id, severity, any_value(reason_zh), any_value(reason_en), count(distinct source_record_id)
        from ({' union all '.join(parts)})
        group by source_id, rule_id, severity
        order by source_id, count(distinct source_record_id) desc, rule_id
        """
    ).fetchall()
    tallies: dict[str, list[RuleTally]] = {}
    for source_id, rule_id, severity, reason_zh, reason_en, records in rows:
        tallies.setdefault(source_id, []).append(RuleTally(rule_id, severity, reason_zh, reason_en, records))
    return tallies


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
