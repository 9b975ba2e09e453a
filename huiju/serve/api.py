"""Read API over the current published version, under ``/api/v1``, with offline docs at ``/api/docs``.

A request resolves ``current`` once and reads only that version, which stays loaded in memory
(:class:`~huiju.serve.catalog.Catalog`) for as long as :class:`VersionCache` keeps it. Every
response carries the version id in ``X-Huiju-Version``, and list responses also carry it in the
body. Responses carry an ``ETag`` made of the version id and a hash of the path and query, so a
version switch changes it. A successful request whose ``If-None-Match`` matches gets ``304``.
Detail endpoints return the document exactly as the version's static feed stores it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import duckdb
import swagger_ui_bundle
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, create_model

from huiju.composition_report import AUDIENCE_LABELS
from huiju.editorial.dimensions import DIMENSION_IDS
from huiju.portal_feed import DIMENSION_VALUE_LABELS
from huiju.serve.catalog import Catalog, ServiceFilters
from huiju.serve.versions import NoPublishedVersion, VersionCache, resolve_version

logger = logging.getLogger(__name__)

PREFIX = "/api/v1"
DOCS_PATH = "/api/docs"
DOCS_ASSETS_PATH = "/api/docs/assets"
VERSION_HEADER = "X-Huiju-Version"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000
# Caches may reuse data responses for a minute, because a switch of `current` is rare and an
# ETag revalidates them cheaply. /version is always revalidated so that a switch shows at once.
DATA_CACHE_CONTROL = "public, max-age=60"
VERSION_CACHE_CONTROL = "no-cache"
ERROR_CACHE_CONTROL = "no-store"
RETRY_AFTER_SECONDS = 60

CONTENT_KIND_LABELS = {"notice": "通知公告", "policy_document": "政策文件", "policy_interpretation": "政策解读"}
IDENTIFIER_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class ApiError(Exception):
    """An error response, with an English and a Chinese message."""

    def __init__(self, status: int, code: str, message: str, message_zh: str, *,
                 headers: dict[str, str] | None = None, version_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.message_zh = message_zh
        self.headers = headers or {}
        self.version_id = version_id

    def response(self) -> Response:
        body = {"status": self.status, "code": self.code, "message": self.message, "message_zh": self.message_zh}
        headers = {"Cache-Control": ERROR_CACHE_CONTROL, **self.headers}
        if self.version_id is not None:
            body["version"] = self.version_id
            headers[VERSION_HEADER] = self.version_id
        return Response(_json_bytes(body), status_code=self.status, media_type="application/json", headers=headers)


def _validation_response(error: RequestValidationError) -> Response:
    errors = [
        {"location": list(detail.get("loc", ())), "message": detail.get("msg", ""), "type": detail.get("type", "")}
        for detail in error.errors()
    ]
    fields = ", ".join(".".join(str(part) for part in entry["location"]) for entry in errors)
    body = {
        "status": 422,
        "code": "invalid_request",
        "message": f"invalid request parameters: {fields}; see /api/docs for the accepted values",
        "message_zh": f"请求参数无效：{fields}；可接受的取值见 /api/docs",
        "errors": errors,
    }
    return Response(_json_bytes(body), status_code=422, media_type="application/json",
                    headers={"Cache-Control": ERROR_CACHE_CONTROL})


class ApiRoute(APIRoute):
    """A route that returns its own errors as JSON, so the API adds no application-wide exception handlers."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as error:
                return error.response()
            except RequestValidationError as error:
                return _validation_response(error)

        return handle


router = APIRouter(prefix=PREFIX, route_class=ApiRoute, tags=["read API"])


# ---- request parameters ---------------------------------------------------------------------

class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1.")
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE,
                           description=f"Items per page, at most {MAX_PAGE_SIZE}.")


