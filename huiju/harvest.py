"""Fetch one registered source, skip what is unchanged, and store the rest in the landing store.

Loading checks each changed source before its raw rows are replaced. A catalog that shrinks by
more than ``max_shrink_share`` since the last good load, or that lacks a required field, is
blocked. Its last good rows then stay in the warehouse and are published as stale.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from connectors import csv_export, feeds, json_api, xml_export
from connectors.fetching import FetchedPageSummary, PageValidators
from connectors.http import header_value
from huiju.landing import Landing, LandingWriter
from huiju.warehouse import RECORD_TABLES
from huiju.runs import utc_now
from huiju.state import PageState, SourceState, StateStore

logger = logging.getLogger(__name__)

DEFAULT_MAX_SHRINK_SHARE = 0.2

# Fields without which a record cannot be published; a source whose records lack one is blocked.
REQUIRED_FIELDS = {
    "json_api": ("task_name", "task_code", "link_addr"),
    "xml_export": ("task_name", "task_code", "link_addr"),
    "csv_export": ("事项名称", "实施编码", "在线办理地址"),
    "rss_feed": ("title", "link"),
    "atom_feed": ("title", "link"),
}

_SINGLE_BODY_FETCHERS = {
    "csv_export": csv_export.fetch_export,
    "xml_export": xml_export.fetch_export,
    "rss_feed": feeds.fetch_feed,
    "atom_feed": feeds.fetch_feed,
}


class SourceBlockedError(RuntimeError):
    """A dataset-level check rejected this run's data of one source."""

    def __init__(self, message: str, *, stage: str):
        super().__init__(message)
        self.stage = stage


@dataclass(frozen=True)
class HarvestFailure:
    """Why a source failed: the stage, the URL and status involved, and the reason."""

    source_id: str
    stage: str
    url: str | None
    status_code: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "url": self.url, "status_code": self.status_code, "reason": self.reason}


@dataclass
class FetchOutcome:
    """Result of fetching one source: a landing to load, or unchanged content."""

    source_id: str
    landing: Landing | None
    is_unchanged: bool
    pages: int
    bytes: int
    record_count: int | None
    warnings: list[str] = field(default_factory=list)


