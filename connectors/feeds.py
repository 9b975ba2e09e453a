"""Connector for RSS 2.0 and Atom feeds of notices and policy documents.

:func:`fetch_feed` fetches a feed in one request, and :func:`parse_feed_entries` turns it into
one dict per item or entry with the keys ``entry_id``, ``title``, ``link``, ``published_at``,
``updated_at``, ``publisher``, ``category`` and ``summary``. Dates become ISO 8601 strings.
Bodies are parsed with DTDs and entities forbidden (see :mod:`connectors.safe_xml`).
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Literal
from xml.etree.ElementTree import Element

from connectors.errors import ResponseFormatError
from connectors.fetching import FetchedPage, FetchedPageSummary, PageValidators, get_source_url
from connectors.http import HttpClient
from connectors.registry import AtomFeedSource, RssFeedSource
from connectors.safe_xml import local_name, parse_xml, xml_encoding

__all__ = ["FeedFormat", "fetch_feed", "parse_feed_entries"]

logger = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
FeedFormat = Literal["rss_feed", "atom_feed"]
ENTRY_KEYS = ("entry_id", "title", "link", "published_at", "updated_at", "publisher", "category", "summary")


def fetch_feed(
    client: HttpClient,
    source: RssFeedSource | AtomFeedSource,
    validators: Mapping[str, PageValidators] | None = None,
    previous_pages: Mapping[str, FetchedPageSummary] | None = None,
) -> FetchedPage:
    """Fetch the feed of ``source`` and return it with its encoding and entry count.

    With validators and a summary for the feed URL the request is conditional, and a 304
    response returns a ``not_modified`` page with the summary's encoding and counts.

    Raises:
        ResponseFormatError: the body is not a well-formed feed of the source's format, has a
            DTD or entities, or has an entry without id and link or with an invalid date.
        ConnectorError: any error of the HTTP client.
    """
    response, summary = get_source_url(client, source, validators=validators, previous_pages=previous_pages)
    if summary is not None:
        logger.info("Source %s: feed not modified since the last fetch", source.id)
        return FetchedPage.not_modified_export(response, summary)

    entries = parse_feed_entries(response.body, source_id=source.id, url=response.request_url, feed_format=source.format)
    encoding = xml_encoding(response.body)
    logger.info("Source %s: fetched a feed of %d entries (%s)", source.id, len(entries), encoding)
    return FetchedPage(response=response, page_number=1, encoding=encoding, record_count=len(entries), is_last_page=True)


def parse_feed_entries(body: bytes, *, source_id: str, url: str, feed_format: FeedFormat) -> list[dict[str, Any]]:
    """Parse an RSS 2.0 (``rss_feed``) or Atom (``atom_feed``) body into its entries, in document order.

    A missing element gives ``None``. RSS items take ``publisher`` from ``dc:creator`` or
    else ``author``, and have no ``updated_at``. ``entry_id`` is the guid or Atom id, or the
    link when the feed has none. A date without a time zone is taken as UTC.

    Raises:
        ResponseFormatError: the body is not well-formed XML, has a DTD or entities, is not a
            feed of ``feed_format``, or an entry has no id and no link or an invalid date.
    """
    root = parse_xml(body, source_id=source_id, url=url)
    if feed_format == "rss_feed":
        entries = _rss_entries(root, source_id=source_id, url=url)
    elif feed_format == "atom_feed":
        entries = _atom_entries(root, source_id=source_id, url=url)
    else:
        raise ValueError(f"unknown feed format {feed_format!r}; expected rss_feed or atom_feed")

    for position, entry in enumerate(entries, start=1):
        if entry["entry_id"] is None:
            raise ResponseFormatError(
                f"Source {source_id}: entry {position} of the feed {url} has neither an id nor a link",
                source_id=source_id,
                url=url,
            )
    return entries


def _rss_entries(root: Element, *, source_id: str, url: str) -> list[dict[str, Any]]:
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise ResponseFormatError(
            f"Source {source_id}: {url} is not an RSS 2.0 feed (root element <{local_name(root.tag)}>, "
            "expected <rss> with a <channel>); check the source's format",
            source_id=source_id,
            url=url,
        )

    entries: list[dict[str, Any]] = []
    for position, item in enumerate(channel.findall("item"), start=1):
        link = _text(item, "link")
        publisher = _text(item, DC_CREATOR) or _text(item, "author")
        published = _text(item, "pubDate")
        entries.append({
            "entry_id": _text(item, "guid") or link,
            "title": _text(item, "title"),
            "link": link,
            "published_at": _rfc822_to_iso(published, source_id=source_id, url=url, position=position),
            "updated_at": None,
            "publisher": publisher,
            "category": _text(item, "category"),
            "summary": _text(item, "description"),
        })
    return entries


def _atom_entries(root: Element, *, source_id: str, url: str) -> list[dict[str, Any]]:
    if root.tag != f"{ATOM}feed":
        raise ResponseFormatError(
            f"Source {source_id}: {url} is not an Atom feed (root element {root.tag!r}, expected "
            f"{ATOM}feed); check the source's format",
            source_id=source_id,
            url=url,
        )

    entries: list[dict[str, Any]] = []
    for position, entry in enumerate(root.findall(f"{ATOM}entry"), start=1):
        link = _atom_link(entry)
        category = entry.find(f"{ATOM}category")
        entries.append({
            "entry_id": _text(entry, f"{ATOM}id") or link,
            "title": _text(entry, f"{ATOM}title"),
            "link": link,
            "published_at": _iso_to_iso(_text(entry, f"{ATOM}published"), source_id=source_id, url=url, position=position),
            "updated_at": _iso_to_iso(_text(entry, f"{ATOM}updated"), source_id=source_id, url=url, position=position),
            "publisher": _text(entry, f"{ATOM}author/{ATOM}name"),
            "category": category.get("term") if category is not None else None,
            "summary": _text(entry, f"{ATOM}summary"),
        })
    return entries


def _atom_link(entry: Element) -> str | None:
    """Return the ``href`` of the entry's alternate link; a link without ``rel`` is alternate."""
    for link in entry.findall(f"{ATOM}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href")
    return None


def _text(parent: Element, path: str) -> str | None:
    element = parent.find(path)
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


def _rfc822_to_iso(value: str | None, *, source_id: str, url: str, position: int) -> str | None:
    if value is None:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise _invalid_date(value, "an RFC 822 date such as 'Thu, 03 Jan 2019 00:00:00 +0800'", source_id, url, position) from None
    return _as_aware(moment).isoformat()


def _iso_to_iso(value: str | None, *, source_id: str, url: str, position: int) -> str | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid_date(value, "an RFC 3339 date such as '2019-01-03T00:00:00+08:00'", source_id, url, position) from None
    return _as_aware(moment).isoformat()


def _as_aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _invalid_date(value: str, expected: str, source_id: str, url: str, position: int) -> ResponseFormatError:
    return ResponseFormatError(
        f"Source {source_id}: entry {position} of the feed {url} has the invalid date {value!r}; expected {expected}",
        source_id=source_id,
        url=url,
    )
