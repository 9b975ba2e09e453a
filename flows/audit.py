"""Audit flow: export candidate marts and validate them with the expectation suites and gates."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from huiju.audit import audit_candidates
from huiju.publish import export_candidates
from huiju.runs import new_run_id
from huiju.settings import Settings


@task(name="export-candidates", cache_policy=NO_CACHE)
def export(settings: Settings, run_id: str) -> dict[str, int]:
    return export_candidates(settings.warehouse_path, settings.publish_dir / "candidates" / run_id)


@task(name="validate-candidates", cache_policy=NO_CACHE)
def validate(settings: Settings, run_id: str):
    return audit_candidates(settings.publish_dir / "candidates" / run_id, settings.expectations_dir)


@flow(name="huiju-audit")
def audit_flow(run_id: str | None = None, home: str | None = None) -> dict[str, Any]:
    """Export the warehouse marts as candidates of ``run_id`` and audit them.

    Returns the ``AuditResult`` under ``result`` and the candidate row counts.
    """
    logger = get_run_logger()
    run_id = run_id or new_run_id()
    settings = Settings.with_overrides(home)
    counts = export(settings, run_id)
    result = validate(settings, run_id)
    logger.info("Audit of run %s %s; candidate rows: %s", run_id, "passed" if result.passed else "blocked", counts)
    return {"result": result, "candidate_rows": counts}
