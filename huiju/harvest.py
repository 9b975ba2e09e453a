"""Fetch one registered source and store every response in the landing store."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors import csv_export, json_api
from huiju.landing import Landing, LandingWriter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HarvestFailure:
    """Why a source failed: the stage, the URL and status involved, and the reason."""

    source_id: str
    stage: str
    url: str | None
    status_code: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "url": self.url, "status_code": self.status_code, "reason": self.reason}


def harvest_source(client: Any, source: Any, landing_dir: Path, run_id: str) -> Landing:
    """Fetch all pages of ``source`` and commit them as one landing; return the landing.

    A source fails as a whole: pages of an incomplete fetch stay uncommitted and are never loaded.
    """
    writer = LandingWriter(landing_dir, source.id, source.format, run_id)
    if source.format == "json_api":
        pages = json_api.fetch_pages(client, source)
    elif source.format == "csv_export":
        pages = iter([csv_export.fetch_export(client, source)])
    else:
        raise ValueError(f"source {source.id}: no connector for format {source.format!r}")

    for page in pages:
        response = page.response
        writer.add_page(
            page_number=page.page_number,
            request_url=response.request_url,
            status_code=response.status_code,
            headers=response.headers,
            body=response.body,
            fetched_at=response.fetched_at,
            sha256=response.sha256,
            encoding=page.encoding,
            record_count=page.record_count,
        )
    landing = writer.commit()
    logger.info(
        "Landed source %s: %d pages, %d bytes",
        source.id, len(landing.pages), sum(page.byte_count for page in landing.pages),
    )
    return landing


def describe_failure(source_id: str, error: BaseException) -> HarvestFailure:
    """Turn a connector exception into the stage, URL, status and reason of the run record."""
    return HarvestFailure(
        source_id=source_id,
        stage="harvest",
        url=getattr(error, "url", None),
        status_code=getattr(error, "status_code", None),
        reason=f"{type(error).__name__}: {error}",
    )
