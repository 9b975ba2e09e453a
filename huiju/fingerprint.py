"""Fingerprint of everything a published version is built from.

A version depends on the landed snapshot of every source and on the code and configuration
that turn snapshots into marts: the dbt project, the editorial files, the expectations and
Huiju's own Python packages. When a run's fingerprint equals the one recorded in the current
version's manifest, transform, audit and publish would rebuild the same files, so the pipeline
skips them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from huiju.settings import PROJECT_ROOT, Settings

# Folders that dbt, the loader or a run writes into; they are outputs, not inputs.
_SKIPPED_PARTS = {"target", "logs", "dbt_packages", "__pycache__", ".pytest_cache"}
_CODE_PACKAGES = ("huiju", "flows", "connectors")


def _files(root: Path) -> Iterable[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not _SKIPPED_PARTS.intersection(path.relative_to(root).parts):
            yield path


def code_fingerprint(settings: Settings) -> str:
    """SHA-256 over the path and bytes of every file that shapes the transform, audit and publish."""
    roots = [settings.dbt_project_dir, settings.editorial_dir, settings.expectations_dir,
             *(PROJECT_ROOT / package for package in _CODE_PACKAGES)]
    digest = hashlib.sha256()
    for root in roots:
        if not root.exists():
            continue
        for path in _files(root):
            if path.suffix in (".pyc", ".duckdb"):
                continue
            digest.update(str(path.relative_to(root.parent)).encode("utf-8") + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def inputs_fingerprint(settings: Settings, sources: Mapping[str, Mapping[str, Any]]) -> str:
    """Fingerprint of a run's inputs: each source's snapshot id and the code fingerprint."""
    snapshots = {source_id: outcome.get("snapshot_id") for source_id, outcome in sorted(sources.items())}
    payload = json.dumps({"snapshots": snapshots, "code": code_fingerprint(settings)}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
