"""A local HTTP server that simulates the department systems of 广安区 for the demo and the tests.

Every department of the bundled catalog is served under its slug from ``departments.csv``:

- ``GET /{slug}/api/tasks?pageNo=1&pageSize=100``: a paginated JSON API with national
  exchange field names, ``Content-Type: application/json;charset=UTF-8``.
- The same records in three more pagination styles: ``/{slug}/api/v2/tasks?offset=0&limit=100``,
  ``/{slug}/api/cursor/tasks?cursor=…&limit=100`` (opaque cursor in ``data.nextCursor``, none on
  the first request) and ``/{slug}/api/links/tasks?page=1&pageSize=100`` (``links.next`` is
  the next page's path, or null on the last page).
- Every JSON API style also takes ``updatedSince`` (ISO 8601, e.g. ``2026-12-04T02:00:00Z``) and
  then serves only the records added or changed at or after that time. The ``Date`` header
  of a response is the server clock to send as ``updatedSince`` next time. Removed records
  are not listed, so only a full fetch shows that a record is gone.
- ``GET /{slug}/export/tasks.csv``: a CSV export encoded in GB18030, sent as ``text/csv``
  without a charset, with CRLF line ends and a Chinese header row.
- ``GET /{slug}/export/tasks.xml``: the same records as UTF-8 XML, one ``<task>`` per record.
- ``GET /feeds/notices.rss``, ``/feeds/policies.atom``, ``/feeds/interpretations.rss``: the
  bundled notices, policy documents and policy interpretations as RSS 2.0 and Atom feeds.
- ``GET /portal/api/tasks?pageNo=1&pageSize=100``: the provincial portal 四川政务服务网
  republishing the records of the departments in ``PORTAL_DEPARTMENT_SLUGS`` unchanged, in
  the JSON API format, paginated over all of them; ``deptSlug=<slug>`` limits it to one of them.
  The portal serves what the departments serve at the time of the request.
- ``GET /``: a JSON index of the departments and their URLs.

Every 200 of these resources carries a strong ``ETag`` (the quoted SHA-256 of the body) and a
``Last-Modified`` per department, set at the start and moved forward when a test hook replaces
the department's content. A request whose ``If-None-Match`` matches, or that has no
``If-None-Match`` and an ``If-Modified-Since`` not older than ``Last-Modified``, gets a 304
without a body.

Anything else is a 404 with a JSON error body. Tests script failures through a Python API:
:meth:`DepartmentSystemServer.queue_fault` and its shortcuts queue faults per request path, and
:meth:`~DepartmentSystemServer.replace_records` and
:meth:`~DepartmentSystemServer.replace_export_body` change what a department serves.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import json
import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from department_systems.catalog import (
    CATALOG_PATH,
    CODELISTS_PATH,
    DEPARTMENTS_PATH,
    Department,
    load_catalog_records,
    load_departments,
    load_task_type_labels,
    render_export,
    render_xml_export,
)
from department_systems.feeds import FEEDS, FEEDS_BY_PATH, load_notices, render_feed

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
# The export sends no charset parameter, so clients must detect GB18030 from the bytes.
EXPORT_CONTENT_TYPE = "text/csv"
JSON_API_SUFFIX = "/api/tasks"
OFFSET_API_SUFFIX = "/api/v2/tasks"
CURSOR_API_SUFFIX = "/api/cursor/tasks"
LINKS_API_SUFFIX = "/api/links/tasks"
EXPORT_SUFFIX = "/export/tasks.csv"
XML_EXPORT_SUFFIX = "/export/tasks.xml"
XML_CONTENT_TYPE = "application/xml; charset=UTF-8"
# Key of the feeds' Last-Modified, next to the department slugs. No slug may be "feeds".
FEEDS_KEY = "feeds"
# Key of the provincial portal's republication, next to the department slugs. No slug may be "portal".
PORTAL_KEY = "portal"
# Departments whose records the portal republishes: a JSON API one, a CSV export one and one
# with several records.
PORTAL_DEPARTMENT_SLUGS = ("xfdd", "jxj", "qxj")
DEFAULT_PAGE_SIZE = 10
# Last-Modified and update time of the bundled records until a test hook replaces them, as a Unix
# time: 2026-01-01T00:00:00Z.
CATALOG_UPDATED_AT = 1767225600.0
MAX_PAGE_SIZE = 1000
FILLER_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour that the next matching request to a path receives.

    The fields combine: ``delay_seconds`` applies first, then the first of ``oversized_bytes``,
    ``body``, an error ``status`` (300 or above) and ``repeat_previous_page`` that is set
    decides the response. A ``status`` below 300 without a body means a normal response with
    that status, so ``queue_statuses(path, 503, 200)`` reads as "fail once, then succeed".
    """

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    body: bytes | None = None
    content_type: str | None = None
    repeat_previous_page: bool = False
    oversized_bytes: int | None = None
    send_content_length: bool = True
    page: int | None = None
    """Apply only to a JSON API request with this ``pageNo``; ``None`` matches every request."""
    repeat_next: bool = False
    """Make a cursor or next-link page name its own cursor or link as the next one."""


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as the server received it, kept so that tests can count attempts."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str] = field(default_factory=dict)


