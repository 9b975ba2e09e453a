"""dbt build of the staging, intermediate and mart models in the warehouse."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


class TransformError(RuntimeError):
    """dbt failed: a model did not build or a data test failed."""


@dataclass(frozen=True)
class NodeOutcome:
    unique_id: str
    status: str
    message: str | None
    failures: int | None


FAILED_STATUSES = ("error", "fail", "runtime error")
# Memory limit of dbt's DuckDB, such as 4GB, read by the macro duckdb_settings.
MEMORY_LIMIT_VARIABLE = "HUIJU_DBT_MEMORY_LIMIT"


def _read_run_results(target_dir: Path) -> list[NodeOutcome]:
    path = target_dir / "run_results.json"
    if not path.exists():
        return []
    results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    return [
        NodeOutcome(
            unique_id=result["unique_id"],
            status=result["status"],
            message=result.get("message"),
            failures=result.get("failures"),
        )
        for result in results
    ]


def run_dbt_build(
    project_dir: Path, warehouse_path: Path, work_dir: Path, run_id: str | None = None
) -> list[NodeOutcome]:
    """Run ``dbt build`` (seeds, models and tests) and return every node's outcome.

    ``run_id`` goes to dbt in the environment variable ``HUIJU_RUN_ID``, which the identity
    map and the service history record as the run that made a change.

    dbt writes its target into ``target`` next to ``work_dir``, shared by the runs of one home,
    so that it parses again only the files changed since the last run (partial parsing); the
    run's ``run_results.json`` and output are copied into ``work_dir``.

    dbt runs in a child process, so its DuckDB connection is closed when it returns and the
    audit step can open the warehouse. Raises ``TransformError`` naming each failing node; a
    failed test is never ignored.
    """
    # dbt reads a relative --target-path or --log-path against --project-dir, not the current
    # directory, so a relative home would send them into dbt_project/.
    work_dir = work_dir.resolve()
    warehouse_path = warehouse_path.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    target_dir = work_dir.parent / "target"
    environment = {
        **os.environ,
        "HUIJU_WAREHOUSE_PATH": str(warehouse_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    environment.pop("HUIJU_RUN_ID", None)
    if run_id is not None:
        environment["HUIJU_RUN_ID"] = run_id
    command = [
        sys.executable, "-m", "dbt.cli.main", "build",
        "--project-dir", str(project_dir),
        "--profiles-dir", str(project_dir),
        "--target-path", str(target_dir),
        "--log-path", str(work_dir / "logs"),
        # Unit tests check the SQL with fixed inputs, not the data of a run, so they run in the
        # test suite (`tests/test_dbt_models.py`) instead of in every pipeline run.
        "--exclude-resource-type", "unit_test",
    ]
    logger.info("Running %s", " ".join(command[2:]))
    (target_dir / "run_results.json").unlink(missing_ok=True)
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    (work_dir / "dbt_build.out").write_text(completed.stdout + completed.stderr, encoding="utf-8")
    if (target_dir / "run_results.json").exists():
        (work_dir / "target").mkdir(exist_ok=True)
        shutil.copy2(target_dir / "run_results.json", work_dir / "target" / "run_results.json")

    outcomes = _read_run_results(target_dir)
    failed = [outcome for outcome in outcomes if outcome.status in FAILED_STATUSES]
    if completed.returncode != 0 or failed:
        details = "; ".join(f"{outcome.unique_id}: {outcome.status} ({outcome.message})" for outcome in failed)
        if not details:
            tail = (completed.stdout + completed.stderr).strip().splitlines()[-15:]
            details = " | ".join(tail) or f"exit code {completed.returncode}"
        hint = ""
        if "Out of Memory Error" in details:
            limit = environment.get(MEMORY_LIMIT_VARIABLE) or "its default of 80 % of RAM"
            hint = f"; DuckDB ran out of memory at a limit of {limit}: set {MEMORY_LIMIT_VARIABLE} higher and run again"
        raise TransformError(f"dbt build failed: {details}{hint} (full output in {work_dir / 'dbt_build.out'})")
    logger.info("dbt build passed: %d nodes", len(outcomes))
    return outcomes
