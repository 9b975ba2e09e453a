"""The result type of the connectors and the request helper they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.http import HttpClient, HttpResponse
from connectors.registry import SourceBase


@dataclass(frozen=True)
class FetchedPage:
    """One fetched response of a source, ready to be landed.

    ``page_number`` is the 1-based position of the response in fetch order, whatever page
    numbering the API uses. ``encoding`` is the codec that the body was decoded with, and
    ``record_count`` the number of records it contains, or ``None`` where it was not counted.
    """

    response: HttpResponse
    page_number: int
    encoding: str
    record_count: int | None


def get_source_url(client: HttpClient, source: SourceBase, params: Mapping[str, Any] | None = None) -> HttpResponse:
    """GET the source's URL with the timeout, retry and size settings of the source."""
    return client.get(
        source.url,
        source_id=source.id,
        params=params,
        timeout_seconds=source.timeout_seconds,
        max_retries=source.max_retries,
        backoff_seconds=source.backoff_seconds,
        max_response_bytes=source.max_response_bytes,
    )