DimensionValue = Literal["primary", "secondary", "unknown", "为主", "为辅", "未知"]
DIMENSION_VALUE_CODES = {label: code for code, label in DIMENSION_VALUE_LABELS.items()}
AUDIENCE_CODES = {label: code for code, label in AUDIENCE_LABELS.items()}
CONTENT_KIND_CODES = {label: code for code, label in CONTENT_KIND_LABELS.items()}


class ServiceFilterQuery(PageQuery):
    q: str | None = Field(
        None, min_length=1, max_length=100,
        description="Text that the service name (事项名称) or implementation code (实施编码) contains.",
    )
    department: str | None = Field(
        None, min_length=1, max_length=200,
        description="department_id, or the exact name of the implementing department (实施主体).",
    )
    region: str | None = Field(
        None, pattern=r"^[0-9]{6}([0-9]{6})?$",
        description="Region code: 12 digits, or the 6-digit GB/T 2260 code of the county.",
    )
    audience: Literal["natural_person", "legal_person", "面向自然人", "面向法人"] | None = Field(
        None,
        description="Service object of the service's themes: natural_person (面向自然人) or legal_person (面向法人).",
    )
    item_type: str | None = Field(
        None, min_length=1, max_length=50,
        description="Item type (事项类型): a code such as 01 or a label such as 行政许可.",
    )


# One query parameter per dimension of the eight principles, named as in fct_service_item_dimension.
ServiceQuery = create_model(
    "ServiceQuery",
    __base__=ServiceFilterQuery,
    **{
        dimension: (
            DimensionValue | None,
            Field(None, description=f"Value of the {dimension} dimension: "
                                    "primary (为主), secondary (为辅) or unknown (未知)."),
        )
        for dimension in DIMENSION_IDS
    },
)

ContentKind = Literal["notice", "policy_document", "policy_interpretation", "通知公告", "政策文件", "政策解读"]


class NoticeQuery(PageQuery):
    kind: ContentKind | None = Field(
        None,
        description="Content kind: notice (通知公告), policy_document (政策文件) or policy_interpretation (政策解读). "
                    "Without it every kind is listed.",
    )
    q: str | None = Field(None, min_length=1, max_length=100, description="Text that the title contains.")


# ---- version resolution and conditional responses ---------------------------------------------

def current_catalog(request: Request) -> Catalog:
    """Resolve ``current`` once for this request and return that version's catalog."""
    publish_dir = request.app.state.settings.publish_dir
    try:
        version = resolve_version(publish_dir)
    except NoPublishedVersion as error:
        raise ApiError(503, "no_published_version", f"no published version is available: {error}",
                       "尚无已发布的版本，请先运行数据管道并发布。",
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from error
    try:
        return request.app.state.api_catalogs.get(version)
    except (duckdb.Error, OSError) as error:
        logger.exception("Could not load version %s for the read API", version.version_id)
        raise ApiError(503, "version_unreadable", f"version {version.version_id} could not be read: {error}",
                       f"版本 {version.version_id} 无法读取，请检查已发布的文件。",
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)}, version_id=version.version_id) from error


CatalogDependency = Annotated[Catalog, Depends(current_catalog)]


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _with_items(fields: dict[str, Any], documents: list[str]) -> bytes:
    """Return ``fields`` as a JSON object with ``items`` set to the JSON ``documents`` as they are."""
    head = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))[:-1]
    separator = "," if fields else ""
    return f'{head}{separator}"items":[{",".join(documents)}]}}'.encode()


