"""Connector for CSV exports that a department system serves as one file.

Exports of Chinese department systems are often GB18030 without a charset in Content-Type, so
the encoding is detected (see :mod:`connectors.decoding`) unless the source configures it.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping

from connectors.decoding import decode_body
from connectors.errors import ResponseFormatError
from connectors.fetching import FetchedPage, FetchedPageSummary, PageValidators, get_source_url
from connectors.http import HttpClient, HttpResponse
from connectors.registry import CsvExportSource

__all__ = ["decode_export", "fetch_export", "parse_export"]

logger = logging.getLogger(__name__)


def fetch_export(
    client: HttpClient,
    source: CsvExportSource,
    validators: Mapping[str, PageValidators] | None = None,
    previous_pages: Mapping[str, FetchedPageSummary] | None = None,
) -> FetchedPage:
    """Fetch the export of ``source`` and return it with its encoding and record count.

    With validators and a summary for the export URL the request is conditional, and a 304
    response returns a ``not_modified`` page with the summary's encoding and record count.

    Raises:
        DecodeError: the body is not text in the configured or a detected encoding.
        ResponseFormatError: the export has no header row or a row with the wrong number of cells.
        ConnectorError: any error of the HTTP client.
    """
    response, summary = get_source_url(client, source, validators=validators, previous_pages=previous_pages)
    if summary is not None:
        logger.info("Source %s: export not modified since the last fetch", source.id)
        return FetchedPage.not_modified_export(response, summary)

    encoding, records = decode_export(response, source)
    logger.info("Source %s: fetched an export of %d records (%s)", source.id, len(records), encoding)
    return FetchedPage(
        response=response,
        page_number=1,
        encoding=encoding,
        record_count=len(records),
        is_last_page=True,
    )


def decode_export(response: HttpResponse, source: CsvExportSource) -> tuple[str, list[dict[str, str]]]:
    """Decode and parse an export response. Return the encoding used and the records."""
    decoded = decode_body(
        response.body,
        content_type=response.content_type,
        source_id=source.id,
        url=response.request_url,
        encoding=source.encoding,
    )
    records = parse_export(decoded.text, source_id=source.id, url=response.request_url)
    return decoded.encoding, records


def parse_export(text: str, *, source_id: str, url: str) -> list[dict[str, str]]:
    """Parse CSV text into records keyed by the header row. Blank lines are skipped.

    Every record has exactly the header's keys, and every value is a string (empty for an empty
    cell). A row with more or fewer cells than the header cannot be mapped reliably, so it
    raises instead of being padded or cut.

    Raises:
        ResponseFormatError: no header row, an empty or duplicate column name, a row of the
            wrong width, or text that the csv module cannot parse.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = [row for row in reader if row]
    except csv.Error as error:
        raise ResponseFormatError(
            f"Source {source_id}: export from {url} is not valid CSV near line {reader.line_num} ({error})",
            source_id=source_id,
            url=url,
        ) from error

    if not rows:
        raise ResponseFormatError(
            f"Source {source_id}: export from {url} is empty; expected at least a header row",
            source_id=source_id,
            url=url,
        )

    header = [name.strip() for name in rows[0]]
    if any(not name for name in header) or len(set(header)) != len(header):
        raise ResponseFormatError(
            f"Source {source_id}: header row of the export from {url} has an empty or duplicate column name: {header}",
            source_id=source_id,
            url=url,
        )

    records: list[dict[str, str]] = []
    for row_number, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise ResponseFormatError(
                f"Source {source_id}: data row {row_number} of the export from {url} has {len(row)} cells, "
                f"but the header has {len(header)}",
                source_id=source_id,
                url=url,
            )
        records.append(dict(zip(header, row)))
    return records
