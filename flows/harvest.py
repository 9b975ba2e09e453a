"""Harvest flow: fetch every registered source concurrently into landing, then load raw tables."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from connectors.http import HttpClient
from connectors.registry import load_registry
from huiju import warehouse
from huiju.harvest import describe_failure, harvest_source, resolve_credential_headers
from huiju.landing import read_landing
from huiju.loading import (
    LoadCheck,
    SourceBlockedError,
    advance_cursor,
    advance_state,
    unchanged_page_numbers,
)
from huiju.politeness import HostLimiter, PoliteClient
from huiju.runs import new_run_id, utc_now
from huiju.settings import Settings
from huiju.state import StateStore

MAX_PARALLEL_SOURCES = 8


@task(name="fetch-source", task_run_name="fetch-{source.id}", cache_policy=NO_CACHE)
def fetch_source(source: Any, allowed_hosts: frozenset[str], limiter: HostLimiter, settings: Settings,
                 run_id: str) -> dict[str, Any]:
    """Fetch one source into landing; a failure is returned, not raised, so other sources go on.

    Each source gets its own HTTP session, because ``requests.Session`` is not documented as
    thread-safe; the host limiter is shared.
    """
    logger = get_run_logger()
    state = StateStore(settings.state_dir).load(source.id)
    try:
        client = PoliteClient(HttpClient(allowed_hosts), limiter, resolve_credential_headers(source))
        try:
            outcome = harvest_source(client, source, settings.landing_dir, run_id, state)
        finally:
            client.close()
    except Exception as error:  # noqa: BLE001 - recorded per source with stage, URL and reason
        failure = describe_failure(source.id, error)
        logger.error("Source %s failed at %s (%s): %s", source.id, failure.stage, failure.url, failure.reason)
        return {"source_id": source.id, "status": "failed", "error": failure.to_dict(),
                "finished_at": time.monotonic()}
    return {
        "source_id": source.id,
        "finished_at": time.monotonic(),
        "status": "unchanged" if outcome.is_unchanged else "landed",
        "landing_dir": str(outcome.landing.directory) if outcome.landing else None,
        "pages": outcome.pages,
        "bytes": outcome.bytes,
        "snapshot_id": outcome.landing.snapshot_id if outcome.landing else state.snapshot_id(),
        "fetch_mode": "full" if outcome.is_full_fetch else "updated_since",
        "cursor": outcome.cursor,
    }


@task(name="load-landings", cache_policy=NO_CACHE)
def load_landings(settings: Settings, registry: Any, outcomes: list[dict[str, Any]]) -> None:
    """Load landed sources into the raw tables, one transaction each, and advance their state.

    A source whose load fails or is blocked keeps its last good rows and is marked failed.
    """
    logger = get_run_logger()
    store = StateStore(settings.state_dir)
    connection = warehouse.connect(settings.warehouse_path)
    try:
        warehouse.replace_sources(connection, registry.sources)
        for outcome in outcomes:
            if outcome["status"] == "unchanged":
                advance_cursor(store, store.load(outcome["source_id"]), outcome.get("cursor"),
                               outcome.get("fetch_mode") == "full")
            if outcome["status"] != "landed":
                continue
            source = registry.get(outcome["source_id"])
            state = store.load(source.id)
            landing = read_landing(Path(outcome["landing_dir"]))
            check = LoadCheck(source, state, landing)
            try:
                count = warehouse.load_landing(
                    connection, landing, source=source, check=check,
                    unchanged_pages=unchanged_page_numbers(connection, source, landing, state),
                )
            except (warehouse.LoadError, SourceBlockedError) as error:
                failure = describe_failure(source.id, error)
                logger.error("Source %s not loaded (%s): %s", source.id, failure.stage, error)
                outcome.update(status="failed", error=failure.to_dict())
                continue
            advance_state(store, state, source, landing, count, check.fields)
            outcome["snapshot_id"] = state.snapshot_id()
            outcome["fetched"] = count
            outcome["warnings"] = check.warnings
            for warning in check.warnings:
                logger.warning("Schema drift: %s", warning)
    finally:
        connection.close()


@flow(name="huiju-harvest", task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL_SOURCES))
def harvest_flow(run_id: str | None = None, home: str | None = None, sources_file: str | None = None) -> dict[str, Any]:
    """Fetch every source of the registry into landing and load it; return per-source outcomes.

    Sources are fetched in parallel, so a slow department does not hold up the others; requests
    to one host share that host's limits.
    """
    logger = get_run_logger()
    run_id = run_id or new_run_id()
    settings = Settings.with_overrides(home, sources_file)
    registry = load_registry(settings.sources_file)
    limiter = HostLimiter.for_sources(registry.sources)
    logger.info("Harvesting %d sources for run %s", len(registry.sources), run_id)

    fetch_started = time.monotonic()
    futures = [
        fetch_source.submit(source, registry.allowed_hosts, limiter, settings, run_id) for source in registry.sources
    ]
    outcomes = [future.result() for future in futures]
    load_started = time.monotonic()
    load_started_at = utc_now().isoformat()
    load_landings(settings, registry, outcomes)
    timings = {
        "fetch_seconds": round(load_started - fetch_started, 3),
        "load_seconds": round(time.monotonic() - load_started, 3),
        "load_started_at": load_started_at,
    }
    return {"run_id": run_id, "sources": {outcome["source_id"]: outcome for outcome in outcomes}, "timings": timings}
