"""Run records: one JSON document per pipeline run, the store behind ``huiju status``.

Each run writes ``<home>/runs/<run_id>.json`` as it progresses and replaces
``<home>/runs/latest.json`` when it ends. Both are replaced atomically, so a reader never sees a
half-written record, and no reader needs the warehouse.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

LATEST = "latest.json"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def new_run_id(now: datetime | None = None) -> str:
    """Return a sortable, unique run id such as ``20261204T201500Z-3f9a1c``."""
    moment = (now or utc_now()).astimezone(timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass
class StageRecord:
    stage: str
    status: str = "running"
    started_at: str = field(default_factory=lambda: utc_now().isoformat())
    finished_at: str | None = None
    duration_seconds: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def finish(self, status: str, *, error: str | None = None, **detail: Any) -> None:
        finished = utc_now()
        self.status = status
        self.finished_at = finished.isoformat()
        self.duration_seconds = round((finished - datetime.fromisoformat(self.started_at)).total_seconds(), 3)
        self.error = error
        self.detail.update(detail)


@dataclass
class SourceRecord:
    """Outcome of one source in one run. ``error`` names the stage, URL, status and reason."""

    source_id: str
    owner_department: str
    source_format: str
    status: str = "pending"
    fetched: int | None = None
    published: int | None = None
    quarantined: int | None = None
    merged: int | None = None
    flagged: int | None = None
    pages: int | None = None
    bytes: int | None = None
    snapshot_id: str | None = None
    is_stale: bool = False
    warnings: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None


@dataclass
class RunRecord:
    run_id: str
    started_at: str = field(default_factory=lambda: utc_now().isoformat())
    finished_at: str | None = None
    status: str = "running"
    published_version: str | None = None
    is_unchanged: bool = False
    current_version: str | None = None
    message: str | None = None
    stages: list[StageRecord] = field(default_factory=list)
    sources: dict[str, SourceRecord] = field(default_factory=dict)
    gates: list[dict[str, Any]] = field(default_factory=list)

    def stage(self, name: str) -> StageRecord:
        record = StageRecord(stage=name)
        self.stages.append(record)
        return record

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        data = dict(data)
        data["stages"] = [StageRecord(**stage) for stage in data.get("stages", [])]
        data["sources"] = {key: SourceRecord(**value) for key, value in data.get("sources", {}).items()}
        return cls(**data)


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(temporary, path)


class RunStore:
    def __init__(self, runs_dir: Path):
        self.runs_dir = runs_dir

    def save(self, run: RunRecord, *, final: bool = False) -> None:
        _write_json_atomic(self.runs_dir / f"{run.run_id}.json", run.to_dict())
        if final:
            _write_json_atomic(self.runs_dir / LATEST, run.to_dict())

    def latest(self) -> RunRecord | None:
        path = self.runs_dir / LATEST
        if not path.exists():
            return None
        return RunRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def get(self, run_id: str) -> RunRecord:
        path = self.runs_dir / f"{run_id}.json"
        if not path.exists():
            raise FileNotFoundError(f"run record {run_id} not found in {self.runs_dir}")
        return RunRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
