"""Rebuild the raw tables from landing without fetching, for example after a mapping fix."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from huiju import warehouse
from huiju.harvest import describe_failure
from huiju.landing import COMMIT_MARKER, LandingError, read_landing
from huiju.state import StateStore

logger = logging.getLogger(__name__)


def landing_to_replay(landing_dir: Path, store: StateStore, source_id: str, run_id: str | None) -> Path | None:
    """Return the landing of ``source_id`` to replay: that of ``run_id``, or the last good load."""
    if run_id is None:
        run_id = store.load(source_id).last_good_run_id
        if run_id is None:
            return None
    directory = landing_dir / source_id / run_id
    return directory if (directory / COMMIT_MARKER).exists() else None


def replay_landings(settings: Any, registry: Any, run_id: str | None = None) -> dict[str, dict[str, Any]]:
    """Reload every source's raw rows from its landing; return per-source outcomes.

    Without ``run_id`` each source replays its last good load, which is what the warehouse held
    after that load. The dataset-level checks of the harvest are not repeated, because the
    landings replayed already passed them.
    """
    store = StateStore(settings.state_dir)
    outcomes: dict[str, dict[str, Any]] = {}
    connection = warehouse.connect(settings.warehouse_path)
    try:
        warehouse.replace_sources(connection, registry.sources)
        for source in registry.sources:
            directory = landing_to_replay(settings.landing_dir, store, source.id, run_id)
            if directory is None:
                outcomes[source.id] = {
                    "source_id": source.id, "status": "failed",
                    "error": {"stage": "replay", "url": None, "status_code": None,
                              "reason": f"no committed landing of run {run_id or 'last good load'} to replay"},
                }
                logger.error("Source %s has no committed landing to replay", source.id)
                continue
            try:
                landing = read_landing(directory)
                count = warehouse.load_landing(connection, landing, source=source)
            except (LandingError, warehouse.LoadError) as error:
                outcomes[source.id] = {"source_id": source.id, "status": "failed",
                                       "error": {**describe_failure(source.id, error).to_dict(), "stage": "replay"}}
                logger.error("Source %s failed to replay: %s", source.id, error)
                continue
            outcomes[source.id] = {
                "source_id": source.id, "status": "replayed", "fetched": count, "pages": len(landing.pages),
                "bytes": 0, "snapshot_id": landing.snapshot_id, "landing_dir": str(directory),
            }
    finally:
        connection.close()
    return outcomes