def _etag(version_id: str, request: Request) -> str:
    # Parameters sort by name only, so repeated values of one name keep their order.
    query = sorted(request.query_params.multi_items(), key=lambda pair: pair[0])
    identity = json.dumps([request.url.path, query], ensure_ascii=False)
    return f'"{version_id}.{hashlib.sha256(identity.encode("utf-8")).hexdigest()[:20]}"'


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Compare with the weak comparison that RFC 9110 prescribes for If-None-Match."""
    if not if_none_match:
        return False
    candidates = [candidate.strip() for candidate in if_none_match.split(",")]
    return "*" in candidates or etag in [candidate.removeprefix("W/") for candidate in candidates]


def _version_headers(catalog: Catalog, request: Request, cache_control: str = DATA_CACHE_CONTROL) -> dict[str, str]:
    return {VERSION_HEADER: catalog.version.version_id, "ETag": _etag(catalog.version.version_id, request),
            "Cache-Control": cache_control}


def _answer(request: Request, catalog: Catalog, build: Callable[[], bytes],
            cache_control: str = DATA_CACHE_CONTROL) -> Response:
    """Return 304 when If-None-Match matches this version and request, else the body that ``build`` makes."""
    headers = _version_headers(catalog, request, cache_control)
    if _etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(build(), media_type="application/json", headers=headers)


def _not_found(catalog: Catalog, request: Request, code: str, message: str, message_zh: str) -> ApiError:
    headers = _version_headers(catalog, request)
    headers.pop(VERSION_HEADER)
    return ApiError(404, code, message, message_zh, headers=headers, version_id=catalog.version.version_id)


def _page_fields(request: Request, catalog: Catalog, query: PageQuery, total: int) -> dict[str, Any]:
    """Return the envelope of one page: version, counts and relative links that keep the filters."""
    page_count = math.ceil(total / query.page_size)
    parameters = {name: value for name, value in query.model_dump(exclude_none=True).items()
                  if name not in ("page", "page_size")}

    def link(page: int | None) -> str | None:
        if page is None:
            return None
        return f"{request.url.path}?{urlencode({**parameters, 'page': page, 'page_size': query.page_size})}"

    last = max(page_count, 1)
    return {
        "version": catalog.version.version_id,
        "total": total,
        "page": query.page,
        "page_size": query.page_size,
        "page_count": page_count,
        "links": {
            "self": link(query.page),
            "first": link(1),
            "last": link(last),
            "prev": link(min(query.page - 1, last)) if query.page > 1 else None,
            "next": link(query.page + 1) if query.page < page_count else None,
        },
    }


# ---- endpoints --------------------------------------------------------------------------------

@router.get("/version", summary="Current published version")
def get_version(request: Request, catalog: CatalogDependency) -> Response:
    """Return the id, creation time, content hash and counts of the current version."""
    manifest = catalog.version.manifest

    def build() -> bytes:
        return _json_bytes({
            "version": catalog.version.version_id,
            "created_at": manifest.get("created_at"),
            "run_id": manifest.get("run_id"),
            "content_sha256": manifest.get("content_sha256"),
            "counts": catalog.counts(),
            "row_counts": manifest.get("row_counts", {}),
        })

    return _answer(request, catalog, build, VERSION_CACHE_CONTROL)


@router.get("/themes", summary="Cross-department service themes")
def list_themes(request: Request, catalog: CatalogDependency) -> Response:
    """Return a summary of every theme (服务主题) in the editors' order, as ``feed/themes.json`` lists them."""

    def build() -> bytes:
        items = [{**summary, "href": f"{PREFIX}/themes/{summary['id']}"} for summary in catalog.theme_summaries]
        return _json_bytes({"version": catalog.version.version_id, "total": len(items), "items": items})

    return _answer(request, catalog, build)


@router.get("/themes/{theme_id}", summary="One theme with steps, services, content forms and business systems")
def get_theme(request: Request, catalog: CatalogDependency,
              theme_id: Annotated[str, Path(pattern=IDENTIFIER_PATTERN, description="theme_id, e.g. newborn_birth")]
              ) -> Response:
    """Return the theme document, byte for byte as ``feed/themes/<theme_id>.json`` of this version."""
    document = catalog.theme_documents.get(theme_id)
    if document is None:
        raise _not_found(catalog, request, "theme_not_found",
                         f"theme {theme_id} not found in version {catalog.version.version_id}; "
                         f"GET {PREFIX}/themes lists the themes",
                         f"版本 {catalog.version.version_id} 中没有主题 {theme_id}，主题列表见 {PREFIX}/themes。")
    return _answer(request, catalog, lambda: document)


