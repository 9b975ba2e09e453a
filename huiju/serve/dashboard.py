"""Integration-status dashboard, in Simplified Chinese with an English switch."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the dashboard pages to ``app``."""