def resolve_credential_headers(source: Any, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the request headers that carry ``source``'s credentials, read at run time.

    A credential names an environment variable or a Prefect Secret block, never a value. Errors
    name the source and the variable or block, never the secret.
    """
    credentials = getattr(source, "credentials", None)
    if credentials is None:
        return {}
    environ = os.environ if environ is None else environ
    if credentials.env:
        value = environ.get(credentials.env)
        if not value:
            raise RuntimeError(
                f"source {source.id}: credential variable {credentials.env} is not set; export it before the run"
            )
    else:
        from prefect.blocks.system import Secret

        try:
            value = Secret.load(credentials.prefect_secret).get()
        except ValueError as error:
            raise RuntimeError(
                f"source {source.id}: Prefect Secret block {credentials.prefect_secret!r} not found"
            ) from error
    return {credentials.header: value}


def fetch_source_pages(client: Any, source: Any, state: SourceState) -> list[Any]:
    """Fetch every page of ``source`` into memory, in order, conditionally where state allows.

    Pages of the last good load are requested with their ``ETag`` and ``Last-Modified``. A
    304 response comes back as a ``not_modified`` page with no body.
    """
    validators = {}
    previous_pages = {}
    for url, page in state.pages.items():
        if page.summary is not None and (page.etag or page.last_modified):
            validators[url] = PageValidators(etag=page.etag, last_modified=page.last_modified)
            previous_pages[url] = FetchedPageSummary.from_dict(page.summary)
    if source.format == "json_api":
        return list(json_api.fetch_pages(client, source, validators, previous_pages))
    if source.format in _SINGLE_BODY_FETCHERS:
        return [_SINGLE_BODY_FETCHERS[source.format](client, source, validators, previous_pages)]
    raise ValueError(f"source {source.id}: no connector for format {source.format!r}")


def harvest_source(client: Any, source: Any, landing_dir: Path, run_id: str, state: SourceState) -> FetchOutcome:
    """Fetch all pages of ``source``; land them unless every page equals the last good load.

    A source fails as a whole: nothing of an incomplete fetch is landed.
    """
    pages = fetch_source_pages(client, source, state)
    byte_count = sum(len(page.response.body) for page in pages)
    record_counts = [page.record_count for page in pages]
    record_count = None if any(count is None for count in record_counts) else sum(record_counts)

    # A page is unchanged when the server returned 304 or sent the body of the last good load.
    previous = [(url, page.sha256) for url, page in state.pages.items()]
    current = [
        (page.response.request_url, state.pages[page.response.request_url].sha256 if page.not_modified
         else page.response.sha256)
        for page in pages
    ]
    if previous and previous == current:
        not_modified = sum(page.not_modified for page in pages)
        logger.info("Source %s unchanged: %d pages (%d returned 304), %d body bytes transferred",
                    source.id, len(pages), not_modified, byte_count)
        return FetchOutcome(source.id, None, True, len(pages), byte_count, record_count)

    writer = LandingWriter(landing_dir, source.id, source.format, run_id)
    for page in pages:
        response = page.response
        body, sha256, reused_from = response.body, response.sha256, None
        if page.not_modified:
            reused_from = state.pages[response.request_url].landing_file
            body = Path(reused_from).read_bytes()
            sha256 = state.pages[response.request_url].sha256
        writer.add_page(
            page_number=page.page_number,
            request_url=response.request_url,
            status_code=response.status_code,
            headers=response.headers,
            body=body,
            fetched_at=response.fetched_at,
            sha256=sha256,
            encoding=page.encoding,
            record_count=page.record_count,
            summary=page.summary().to_dict(),
            reused_from=reused_from,
        )
    landing = writer.commit()
    logger.info("Landed source %s: %d pages, %d bytes", source.id, len(landing.pages), byte_count)
    return FetchOutcome(source.id, landing, False, len(pages), byte_count, record_count)


class LoadCheck:
    """Dataset-level checks of one source, run inside its load transaction before it commits.

    Calling it raises ``SourceBlockedError`` for a shrink beyond the source's limit or a missing
    required field. It adds a warning for each field that is new or no longer sent since the last
    good load, and keeps the field names of this load in ``fields``.
    """

    def __init__(self, source: Any, state: SourceState):
        self.source = source
        self.state = state
        self.warnings: list[str] = []
        self.fields: list[str] = []

    def __call__(self, connection: duckdb.DuckDBPyConnection, record_count: int) -> None:
        source, state = self.source, self.state
        max_shrink = getattr(source, "max_shrink_share", DEFAULT_MAX_SHRINK_SHARE)
        required = REQUIRED_FIELDS.get(source.format, ())
        table = RECORD_TABLES[source.format]
        if state.record_count:
            shrink = 1 - record_count / state.record_count
            if shrink > max_shrink:
                raise SourceBlockedError(
                    f"source {source.id}: catalog shrank from {state.record_count} to {record_count} records "
                    f"({shrink:.0%}, limit {max_shrink:.0%}); the last good data is kept. If the shrink is real, "
                    f"raise max_shrink_share for this source in the registry for one run",
                    stage="circuit_breaker",
                )
        fields = sorted(
            row[0]
            for row in connection.execute(
                f"select distinct unnest(json_keys(record)) from {table} where source_id = ?", [source.id]
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
        if state.fields:
            added = sorted(set(fields) - set(state.fields))
            dropped = sorted(set(state.fields) - set(fields))
            if added:
                self.warnings.append(f"source {source.id}: new fields {added}")
            if dropped:
                self.warnings.append(f"source {source.id}: fields no longer sent {dropped}")
        self.fields = fields


def unchanged_page_numbers(connection: duckdb.DuckDBPyConnection, landing: Landing, state: SourceState) -> list[int]:
    """Return the page numbers of ``landing`` whose rows the raw table already contains.

    A page qualifies when its URL and body hash equal those of the last good load. This is true
    only while the raw table contains exactly that load; after a replay of another run, the
    whole source is loaded again.
    """
    if landing.source_format != "json_api" or not state.pages:
        return []
    loaded = connection.execute(
        "select request_url, sha256, page_number from raw.landing_files where source_id = ?", [landing.source_id]
    ).fetchall()
    expected = {(url, page.sha256) for url, page in state.pages.items()}
    if {(url, sha256) for url, sha256, _ in loaded} != expected or len(loaded) != len(expected):
        return []
    loaded_numbers = {(url, sha256): number for url, sha256, number in loaded}
    return [
        page.page_number
        for page in landing.pages
        if loaded_numbers.get((page.request_url, page.sha256)) == page.page_number
    ]


def advance_state(store: StateStore, state: SourceState, landing: Landing, record_count: int, fields: list[str]) -> None:
    """Record a committed load as the source's last good state."""
    state.last_good_run_id = landing.run_id
    state.last_good_at = utc_now().isoformat()
    state.record_count = record_count
    state.fields = fields
    state.pages = {
        page.request_url: PageState(
            request_url=page.request_url,
            sha256=page.sha256,
            landing_file=str(page.body_path),
            record_count=page.record_count,
            etag=header_value(page.headers, "ETag") or _previous(state, page.request_url, "etag"),
            last_modified=header_value(page.headers, "Last-Modified") or _previous(state, page.request_url, "last_modified"),
            summary=page.summary,
        )
        for page in landing.pages
    }
    store.save(state)


def _previous(state: SourceState, url: str, attribute: str) -> str | None:
    page = state.pages.get(url)
    return getattr(page, attribute) if page is not None else None


def describe_failure(source_id: str, error: BaseException) -> HarvestFailure:
    """Turn an exception into the stage, URL, status and reason of the run record."""
    return HarvestFailure(
        source_id=source_id,
        stage=getattr(error, "stage", "harvest"),
        url=getattr(error, "url", None),
        status_code=getattr(error, "status_code", None),
        reason=f"{type(error).__name__}: {error}",
    )
