"""Transform flow: dbt build of the models in the warehouse."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from huiju import warehouse
from huiju.editorial import write_editorial_tables
from huiju.runs import new_run_id
from huiju.settings import Settings
from huiju.transform import run_dbt_build


@task(name="load-editorial", cache_policy=NO_CACHE)
def load_editorial(settings: Settings) -> dict[str, int]:
    """Validate the editorial files and replace their tables in the warehouse before dbt reads them."""
    connection = warehouse.connect(settings.warehouse_path)
    try:
        return write_editorial_tables(connection, settings.editorial_dir)
    finally:
        connection.close()


@task(name="dbt-build", cache_policy=NO_CACHE)
def dbt_build(settings: Settings, run_id: str) -> dict[str, Any]:
    outcomes = run_dbt_build(settings.dbt_project_dir, settings.warehouse_path, settings.home / "dbt" / run_id, run_id)
    statuses: dict[str, int] = {}
    for outcome in outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    return {"nodes": len(outcomes), "statuses": statuses}


@flow(name="huiju-transform")
def transform_flow(run_id: str | None = None, home: str | None = None) -> dict[str, Any]:
    """Build staging, intermediate and mart models; any failing model or test fails the flow."""
    run_id = run_id or new_run_id()
    settings = Settings.with_overrides(home)
    load_editorial(settings)
    result = dbt_build(settings, run_id)
    get_run_logger().info("dbt build passed for run %s: %s", run_id, result["statuses"])
    return result
