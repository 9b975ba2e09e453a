"""Pipeline flow: harvest → transform → audit → publish, with one run record per run."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from connectors.registry import load_registry
from flows.audit import audit_flow
from flows.harvest import harvest_flow
from flows.publish import publish_flow
from flows.transform import transform_flow
from huiju.fingerprint import inputs_fingerprint
from huiju.publish import current_version, read_manifest, version_for_inputs
from huiju.replay import replay_landings
from huiju.runs import RunRecord, RunStore, SourceRecord, new_run_id, utc_now
from huiju.settings import Settings


class PipelineError(RuntimeError):
    """A stage failed; the run record names the stage and the reason."""


@flow(name="huiju-pipeline")
def pipeline_flow(
    home: str | None = None,
    sources_file: str | None = None,
    replay: bool = False,
    replay_run_id: str | None = None,
) -> dict[str, Any]:
    """Run every stage once and return the run record as a dict.

    With ``replay`` the raw tables are rebuilt from landing instead of fetching: from the landings
    of ``replay_run_id``, or from each source's last good load.

    A blocked audit ends the run with status ``blocked`` and leaves the current version in place.
    A failing stage ends it with status ``failed`` and raises ``PipelineError``.
    """
    logger = get_run_logger()
    settings = Settings.with_overrides(home, sources_file)
    store = RunStore(settings.runs_dir)
    created_at = utc_now()
    run = RunRecord(run_id=new_run_id(created_at), started_at=created_at.isoformat())
    registry = load_registry(settings.sources_file)
    for source in registry.sources:
        run.sources[source.id] = SourceRecord(
            source_id=source.id, owner_department=source.owner_department, source_format=source.format
        )
    store.save(run)
    logger.info("Run %s started with %d sources", run.run_id, len(registry.sources))

    stage = None
    try:
        if replay:
            stage = run.stage("replay")
            harvest = {"sources": replay_landings(settings, registry, replay_run_id)}
        else:
            stage = run.stage("harvest")
            harvest = harvest_flow(run.run_id, home=str(settings.home), sources_file=str(settings.sources_file))
        for source_id, outcome in harvest["sources"].items():
            record = run.sources[source_id]
            record.status = outcome["status"]
            record.pages = outcome.get("pages")
            record.bytes = outcome.get("bytes")
            record.snapshot_id = outcome.get("snapshot_id")
            record.warnings = outcome.get("warnings", [])
            record.error = outcome.get("error")
        failed = sorted(source_id for source_id, outcome in harvest["sources"].items() if outcome["status"] == "failed")
        stage.finish("succeeded" if not failed else "partial", failed_sources=failed,
                     succeeded_sources=len(harvest["sources"]) - len(failed), **harvest.get("timings", {}))
        store.save(run)
        if len(failed) == len(harvest["sources"]):
            raise PipelineError(f"every source failed at {stage.stage}: {', '.join(failed)}")

        # Same snapshots and same code as the current version: transform, audit and publish
        # would write the same files again.
        inputs_sha256 = None if replay or failed else inputs_fingerprint(settings, harvest["sources"])
        reused = inputs_sha256 and version_for_inputs(settings.publish_dir, inputs_sha256)
        if reused:
            _reuse_version(run, read_manifest(settings.publish_dir, reused))
            logger.info("Inputs equal those of version %s; transform, audit and publish skipped", reused)
            return run.to_dict()

        stage = run.stage("transform")
        transform = transform_flow(run.run_id, home=str(settings.home))
        stage.finish("succeeded", **transform)
        store.save(run)

        stage = run.stage("audit")
        audited = audit_flow(run.run_id, home=str(settings.home))
        audit = audited["result"]
        run.gates = [gate.__dict__ for gate in audit.gates]
        stage.finish("passed" if audit.passed else "blocked", candidate_rows=audited["candidate_rows"],
                     rule_counts=audit.to_dict()["rule_counts"])
        store.save(run)

        stage = run.stage("publish")
        published = publish_flow(run.run_id, audit, created_at, harvest["sources"], home=str(settings.home),
                                 inputs_sha256=inputs_sha256)
        if published["blocked"]:
            stage.finish("skipped", reasons=published["reasons"], rejection_dir=published["rejection_dir"])
            run.status = "blocked"
            run.message = f"audit blocked the batch: {published['reasons']}"
        else:
            manifest = published["manifest"]
            for source_id, counts in published["sources"].items():
                record = run.sources[source_id]
                record.fetched = counts["fetched"]
                record.published = counts["published"]
                record.quarantined = counts["quarantined"]
                record.merged = counts["merged"]
                record.flagged = counts["flagged"]
                record.is_stale = counts["is_stale"]
            run.published_version = published["version"]
            run.is_unchanged = published["is_unchanged"]
            stage.finish("succeeded", version=published["version"], is_unchanged=published["is_unchanged"],
                         content_sha256=manifest["content_sha256"])
            run.status = "succeeded" if not failed else "partial"
    except Exception as error:
        if stage is not None and stage.status == "running":
            stage.finish("failed", error=f"{type(error).__name__}: {error}")
        run.status = "failed"
        run.message = f"{stage.stage if stage else 'setup'} failed: {type(error).__name__}: {error}"
        raise PipelineError(run.message) from error
    finally:
        run.current_version = current_version(settings.publish_dir)
        run.finished_at = utc_now().isoformat()
        store.save(run, final=True)
        logger.info("Run %s ended: %s", run.run_id, run.status)
    return run.to_dict()


def _reuse_version(run: RunRecord, manifest: dict[str, Any]) -> None:
    """Mark the later stages skipped and carry the version's per-source counts into ``run``."""
    reason = f"inputs equal those of version {manifest['version']}"
    for name in ("transform", "audit", "publish"):
        run.stage(name).finish("skipped", reason=reason, version=manifest["version"],
                               content_sha256=manifest["content_sha256"])
    for source_id, counts in manifest.get("sources", {}).items():
        record = run.sources.get(source_id)
        if record is None:
            continue
        for key in ("fetched", "published", "quarantined", "merged", "flagged"):
            setattr(record, key, counts.get(key))
        record.is_stale = False
    run.gates = manifest.get("gates", [])
    run.published_version = manifest["version"]
    run.is_unchanged = True
    run.status = "succeeded"
