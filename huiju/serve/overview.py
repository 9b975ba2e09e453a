"""The overview page's model: per department, what arrived, what was rejected and why, how fresh.

Sources are grouped by their registry ``owner_department``. A department is a name in
``dim_department`` of the current version, so it is an implementing agency that the records name.
Its row collects the sources whose owner has that name. Service-item sources whose owner names no
such department, such as a provincial portal that republishes departments' items, are listed
apart, and so are the feeds of notices and policy documents. Counts come from the current
version's manifest, the outcome of the last run from ``runs/latest.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from huiju.freshness import ON_TIME, OVERDUE, UNKNOWN, Freshness, assess_freshness
from huiju.quality_report import department_id
from huiju.serve.records import (
    CONTENT_FORMATS,
    RegisteredSource,
    RuleTally,
    VersionFacts,
)

COUNT_KEYS = ("fetched", "published", "quarantined", "merged", "flagged", "withdrawn")
TOP_REASONS = 3

# Worst first: a department with several sources shows its worst status and freshness.
STATUS_SEVERITY = ("failed", "running", "pending", "partial", "unknown", "replayed", "unchanged", "landed")
FRESHNESS_SEVERITY = (OVERDUE, UNKNOWN, ON_TIME)


@dataclass
class SourceRow:
    """One source in the current version and the last run."""

    source_id: str
    name: str | None
    owner: str
    source_format: str
    content_kind: str | None
    schedule: str | None
    counts: dict[str, int | None]
    run_status: str | None
    error: dict[str, Any] | None
    warnings: list[str]
    is_stale: bool
    freshness: Freshness
    rule_tallies: list[RuleTally]


@dataclass
class OwnerRow:
    """The sources of one owner, with their counts added up."""

    name: str
    department_id: str
    service_item_count: int | None
    sources: list[SourceRow] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int | None]:
        return sum_counts(self.sources)

    @property
    def run_status(self) -> str | None:
        statuses = [source.run_status for source in self.sources if source.run_status]
        return _worst(statuses, STATUS_SEVERITY)

    @property
    def freshness_state(self) -> str | None:
        return _worst([source.freshness.state for source in self.sources], FRESHNESS_SEVERITY)

    @property
    def is_stale(self) -> bool:
        return any(source.is_stale for source in self.sources)

    @property
    def errors(self) -> list[tuple[str, dict[str, Any]]]:
        return [(source.source_id, source.error) for source in self.sources if source.error]

    @property
    def top_reasons(self) -> list[RuleTally]:
        """Return the rules that rejected or flagged most records of the owner's sources."""
        merged: dict[tuple[str, str], RuleTally] = {}
        for source in self.sources:
            for tally in source.rule_tallies:
                key = (tally.severity, tally.rule_id)
                known = merged.get(key)
                records = tally.records + (known.records if known else 0)
                merged[key] = RuleTally(tally.rule_id, tally.severity, tally.reason_zh, tally.reason_en, records)
        ranked = sorted(merged.values(), key=lambda tally: (tally.severity != "quarantined", -tally.records, tally.rule_id))
        return ranked[:TOP_REASONS]


@dataclass
class Overview:
    departments: list[OwnerRow]
    other_owners: list[OwnerRow]
    content_sources: list[SourceRow]
    latest_run: dict[str, Any] | None

    @property
    def service_sources(self) -> list[SourceRow]:
        return [source for owner in self.departments + self.other_owners for source in owner.sources]

    @property
    def department_totals(self) -> dict[str, int | None]:
        return sum_counts([source for owner in self.departments for source in owner.sources])

    @property
    def service_totals(self) -> dict[str, int | None]:
        return sum_counts(self.service_sources)

    @property
    def content_totals(self) -> dict[str, int | None]:
        return sum_counts(self.content_sources)

    def department_count_with(self, state: str) -> int:
        return sum(1 for owner in self.departments if owner.freshness_state == state)


def sum_counts(sources: list[SourceRow]) -> dict[str, int | None]:
    """Add up each count over ``sources``; a count that no source has stays None."""
    totals: dict[str, int | None] = {}
    for key in COUNT_KEYS:
        values = [source.counts[key] for source in sources if source.counts.get(key) is not None]
        totals[key] = sum(values) if values else None
    return totals


def build_overview(
    *,
    manifest: dict[str, Any],
    facts: VersionFacts,
    registry: dict[str, RegisteredSource],
    latest_run: dict[str, Any] | None,
    last_fetches: dict[str, datetime],
    now: datetime,
) -> Overview:
    """Assemble the overview of the current version ``manifest`` and the last run."""
    run_sources = (latest_run or {}).get("sources", {})
    source_ids = sorted(set(registry) | set(manifest.get("sources", {})) | set(run_sources))
    rows = [
        _source_row(source_id, manifest, facts, registry.get(source_id), run_sources.get(source_id), last_fetches, now)
        for source_id in source_ids
    ]

    departments = {
        department.name: OwnerRow(department.name, department.department_id, department.service_item_count)
        for department in facts.departments
    }
    others: dict[str, OwnerRow] = {}
    content_sources = []
    for row in rows:
        if row.source_format in CONTENT_FORMATS:
            content_sources.append(row)
        elif row.owner in departments:
            departments[row.owner].sources.append(row)
        else:
            others.setdefault(row.owner, OwnerRow(row.owner, department_id(row.owner), None)).sources.append(row)
    return Overview(
        departments=sorted(departments.values(), key=_attention_order),
        other_owners=sorted(others.values(), key=lambda owner: owner.name),
        content_sources=content_sources,
        latest_run=latest_run,
    )


def _source_row(
    source_id: str,
    manifest: dict[str, Any],
    facts: VersionFacts,
    registered: RegisteredSource | None,
    run_source: dict[str, Any] | None,
    last_fetches: dict[str, datetime],
    now: datetime,
) -> SourceRow:
    published = manifest.get("sources", {}).get(source_id)
    run_source = run_source or {}
    counts: dict[str, int | None] = {key: (published or {}).get(key) for key in COUNT_KEYS if key != "withdrawn"}
    counts["withdrawn"] = facts.withdrawn.get(source_id, 0) if published is not None else None
    schedule = registered.schedule if registered else None
    return SourceRow(
        source_id=source_id,
        name=registered.name if registered else None,
        owner=(registered.owner_department if registered else None) or run_source.get("owner_department") or "—",
        source_format=(registered.source_format if registered else None) or run_source.get("source_format") or "",
        content_kind=registered.content_kind if registered else None,
        schedule=schedule,
        counts=counts,
        run_status=run_source.get("status"),
        error=run_source.get("error"),
        warnings=list(run_source.get("warnings") or []),
        is_stale=bool((published or {}).get("is_stale") or run_source.get("is_stale")),
        freshness=assess_freshness(schedule, last_fetches.get(source_id), now),
        rule_tallies=facts.rule_tallies.get(source_id, []),
    )


def _attention_order(owner: OwnerRow) -> tuple:
    """Sort key that puts departments needing attention first: failed or overdue, then most defects."""
    counts = owner.counts
    return (
        owner.run_status != "failed",
        owner.freshness_state != OVERDUE,
        not owner.is_stale,
        -(counts["quarantined"] or 0),
        -(counts["flagged"] or 0),
        owner.name,
    )


def _worst(values: list[str], severity_order: tuple[str, ...]) -> str | None:
    if not values:
        return None
    return min(values, key=lambda value: severity_order.index(value) if value in severity_order else len(severity_order))
