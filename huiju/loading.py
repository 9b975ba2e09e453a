"""Checks and state bookkeeping around the raw load of one source.

Loading checks each changed source before its raw rows are replaced. A catalog that shrinks by
more than ``max_shrink_share`` since the last good load, or that lacks a required field, is
blocked. Its last good rows then stay in the warehouse and are published as stale. The state of
a source advances only after its load has committed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import duckdb

from connectors.http import header_value
from huiju.landing import FULL, UPDATED_SINCE, Landing
from huiju.runs import utc_now
from huiju.state import PageState, SourceState, StateStore, page_key
from huiju.warehouse import RECORD_TABLES

DEFAULT_MAX_SHRINK_SHARE = 0.2

# Fields without which a record cannot be published; a source whose records lack one is blocked.
REQUIRED_FIELDS = {
    "json_api": ("task_name", "task_code", "link_addr"),
    "xml_export": ("task_name", "task_code", "link_addr"),
    "csv_export": ("事项名称", "实施编码", "在线办理地址"),
    "rss_feed": ("title", "link"),
    "atom_feed": ("title", "link"),
}


class SourceBlockedError(RuntimeError):
    """A dataset-level check rejected this run's data of one source."""

    def __init__(self, message: str, *, stage: str):
        super().__init__(message)
        self.stage = stage


class LoadCheck:
    """Dataset-level checks of one source, run inside its load transaction before it commits.

    Calling it raises ``SourceBlockedError`` for a shrink beyond the source's limit or a missing
    required field. It adds a warning for each field that is new or no longer sent since the last
    good load, and keeps the field names of this load in ``fields``.

    For an updated-since landing only the records it brought are checked for fields, a field
    missing from them is not reported as dropped, and no shrink is possible.
    """

    def __init__(self, source: Any, state: SourceState, landing: Landing | None = None):
        self.source = source
        self.state = state
        self.run_id = landing.run_id if landing is not None and landing.mode == UPDATED_SINCE else None
        self.warnings: list[str] = []
        self.fields: list[str] = []

    def __call__(self, connection: duckdb.DuckDBPyConnection, record_count: int) -> None:
        source, state = self.source, self.state
        max_shrink = getattr(source, "max_shrink_share", DEFAULT_MAX_SHRINK_SHARE)
        required = REQUIRED_FIELDS.get(source.format, ())
        table = RECORD_TABLES[source.format]
        if state.record_count and self.run_id is None:
            shrink = 1 - record_count / state.record_count
            if shrink > max_shrink:
                raise SourceBlockedError(
                    f"source {source.id}: catalog shrank from {state.record_count} to {record_count} records "
                    f"({shrink:.0%}, limit {max_shrink:.0%}); the last good data is kept. If the shrink is real, "
                    f"raise max_shrink_share for this source in the registry for one run",
                    stage="circuit_breaker",
                )
        run_filter, parameters = ("and run_id = ?", [source.id, self.run_id]) if self.run_id else ("", [source.id])
        fields = sorted(
            row[0]
            for row in connection.execute(
                f"select distinct unnest(json_keys(record)) from {table} where source_id = ? {run_filter}", parameters
            ).fetchall()
        )
        missing = [name for name in required if name not in fields]
        if missing and record_count:
            renamed = sorted(set(fields) - set(state.fields)) if state.fields else []
            hint = f"; new fields {renamed} may be their new names" if renamed else ""
            raise SourceBlockedError(
                f"source {source.id}: records lack the required fields {missing}{hint}; the last good data is kept",
                stage="schema",
            )
        self._check_record_key(connection, table, run_filter, parameters, fields)
        if state.fields:
            added = sorted(set(fields) - set(state.fields))
            dropped = sorted(set(state.fields) - set(fields)) if self.run_id is None else []
            if added:
                self.warnings.append(f"source {source.id}: new fields {added}")
            if dropped:
                self.warnings.append(f"source {source.id}: fields no longer sent {dropped}")
        self.fields = fields if self.run_id is None else sorted(set(state.fields) | set(fields))

    def _check_record_key(
        self, connection: duckdb.DuckDBPyConnection, table: str, run_filter: str, parameters: list[Any],
        fields: list[str],
    ) -> None:
        """Block a source whose records all lack ``updated_since.record_key``; warn when some do.

        Merges replace rows by that key, so a key that no record has would add every updated
        record again instead of replacing it. Full loads are checked too, so that a misspelt key
        is reported on the first run, before any merge.
        """
        options = getattr(self.source, "updated_since", None)
        if options is None:
            return
        total, without_key = connection.execute(
            f"""
            select count(*), count(*) filter (where json_extract_string(record, '$.' || ?) is null)
            from {table} where source_id = ? {run_filter}
            """,
            [options.record_key, *parameters],
        ).fetchone()
        if total and without_key == total:
            raise SourceBlockedError(
                f"source {self.source.id}: no record has the field {options.record_key!r} that "
                f"updated_since.record_key names; the records have {fields}. Fix record_key in the registry",
                stage="schema",
            )
        if without_key:
            self.warnings.append(
                f"source {self.source.id}: {without_key} of {total} records lack the record key "
                f"{options.record_key!r}; updates of them are added, not merged, until the next full fetch"
            )


