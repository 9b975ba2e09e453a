"""Connector for paginated JSON APIs, in one of four pagination styles.

:func:`fetch_pages` requests page after page in the source's ``pagination`` style (see
:class:`~connectors.registry.JsonApiSource`) and yields every response. Page-number and
offset styles stop after a page with fewer records than ``page_size`` or once the reported total
is reached. Cursor and next-link styles stop when the next cursor or link is empty or null.
Guards end a loop that would otherwise run forever, each with :class:`PaginationError`: a page
whose body is byte-identical to an earlier page, a cursor or next link that was already
requested, and more than ``max_pages`` pages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from connectors.decoding import decode_body
from connectors.errors import PaginationError, RecordCountMismatchError, ResponseFormatError
from connectors.fetching import (
    FetchedPage,
    FetchedPageSummary,
    PageHint,
    PageValidators,
    get_source_url,
    request_url,
)
from connectors.http import HttpClient, HttpResponse
from connectors.registry import JsonApiSource

__all__ = ["PaginationError", "RecordCountMismatchError", "ResponseFormatError", "extract_page", "fetch_pages"]

logger = logging.getLogger(__name__)

# Summary used for a 304 to a conditional change-list request: no records and no further page.
EMPTY_LAST_PAGE = FetchedPageSummary(record_count=0, total=0, next_page_hint=None, is_last_page=True, encoding="utf-8")


@dataclass(frozen=True)
class _PageRequest:
    """The URL and query parameters of the next page, and the cursor or link that identifies it."""

    url: str
    params: dict[str, Any]
    token: str | None = None


def fetch_pages(
    client: HttpClient,
    source: JsonApiSource,
    validators: Mapping[str, PageValidators] | None = None,
    previous_pages: Mapping[str, FetchedPageSummary] | None = None,
    filter_params: Mapping[str, str] | None = None,
    if_modified_since: str | None = None,
) -> Iterator[FetchedPage]:
    """Fetch every page of ``source`` and yield each one as it arrives.

    ``filter_params`` are query parameters added to every request, such as the updated-since
    time. Next links are followed as the server sends them, so they must carry the filter.
    ``if_modified_since`` (an HTTP date) makes the first request conditional. A 304 answer then
    yields one ``not_modified`` page that counts as an empty, last page.

    ``validators`` and ``previous_pages`` are keyed by request URL, as ``request_url`` of an
    earlier 200 response reports it. A page with an entry in both is requested conditionally,
    and a 304 response yields a ``not_modified`` page whose counts and next-page hint come from
    its summary. The count check runs after the last page, so the caller must exhaust the
    iterator to learn that the pages are complete.

    Raises:
        PaginationError: a page repeats an earlier page, a cursor or next link repeats, more
            than ``max_pages`` pages would be needed, or the reported total changes between pages.
        RecordCountMismatchError: the records fetched differ in number from the reported total.
        ResponseFormatError: a page is not JSON or lacks ``records_path``, ``total_path`` or a
            valid next cursor or link.
        ConnectorError: any error of the HTTP client or the decoder.
    """
    first_page_seen_with_hash: dict[str, int] = {}
    first_page_seen_with_token: dict[str, int] = {}
    expected_total: int | None = None
    received = 0
    page_number = 0
    filters = dict(filter_params or {})
    next_request: _PageRequest | None = _with_filters(_first_request(source), filters)
    if if_modified_since is not None:
        first_url = request_url(next_request.url, next_request.params)
        validators = {first_url: PageValidators(last_modified=if_modified_since)}
        previous_pages = {first_url: EMPTY_LAST_PAGE}

    while next_request is not None:
        page_number += 1
        if page_number > source.max_pages:
            raise PaginationError(
                f"Source {source.id}: stopped at {source.max_pages} pages (max_pages) before the last page of "
                f"{source.url}; raise max_pages if the source really has more pages",
                source_id=source.id,
                url=source.url,
                page_number=page_number,
            )
        _check_token_not_repeated(next_request, page_number, first_page_seen_with_token, source)

        response, summary = get_source_url(
            client,
            source,
            next_request.params,
            url=next_request.url,
            validators=validators,
            previous_pages=previous_pages,
        )
        if summary is None:
            _check_body_not_repeated(response, page_number, first_page_seen_with_hash, source)
            decoded_encoding, records, total, next_hint = extract_page(response, source)
            record_count = len(records)
            is_last_page = _is_last_page(source, record_count, next_hint, received + record_count, total)
        else:
            decoded_encoding = summary.encoding
            record_count = summary.record_count or 0
            total = summary.total
            next_hint = summary.next_page_hint
            is_last_page = summary.is_last_page

        if total is not None:
            if expected_total is not None and total != expected_total:
                raise PaginationError(
                    f"Source {source.id}: total changed from {expected_total} to {total} at page {page_number} "
                    f"({response.request_url}); the data changed during the fetch, so run it again",
                    source_id=source.id,
                    url=response.request_url,
                    page_number=page_number,
                )
            expected_total = total

        received += record_count
        logger.debug(
            "Source %s: page %d has %d records (%d so far)%s",
            source.id, page_number, record_count, received, "; not modified" if summary is not None else "",
        )
        yield FetchedPage(
            response=response,
            page_number=page_number,
            encoding=decoded_encoding,
            record_count=record_count,
            not_modified=summary is not None,
            next_page_hint=next_hint,
            is_last_page=is_last_page,
            total=total,
        )

        if is_last_page:
            next_request = None
        elif source.pagination == "next_link":
            next_request = _next_request(source, next_hint, received, page_number, response)
        else:
            next_request = _with_filters(_next_request(source, next_hint, received, page_number, response), filters)

    if expected_total is not None and received != expected_total:
        raise RecordCountMismatchError(
            f"Source {source.id}: fetched {received} records in {page_number} pages from {source.url}, "
            f"but the API reported a total of {expected_total}",
            source_id=source.id,
            url=source.url,
            page_number=page_number,
            expected=expected_total,
            received=received,
        )
    logger.info("Source %s: fetched %d records in %d pages", source.id, received, page_number)


def _with_filters(request: _PageRequest, filters: Mapping[str, str]) -> _PageRequest:
    if not filters:
        return request
    return _PageRequest(request.url, {**request.params, **filters}, request.token)


def _first_request(source: JsonApiSource) -> _PageRequest:
    if source.pagination == "page_number":
        return _PageRequest(source.url, {source.page_param: source.first_page, source.size_param: source.page_size})
    if source.pagination == "offset_limit":
        return _PageRequest(source.url, {source.offset_param: 0, source.limit_param: source.page_size})
    if source.pagination == "cursor":
        return _PageRequest(source.url, {source.limit_param: source.page_size})
    return _PageRequest(source.url, {source.size_param: source.page_size})


def _next_request(
    source: JsonApiSource, next_hint: PageHint, received: int, page_number: int, response: HttpResponse
) -> _PageRequest:
    """Build the request of the page after a page that is not the last one."""
    if source.pagination == "page_number":
        return _PageRequest(
            source.url, {source.page_param: source.first_page + page_number, source.size_param: source.page_size}
        )
    if source.pagination == "offset_limit":
        return _PageRequest(source.url, {source.offset_param: received, source.limit_param: source.page_size})
    if source.pagination == "cursor":
        cursor = str(next_hint)
        return _PageRequest(source.url, {source.cursor_param: cursor, source.limit_param: source.page_size}, cursor)
    link = str(next_hint)
    return _PageRequest(link, {}, link)


def _is_last_page(
    source: JsonApiSource, record_count: int, next_hint: PageHint, received: int, total: int | None
) -> bool:
    if source.pagination in ("cursor", "next_link"):
        return next_hint is None
    is_short_page = record_count < source.page_size
    is_total_reached = total is not None and received >= total
    return is_short_page or is_total_reached


def _check_token_not_repeated(
    request: _PageRequest, page_number: int, first_page_seen_with_token: dict[str, int], source: JsonApiSource
) -> None:
    if request.token is None:
        return
    earlier_page = first_page_seen_with_token.get(request.token)
    if earlier_page is not None:
        kind = "cursor" if source.pagination == "cursor" else "next link"
        raise PaginationError(
            f"Source {source.id}: page {page_number - 1} names {kind} {request.token!r} again, which page "
            f"{earlier_page} was requested with; the API is stuck on one page",
            source_id=source.id,
            url=request.url,
            page_number=page_number,
        )
    first_page_seen_with_token[request.token] = page_number


def _check_body_not_repeated(
    response: HttpResponse, page_number: int, first_page_seen_with_hash: dict[str, int], source: JsonApiSource
) -> None:
    earlier_page = first_page_seen_with_hash.get(response.sha256)
    if earlier_page is not None:
        ignored = {
            "page_number": source.page_param,
            "offset_limit": source.offset_param,
            "cursor": source.cursor_param,
            "next_link": "the next link",
        }[source.pagination]
        raise PaginationError(
            f"Source {source.id}: page {page_number} ({response.request_url}) has the same body as page "
            f"{earlier_page}; the API probably ignores {ignored!r}",
            source_id=source.id,
            url=response.request_url,
            page_number=page_number,
        )
    first_page_seen_with_hash[response.sha256] = page_number


def extract_page(response: HttpResponse, source: JsonApiSource) -> tuple[str, list[Any], int | None, PageHint]:
    """Decode one page and return the encoding used, its records, the reported total and the next-page hint.

    The total is ``None`` when the source sets no ``total_path``. The hint is the next page
    number or offset for those styles, the next cursor, or the next link resolved against the
    page's URL, and ``None`` where the page marks itself as the last.

    Raises:
        DecodeError: the body is not text.
        ResponseFormatError: the body is not JSON, or a path is missing or has the wrong type.
    """
    decoded = decode_body(
        response.body, content_type=response.content_type, source_id=source.id, url=response.request_url
    )
    try:
        envelope = json.loads(decoded.text)
    except json.JSONDecodeError as error:
        raise ResponseFormatError(
            f"Source {source.id}: body of {response.request_url} is not valid JSON ({error})",
            source_id=source.id,
            url=response.request_url,
        ) from error

    records = _value_at(envelope, source.records_path, source, response)
    if not isinstance(records, list):
        raise ResponseFormatError(
            f"Source {source.id}: field {source.records_path!r} of {response.request_url} is "
            f"{type(records).__name__}, expected a list of records",
            source_id=source.id,
            url=response.request_url,
            field=source.records_path,
        )

    next_hint = _next_page_hint(envelope, source, response, len(records))
    if source.total_path is None:
        return decoded.encoding, records, None, next_hint
    total = _as_count(_value_at(envelope, source.total_path, source, response))
    if total is None:
        raise ResponseFormatError(
            f"Source {source.id}: field {source.total_path!r} of {response.request_url} is not a "
            "non-negative integer; fix the API or set total_path to null",
            source_id=source.id,
            url=response.request_url,
            field=source.total_path,
        )
    return decoded.encoding, records, total, next_hint


def _next_page_hint(envelope: Any, source: JsonApiSource, response: HttpResponse, record_count: int) -> PageHint:
    if source.pagination == "page_number":
        page_value = source.first_page
        query_value = _query_int(response.request_url, source.page_param)
        return (query_value if query_value is not None else page_value) + 1
    if source.pagination == "offset_limit":
        offset = _query_int(response.request_url, source.offset_param) or 0
        return offset + record_count

    path = source.next_cursor_path if source.pagination == "cursor" else source.next_link_path
    value = _value_at(envelope, path, source, response)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ResponseFormatError(
            f"Source {source.id}: field {path!r} of {response.request_url} is {type(value).__name__}, "
            "expected a string or null",
            source_id=source.id,
            url=response.request_url,
            field=path,
        )
    if source.pagination == "cursor":
        return str(value)
    # The client checks the resolved link's host against the allow-list when it is requested.
    return urljoin(response.request_url, str(value))


def _query_int(url: str, name: str) -> int | None:
    values = parse_qs(urlsplit(url).query).get(name)
    if not values:
        return None
    return _as_count(values[0])


def _value_at(envelope: Any, dotted_path: str, source: JsonApiSource, response: HttpResponse) -> Any:
    """Return the value at a dotted path such as ``data.records``."""
    value = envelope
    for depth, key in enumerate(dotted_path.split(".")):
        if not isinstance(value, Mapping) or key not in value:
            reached = ".".join(dotted_path.split(".")[:depth]) or "the top level"
            raise ResponseFormatError(
                f"Source {source.id}: response from {response.request_url} has no field {dotted_path!r} "
                f"(no {key!r} in {reached}){_describe_envelope(envelope)}",
                source_id=source.id,
                url=response.request_url,
                field=dotted_path,
            )
        value = value[key]
    return value


def _describe_envelope(envelope: Any) -> str:
    """Return the API's own status, e.g. ``; the API sent code '500', message 'error'``, if it has one."""
    if not isinstance(envelope, Mapping):
        return ""
    status = {key: envelope[key] for key in ("code", "message", "msg") if key in envelope}
    if not status:
        return ""
    return "; the API sent " + ", ".join(f"{key} {value!r}" for key, value in status.items())


def _as_count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
