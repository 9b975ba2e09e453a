"""Landing store: every fetched response kept unchanged, with its request metadata.

Layout under ``<home>/landing``::

    <source_id>/<run_id>/page-0001.json        response body, byte for byte
    <source_id>/<run_id>/page-0001.meta.json   request URL, status, headers, fetch time, SHA-256
    <source_id>/<run_id>/_COMMITTED.json       written last; a landing without it is incomplete

The commit marker also records whether the landing holds the whole catalog (``full``) or only
the records changed since a time (``updated_since``), and for the latter the run it builds on.

Files are written to a temporary name and renamed, so a crash leaves no half-written page,
and the loader reads only committed landings.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

COMMIT_MARKER = "_COMMITTED.json"

_EXTENSIONS = {
    "json_api": ".json",
    "csv_export": ".csv",
    "xml_export": ".xml",
    "rss_feed": ".xml",
    "atom_feed": ".xml",
}


class LandingError(RuntimeError):
    """A landing directory is missing, incomplete or does not match its metadata."""


@dataclass(frozen=True)
class LandedPage:
    """One stored response and the metadata the loader needs."""

    source_id: str
    run_id: str
    page_number: int
    body_path: Path
    request_url: str
    status_code: int
    headers: dict[str, str]
    fetched_at: str
    sha256: str
    byte_count: int
    encoding: str
    record_count: int | None
    summary: dict[str, Any] | None = None
    reused_from: str | None = None

    def to_meta(self) -> dict[str, Any]:
        meta = asdict(self)
        meta["body_path"] = self.body_path.name
        return meta


FULL = "full"
UPDATED_SINCE = "updated_since"


@dataclass(frozen=True)
class Landing:
    """All pages of one source in one run, in fetch order.

    ``mode`` is ``full`` for a fetch of the whole catalog, or ``updated_since`` for a fetch of
    the records changed since ``updated_since``. Such a landing applies on top of the landing of
    ``base_run_id``, the source's last good load before it. ``cursor`` is the server time at
    the start of the fetch, the next updated-since value.
    """

    source_id: str
    source_format: str
    run_id: str
    directory: Path
    pages: tuple[LandedPage, ...]
    mode: str = FULL
    base_run_id: str | None = None
    updated_since: str | None = None
    cursor: str | None = None

    @property
    def snapshot_id(self) -> str:
        """Content id of the landing: SHA-256 over the page hashes, in page order."""
        digest = hashlib.sha256()
        for page in self.pages:
            digest.update(page.sha256.encode("ascii"))
        return digest.hexdigest()


def chain_snapshot_id(landings: list[Landing]) -> str:
    """Return the content id of raw rows built from ``landings``, oldest first.

    A full landing's id is its own ``snapshot_id``. Each updated-since landing on top is chained
    as SHA-256 of the id so far followed by its own id.
    """
    snapshot = landings[0].snapshot_id
    for landing in landings[1:]:
        snapshot = hashlib.sha256((snapshot + landing.snapshot_id).encode("ascii")).hexdigest()
    return snapshot


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class LandingWriter:
    """Stores the pages of one source run; ``commit`` marks the landing complete."""

    def __init__(
        self,
        landing_dir: Path,
        source_id: str,
        source_format: str,
        run_id: str,
        *,
        mode: str = FULL,
        base_run_id: str | None = None,
        updated_since: str | None = None,
        cursor: str | None = None,
    ):
        if mode not in (FULL, UPDATED_SINCE):
            raise LandingError(f"unknown landing mode {mode!r} for source {source_id}")
        if mode == UPDATED_SINCE and (base_run_id is None or updated_since is None):
            raise LandingError(f"an updated-since landing of source {source_id} needs base_run_id and updated_since")
        self.mode = mode
        self.base_run_id = base_run_id
        self.updated_since = updated_since
        self.cursor = cursor
        if source_format not in _EXTENSIONS:
            raise LandingError(f"unknown source format {source_format!r} for source {source_id}")
        self.source_id = source_id
        self.source_format = source_format
        self.run_id = run_id
        self.directory = landing_dir / source_id / run_id
        if (self.directory / COMMIT_MARKER).exists():
            raise LandingError(f"landing {self.directory} is already committed; run ids must be unique")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._pages: list[LandedPage] = []

    def add_page(
        self,
        *,
        page_number: int,
        request_url: str,
        status_code: int,
        headers: dict[str, str],
        body: bytes,
        fetched_at: datetime,
        sha256: str,
        encoding: str,
        record_count: int | None,
        summary: dict[str, Any] | None = None,
        reused_from: str | None = None,
    ) -> LandedPage:
        """Store one page.

        ``reused_from`` names the earlier landing file whose body a 304 response confirmed. That
        body is stored again, so that every landing is complete on its own.
        """
        actual = hashlib.sha256(body).hexdigest()
        if actual != sha256:
            raise LandingError(
                f"SHA-256 of page {page_number} of source {self.source_id} is {actual}, "
                f"but the fetch recorded {sha256}"
            )
        body_path = self.directory / f"page-{page_number:04d}{_EXTENSIONS[self.source_format]}"
        _write_atomic(body_path, body)
        page = LandedPage(
            source_id=self.source_id,
            run_id=self.run_id,
            page_number=page_number,
            body_path=body_path,
            request_url=request_url,
            status_code=status_code,
            headers=dict(headers),
            fetched_at=fetched_at.isoformat(),
            sha256=sha256,
            byte_count=len(body),
            encoding=encoding,
            record_count=record_count,
            summary=summary,
            reused_from=reused_from,
        )
        meta_path = body_path.with_name(f"page-{page_number:04d}.meta.json")
        _write_atomic(meta_path, json.dumps(page.to_meta(), ensure_ascii=False, indent=2).encode("utf-8"))
        self._pages.append(page)
        return page

    def commit(self) -> Landing:
        marker = {
            "source_id": self.source_id,
            "source_format": self.source_format,
            "run_id": self.run_id,
            "mode": self.mode,
            "base_run_id": self.base_run_id,
            "updated_since": self.updated_since,
            "cursor": self.cursor,
            "pages": [page.body_path.name for page in self._pages],
        }
        _write_atomic(self.directory / COMMIT_MARKER, json.dumps(marker, ensure_ascii=False, indent=2).encode("utf-8"))
        return Landing(
            self.source_id, self.source_format, self.run_id, self.directory, tuple(self._pages),
            mode=self.mode, base_run_id=self.base_run_id, updated_since=self.updated_since, cursor=self.cursor,
        )


def read_landing(directory: Path) -> Landing:
    """Read a committed landing back from disk, checking every body against its SHA-256."""
    marker_path = directory / COMMIT_MARKER
    if not marker_path.exists():
        raise LandingError(f"landing {directory} has no {COMMIT_MARKER}; it is incomplete and cannot be loaded")
    marker = json.loads(marker_path.read_text(encoding="utf-8"))
    pages = []
    for body_name in marker["pages"]:
        body_path = directory / body_name
        meta = json.loads(body_path.with_name(body_name.rsplit(".", 1)[0] + ".meta.json").read_text(encoding="utf-8"))
        actual = hashlib.sha256(body_path.read_bytes()).hexdigest()
        if actual != meta["sha256"]:
            raise LandingError(f"{body_path} has SHA-256 {actual}, but its metadata records {meta['sha256']}")
        meta["body_path"] = body_path
        pages.append(LandedPage(**meta))
    return Landing(
        marker["source_id"], marker["source_format"], marker["run_id"], directory, tuple(pages),
        mode=marker.get("mode", FULL),
        base_run_id=marker.get("base_run_id"),
        updated_since=marker.get("updated_since"),
        cursor=marker.get("cursor"),
    )
