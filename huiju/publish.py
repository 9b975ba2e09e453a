"""Write-audit-publish: candidate export, immutable versions and the atomic switch of ``current``.

Layout under ``<home>/published``::

    candidates/<run_id>/     marts exported from the warehouse, audited here, never read by the portal
    versions/<version_id>/   one immutable published version (Parquet marts, feed.json, manifest.json)
    rejected/<run_id>/       audit results of a batch that did not pass
    current -> versions/<version_id>   symbolic link, replaced in one rename

Readers resolve ``current`` once and read only inside that version, so a switch never gives them a
mix of two versions, and nothing here opens the warehouse while dbt writes it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from huiju import composition_report, exchange, portal_feed
from huiju.audit import AuditResult, Decision

logger = logging.getLogger(__name__)

CANDIDATE_MARTS = {
    "fct_service_item": "service_item_id",
    "fct_source_record": "source_record_id",
    "dim_department": "department_id",
    "dim_region": "region_code",
    "mart_service_themes": "service_item_id, audience nulls last",
    "fct_service_item_status": "service_item_id",
    "mart_theme_steps": "theme_id, step_id, service_rank",
    "mart_theme_gaps": "theme_id, step_position",
    "mart_theme_composition": "theme_position, dimension_position",
    "int_theme_override_applications": "override_id, service_item_id nulls last",
    "fct_content_item": "content_id",
    "fct_content_record": "source_record_id",
    "bridge_theme_content": "theme_id, content_id",
    "mart_theme_content": "theme_id, content_form, item_rank",
    "mart_theme_content_gaps": "theme_id, content_kind",
    "dim_business_system": "system_order",
    "bridge_service_business_system": "service_item_id, system_id",
    "fct_service_item_dimension": "service_item_id, dimension",
    "mart_region_variance": "catalog_code, service_item_id, field_position",
    "fct_service_item_evidence": "source_record_id",
    "fct_service_item_history": "service_item_id, valid_from, history_row_id",
}
# Marts that _write_marts does not copy as they are. It writes fct_service_item with its own
# query, and only the audit and the source counts read the two lineage marts. Every other
# candidate mart is copied in its order above, without the rows of blocked service items.
SPECIALLY_WRITTEN_MARTS = ("fct_service_item", "fct_source_record", "fct_content_record")

# Columns that change with every run; published content leaves them out so that an unchanged
# input publishes identical files. The manifest records the run and landing snapshots instead.
# last_seen_at moves whenever a source is fetched again, even with the same content.
RUN_SPECIFIC_COLUMNS = ("run_id", "landing_file", "last_seen_at")

PUBLICATIONS_LOG = "publications.jsonl"
FEED_FETCH_ROWS = 1000

AUDIENCE_LABELS = {"natural_person": "面向自然人", "legal_person": "面向法人"}

FEED_LABELS = {
    "id": "事项标识",
    "name": "事项名称",
    "task_code": "实施编码",
    "catalog_code": "基本编码",
    "task_type": "事项类型",
    "department": "实施主体",
    "region_code": "行政区划代码",
    "link": "在线办理地址",
    "themes": "事项主题",
    "quality_flags": "质量提示",
    "source_ids": "数据来源",
}


class PublishError(RuntimeError):
    """A version could not be written or switched to."""


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_candidates(warehouse_path: Path, candidate_dir: Path) -> dict[str, int]:
    """Copy each candidate mart out of the warehouse into Parquet; return row counts."""
    if candidate_dir.exists():
        shutil.rmtree(candidate_dir)
    candidate_dir.mkdir(parents=True)
    counts = {}
    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        for mart, order in CANDIDATE_MARTS.items():
            target = candidate_dir / f"{mart}.parquet"
            connection.execute(
                f"copy (select * from main.{mart} order by {order}) to '{target}' (format parquet)"
            )
            counts[mart] = connection.execute(f"select count(*) from main.{mart}").fetchone()[0]
    return counts


def _decision_table(decisions: list[Decision]) -> pa.Table:
    schema = pa.schema(
        [
            ("service_item_id", pa.string()),
            ("rule_id", pa.string()),
            ("severity", pa.string()),
            ("field", pa.string()),
            ("value", pa.string()),
            ("reason_zh", pa.string()),
            ("reason_en", pa.string()),
        ]
    )
    rows = [
        {
            "service_item_id": decision.row_key,
            "rule_id": decision.rule_id,
            "severity": decision.severity,
            "field": decision.field,
            "value": decision.value,
            "reason_zh": decision.reason_zh,
            "reason_en": decision.reason_en,
        }
        for decision in decisions
        if decision.mart == "fct_service_item"
    ]
    return pa.Table.from_pylist(rows, schema=schema)


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def source_counts(candidate_dir: Path, blocked: set[str], warned: set[str] = frozenset()) -> dict[str, dict[str, Any]]:
    """Count per source: fetched = published + quarantined + merged, from the lineage marts.

    Service items come from ``fct_source_record``, where the audit's block decisions quarantine
    survivors. Feed entries come from ``fct_content_record``, whose dispositions the transform
    already decided. ``flagged`` counts the published records that carry at least one warn
    decision.
    """
    with duckdb.connect() as connection:
        connection.register("blocked", pa.table({"service_item_id": pa.array(sorted(blocked), pa.string())}))
        connection.register("warned", pa.table({"service_item_id": pa.array(sorted(warned - blocked), pa.string())}))
        rows = connection.execute(
            f"""
            select
                record.source_id,
                any_value(record.run_id) as run_id,
                count(*) as fetched,
                count(*) filter (where record.disposition = 'survivor' and blocked.service_item_id is null) as published,
                count(*) filter (where record.disposition = 'survivor' and blocked.service_item_id is not null) as quarantined,
                count(*) filter (where record.disposition = 'merged') as merged,
                count(*) filter (where record.disposition = 'survivor' and warned.service_item_id is not null) as flagged
            from read_parquet('{candidate_dir / "fct_source_record.parquet"}') as record
            left join blocked on record.service_item_id = blocked.service_item_id
            left join warned on record.service_item_id = warned.service_item_id
            group by record.source_id
            order by record.source_id
            """
        ).fetchall()
        rows += _content_source_counts(connection, candidate_dir)
    return {
        source_id: {"run_id": run_id, "fetched": fetched, "published": published,
                    "quarantined": quarantined, "merged": merged, "flagged": flagged}
        for source_id, run_id, fetched, published, quarantined, merged, flagged in rows
    }


def _content_source_counts(connection: duckdb.DuckDBPyConnection, candidate_dir: Path) -> list[tuple]:
    """Count feed entries per source and disposition; return no rows when the run has no feeds."""
    path = candidate_dir / "fct_content_record.parquet"
    if not path.exists():
        return []
    return connection.execute(
        f"""
        select
            source_id,
            any_value(run_id) as run_id,
            count(*) as fetched,
            count(*) filter (where disposition = 'survivor') as published,
            count(*) filter (where disposition = 'quarantined') as quarantined,
            count(*) filter (where disposition = 'merged') as merged,
            0 as flagged
        from read_parquet('{path}')
        group by source_id
        order by source_id
        """
    ).fetchall()


def _write_marts(connection: duckdb.DuckDBPyConnection, candidate_dir: Path, marts_dir: Path) -> None:
    marts_dir.mkdir()
    fct = candidate_dir / "fct_service_item.parquet"
    fct_columns = {row[0] for row in connection.execute(f"describe select * from read_parquet('{fct}')").fetchall()}
    exclude = ", ".join(name for name in RUN_SPECIFIC_COLUMNS if name in fct_columns)
    connection.execute(
        f"""
        copy (
            select
                item.* exclude ({exclude}),
                coalesce(flags.rule_ids, []::varchar[]) as quality_flags
            from read_parquet('{fct}') as item
            left join (
                select service_item_id, list(distinct rule_id order by rule_id) as rule_ids
                from decisions where severity = 'warn' group by service_item_id
            ) as flags using (service_item_id)
            where item.service_item_id not in (select service_item_id from decisions where severity = 'block')
            order by item.service_item_id
        ) to '{marts_dir / "fct_service_item.parquet"}' (format parquet)
        """
    )
    for mart, order in CANDIDATE_MARTS.items():
        if mart in SPECIALLY_WRITTEN_MARTS:
            continue
        path = candidate_dir / f"{mart}.parquet"
        columns = {row[0] for row in connection.execute(f"describe select * from read_parquet('{path}')").fetchall()}
        # Rows of blocked service items never reach a published mart.
        conditions = ["true"]
        if "service_item_id" in columns:
            conditions.append("service_item_id not in (select service_item_id from decisions where severity = 'block')")
        # Themes that a composition principle blocks never reach a published theme mart.
        if "theme_id" in columns:
            conditions.append("theme_id not in (select theme_id from blocked_themes)")
        unpublished = [name for name in RUN_SPECIFIC_COLUMNS if name in columns]
        selection = f"* exclude ({', '.join(unpublished)})" if unpublished else "*"
        connection.execute(
            f"""
            copy (select {selection} from read_parquet('{path}') where {' and '.join(conditions)} order by {order})
            to '{marts_dir / f"{mart}.parquet"}' (format parquet)
            """
        )


def _write_merges(connection: duckdb.DuckDBPyConnection, candidate_dir: Path, version_dir: Path) -> None:
    """Write ``merges.parquet``: each record merged as a duplicate, with the item it merged into."""
    connection.execute(
        f"""
        copy (
            select
                source_record_id,
                source_id,
                merged_into_service_item_id,
                record::varchar as source_record
            from read_parquet('{candidate_dir / "fct_source_record.parquet"}')
            where disposition = 'merged'
            order by source_record_id
        ) to '{version_dir / "merges.parquet"}' (format parquet)
        """
    )


def _write_quarantine(connection: duckdb.DuckDBPyConnection, candidate_dir: Path, version_dir: Path) -> None:
    """Write ``quarantine.parquet`` (one row per blocked record and rule, with the source record) and
    ``quality_flags.parquet`` (one row per warn decision on a published item)."""
    connection.execute(
        f"""
        copy (
            select
                decisions.service_item_id,
                record.source_record_id,
                record.source_id,
                decisions.rule_id,
                decisions.field,
                decisions.value,
                decisions.reason_zh,
                decisions.reason_en,
                record.record::varchar as source_record
            from decisions
            inner join read_parquet('{candidate_dir / "fct_source_record.parquet"}') as record
                on record.service_item_id = decisions.service_item_id and record.disposition = 'survivor'
            where decisions.severity = 'block'
            order by record.source_record_id, decisions.rule_id
        ) to '{version_dir / "quarantine.parquet"}' (format parquet)
        """
    )
    connection.execute(
        f"""
        copy (
            select
                decisions.service_item_id,
                item.source_record_id,
                item.source_id,
                decisions.rule_id,
                decisions.field,
                decisions.value,
                decisions.reason_zh,
                decisions.reason_en,
                record.record::varchar as source_record
            from decisions
            inner join read_parquet('{candidate_dir / "fct_service_item.parquet"}') as item using (service_item_id)
            inner join read_parquet('{candidate_dir / "fct_source_record.parquet"}') as record
                on record.source_record_id = item.source_record_id
            where decisions.severity = 'warn'
              and decisions.service_item_id not in (select service_item_id from decisions where severity = 'block')
            order by item.source_record_id, decisions.rule_id
        ) to '{version_dir / "quality_flags.parquet"}' (format parquet)
        """
    )


def _write_content_dispositions(connection: duckdb.DuckDBPyConnection, candidate_dir: Path, version_dir: Path) -> int:
    """Write ``content_quarantine.parquet`` and ``content_merges.parquet`` from the content lineage.

    Returns the number of quarantined feed entries.
    """
    records = candidate_dir / "fct_content_record.parquet"
    connection.execute(
        f"""
        copy (
            select
                source_record_id,
                source_id,
                content_kind,
                quarantine_rule_id as rule_id,
                quarantine_reason_zh as reason_zh,
                quarantine_reason_en as reason_en,
                record::varchar as source_record
            from read_parquet('{records}')
            where disposition = 'quarantined'
            order by source_record_id
        ) to '{version_dir / "content_quarantine.parquet"}' (format parquet)
        """
    )
    connection.execute(
        f"""
        copy (
            select source_record_id, source_id, merged_into_content_id, record::varchar as source_record
            from read_parquet('{records}')
            where disposition = 'merged'
            order by source_record_id
        ) to '{version_dir / "content_merges.parquet"}' (format parquet)
        """
    )
    return connection.execute(
        f"select count(*) from read_parquet('{records}') where disposition = 'quarantined'"
    ).fetchone()[0]


def _write_feed(connection: duckdb.DuckDBPyConnection, version_dir: Path) -> int:
    """Write ``feed.json``: the published service items with their themes and quality flags.

    Returns the number of items. The items stream out of DuckDB FEED_FETCH_ROWS at a time.
    """
    marts = version_dir / "marts"
    audience_cases = " ".join(f"when '{key}' then '{label}'" for key, label in AUDIENCE_LABELS.items())
    cursor = connection.execute(
        f"""
        with themes as (
            select
                service_item_id,
                list(
                    {{'audience': audience::varchar, 'audience_label': case audience::varchar {audience_cases} end,
                      'code': theme_code::varchar, 'label': theme_label::varchar, 'rule_id': rule_id}}
                    order by audience
                ) filter (where not coalesce(is_unassigned, false)) as themes
            from read_parquet('{marts / "mart_service_themes.parquet"}')
            group by service_item_id
        ),

        flags as (
            select
                service_item_id,
                list({{'rule_id': rule_id, 'reason_zh': reason_zh, 'reason_en': reason_en}} order by rule_id) as flags
            from read_parquet('{version_dir / "quality_flags.parquet"}')
            group by service_item_id
        )

        select to_json({{
            'id': item.service_item_id,
            'name': item.task_name,
            'task_code': item.task_code,
            'catalog_code': item.catalog_code,
            'task_type': {{'code': item.task_type_code, 'label': item.task_type_label}},
            'department': {{'id': item.department_id, 'name': item.dept_name, 'code': item.dept_code}},
            'region_code': item.region_code,
            'link': item.link_url,
            'themes': coalesce(themes.themes, []),
            'quality_flags': coalesce(flags.flags, []),
            'source_ids': [item.source_id]
        }})::varchar
        from read_parquet('{marts / "fct_service_item.parquet"}') as item
        left join themes using (service_item_id)
        left join flags using (service_item_id)
        order by item.service_item_id
        """
    )
    written = 0
    with open(version_dir / "feed.json", "w", encoding="utf-8") as handle:
        handle.write('{"schema_version": 1, "labels": ')
        handle.write(json.dumps(FEED_LABELS, ensure_ascii=False, sort_keys=True))
        handle.write(', "items": [\n')
        while rows := cursor.fetchmany(FEED_FETCH_ROWS):
            handle.write((",\n" if written else "") + ",\n".join(row[0] for row in rows))
            written += len(rows)
        handle.write("\n]}\n")
    return written


def _content_files(version_dir: Path) -> list[Path]:
    return sorted(path for path in version_dir.rglob("*") if path.is_file() and path.name != "manifest.json")


def current_version(publish_dir: Path) -> str | None:
    link = publish_dir / "current"
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


LAST_INPUTS = "last_inputs.json"


def record_inputs(publish_dir: Path, version_id: str, inputs_sha256: str) -> None:
    """Remember that runs with the inputs ``inputs_sha256`` publish the content of ``version_id``."""
    path = publish_dir / LAST_INPUTS
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    _write_json(temporary, {"inputs_sha256": inputs_sha256, "version": version_id})
    os.replace(temporary, path)


def version_for_inputs(publish_dir: Path, inputs_sha256: str) -> str | None:
    """The current version if the last publish had exactly these inputs, else ``None``.

    After a rollback, ``current`` names another version than the record, so nothing is reused.
    """
    path = publish_dir / LAST_INPUTS
    current = current_version(publish_dir)
    if current is None or not path.exists():
        return None
    recorded = json.loads(path.read_text(encoding="utf-8"))
    if recorded.get("inputs_sha256") == inputs_sha256 and recorded.get("version") == current:
        return current
    return None


def read_manifest(publish_dir: Path, version_id: str) -> dict[str, Any]:
    return json.loads((publish_dir / "versions" / version_id / "manifest.json").read_text(encoding="utf-8"))


def switch_current(publish_dir: Path, version_id: str, *, action: str = "publish", run_id: str | None = None) -> None:
    """Point ``current`` at ``versions/<version_id>`` with one atomic rename and log the switch.

    ``action`` is ``publish`` for a pipeline run and ``rollback`` for ``huiju publish rollback``.
    A lock file serialises switches, so the log lists them in the order they happened.
    """
    target = publish_dir / "versions" / version_id
    if not (target / "manifest.json").exists():
        raise PublishError(f"version {version_id} has no manifest.json in {target}, so it cannot become current")
    with _switch_lock(publish_dir):
        previous = current_version(publish_dir)
        temporary = publish_dir / f".current.tmp-{os.getpid()}"
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()
        os.symlink(Path("versions") / version_id, temporary)
        os.replace(temporary, publish_dir / "current")
        entry = {"at": datetime.now(UTC).isoformat(), "action": action, "version": version_id,
                 "previous": previous, "run_id": run_id}
        with open(publish_dir / PUBLICATIONS_LOG, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
    logger.info("Current version is now %s (%s, was %s)", version_id, action, previous)


@contextmanager
def _switch_lock(publish_dir: Path) -> Iterator[None]:
    with open(publish_dir / ".switch.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publications(publish_dir: Path) -> list[dict[str, Any]]:
    """Return every switch of ``current``, oldest first, from ``publications.jsonl``."""
    path = publish_dir / PUBLICATIONS_LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def list_versions(publish_dir: Path) -> list[dict[str, Any]]:
    """Return the manifest of every published version, oldest first."""
    versions_dir = publish_dir / "versions"
    if not versions_dir.exists():
        return []
    manifests = [
        json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        for path in versions_dir.iterdir()
        if not path.name.startswith(".") and (path / "manifest.json").exists()
    ]
    return sorted(manifests, key=lambda manifest: (manifest["created_at"], manifest["version"]))


def rollback(publish_dir: Path, version_id: str | None = None) -> tuple[str | None, str]:
    """Make an earlier version current; return the versions before and after.

    Without ``version_id`` the target is the version written just before the current one.
    """
    current = current_version(publish_dir)
    known = [manifest["version"] for manifest in list_versions(publish_dir)]
    if version_id is None:
        if current is None:
            raise PublishError(f"no current version in {publish_dir}, so there is nothing to roll back")
        position = known.index(current) if current in known else len(known)
        if position == 0:
            raise PublishError(f"current version {current} is the oldest in {publish_dir / 'versions'}; "
                               "there is no earlier version to roll back to")
        version_id = known[position - 1]
    elif version_id not in known:
        recent = ", ".join(known[-5:]) or "none"
        raise PublishError(f"version {version_id} not found in {publish_dir / 'versions'}; recent versions: {recent}")
    if version_id == current:
        raise PublishError(f"version {version_id} is already current")
    switch_current(publish_dir, version_id, action="rollback")
    return current, version_id


def write_version(
    *,
    publish_dir: Path,
    candidate_dir: Path,
    audit: AuditResult,
    run_id: str,
    created_at: datetime,
    sources: dict[str, dict[str, Any]],
) -> tuple[str, dict[str, Any], bool]:
    """Write a new immutable version from audited candidates; return its id, manifest and False.

    The version is assembled in a hidden directory and renamed into ``versions/`` only when
    complete, and ``current`` is not touched here. When the content equals that of the current
    version, nothing is added, and the current version's id and manifest are returned with True.
    """
    versions_dir = publish_dir / "versions"
    versions_dir.mkdir(parents=True, exist_ok=True)
    staging = versions_dir / f".staging-{run_id}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()

    themes = composition_report.theme_results(candidate_dir)
    blocked_themes = sorted(theme_id for theme_id, result in themes.items() if result["result"] == "block")
    with duckdb.connect() as connection:
        connection.register("decisions", _decision_table(audit.decisions))
        connection.register("blocked_themes", pa.table({"theme_id": pa.array(blocked_themes, pa.string())}))
        _write_marts(connection, candidate_dir, staging / "marts")
        _write_quarantine(connection, candidate_dir, staging)
        _write_merges(connection, candidate_dir, staging)
        content_quarantined = _write_content_dispositions(connection, candidate_dir, staging)
        published_items = _write_feed(connection, staging)
        mart_rows = {
            path.stem: connection.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0]
            for path in sorted((staging / "marts").glob("*.parquet"))
        }
        quarantined_rows = connection.execute(
            f"select count(*) from read_parquet('{staging / 'quarantine.parquet'}')"
        ).fetchone()[0]
    _write_json(staging / "audit.json", {**audit.to_dict(), "themes": themes})
    composition_report.write_composition_report(candidate_dir, themes, staging)
    exchange.write_exchange_files(staging)
    portal_feed.write_portal_feed(staging)

    files = {str(path.relative_to(staging)): _sha256_file(path) for path in _content_files(staging)}
    content_digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()
    current = current_version(publish_dir)
    if current is not None:
        current_manifest = json.loads((versions_dir / current / "manifest.json").read_text(encoding="utf-8"))
        if current_manifest["content_sha256"] == content_digest:
            shutil.rmtree(staging)
            logger.info("Content of run %s equals current version %s; no new version written", run_id, current)
            return current, current_manifest, True
    version_id = f"v{created_at:%Y%m%dT%H%M%SZ}-{content_digest[:8]}"
    manifest = {
        "version": version_id,
        "run_id": run_id,
        "created_at": created_at.isoformat(),
        "content_sha256": content_digest,
        "files": files,
        "row_counts": {**mart_rows, "feed_items": published_items, "quarantine_rows": quarantined_rows,
                       "content_quarantine_rows": content_quarantined},
        "sources": sources,
        "gates": [asdict(gate) for gate in audit.gates],
    }
    _write_json(staging / "manifest.json", manifest)

    final = versions_dir / version_id
    if final.exists():
        raise PublishError(f"version {version_id} already exists in {versions_dir}")
    os.rename(staging, final)
    logger.info("Wrote version %s with %d service items", version_id, published_items)
    return version_id, manifest, False


def write_rejection(publish_dir: Path, run_id: str, audit: AuditResult) -> Path:
    """Record a blocked batch's audit result and decisions; ``current`` stays as it was."""
    target = publish_dir / "rejected" / run_id
    target.mkdir(parents=True, exist_ok=True)
    _write_json(target / "audit.json", audit.to_dict())
    _write_json(target / "decisions.json", [asdict(decision) for decision in audit.decisions])
    return target