class DepartmentSystemServer:
    """Serve every catalog department in every format, and the feeds, from a background thread.

    Use it as a context manager or call :meth:`start` and :meth:`stop`. Port 0 binds a free port;
    :attr:`base_url` is known after the start. The base URL of one department is
    ``f"{server.base_url}/{slug}"``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        catalog_path: Path = CATALOG_PATH,
        codelists_path: Path = CODELISTS_PATH,
        departments_path: Path = DEPARTMENTS_PATH,
        portal_slugs: Iterable[str] = PORTAL_DEPARTMENT_SLUGS,
    ) -> None:
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

        self.task_type_labels = load_task_type_labels(codelists_path)
        self.departments = load_departments(departments_path)
        self.portal_slugs = tuple(portal_slugs)
        records_by_name = load_catalog_records(catalog_path)
        _check_department_names(self.departments, records_by_name, departments_path, catalog_path, self.portal_slugs)

        self._original_records = {
            department.slug: records_by_name[department.name] for department in self.departments
        }
        self._records: dict[str, list[dict[str, Any]]]
        # Parallel to _records: when each record was added or last changed, as a Unix time.
        self._updated_at: dict[str, list[float]]
        self._export_bodies: dict[str, bytes] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._received: list[ReceivedRequest] = []
        self.notices = load_notices()
        # The bundled records carry no change times, so every server starts from one fixed time.
        # Restarting the server then changes neither Last-Modified nor the updatedSince filter.
        started = CATALOG_UPDATED_AT
        self._last_modified: dict[str, float] = {slug: started for slug in self._original_records}
        self._last_modified[FEEDS_KEY] = started
        self._last_modified[PORTAL_KEY] = started
        self._replaced_slugs: set[str] = set()
        self._records = {slug: list(records) for slug, records in self._original_records.items()}
        self._updated_at = {slug: [started] * len(records) for slug, records in self._original_records.items()}
        self.reset()

    # Lifecycle

    def start(self) -> DepartmentSystemServer:
        """Bind the socket and serve requests in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("the department system server is already running")

        handler = _make_handler(self)
        httpd = ThreadingHTTPServer((self._host, self._port), handler)
        httpd.daemon_threads = True
        # Do not wait for handlers on close: a handler may be sleeping in a delay fault.
        httpd.block_on_close = False
        self._stopping.clear()
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="department-system-server",
            daemon=True,
        )
        self._thread.start()
        logger.info("Department system server started at %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket. Handlers sleeping in a delay fault wake up at once."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        logger.info("Department system server at %s stopped", self.base_url)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> DepartmentSystemServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server, without a trailing slash."""
        if self._httpd is None:
            raise RuntimeError("the department system server is not running; call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # URLs and content

    def department_url(self, slug: str) -> str:
        """Return the base URL of one department, as ``sources.yaml`` writes it."""
        self._require_slug(slug)
        return f"{self.base_url}/{slug}"

    @staticmethod
    def json_api_path(slug: str) -> str:
        return f"/{slug}{JSON_API_SUFFIX}"

    @staticmethod
    def export_path(slug: str) -> str:
        return f"/{slug}{EXPORT_SUFFIX}"

    def department_name(self, slug: str) -> str:
        self._require_slug(slug)
        return next(department.name for department in self.departments if department.slug == slug)

    def records(self, slug: str) -> list[dict[str, Any]]:
        """Return a copy of the records that the department currently serves."""
        self._require_slug(slug)
        with self._lock:
            return [dict(record) for record in self._records[slug]]

    def export_body(self, slug: str) -> bytes:
        """Return the bytes that the CSV export of the department currently sends."""
        self._require_slug(slug)
        with self._lock:
            return self._export_bodies[slug]

    def xml_export_body(self, slug: str) -> bytes:
        """Return the bytes that the XML export of the department currently sends."""
        return render_xml_export(self.records(slug))

    @staticmethod
    def api_path(slug: str, pagination: str) -> str:
        """Return the JSON API path of a department in one pagination style, e.g. ``cursor``."""
        suffix = {
            "page_number": JSON_API_SUFFIX,
            "offset_limit": OFFSET_API_SUFFIX,
            "cursor": CURSOR_API_SUFFIX,
            "next_link": LINKS_API_SUFFIX,
        }[pagination]
        return f"/{slug}{suffix}"

    @staticmethod
    def xml_export_path(slug: str) -> str:
        return f"/{slug}{XML_EXPORT_SUFFIX}"

    def last_modified(self, slug: str) -> str:
        """Return the ``Last-Modified`` value of a department, or of the feeds for ``"feeds"``."""
        with self._lock:
            return email.utils.formatdate(self._last_modified[slug], usegmt=True)

    # Test hooks

    def replace_records(self, slug: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Serve these records from every format of the department until :meth:`reset`.

        Records may contain any keys and values, so tests can serve bad records through the
        real server. The CSV and XML exports are rendered from them with the usual columns.
        """
        self._require_slug(slug)
        new_records = [dict(record) for record in records]
        export_body = render_export(new_records, self.task_type_labels)
        with self._lock:
            self._set_records(slug, new_records)
            self._export_bodies[slug] = export_body
            self._touch(slug)

    def replace_export_body(self, slug: str, body: bytes) -> None:
        """Send these exact bytes from the CSV export of the department until :meth:`reset`."""
        self._require_slug(slug)
        with self._lock:
            self._export_bodies[slug] = bytes(body)
            self._touch(slug)

    def queue_fault(self, path: str, fault: Fault | None = None, /, **fields: Any) -> None:
        """Queue a fault for the next request to ``path`` (without query), such as ``/xzspj/api/tasks``.

        Pass a :class:`Fault` or its fields as keyword arguments. Faults for one path are
        consumed in order, each by one request.
        """
        if fault is None:
            fault = Fault(**fields)
        elif fields:
            raise TypeError("pass either a Fault or its fields as keyword arguments, not both")
        with self._lock:
            self._faults.setdefault(path, deque()).append(fault)

    def queue_statuses(self, path: str, *statuses: int, headers: Mapping[str, str] | None = None) -> None:
        """Respond to the next requests to ``path`` with these statuses in order, e.g. ``503, 200``."""
        for status in statuses:
            self.queue_fault(path, Fault(status=status, headers=dict(headers or {})))

    def queue_retry_after(self, path: str, retry_after: str | int, status: int = 429) -> None:
        """Respond to the next request to ``path`` with 429 (or ``status``) and a ``Retry-After`` header."""
        self.queue_fault(path, Fault(status=status, headers={"Retry-After": str(retry_after)}))

    def queue_delay(self, path: str, seconds: float) -> None:
        """Wait ``seconds`` before the normal response to the next request to ``path``."""
        self.queue_fault(path, Fault(delay_seconds=seconds))

    def queue_redirect(self, path: str, location: str, status: int = 302) -> None:
        """Redirect the next request to ``path`` to ``location``."""
        self.queue_fault(path, Fault(status=status, headers={"Location": location}))

    def queue_repeated_page(self, path: str, page: int) -> None:
        """Respond to the JSON API request for ``pageNo=page`` with page ``page - 1`` again."""
        self.queue_fault(path, Fault(repeat_previous_page=True, page=page))

    def queue_oversized_body(self, path: str, size_bytes: int, *, send_content_length: bool = True) -> None:
        """Respond to the next request to ``path`` with ``size_bytes`` filler bytes.

        With ``send_content_length=False`` the body is sent without a Content-Length header and
        ends when the connection closes, so a client can only notice the size while reading.
        """
        self.queue_fault(path, Fault(oversized_bytes=size_bytes, send_content_length=send_content_length))

    def queue_repeated_next(self, path: str, *, skip: int = 1) -> None:
        """Make a cursor or next-link page name itself as the next page, after ``skip`` normal responses.

        ``path`` is a cursor or next-link API path such as ``/xzspj/api/cursor/tasks``. The
        faulty page's ``data.nextCursor`` is the cursor it was requested with, or its
        ``links.next`` is its own link, so a client that follows it requests the same page again.
        """
        for _ in range(skip):
            self.queue_fault(path, Fault())
        self.queue_fault(path, Fault(repeat_next=True))

    def pending_faults(self, path: str) -> int:
        """Return how many queued faults for ``path`` no request has consumed yet."""
        with self._lock:
            return len(self._faults.get(path, ()))

    @property
    def received_requests(self) -> list[ReceivedRequest]:
        """Requests received since the start or the last :meth:`reset`, oldest first."""
        with self._lock:
            return list(self._received)

    def reset(self) -> None:
        """Drop queued faults and replacements, and forget received requests."""
        export_bodies = {
            slug: render_export(records, self.task_type_labels) for slug, records in self._original_records.items()
        }
        with self._lock:
            for slug, records in self._original_records.items():
                self._set_records(slug, list(records))
            self._export_bodies = export_bodies
            for slug in self._replaced_slugs:
                self._touch(slug)
            self._replaced_slugs.clear()
            self._faults.clear()
            self._received.clear()

    # Used by the request handler

    def _touch(self, key: str) -> None:
        """Move Last-Modified of ``key`` to now. Call with the lock held.

        Last-Modified has whole-second precision, so it moves at least one second forward:
        otherwise a client that sends only If-Modified-Since would get a 304 after a change
        in the same second as its last fetch.
        """
        self._last_modified[key] = max(_whole_seconds(time.time()), self._last_modified[key] + 1)
        if key != FEEDS_KEY:
            self._replaced_slugs.add(key)
        if key in self.portal_slugs:
            self._last_modified[PORTAL_KEY] = max(self._last_modified[key], self._last_modified[PORTAL_KEY] + 1)

    def _set_records(self, slug: str, records: list[dict[str, Any]]) -> None:
        """Serve ``records`` for ``slug``. Call with the lock held.

        A record identical to one served before keeps that one's update time; every other
        record counts as added or changed now.
        """
        earlier: dict[str, float] = {}
        for record, updated_at in zip(self._records.get(slug, ()), self._updated_at.get(slug, ())):
            earlier.setdefault(_record_fingerprint(record), updated_at)
        now = time.time()
        self._records[slug] = records
        self._updated_at[slug] = [earlier.get(_record_fingerprint(record), now) for record in records]

    def _current_records(self, slug: str, updated_since: float | None) -> list[dict[str, Any]]:
        """Return the records of ``slug``, or those updated at or after ``updated_since``. Call with the lock held."""
        records = self._records[slug]
        if updated_since is None:
            return records
        return [record for record, updated_at in zip(records, self._updated_at[slug]) if updated_at >= updated_since]

    def _last_modified_timestamp(self, key: str) -> float:
        with self._lock:
            return self._last_modified[key]

    def _portal_page_payload(
        self, slugs: tuple[str, ...], page_number: int, page_size: int, updated_since: float | None
    ) -> dict[str, Any]:
        with self._lock:
            records = [record for slug in slugs for record in self._current_records(slug, updated_since)]
        start = (page_number - 1) * page_size
        return {
            "code": "200",
            "message": "success",
            "data": {
                "pageNo": page_number,
                "pageSize": page_size,
                "total": len(records),
                "totalPages": math.ceil(len(records) / page_size),
                "records": records[start : start + page_size],
            },
        }

    def _records_slice(
        self, slug: str, offset: int, limit: int, updated_since: float | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        with self._lock:
            records = self._current_records(slug, updated_since)
            return records[offset : offset + limit], len(records)

    def _record_request(self, method: str, path: str, query: str, headers: Mapping[str, str]) -> None:
        with self._lock:
            self._received.append(ReceivedRequest(method=method, path=path, query=query, headers=dict(headers)))

    def _take_fault(self, path: str, page: int | None) -> Fault | None:
        with self._lock:
            queue = self._faults.get(path)
            if not queue:
                return None
            for fault in queue:
                if fault.page is None or fault.page == page:
                    queue.remove(fault)
                    return fault
            return None

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _has_slug(self, slug: str) -> bool:
        return slug in self._original_records

    def _require_slug(self, slug: str) -> None:
        if not self._has_slug(slug):
            raise KeyError(f"unknown department slug {slug!r}; see {DEPARTMENTS_PATH.name} for the slugs")

    def _page_payload(
        self, slug: str, page_number: int, page_size: int, updated_since: float | None = None
    ) -> dict[str, Any]:
        with self._lock:
            records = self._current_records(slug, updated_since)
            total = len(records)
            start = (page_number - 1) * page_size
            page_records = records[start : start + page_size]
        return {
            "code": "200",
            "message": "success",
            "data": {
                "pageNo": page_number,
                "pageSize": page_size,
                "total": total,
                "totalPages": math.ceil(total / page_size),
                "records": page_records,
            },
        }

    def _index_payload(self) -> dict[str, Any]:
        return {
            "code": "200",
            "message": "success",
            "data": [
                {
                    "slug": department.slug,
                    "department": department.name,
                    "json_api": self.json_api_path(department.slug),
                    "csv_export": self.export_path(department.slug),
                }
                for department in self.departments
            ],
            # Every department also serves these paths under its slug.
            "department_paths": {
                "json_api_offset": "/{slug}" + OFFSET_API_SUFFIX,
                "json_api_cursor": "/{slug}" + CURSOR_API_SUFFIX,
                "json_api_links": "/{slug}" + LINKS_API_SUFFIX,
                "xml_export": "/{slug}" + XML_EXPORT_SUFFIX,
            },
            "feeds": [feed.path for feed in FEEDS],
            "portal": {"json_api": "/" + PORTAL_KEY + JSON_API_SUFFIX, "department_slugs": list(self.portal_slugs)},
        }


def _check_department_names(
    departments: list[Department],
    records_by_name: Mapping[str, Any],
    departments_path: Path,
    catalog_path: Path,
    portal_slugs: tuple[str, ...],
) -> None:
    slugs = [department.slug for department in departments]
    duplicate_slugs = sorted(slug for slug, count in Counter(slugs).items() if count > 1)
    if duplicate_slugs:
        raise ValueError(f"{departments_path}: duplicate slugs {duplicate_slugs}")

    if FEEDS_KEY in slugs:
        raise ValueError(f"{departments_path}: the slug {FEEDS_KEY!r} is reserved for the feeds")
    if PORTAL_KEY in slugs:
        raise ValueError(f"{departments_path}: the slug {PORTAL_KEY!r} is reserved for the provincial portal")
    unknown_portal_slugs = sorted(set(portal_slugs) - set(slugs))
    if unknown_portal_slugs:
        raise ValueError(f"{departments_path}: the portal republishes unknown slugs {unknown_portal_slugs}")

    listed = {department.name for department in departments}
    missing = [name for name in records_by_name if name not in listed]
    unknown = sorted(listed - set(records_by_name))
    if missing or unknown:
        raise ValueError(
            f"{departments_path} does not match {catalog_path}: "
            f"departments without a slug {missing}, slugs for departments not in the catalog {unknown}"
        )


def _make_handler(server: DepartmentSystemServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_DepartmentRequestHandler):
        department_server = server

    return Handler


class _DepartmentRequestHandler(BaseHTTPRequestHandler):
    department_server: DepartmentSystemServer
    server_version = "HuijuDepartmentSystem/1.0"

    def do_GET(self) -> None:  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
        parts = urlsplit(self.path)
        path = parts.path
        server = self.department_server
        server._record_request("GET", path, parts.query, dict(self.headers.items()))

        query = parse_qs(parts.query)
        page = _parse_positive_int(query.get("pageNo", ["1"])[0])
        fault = server._take_fault(path, page)

        try:
            if fault is not None and fault.delay_seconds > 0:
                server._wait(fault.delay_seconds)
            if fault is not None and self._send_fault(fault):
                return
            self._route(path, query, fault or Fault())
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up, e.g. after its read timeout during a delay fault.
            logger.debug("Client closed the connection before the response to %s was sent", self.path)

    def _route(self, path: str, query: Mapping[str, list[str]], fault: Fault) -> None:
        server = self.department_server
        if path in ("", "/"):
            self._send_json(200, server._index_payload())
            return

        feed = FEEDS_BY_PATH.get(path)
        if feed is not None:
            body = render_feed(feed, server.notices, server.base_url + feed.path)
            self._send_resource(FEEDS_KEY, body, feed.content_type)
            return

        slug, _, rest = path.lstrip("/").partition("/")
        if slug == PORTAL_KEY and "/" + rest == JSON_API_SUFFIX:
            self._send_portal_page(query)
            return
        if not server._has_slug(slug):
            self._send_error_json(404, f"no department system at {path}")
            return

        suffix = "/" + rest
        if suffix == JSON_API_SUFFIX:
            self._send_page(slug, query, repeat_previous_page=fault.repeat_previous_page)
        elif suffix == OFFSET_API_SUFFIX:
            self._send_offset_page(slug, query)
        elif suffix == CURSOR_API_SUFFIX:
            self._send_cursor_page(slug, query, repeat_next=fault.repeat_next)
        elif suffix == LINKS_API_SUFFIX:
            self._send_linked_page(slug, path, query, repeat_next=fault.repeat_next)
        elif suffix == EXPORT_SUFFIX:
            self._send_resource(slug, server.export_body(slug), EXPORT_CONTENT_TYPE)
        elif suffix == XML_EXPORT_SUFFIX:
            self._send_resource(slug, server.xml_export_body(slug), XML_CONTENT_TYPE)
        else:
            self._send_error_json(404, f"no resource at {path}")

    def _send_page(self, slug: str, query: Mapping[str, list[str]], *, repeat_previous_page: bool) -> None:
        page_number = _parse_positive_int(query.get("pageNo", ["1"])[0])
        page_size = _parse_positive_int(query.get("pageSize", ["10"])[0])
        if page_number is None:
            self._send_error_json(400, "pageNo must be a positive integer")
            return
        if page_size is None or page_size > MAX_PAGE_SIZE:
            self._send_error_json(400, f"pageSize must be an integer from 1 to {MAX_PAGE_SIZE}")
            return

        updated_since = self._updated_since(query)
        if updated_since is _INVALID:
            return

        if repeat_previous_page:
            page_number = max(page_number - 1, 1)
        payload = self.department_server._page_payload(slug, page_number, page_size, updated_since)
        self._send_json_resource(slug, payload)

    def _send_portal_page(self, query: Mapping[str, list[str]]) -> None:
        page_number = _parse_positive_int(query.get("pageNo", ["1"])[0])
        page_size = _parse_positive_int(query.get("pageSize", ["10"])[0])
        if page_number is None:
            self._send_error_json(400, "pageNo must be a positive integer")
            return
        if page_size is None or page_size > MAX_PAGE_SIZE:
            self._send_error_json(400, f"pageSize must be an integer from 1 to {MAX_PAGE_SIZE}")
            return
        slugs = self.department_server.portal_slugs
        requested = query.get("deptSlug")
        if requested:
            if requested[0] not in slugs:
                self._send_error_json(
                    404, f"the portal republishes no department {requested[0]!r}; known: {list(slugs)}"
                )
                return
            slugs = (requested[0],)
        updated_since = self._updated_since(query)
        if updated_since is _INVALID:
            return
        payload = self.department_server._portal_page_payload(slugs, page_number, page_size, updated_since)
        self._send_json_resource(PORTAL_KEY, payload)

    def _send_offset_page(self, slug: str, query: Mapping[str, list[str]]) -> None:
        offset = _parse_non_negative_int(query.get("offset", ["0"])[0])
        limit = self._page_size(query, "limit")
        if offset is None:
            self._send_error_json(400, "offset must be a non-negative integer")
            return
        updated_since = self._updated_since(query)
        if limit is None or updated_since is _INVALID:
            return
        records, total = self.department_server._records_slice(slug, offset, limit, updated_since)
        payload = {"offset": offset, "limit": limit, "total": total, "records": records}
        self._send_json_resource(slug, _envelope(payload))

    def _send_cursor_page(self, slug: str, query: Mapping[str, list[str]], *, repeat_next: bool) -> None:
        cursor = query.get("cursor", [""])[0]
        offset = _decode_cursor(cursor) if cursor else 0
        limit = self._page_size(query, "limit")
        if offset is None:
            self._send_error_json(400, f"invalid cursor {cursor!r}; send the nextCursor of the previous page")
            return
        updated_since = self._updated_since(query)
        if limit is None or updated_since is _INVALID:
            return
        records, total = self.department_server._records_slice(slug, offset, limit, updated_since)
        next_offset = offset + len(records)
        next_cursor = _encode_cursor(next_offset) if records and next_offset < total else None
        if repeat_next:
            next_cursor = cursor or _encode_cursor(offset)
        payload = {"limit": limit, "total": total, "records": records, "nextCursor": next_cursor}
        self._send_json_resource(slug, _envelope(payload))

    def _send_linked_page(self, slug: str, path: str, query: Mapping[str, list[str]], *, repeat_next: bool) -> None:
        page_number = _parse_positive_int(query.get("page", ["1"])[0])
        page_size = self._page_size(query, "pageSize")
        if page_number is None:
            self._send_error_json(400, "page must be a positive integer")
            return
        updated_since = self._updated_since(query)
        if page_size is None or updated_since is _INVALID:
            return
        records, total = self.department_server._records_slice(
            slug, (page_number - 1) * page_size, page_size, updated_since
        )
        # The links repeat updatedSince, so that following them stays within the same change set.
        filter_query = "&" + urlencode({"updatedSince": query["updatedSince"][0]}) if updated_since is not None else ""
        self_link = f"{path}?page={page_number}&pageSize={page_size}{filter_query}"
        has_next = page_number * page_size < total
        next_link = f"{path}?page={page_number + 1}&pageSize={page_size}{filter_query}" if has_next else None
        if repeat_next:
            next_link = self_link
        payload = {
            "code": "200",
            "message": "success",
            "data": {"page": page_number, "pageSize": page_size, "total": total, "records": records},
            "links": {"self": self_link, "next": next_link},
        }
        self._send_json_resource(slug, payload)

    def _updated_since(self, query: Mapping[str, list[str]]) -> Any:
        """Return ``updatedSince`` as a Unix time, ``None`` if absent, or send a 400 and return ``_INVALID``."""
        values = query.get("updatedSince")
        if not values:
            return None
        try:
            moment = datetime.fromisoformat(values[0].replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self._send_error_json(
                400, f"updatedSince {values[0]!r} must be an ISO 8601 time with a zone, e.g. 2026-12-04T02:00:00Z"
            )
            return _INVALID
        return moment.timestamp()

    def _page_size(self, query: Mapping[str, list[str]], name: str) -> int | None:
        """Return the page size in ``name``, or send a 400 and return ``None`` if it is invalid."""
        page_size = _parse_positive_int(query.get(name, [str(DEFAULT_PAGE_SIZE)])[0])
        if page_size is None or page_size > MAX_PAGE_SIZE:
            self._send_error_json(400, f"{name} must be an integer from 1 to {MAX_PAGE_SIZE}")
            return None
        return page_size

    def _send_json_resource(self, key: str, payload: Any) -> None:
        self._send_resource(key, json.dumps(payload, ensure_ascii=False).encode("utf-8"), JSON_CONTENT_TYPE)

    def _send_resource(self, key: str, body: bytes, content_type: str) -> None:
        """Send ``body`` with validators, or a 304 when the request's validators match.

        ``key`` is the department slug, or ``"feeds"``, whose Last-Modified applies.
        """
        last_modified = self.department_server._last_modified_timestamp(key)
        validators = {
            "ETag": '"' + hashlib.sha256(body).hexdigest() + '"',
            "Last-Modified": email.utils.formatdate(last_modified, usegmt=True),
        }
        if self._is_not_modified(validators["ETag"], last_modified):
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.end_headers()
            return
        self._send_bytes(200, body, content_type, validators)

    def _is_not_modified(self, etag: str, last_modified: float) -> bool:
        """Evaluate If-None-Match, or without it If-Modified-Since, as RFC 9110 section 13.2.2 orders them."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            # If-None-Match uses the weak comparison, so W/"x" matches "x".
            candidates = [candidate.strip().removeprefix("W/") for candidate in if_none_match.split(",")]
            return "*" in candidates or etag in candidates

        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since is None:
            return False
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False  # RFC 9110 says to ignore an invalid date.
        return since.timestamp() >= last_modified

    def _send_fault(self, fault: Fault) -> bool:
        """Send the response that the fault prescribes. Return False when the normal response should follow."""
        if fault.oversized_bytes is not None:
            self._send_filler(fault)
            return True
        if fault.body is not None:
            content_type = fault.content_type or JSON_CONTENT_TYPE
            self._send_bytes(fault.status or 200, fault.body, content_type, fault.headers)
            return True
        if fault.status is not None and fault.status >= 300:
            message = f"scripted fault: status {fault.status}"
            self._send_error_json(fault.status, message, fault.headers)
            return True
        return False

    def _send_filler(self, fault: Fault) -> None:
        size = fault.oversized_bytes or 0
        self.send_response(fault.status or 200)
        self.send_header("Content-Type", fault.content_type or JSON_CONTENT_TYPE)
        if fault.send_content_length:
            self.send_header("Content-Length", str(size))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        chunk = b"0" * FILLER_CHUNK_BYTES
        remaining = size
        while remaining > 0:
            piece = chunk[: min(remaining, FILLER_CHUNK_BYTES)]
            self.wfile.write(piece)
            remaining -= len(piece)

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send_bytes(status, body, JSON_CONTENT_TYPE, headers)

    def _send_error_json(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        self._send_json(status, {"code": str(status), "message": message, "data": None}, headers)

    def _send_bytes(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature fixed by the base class)
        logger.debug("%s %s", self.address_string(), format % args)


# Returned by _updated_since after it has sent a 400 for an invalid value.
_INVALID = object()


def _record_fingerprint(record: Mapping[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)


def _envelope(data: Any) -> dict[str, Any]:
    return {"code": "200", "message": "success", "data": data}


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode("ascii")).decode("ascii")


def _decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    prefix, _, value = text.partition(":")
    if prefix != "offset":
        return None
    return _parse_non_negative_int(value)


def _whole_seconds(timestamp: float) -> float:
    return float(int(timestamp))


def _parse_non_negative_int(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def _parse_positive_int(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value >= 1 else None
