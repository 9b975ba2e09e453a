"""Harvest flow: fetch every registered source into landing, then load landing into raw tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from connectors.http import HttpClient
from connectors.registry import load_registry
from huiju import warehouse
from huiju.harvest import describe_failure, harvest_source
from huiju.landing import read_landing
from huiju.runs import new_run_id
from huiju.settings import Settings


@task(name="fetch-source", task_run_name="fetch-{source.id}", cache_policy=NO_CACHE)
def fetch_source(client: HttpClient, source: Any, landing_dir: Path, run_id: str) -> dict[str, Any]:
    """Fetch one source into landing; a failure is returned, not raised, so other sources go on."""
    logger = get_run_logger()
    try:
        landing = harvest_source(client, source, landing_dir, run_id)
    except Exception as error:  # noqa: BLE001 - recorded per source with stage, URL and reason
        failure = describe_failure(source.id, error)
        logger.error("Source %s failed at %s (%s): %s", source.id, failure.stage, failure.url, failure.reason)
        return {"source_id": source.id, "status": "failed", "error": failure.to_dict()}
    return {
        "source_id": source.id,
        "status": "landed",
        "landing_dir": str(landing.directory),
        "pages": len(landing.pages),
        "bytes": sum(page.byte_count for page in landing.pages),
        "snapshot_id": landing.snapshot_id,
    }


@task(name="load-landings", cache_policy=NO_CACHE)
def load_landings(warehouse_path: Path, registry_rows: list[dict[str, str]], landed: list[dict[str, Any]],
                  records_paths: dict[str, str]) -> dict[str, int]:
    """Load committed landings into the raw tables; a source whose load fails keeps its last good rows."""
    logger = get_run_logger()
    counts: dict[str, int] = {}
    connection = warehouse.connect(warehouse_path)
    try:
        warehouse.replace_sources(connection, registry_rows)
        for entry in landed:
            landing = read_landing(Path(entry["landing_dir"]))
            try:
                counts[entry["source_id"]] = warehouse.load_landing(
                    connection, landing, records_path=records_paths.get(entry["source_id"], "data.records")
                )
            except warehouse.LoadError as error:
                logger.error("Source %s failed to load: %s", entry["source_id"], error)
                entry.update(status="failed", error={"stage": "load", "url": None, "status_code": None,
                                                     "reason": f"{type(error).__name__}: {error}"})
    finally:
        connection.close()
    logger.info("Loaded %d sources, %d records", len(counts), sum(counts.values()))
    return counts


@flow(name="huiju-harvest")
def harvest_flow(run_id: str | None = None, home: str | None = None, sources_file: str | None = None) -> dict[str, Any]:
    """Fetch every source of the registry into landing and load it; return per-source outcomes."""
    logger = get_run_logger()
    run_id = run_id or new_run_id()
    settings = Settings(**{key: value for key, value in {"home": home, "sources_file": sources_file}.items() if value})
    registry = load_registry(settings.sources_file)
    logger.info("Harvesting %d sources for run %s", len(registry.sources), run_id)

    client = HttpClient(allowed_hosts=registry.allowed_hosts)
    try:
        outcomes = [fetch_source(client, source, settings.landing_dir, run_id) for source in registry.sources]
    finally:
        client.close()

    landed = [outcome for outcome in outcomes if outcome["status"] == "landed"]
    registry_rows = [
        {
            "source_id": source.id,
            "source_name": source.name,
            "source_format": source.format,
            "owner_department": source.owner_department,
            "base_url": source.base_url,
            "schedule": source.schedule,
            "contact": source.contact,
        }
        for source in registry.sources
    ]
    records_paths = {source.id: getattr(source, "records_path", "data.records") for source in registry.sources}
    counts = load_landings(settings.warehouse_path, registry_rows, landed, records_paths)
    for outcome in outcomes:
        if outcome["source_id"] in counts:
            outcome["fetched"] = counts[outcome["source_id"]]
    return {"run_id": run_id, "sources": {outcome["source_id"]: outcome for outcome in outcomes}}
