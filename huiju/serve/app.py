"""The web application behind ``huiju serve``: read API under ``/api/v1`` and the dashboard under ``/``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from huiju.serve import api, dashboard
from huiju.settings import Settings

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application over ``settings.publish_dir`` and ``settings.runs_dir``; it never writes."""
    settings = settings or Settings()
    app = FastAPI(
        title="Huiju read API",
        description="Published service themes, services, notices and departments of the current version.",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings

    @app.middleware("http")
    async def reject_writes(request: Request, call_next):
        # Nothing served here changes data; a write method is refused before any route runs.
        if request.method not in READ_METHODS:
            return JSONResponse({"detail": "read-only: only GET and HEAD are served"}, status_code=405,
                                headers={"Allow": "GET, HEAD"})
        return await call_next(request)

    api.install(app)
    dashboard.install(app)
    return app
