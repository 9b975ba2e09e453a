"""Durable per-source harvest state: what the last good load of each source contained.

One JSON file per source under ``<home>/state/``. The harvest reads it to send conditional
requests, to skip pages whose content is unchanged, to spot a shrinking catalog and to spot
schema drift. It is written only after the raw load of that source has committed, so a crash
between fetch and load never advances the state past data that is not in the warehouse.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class PageState:
    """Hash, landing file, validators and summary of one page URL in the last good load."""

    request_url: str
    sha256: str
    landing_file: str
    record_count: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    summary: dict[str, Any] | None = None


@dataclass
class SourceState:
    """Contents of the last good load of one source, and the start of its next fetch.

    ``pages`` is keyed by page key (see :func:`page_key`). It lists the pages of the last full
    fetch and is empty after an updated-since load, whose rows are spread over several landings.
    ``cursor`` is the server time, in ISO 8601, to send as the next updated-since value.
    ``snapshot`` is the content id of the raw rows: that of the last full landing, chained
    with that of each updated-since landing loaded on top of it.
    """

    source_id: str
    last_good_run_id: str | None = None
    last_good_at: str | None = None
    record_count: int | None = None
    fields: list[str] = field(default_factory=list)
    pages: dict[str, PageState] = field(default_factory=dict)
    cursor: str | None = None
    last_full_fetch_at: str | None = None
    snapshot: str | None = None

    def page_hashes(self) -> list[str]:
        return [page.sha256 for page in self.pages.values()]

    def snapshot_id(self) -> str | None:
        """Content id of the raw rows of the last good load, as ``Landing.snapshot_id`` computes it for a full load."""
        if self.snapshot is not None:
            return self.snapshot
        if not self.pages:
            return None
        digest = hashlib.sha256()
        for page in self.pages.values():
            digest.update(page.sha256.encode("ascii"))
        return digest.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceState:
        data = dict(data)
        data["pages"] = {url: PageState(**page) for url, page in data.get("pages", {}).items()}
        return cls(**data)


def page_key(base_url: str, url: str) -> str:
    """Return ``url`` relative to the source's ``base_url``, or unchanged if it lies elsewhere.

    State is keyed this way so that it survives a change of host or port in ``base_url``, such
    as a department system that moved behind a new gateway.
    """
    if url.startswith(base_url) and url[len(base_url) : len(base_url) + 1] in ("/", "?"):
        return url[len(base_url) :]
    return url


def page_url(base_url: str, key: str) -> str:
    """Return the absolute URL of a page key made by :func:`page_key`."""
    return base_url + key if key.startswith(("/", "?")) else key


class StateStore:
    def __init__(self, state_dir: Path):
        self.state_dir = state_dir

    def _path(self, source_id: str) -> Path:
        return self.state_dir / f"{source_id}.json"

    def load(self, source_id: str) -> SourceState:
        """Return the stored state of ``source_id``, or an empty state for a source never loaded."""
        path = self._path(source_id)
        if not path.exists():
            return SourceState(source_id=source_id)
        return SourceState.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def save(self, state: SourceState) -> None:
        """Replace the state file atomically; call only after the load it describes has committed."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self._path(state.source_id)
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        temporary.write_text(json.dumps(state.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(temporary, path)
