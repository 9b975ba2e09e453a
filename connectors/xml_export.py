"""Connector for XML exports that a department system serves as one file.

An export has a root element with one ``record_element`` (default ``task``) per record, and
each child of a record is one field, such as ``<task_name>…</task_name>``. An empty element is a
field without a value. When the root has a ``total`` attribute, the record count must match it.
Bodies are parsed with DTDs and entities forbidden (see :mod:`connectors.safe_xml`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from xml.etree.ElementTree import Element

from connectors.errors import RecordCountMismatchError, ResponseFormatError
from connectors.fetching import FetchedPage, FetchedPageSummary, PageValidators, get_source_url
from connectors.http import HttpClient
from connectors.registry import XmlExportSource
from connectors.safe_xml import local_name, parse_xml, xml_encoding

__all__ = ["fetch_export", "parse_xml_records"]

logger = logging.getLogger(__name__)


def fetch_export(
    client: HttpClient,
    source: XmlExportSource,
    validators: Mapping[str, PageValidators] | None = None,
    previous_pages: Mapping[str, FetchedPageSummary] | None = None,
) -> FetchedPage:
    """Fetch the XML export of ``source`` and return it with its encoding and record count.

    With validators and a summary for the export URL the request is conditional, and a 304
    response returns a ``not_modified`` page with the summary's encoding and counts.

    Raises:
        ResponseFormatError: the body is not well-formed XML, has a DTD or entities, or a
            record has a repeated field.
        RecordCountMismatchError: the root's ``total`` attribute differs from the record count.
        ConnectorError: any error of the HTTP client.
    """
    response, summary = get_source_url(client, source, validators=validators, previous_pages=previous_pages)
    if summary is not None:
        logger.info("Source %s: XML export not modified since the last fetch", source.id)
        return FetchedPage.not_modified_export(response, summary)

    url = response.request_url
    root = parse_xml(response.body, source_id=source.id, url=url)
    records = _records(root, source_id=source.id, url=url, record_element=source.record_element)
    total = _total_attribute(root, source_id=source.id, url=url)
    if total is not None and total != len(records):
        raise RecordCountMismatchError(
            f"Source {source.id}: XML export from {url} has {len(records)} <{source.record_element}> elements, "
            f"but its total attribute is {total}",
            source_id=source.id,
            url=url,
            page_number=1,
            expected=total,
            received=len(records),
        )

    encoding = xml_encoding(response.body)
    logger.info("Source %s: fetched an XML export of %d records (%s)", source.id, len(records), encoding)
    return FetchedPage(
        response=response,
        page_number=1,
        encoding=encoding,
        record_count=len(records),
        is_last_page=True,
        total=total,
    )


def parse_xml_records(body: bytes, *, source_id: str, url: str, record_element: str) -> list[dict[str, str | None]]:
    """Parse an XML export into one dict per ``record_element`` child of the root, in document order.

    Keys are the local names of the record's child elements. A value is the element's text,
    including the text of nested elements, or ``None`` for an empty element.

    Raises:
        ResponseFormatError: the body is not well-formed XML, has a DTD or entities, or a
            record has the same field twice.
    """
    root = parse_xml(body, source_id=source_id, url=url)
    return _records(root, source_id=source_id, url=url, record_element=record_element)


def _records(root: Element, *, source_id: str, url: str, record_element: str) -> list[dict[str, str | None]]:
    records: list[dict[str, str | None]] = []
    for position, element in enumerate(
        (child for child in root if local_name(child.tag) == record_element), start=1
    ):
        record: dict[str, str | None] = {}
        for field in element:
            name = local_name(field.tag)
            if name in record:
                raise ResponseFormatError(
                    f"Source {source_id}: <{record_element}> number {position} of {url} has the field "
                    f"<{name}> twice, so its value is ambiguous",
                    source_id=source_id,
                    url=url,
                    field=name,
                )
            text = "".join(field.itertext())
            record[name] = text if text else None
        records.append(record)
    return records


def _total_attribute(root: Element, *, source_id: str, url: str) -> int | None:
    value = root.get("total")
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):
        raise ResponseFormatError(
            f"Source {source_id}: total attribute {value!r} of the root element of {url} is not a non-negative integer",
            source_id=source_id,
            url=url,
            field="total",
        )
    return int(value)
