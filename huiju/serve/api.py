"""Read API over the current published version."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the API routes to ``app``."""
