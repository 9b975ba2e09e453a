"""Probe registered sources: reachability, format, record count and the last error."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from connectors import csv_export, feeds, json_api, xml_export
from connectors.errors import ConnectorError
from connectors.http import HttpClient
from huiju.harvest import resolve_credential_headers
from huiju.politeness import HostLimiter, PoliteClient


@dataclass
class ProbeResult:
    source_id: str
    source_format: str
    url: str
    is_reachable: bool
    record_count: int | None
    elapsed_seconds: float
    error: str | None
    last_run_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe_source(client: Any, source: Any) -> ProbeResult:
    """Fetch the first page (JSON APIs) or the whole export of ``source`` once, without retries.

    The record count is the source's reported total where it sends one, else the records counted.
    """
    started = time.monotonic()
    try:
        if source.format == "json_api":
            pages = json_api.fetch_pages(client, source)
            try:
                page = next(pages)
            finally:
                pages.close()
        elif source.format == "csv_export":
            page = csv_export.fetch_export(client, source)
        elif source.format == "xml_export":
            page = xml_export.fetch_export(client, source)
        else:
            page = feeds.fetch_feed(client, source)
    except (ConnectorError, RuntimeError) as error:
        return ProbeResult(source.id, source.format, source.url, False, None,
                           round(time.monotonic() - started, 3), f"{type(error).__name__}: {error}")
    count = page.total if page.total is not None else page.record_count
    return ProbeResult(source.id, source.format, source.url, True, count, round(time.monotonic() - started, 3), None)


def probe_sources(registry: Any) -> list[ProbeResult]:
    """Probe every source of ``registry`` one after another, with one retry-free client each."""
    limiter = HostLimiter.for_sources(registry.sources)
    results = []
    for source in registry.sources:
        try:
            headers = resolve_credential_headers(source)
        except RuntimeError as error:
            results.append(ProbeResult(source.id, source.format, source.url, False, None, 0.0, str(error)))
            continue
        client = PoliteClient(HttpClient(registry.allowed_hosts), limiter, headers, request_overrides={"max_retries": 0})
        try:
            results.append(probe_source(client, source))
        finally:
            client.close()
    return results
