"""Connector for paginated JSON APIs that page by page number.

:func:`fetch_pages` requests ``first_page``, ``first_page + 1``, … with the source's page and size
parameters and yields every response. It stops after a page with fewer records than
``page_size`` or once the reported total is reached. Two guards end a loop that would otherwise
run forever: a page whose body is byte-identical to an earlier page, and more than ``max_pages``
pages. Both raise :class:`PaginationError`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from connectors.decoding import decode_body
from connectors.errors import PaginationError, RecordCountMismatchError, ResponseFormatError
from connectors.fetching import FetchedPage, get_source_url
from connectors.http import HttpClient, HttpResponse
from connectors.registry import JsonApiSource

__all__ = ["PaginationError", "RecordCountMismatchError", "ResponseFormatError", "extract_page", "fetch_pages"]

logger = logging.getLogger(__name__)


def fetch_pages(client: HttpClient, source: JsonApiSource) -> Iterator[FetchedPage]:
    """Fetch every page of ``source`` and yield each one as it arrives.

    The count check runs after the last page, so the caller must exhaust the iterator to learn
    that the pages are complete.

    Raises:
        PaginationError: a page repeats an earlier page, more than ``max_pages`` pages would be
            needed, or the reported total changes between pages.
        RecordCountMismatchError: the records fetched differ in number from the reported total.
        ResponseFormatError: a page is not JSON or lacks ``records_path`` or ``total_path``.
        ConnectorError: any error of the HTTP client or the decoder.
    """
    first_page_seen_with_hash: dict[str, int] = {}
    expected_total: int | None = None
    received = 0
    page_number = 0

    while True:
        page_number += 1
        if page_number > source.max_pages:
            raise PaginationError(
                f"Source {source.id}: stopped at {source.max_pages} pages (max_pages) before the last page of "
                f"{source.url}; raise max_pages if the source really has more pages",
                source_id=source.id,
                url=source.url,
                page_number=page_number,
            )

        page_value = source.first_page + page_number - 1
        response = get_source_url(client, source, {source.page_param: page_value, source.size_param: source.page_size})

        earlier_page = first_page_seen_with_hash.get(response.sha256)
        if earlier_page is not None:
            raise PaginationError(
                f"Source {source.id}: page {page_number} ({response.request_url}) has the same body as page "
                f"{earlier_page}; the API probably ignores {source.page_param!r}",
                source_id=source.id,
                url=response.request_url,
                page_number=page_number,
            )
        first_page_seen_with_hash[response.sha256] = page_number

        decoded_encoding, records, total = extract_page(response, source)
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

        received += len(records)
        logger.debug("Source %s: page %d has %d records (%d so far)", source.id, page_number, len(records), received)
        yield FetchedPage(response=response, page_number=page_number, encoding=decoded_encoding, record_count=len(records))

        is_short_page = len(records) < source.page_size
        is_total_reached = expected_total is not None and received >= expected_total
        if is_short_page or is_total_reached:
            break

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


def extract_page(response: HttpResponse, source: JsonApiSource) -> tuple[str, list[Any], int | None]:
    """Decode one page and return the encoding used, its records and the reported total.

    The total is ``None`` when the source sets no ``total_path``.

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

    if source.total_path is None:
        return decoded.encoding, records, None
    total = _as_count(_value_at(envelope, source.total_path, source, response))
    if total is None:
        raise ResponseFormatError(
            f"Source {source.id}: field {source.total_path!r} of {response.request_url} is not a "
            "non-negative integer; fix the API or set total_path to null",
            source_id=source.id,
            url=response.request_url,
            field=source.total_path,
        )
    return decoded.encoding, records, total


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
