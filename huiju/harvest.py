"""Fetch one registered source, skip what is unchanged, and store the rest in the landing store.

A source fetches its whole catalog, page by page, with conditional requests. A JSON API with
``updated_since`` in the registry fetches only the records changed since the server time of
its last committed fetch, and its whole catalog again every ``full_refresh_hours``.
"""

from __future__ import annotations

import email.utils
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors import csv_export, feeds, json_api, xml_export
from connectors.fetching import FetchedPageSummary, PageValidators
from connectors.http import header_value
from huiju.landing import UPDATED_SINCE, Landing, LandingWriter
from huiju.runs import utc_now
from huiju.state import SourceState, page_key, page_url

logger = logging.getLogger(__name__)

_SINGLE_BODY_FETCHERS = {
    "csv_export": csv_export.fetch_export,
    "xml_export": xml_export.fetch_export,
    "rss_feed": feeds.fetch_feed,
    "atom_feed": feeds.fetch_feed,
}


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
    """Result of fetching one source: a landing to load, or unchanged content.

    ``cursor`` is the server time at the start of the fetch for sources with an updated-since
    cursor, and ``is_full_fetch`` whether the whole catalog was requested.
    """

    source_id: str
    landing: Landing | None
    is_unchanged: bool
    pages: int
    bytes: int
    record_count: int | None
    warnings: list[str] = field(default_factory=list)
    cursor: str | None = None
    is_full_fetch: bool = True


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


def updated_since_value(source: Any, state: SourceState, now: datetime) -> str | None:
    """Return the updated-since time to fetch ``source`` with, or ``None`` for a full fetch.

    A full fetch is due when the source has no updated-since option, no committed cursor, or
    no full fetch within ``full_refresh_hours``, because only a full fetch shows withdrawals.
    """
    options = getattr(source, "updated_since", None)
    if options is None or state.cursor is None or state.last_full_fetch_at is None or state.last_good_run_id is None:
        return None
    hours_since_full_fetch = (now - datetime.fromisoformat(state.last_full_fetch_at)).total_seconds() / 3600
    if hours_since_full_fetch >= options.full_refresh_hours:
        return None
    return state.cursor


def format_updated_since(moment: str, time_format: str) -> str:
    """Write an ISO 8601 time as the query value that the API expects."""
    parsed = datetime.fromisoformat(moment)
    if time_format == "epoch_seconds":
        return str(int(parsed.timestamp()))
    if time_format == "epoch_millis":
        return str(int(parsed.timestamp() * 1000))
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def server_time(response: Any, source_id: str) -> str:
    """Return the server's clock at ``response`` as ISO 8601, from its ``Date`` header.

    Using the server's clock keeps a slow or skewed local clock from skipping changes. Without
    a valid ``Date`` header the local fetch time is used, and a warning is logged.
    """
    date = header_value(response.headers, "Date")
    if date:
        try:
            return email.utils.parsedate_to_datetime(date).astimezone(UTC).isoformat()
        except (TypeError, ValueError):
            pass
    logger.warning("Source %s: response of %s has no valid Date header (%r); the updated-since cursor "
                   "uses the local clock", source_id, response.request_url, date)
    return response.fetched_at.astimezone(UTC).isoformat()


def fetch_source_pages(client: Any, source: Any, state: SourceState, updated_since: str | None = None) -> list[Any]:
    """Fetch every page of ``source`` into memory, in order, conditionally where state allows.

    Pages of the last good load are requested with their ``ETag`` and ``Last-Modified``. A
    304 response comes back as a ``not_modified`` page with no body. With ``updated_since``,
    a JSON API is asked only for the records changed since then. That request carries
    ``If-Modified-Since``, and a 304 answer stands for an empty change list.
    """
    if updated_since is not None:
        options = source.updated_since
        filters = {options.param: format_updated_since(updated_since, options.time_format)}
        # Last-Modified has whole seconds, so a change in the cursor's own second would look older
        # than the cursor. Asking from one second earlier costs at most a repeated record.
        since = datetime.fromisoformat(updated_since) - timedelta(seconds=1)
        if_modified_since = email.utils.format_datetime(since.astimezone(UTC), usegmt=True)
        return list(json_api.fetch_pages(client, source, filter_params=filters, if_modified_since=if_modified_since))

    validators = {}
    previous_pages = {}
    for key, page in state.pages.items():
        if page.summary is not None and (page.etag or page.last_modified):
            url = page_url(source.base_url, key)
            validators[url] = PageValidators(etag=page.etag, last_modified=page.last_modified)
            previous_pages[url] = FetchedPageSummary.from_dict(page.summary)
    if source.format == "json_api":
        return list(json_api.fetch_pages(client, source, validators, previous_pages))
    if source.format in _SINGLE_BODY_FETCHERS:
        return [_SINGLE_BODY_FETCHERS[source.format](client, source, validators, previous_pages)]
    raise ValueError(f"source {source.id}: no connector for format {source.format!r}")