def unchanged_page_numbers(
    connection: duckdb.DuckDBPyConnection, source: Any, landing: Landing, state: SourceState
) -> list[int]:
    """Return the page numbers of ``landing`` whose rows the raw table already contains.

    A page qualifies when its page key and body hash equal those of the last good load. This is
    true only while the raw table contains exactly that load. After a replay of another run or
    an updated-since load, the whole source is loaded again.
    """
    if landing.source_format != "json_api" or landing.mode != FULL or not state.pages:
        return []
    loaded = [
        (page_key(source.base_url, url), sha256, number)
        for url, sha256, number in connection.execute(
            "select request_url, sha256, page_number from raw.landing_files where source_id = ?", [landing.source_id]
        ).fetchall()
    ]
    expected = {(key, page.sha256) for key, page in state.pages.items()}
    if {(key, sha256) for key, sha256, _ in loaded} != expected or len(loaded) != len(expected):
        return []
    loaded_numbers = {(key, sha256): number for key, sha256, number in loaded}
    return [
        page.page_number
        for page in landing.pages
        if loaded_numbers.get((page_key(source.base_url, page.request_url), page.sha256)) == page.page_number
    ]


def advance_state(
    store: StateStore, state: SourceState, source: Any, landing: Landing, record_count: int, fields: list[str]
) -> None:
    """Record a committed load as the source's last good state.

    After an updated-since load the page validators are dropped, because the raw rows no
    longer equal any one set of pages: the next full fetch then transfers and loads every page.
    """
    state.last_good_run_id = landing.run_id
    state.last_good_at = utc_now().isoformat()
    state.record_count = record_count
    state.fields = fields
    if landing.cursor is not None:
        state.cursor = landing.cursor
    if landing.mode == UPDATED_SINCE:
        state.snapshot = hashlib.sha256(((state.snapshot_id() or "") + landing.snapshot_id).encode("ascii")).hexdigest()
        state.pages = {}
        store.save(state)
        return

    state.snapshot = landing.snapshot_id
    state.last_full_fetch_at = landing.pages[0].fetched_at if landing.pages else utc_now().isoformat()
    pages = {}
    for page in landing.pages:
        key = page_key(source.base_url, page.request_url)
        previous = state.pages.get(key)
        pages[key] = PageState(
            request_url=page.request_url,
            sha256=page.sha256,
            landing_file=str(page.body_path),
            record_count=page.record_count,
            etag=header_value(page.headers, "ETag") or (previous.etag if previous else None),
            last_modified=header_value(page.headers, "Last-Modified") or (previous.last_modified if previous else None),
            summary=page.summary,
        )
    state.pages = pages
    store.save(state)


def advance_cursor(store: StateStore, state: SourceState, cursor: str | None, is_full_fetch: bool) -> None:
    """Record the cursor of a fetch that found nothing to load.

    Nothing needs committing first, because the warehouse already contains everything the server
    had at ``cursor``.
    """
    if cursor is None or state.last_good_run_id is None:
        return
    state.cursor = cursor
    if is_full_fetch:
        state.last_full_fetch_at = utc_now().isoformat()
    store.save(state)
