"""Rebuild the raw tables from landing without fetching, for example after a mapping fix."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from huiju import warehouse
from huiju.harvest import describe_failure
from huiju.landing import COMMIT_MARKER, UPDATED_SINCE, Landing, LandingError, chain_snapshot_id, read_landing
from huiju.state import StateStore

logger = logging.getLogger(__name__)


def landing_to_replay(landing_dir: Path, store: StateStore, source_id: str, run_id: str | None) -> Path | None:
    """Return the landing of ``source_id`` to replay, or ``None`` if there is none.

    Without ``run_id`` it is the source's last good load. With ``run_id`` it is the newest
    committed landing of that run or an earlier one, which is what the raw tables held after
    that run when the source was unchanged in it or failed. Run ids start with their UTC start
    time, so they sort in time order.
    """
    if run_id is None:
        last_good_run_id = store.load(source_id).last_good_run_id
        if last_good_run_id is None:
            return None
        directory = landing_dir / source_id / last_good_run_id
        return directory if (directory / COMMIT_MARKER).exists() else None
    source_dir = landing_dir / source_id
    if not source_dir.is_dir():
        return None
    candidates = sorted(
        directory for directory in source_dir.iterdir()
        if directory.name <= run_id and (directory / COMMIT_MARKER).exists()
    )
    return candidates[-1] if candidates else None


def landing_chain(landing_dir: Path, directory: Path) -> list[Landing]:
    """Return the landings to load, oldest first, so that the raw rows equal those after ``directory``.

    A full landing is loaded alone. An updated-since landing applies on top of its base run's
    landing, which may itself be an updated-since landing, back to the last full one.

    Raises:
        LandingError: a landing of the chain is missing or incomplete, or the chain loops.
    """
    chain = [read_landing(directory)]
    seen = {chain[0].run_id}
    while chain[-1].mode == UPDATED_SINCE:
        base_run_id = chain[-1].base_run_id
        if base_run_id is None or base_run_id in seen:
            raise LandingError(f"landing {chain[-1].directory} names no valid base run ({base_run_id!r})")
        seen.add(base_run_id)
        chain.append(read_landing(landing_dir / chain[-1].source_id / base_run_id))
    return list(reversed(chain))


def replay_landings(settings: Any, registry: Any, run_id: str | None = None) -> dict[str, dict[str, Any]]:
    """Reload every source's raw rows from its landing; return per-source outcomes.

    Without ``run_id`` each source replays its last good load, which is what the warehouse held
    after that load. An updated-since landing is replayed with the landings it builds on. The dataset-level checks of the harvest are not repeated, because the
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
                chain = landing_chain(settings.landing_dir, directory)
                # NOTE: each landing of a chain loads in its own transaction. A failure part-way
                # leaves the rows of the landings before it, and the source is reported failed.
                for landing in chain:
                    count = warehouse.load_landing(connection, landing, source=source)
            except (LandingError, warehouse.LoadError) as error:
                outcomes[source.id] = {"source_id": source.id, "status": "failed",
                                       "error": {**describe_failure(source.id, error).to_dict(), "stage": "replay"}}
                logger.error("Source %s failed to replay: %s", source.id, error)
                continue
            outcomes[source.id] = {
                "source_id": source.id, "status": "replayed", "fetched": count,
                "pages": sum(len(landing.pages) for landing in chain),
                "bytes": 0, "snapshot_id": chain_snapshot_id(chain), "landing_dir": str(directory),
            }
    finally:
        connection.close()
    return outcomes
