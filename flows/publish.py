"""Publish flow: write an audited batch as a new immutable version and switch to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from huiju import publish
from huiju.audit import AuditResult, audit_candidates
from huiju.runs import utc_now
from huiju.settings import Settings


@task(name="write-version", cache_policy=NO_CACHE)
def write_version(settings: Settings, run_id: str, audit: AuditResult, created_at: datetime,
                  harvest_sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    candidate_dir = settings.publish_dir / "candidates" / run_id
    warned = {decision.row_key for decision in audit.decisions if decision.severity == "warn"}
    counts = publish.source_counts(candidate_dir, audit.blocked_keys, warned)
    sources = {}
    for source_id, outcome in harvest_sources.items():
        entry = dict(counts.get(source_id, {"fetched": 0, "published": 0, "quarantined": 0, "merged": 0, "flagged": 0}))
        entry["status"] = outcome["status"]
        entry["snapshot_id"] = outcome.get("snapshot_id")
        # A source that failed this run publishes its last good rows, marked stale.
        entry["is_stale"] = outcome["status"] == "failed"
        sources[source_id] = entry
    version_id, manifest, is_unchanged = publish.write_version(
        publish_dir=settings.publish_dir, candidate_dir=candidate_dir, audit=audit,
        run_id=run_id, created_at=created_at, sources=sources,
    )
    # An unchanged version keeps the manifest of the run that wrote it; this run's counts go with it.
    return {"version": version_id, "manifest": manifest, "sources": sources, "is_unchanged": is_unchanged}


@task(name="switch-current", cache_policy=NO_CACHE)
def switch_current(settings: Settings, version_id: str, run_id: str) -> None:
    publish.switch_current(settings.publish_dir, version_id, action="publish", run_id=run_id)


@flow(name="huiju-publish")
def publish_flow(
    run_id: str,
    audit: AuditResult | None = None,
    created_at: datetime | None = None,
    harvest_sources: dict[str, dict[str, Any]] | None = None,
    home: str | None = None,
    inputs_sha256: str | None = None,
) -> dict[str, Any]:
    """Publish the audited candidates of ``run_id``; a blocked batch is recorded and ``current`` stays.

    Run on its own, the flow audits the run's candidates again and takes the sources from them.
    With ``inputs_sha256`` (see ``huiju.fingerprint``), the published version is recorded as the
    result of those inputs, so that a later run with the same inputs can skip to it.
    """
    logger = get_run_logger()
    settings = Settings.with_overrides(home)
    candidate_dir = settings.publish_dir / "candidates" / run_id
    if not candidate_dir.exists():
        raise FileNotFoundError(f"no candidates for run {run_id} in {candidate_dir}; run the audit flow first")
    if audit is None:
        audit = audit_candidates(candidate_dir, settings.expectations_dir)
    if harvest_sources is None:
        harvest_sources = {source_id: {"status": "unknown"} for source_id in publish.source_counts(candidate_dir, set())}
    created_at = created_at or utc_now()
    if not audit.passed:
        where = publish.write_rejection(settings.publish_dir, run_id, audit)
        reasons = "; ".join(f"{gate.gate}: {gate.message_en}" for gate in audit.failed_gates())
        logger.error("Run %s blocked, current version unchanged: %s (details in %s)", run_id, reasons, where)
        return {"version": None, "blocked": True, "reasons": reasons, "rejection_dir": str(where)}
    written = write_version(settings, run_id, audit, created_at, harvest_sources)
    if written["is_unchanged"]:
        logger.info("Content unchanged; version %s stays current", written["version"])
    else:
        switch_current(settings, written["version"], run_id)
        logger.info("Published version %s", written["version"])
    if inputs_sha256 is not None:
        publish.record_inputs(settings.publish_dir, written["version"], inputs_sha256)
    return {"version": written["version"], "blocked": False, "is_unchanged": written["is_unchanged"],
            "manifest": written["manifest"], "sources": written["sources"]}
