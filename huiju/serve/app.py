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
    # swagger-ui-bundle ships Swagger UI 4 for the offline docs page, and Swagger UI 4 renders only
    # OpenAPI 3.0 documents. The schemas FastAPI generates here use nothing from 3.1.
    app.openapi_version = "3.0.3"
    app.state.settings = settings

    @app.middleware("http")
    async def reject_writes(request: Request, call_next):
        # Nothing served here changes data; a write method is refused before any route runs.
        if request.method not in READ_METHODS:
            return JSONResponse(
                {"status": 405, "code": "method_not_allowed", "message": "read-only: only GET and HEAD are served",
                 "message_zh": "只读服务：仅支持 GET 和 HEAD 请求"},
                status_code=405, headers={"Allow": "GET, HEAD"},
            )
        return await call_next(request)

    api.install(app)
    dashboard.install(app)
    return app
