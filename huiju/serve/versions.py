"""Resolve the published version a request reads, and keep loaded versions in memory.

A request resolves ``current`` once, with one ``readlink``, and from then on reads only under
``versions/<version_id>/``, never through the ``current`` link. A switch during the request
therefore cannot give it files of two versions. Versions are immutable, so what was loaded from
one stays valid for as long as it is cached.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class NoPublishedVersion(LookupError):
    """The publish directory has no current version, or the named version does not exist."""


@dataclass(frozen=True)
class PublishedVersion:
    version_id: str
    path: Path
    manifest: dict[str, Any] = field(compare=False, repr=False)


def resolve_version(publish_dir: Path, version_id: str | None = None) -> PublishedVersion:
    """Return the current version, or the version named, with its manifest."""
    if version_id is None:
        try:
            version_id = Path(os.readlink(publish_dir / "current")).name
        except (FileNotFoundError, OSError) as error:
            raise NoPublishedVersion(f"no current version in {publish_dir}; run the pipeline first") from error
    path = publish_dir / "versions" / version_id
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise NoPublishedVersion(f"version {version_id} has no manifest in {path}") from error
    return PublishedVersion(version_id=version_id, path=path, manifest=manifest)


class VersionCache(Generic[T]):
    """Cache of the values ``loader`` built, one per version, for the ``size`` versions used most recently.

    Concurrent requests for a version not yet loaded wait for one load instead of each loading it.
    """

    def __init__(self, loader: Callable[[PublishedVersion], T], size: int = 3) -> None:
        self._loader = loader
        self._size = size
        self._loaded: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, version: PublishedVersion) -> T:
        with self._lock:
            if version.version_id in self._loaded:
                self._loaded.move_to_end(version.version_id)
                return self._loaded[version.version_id]
            loading = self._loading.setdefault(version.version_id, threading.Lock())
        with loading:
            with self._lock:
                if version.version_id in self._loaded:
                    return self._loaded[version.version_id]
            value = self._loader(version)
            with self._lock:
                self._loaded[version.version_id] = value
                self._loading.pop(version.version_id, None)
                while len(self._loaded) > self._size:
                    self._loaded.popitem(last=False)
            return value