@router.get("/services", summary="Services, filtered and paged")
def list_services(request: Request, catalog: CatalogDependency,
                  query: Annotated[ServiceQuery, Query()]) -> Response:
    """Return one page of services ordered by service_item_id; every filter given must hold."""
    dimensions = tuple(
        (dimension, DIMENSION_VALUE_CODES.get(value, value))
        for dimension in DIMENSION_IDS
        if (value := getattr(query, dimension)) is not None
    )
    filters = ServiceFilters(
        q=query.q,
        department=query.department,
        region=query.region,
        audience=AUDIENCE_CODES.get(query.audience, query.audience),
        item_type=query.item_type,
        dimensions=dimensions,
    )

    def build() -> bytes:
        total, documents = catalog.find_services(filters, (query.page - 1) * query.page_size, query.page_size)
        return _with_items(_page_fields(request, catalog, query, total), documents)

    return _answer(request, catalog, build)


@router.get("/services/{service_item_id}", summary="One service")
def get_service(request: Request, catalog: CatalogDependency,
                service_item_id: Annotated[str, Path(pattern=IDENTIFIER_PATTERN, description="service_item_id")]
                ) -> Response:
    """Return the service document as the pages of ``feed/services/`` store it."""
    document = catalog.service(service_item_id)
    if document is None:
        raise _not_found(catalog, request, "service_not_found",
                         f"service {service_item_id} not found in version {catalog.version.version_id}",
                         f"版本 {catalog.version.version_id} 中没有服务事项 {service_item_id}。")
    return _answer(request, catalog, lambda: document.encode("utf-8"))


@router.get("/notices", summary="Notices, policy documents and policy interpretations, newest first")
def list_notices(request: Request, catalog: CatalogDependency, query: Annotated[NoticeQuery, Query()]) -> Response:
    """Return one page of content items (通知公告, 政策文件, 政策解读), newest first."""
    kinds = (CONTENT_KIND_CODES.get(query.kind, query.kind),) if query.kind else tuple(catalog.content_kinds)

    def build() -> bytes:
        total, documents = catalog.find_content(kinds, query.q, (query.page - 1) * query.page_size, query.page_size)
        return _with_items(_page_fields(request, catalog, query, total), documents)

    return _answer(request, catalog, build)


@router.get("/departments", summary="Implementing departments")
def list_departments(request: Request, catalog: CatalogDependency) -> Response:
    """Return every implementing department (实施主体) with its codes and number of services."""

    def build() -> bytes:
        return _json_bytes({"version": catalog.version.version_id, "total": len(catalog.departments),
                            "items": catalog.departments})

    return _answer(request, catalog, build)


def _add_head_routes() -> None:
    """Serve HEAD like GET on every API route, because FastAPI adds only the methods that a route names."""
    for route in list(router.routes):
        if isinstance(route, APIRoute) and "GET" in route.methods:
            router.add_api_route(route.path.removeprefix(PREFIX), route.endpoint, methods=["HEAD"],
                                 include_in_schema=False, name=f"{route.name}_head")


_add_head_routes()


# ---- installation -----------------------------------------------------------------------------

def install(app: FastAPI) -> None:
    """Add the API routes, the version cache and the offline Swagger UI at ``/api/docs`` to ``app``."""
    app.state.api_catalogs = VersionCache(Catalog)
    app.include_router(router)

    # Swagger UI's script and style come from the swagger-ui-bundle package, so the page needs no
    # network beyond this server.
    app.mount(DOCS_ASSETS_PATH, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger_ui_assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS_PATH}/favicon-32x32.png",
            # Swagger UI 4.15 defaults validatorUrl to https://validator.swagger.io/validator.
            swagger_ui_parameters={"validatorUrl": None},
        )
