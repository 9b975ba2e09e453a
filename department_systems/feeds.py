"""Render the bundled notices and policy documents as RSS 2.0 and Atom feeds.

``data/gov_notices.csv`` has one row per document with the columns
``kind,title,publisher,published_on,url,category``. Each feed serves the rows of one ``kind``
in file order. ``published_on`` is a date, so the feeds give it as midnight China Standard
Time (UTC+08:00), the time zone of the publishing governments.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree

from department_systems.catalog import DATA_DIR

NOTICES_PATH = DATA_DIR / "gov_notices.csv"
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
DC_NAMESPACE = "http://purl.org/dc/elements/1.1/"
RSS_CONTENT_TYPE = "application/rss+xml; charset=UTF-8"
ATOM_CONTENT_TYPE = "application/atom+xml; charset=UTF-8"

ElementTree.register_namespace("dc", DC_NAMESPACE)


@dataclass(frozen=True)
class Feed:
    """One feed that the server serves: its path, format, title and the ``kind`` of its rows."""

    path: str
    feed_format: Literal["rss", "atom"]
    title: str
    kind: str

    @property
    def content_type(self) -> str:
        return RSS_CONTENT_TYPE if self.feed_format == "rss" else ATOM_CONTENT_TYPE


FEEDS = (
    Feed(path="/feeds/notices.rss", feed_format="rss", title="通知公告", kind="通知公告"),
    Feed(path="/feeds/policies.atom", feed_format="atom", title="政策文件", kind="政策文件"),
    Feed(path="/feeds/interpretations.rss", feed_format="rss", title="政策解读", kind="政策解读"),
)
FEEDS_BY_PATH = {feed.path: feed for feed in FEEDS}


def load_notices(path: Path = NOTICES_PATH) -> list[dict[str, str]]:
    """Read the notices file. Every value is a string, empty where the source has none."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def published_at(row: Mapping[str, str]) -> datetime:
    """Return ``published_on`` as midnight China Standard Time."""
    day = date.fromisoformat(row["published_on"])
    return datetime(day.year, day.month, day.day, tzinfo=CHINA_STANDARD_TIME)


def render_feed(feed: Feed, rows: Iterable[Mapping[str, str]], feed_url: str) -> bytes:
    """Render the rows of the feed's kind as UTF-8 XML. ``feed_url`` is the feed's own absolute URL."""
    selected = [row for row in rows if row["kind"] == feed.kind]
    if feed.feed_format == "rss":
        return ElementTree.tostring(_rss(feed, selected, feed_url), encoding="utf-8", xml_declaration=True)
    return ElementTree.tostring(_atom(feed, selected, feed_url), encoding="utf-8", xml_declaration=True)


def _rss(feed: Feed, rows: list[Mapping[str, str]], feed_url: str) -> ElementTree.Element:
    rss = ElementTree.Element("rss", {"version": "2.0"})
    channel = ElementTree.SubElement(rss, "channel")
    _text(channel, "title", feed.title)
    _text(channel, "link", feed_url)
    _text(channel, "description", f"{feed.title}（本地演示服务）")
    _text(channel, "language", "zh-cn")

    for row in rows:
        item = ElementTree.SubElement(channel, "item")
        _text(item, "title", row["title"])
        _text(item, "link", row["url"])
        _text(item, "pubDate", format_datetime(published_at(row)))
        if row["publisher"]:
            # RSS 2.0 <author> must be an e-mail address, so the publisher goes into dc:creator.
            _text(item, f"{{{DC_NAMESPACE}}}creator", row["publisher"])
        if row["category"]:
            _text(item, "category", row["category"])
        guid = _text(item, "guid", row["url"])
        guid.set("isPermaLink", "true")
    return rss


def _atom(feed: Feed, rows: list[Mapping[str, str]], feed_url: str) -> ElementTree.Element:
    # ElementTree cannot write a default namespace when attributes are unqualified, so the
    # elements carry plain names and the root declares the Atom namespace as an attribute.
    root = ElementTree.Element("feed", {"xmlns": ATOM_NAMESPACE, "xml:lang": "zh-CN"})
    _text(root, "title", feed.title)
    _text(root, "id", feed_url)
    ElementTree.SubElement(root, "link", {"rel": "self", "href": feed_url})
    latest = max((published_at(row) for row in rows), default=datetime(1970, 1, 1, tzinfo=timezone.utc))
    _text(root, "updated", latest.isoformat())

    for row in rows:
        entry = ElementTree.SubElement(root, "entry")
        _text(entry, "title", row["title"])
        ElementTree.SubElement(entry, "link", {"rel": "alternate", "href": row["url"]})
        _text(entry, "id", row["url"])
        _text(entry, "published", published_at(row).isoformat())
        _text(entry, "updated", published_at(row).isoformat())
        if row["publisher"]:
            author = ElementTree.SubElement(entry, "author")
            _text(author, "name", row["publisher"])
        if row["category"]:
            ElementTree.SubElement(entry, "category", {"term": row["category"]})
    return root


def _text(parent: ElementTree.Element, tag: str, text: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag)
    element.text = text
    return element