def harvest_source(
    client: Any, source: Any, landing_dir: Path, run_id: str, state: SourceState, now: datetime | None = None
) -> FetchOutcome:
    """Fetch ``source``; land its pages unless nothing changed since the last good load.

    A full fetch is unchanged when every page equals the last good load. An updated-since
    fetch is unchanged when it lists no records. A source fails as a whole: nothing of an
    incomplete fetch is landed.
    """
    updated_since = updated_since_value(source, state, now or utc_now())
    pages = fetch_source_pages(client, source, state, updated_since)
    byte_count = sum(len(page.response.body) for page in pages)
    record_counts = [page.record_count for page in pages]
    record_count = None if any(count is None for count in record_counts) else sum(record_counts)
    cursor = server_time(pages[0].response, source.id) if getattr(source, "updated_since", None) else None
    is_full_fetch = updated_since is None

    if not is_full_fetch:
        if not record_count:
            logger.info("Source %s unchanged: no records updated since %s", source.id, updated_since)
            return FetchOutcome(source.id, None, True, len(pages), byte_count, 0, cursor=cursor, is_full_fetch=False)
        writer = LandingWriter(
            landing_dir, source.id, source.format, run_id,
            mode=UPDATED_SINCE, base_run_id=state.last_good_run_id, updated_since=updated_since, cursor=cursor,
        )
        landing = _land_pages(writer, pages, state, source)
        logger.info("Landed source %s: %d records updated since %s in %d pages, %d bytes",
                    source.id, record_count, updated_since, len(pages), byte_count)
        return FetchOutcome(source.id, landing, False, len(pages), byte_count, record_count,
                            cursor=cursor, is_full_fetch=False)

    # A page is unchanged when the server returned 304 or sent the body of the last good load.
    previous = [(key, page.sha256) for key, page in state.pages.items()]
    current = [
        (_page_key(source, page), state.pages[_page_key(source, page)].sha256 if page.not_modified
         else page.response.sha256)
        for page in pages
    ]
    if previous and previous == current:
        not_modified = sum(page.not_modified for page in pages)
        logger.info("Source %s unchanged: %d pages (%d returned 304), %d body bytes transferred",
                    source.id, len(pages), not_modified, byte_count)
        return FetchOutcome(source.id, None, True, len(pages), byte_count, record_count, cursor=cursor)

    writer = LandingWriter(landing_dir, source.id, source.format, run_id, cursor=cursor)
    landing = _land_pages(writer, pages, state, source)
    logger.info("Landed source %s: %d pages, %d bytes", source.id, len(landing.pages), byte_count)
    return FetchOutcome(source.id, landing, False, len(pages), byte_count, record_count, cursor=cursor)


def _page_key(source: Any, page: Any) -> str:
    return page_key(source.base_url, page.response.request_url)


def _land_pages(writer: LandingWriter, pages: list[Any], state: SourceState, source: Any) -> Landing:
    """Store every fetched page and commit the landing."""
    for page in pages:
        response = page.response
        body, sha256, reused_from = response.body, response.sha256, None
        if page.not_modified:
            previous = state.pages[_page_key(source, page)]
            reused_from = previous.landing_file
            body = Path(reused_from).read_bytes()
            sha256 = previous.sha256
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
    return writer.commit()


def describe_failure(source_id: str, error: BaseException) -> HarvestFailure:
    """Turn an exception into the stage, URL, status and reason of the run record."""
    return HarvestFailure(
        source_id=source_id,
        stage=getattr(error, "stage", "harvest"),
        url=getattr(error, "url", None),
        status_code=getattr(error, "status_code", None),
        reason=f"{type(error).__name__}: {error}",
    )
