"""The result types of the connectors and the request helpers they share.

Conditional requests: a caller that stored the validators (``ETag``, ``Last-Modified``) and the
:class:`FetchedPageSummary` of each page of an earlier fetch passes both back, keyed by request
URL. A page whose URL has both is requested with ``If-None-Match`` for its ETag and
``If-Modified-Since`` for its Last-Modified, where it has them.
A ``304 Not Modified`` page has no body, so the connector takes its record count, total and
next-page hint from the summary instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import requests

from connectors.errors import FetchError
from connectors.http import HttpClient, HttpResponse, header_value
from connectors.registry import SourceBase

NOT_MODIFIED = 304

# A next-page hint is whatever a pagination style needs to request the next page: the next page
# number or offset, the next cursor, or the absolute next link. ``None`` where there is none.
PageHint = int | str | None


@dataclass(frozen=True)
class PageValidators:
    """The ``ETag`` and ``Last-Modified`` values that a server sent with a page, as sent."""

    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def from_response(cls, response: HttpResponse) -> PageValidators:
        """Read the validators from the headers of a 200 or 304 response."""
        return cls(etag=header_value(response.headers, "ETag"), last_modified=header_value(response.headers, "Last-Modified"))

    def is_empty(self) -> bool:
        return self.etag is None and self.last_modified is None

    def request_headers(self) -> dict[str, str]:
        """Return the conditional request headers for these validators."""
        headers: dict[str, str] = {}
        if self.etag is not None:
            headers["If-None-Match"] = self.etag
        if self.last_modified is not None:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class FetchedPageSummary:
    """Counts and next-page hint of an earlier fetch of a page, used when the page comes back as 304.

    ``encoding`` is the codec that the earlier body was decoded with.
    """

    record_count: int | None
    total: int | None
    next_page_hint: PageHint
    is_last_page: bool
    encoding: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable dict that :meth:`from_dict` reads back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FetchedPageSummary:
        """Build a summary from :meth:`to_dict` output. Raise ValueError on a missing or invalid key."""
        try:
            record_count = data["record_count"]
            total = data["total"]
            next_page_hint = data["next_page_hint"]
            is_last_page = data["is_last_page"]
        except KeyError as error:
            raise ValueError(f"page summary {dict(data)!r} has no key {error.args[0]!r}") from None
        encoding = data.get("encoding", "")

        for name, value in (("record_count", record_count), ("total", total)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"page summary field {name!r} must be null or a non-negative integer, got {value!r}")
        if next_page_hint is not None and (isinstance(next_page_hint, bool) or not isinstance(next_page_hint, int | str)):
            raise ValueError(f"page summary field 'next_page_hint' must be null, an integer or a string, got {next_page_hint!r}")
        if not isinstance(is_last_page, bool):
            raise ValueError(f"page summary field 'is_last_page' must be a boolean, got {is_last_page!r}")
        if not isinstance(encoding, str):
            raise ValueError(f"page summary field 'encoding' must be a string, got {encoding!r}")
        return cls(record_count, total, next_page_hint, is_last_page, encoding)


@dataclass(frozen=True)
class FetchedPage:
    """One fetched response of a source, ready to be landed.

    ``page_number`` is the 1-based position of the response in fetch order, whatever page
    numbering the API uses. ``encoding`` is the codec that the body was decoded with, and
    ``record_count`` the number of records it contains, or ``None`` where it was not counted.
    ``total`` is the record count that the source reported for the whole resource, if any.

    A page with ``not_modified`` set is a 304 response with an empty body. Its record count,
    total, encoding and next-page hint are copied from the summary that the caller passed in.
    """

    response: HttpResponse
    page_number: int
    encoding: str
    record_count: int | None
    not_modified: bool = False
    next_page_hint: PageHint = None
    is_last_page: bool = False
    total: int | None = None

    @property
    def validators(self) -> PageValidators:
        """The page's ``ETag`` and ``Last-Modified``, to pass to the next fetch."""
        return PageValidators.from_response(self.response)

    @classmethod
    def not_modified_export(cls, response: HttpResponse, summary: FetchedPageSummary) -> FetchedPage:
        """Build the page of a single-body source (export or feed) whose request returned 304."""
        return cls(
            response=response,
            page_number=1,
            encoding=summary.encoding,
            record_count=summary.record_count,
            not_modified=True,
            is_last_page=True,
            total=summary.total,
        )

    def summary(self) -> FetchedPageSummary:
        """Return what a later fetch needs when this page comes back as 304."""
        return FetchedPageSummary(
            record_count=self.record_count,
            total=self.total,
            next_page_hint=self.next_page_hint,
            is_last_page=self.is_last_page,
            encoding=self.encoding,
        )


def request_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """Return the URL with query that :class:`HttpClient` requests for ``url`` and ``params``.

    Validators and summaries are keyed by this URL.
    """
    try:
        return requests.Request("GET", url, params=params).prepare().url or url
    except (requests.RequestException, ValueError):
        # The client raises the proper FetchError for an invalid URL when it is requested.
        return url


def get_source_url(
    client: HttpClient,
    source: SourceBase,
    params: Mapping[str, Any] | None = None,
    *,
    url: str | None = None,
    validators: Mapping[str, PageValidators] | None = None,
    previous_pages: Mapping[str, FetchedPageSummary] | None = None,
) -> tuple[HttpResponse, FetchedPageSummary | None]:
    """GET the source's URL, or ``url``, with the timeout, retry and size settings of the source.

    The request is conditional when both ``validators`` and ``previous_pages`` have an entry for
    its URL, because a 304 page can only be counted and continued from its summary. Returns the
    response and, when the response is a 304, the summary that replaces its body.

    Raises:
        FetchError: the server sent 304 to a request that was not conditional.
        ConnectorError: any error of the HTTP client.
    """
    target = request_url(url or source.url, params)
    page_validators = (validators or {}).get(target)
    summary = (previous_pages or {}).get(target)
    headers: dict[str, str] = {}
    if page_validators is not None and summary is not None:
        headers = page_validators.request_headers()

    response = client.get(
        target,
        source_id=source.id,
        headers=headers,
        timeout_seconds=source.timeout_seconds,
        max_retries=source.max_retries,
        backoff_seconds=source.backoff_seconds,
        max_response_bytes=source.max_response_bytes,
    )
    if response.status_code != NOT_MODIFIED:
        return response, None
    if not headers or summary is None:
        raise FetchError(
            f"Source {source.id}: {target} returned 304 Not Modified to a request without validators",
            source_id=source.id,
            url=target,
        )
    return response, summary
