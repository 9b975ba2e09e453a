"""dbt build of the staging, intermediate and mart models in the warehouse."""

from __future__ import annotations

import logging
import os
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


def run_dbt_build(project_dir: Path, warehouse_path: Path, work_dir: Path) -> list[NodeOutcome]:
    """Run ``dbt build`` (seeds, models and tests) and return every node's outcome.

    Raises ``TransformError`` naming each failing node; a failed test is never ignored.
    """
    from dbt.cli.main import dbtRunner

    work_dir.mkdir(parents=True, exist_ok=True)
    os.environ["HUIJU_WAREHOUSE_PATH"] = str(warehouse_path)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    arguments = [
        "build",
        "--project-dir", str(project_dir),
        "--profiles-dir", str(project_dir),
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        "--quiet",
    ]
    logger.info("Running dbt %s", " ".join(arguments))
    result = dbtRunner().invoke(arguments)

    outcomes = []
    if result.result is not None and hasattr(result.result, "results"):
        for node_result in result.result.results:
            outcomes.append(
                NodeOutcome(
                    unique_id=node_result.node.unique_id,
                    status=str(node_result.status),
                    message=node_result.message,
                    failures=node_result.failures,
                )
            )
    failed = [outcome for outcome in outcomes if outcome.status in ("error", "fail", "runtime error")]
    if not result.success or failed:
        details = "; ".join(f"{outcome.unique_id}: {outcome.status} ({outcome.message})" for outcome in failed)
        if not details and result.exception is not None:
            details = str(result.exception)
        raise TransformError(f"dbt build failed: {details or 'see ' + str(work_dir / 'logs' / 'dbt.log')}")
    logger.info("dbt build passed: %d nodes", len(outcomes))
    return outcomes
