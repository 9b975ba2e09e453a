"""Integration-status dashboard, in Simplified Chinese with an English switch (``?lang=en``).

Pages: ``/`` departments, ``/runs`` and ``/runs/{run_id}``, ``/versions``, ``/themes``, and each
department's quality report at ``/reports/quality/{department_id}.html`` and ``.csv``. The pages
read only published versions and run records, and they are server-rendered HTML with inline SVG
charts, so they work without any file from outside this package.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from huiju import quality_report
from huiju.freshness import SCHEDULE_TIMEZONE
from huiju.runs import utc_now
from huiju.serve import charts
from huiju.serve.changes import (
    ChangeCache,
    consecutive_changes,
    publication_entries,
    version_summaries,
)
from huiju.serve.labels import (
    LANGUAGES,
    format_seconds,
    format_span,
    label_or_value,
    translate,
)
from huiju.serve.overview import Overview, build_overview
from huiju.serve.records import (
    RunHistory,
    SourceRegistryReader,
    VersionFacts,
    load_version_facts,
)
from huiju.serve.themes import ThemesView, load_themes
from huiju.serve.versions import (
    NoPublishedVersion,
    PublishedVersion,
    VersionCache,
    resolve_version,
)
from huiju.settings import Settings

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
STYLESHEET = STATIC_DIR / "dashboard.css"

# Run ids come from huiju.runs.new_run_id, such as 20261204T201500Z-3f9a1c. The pattern also keeps
# path separators out of the run record's file name.
RUN_ID_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,80}$")
DEPARTMENT_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
MAX_CHARTED_RUNS = 20
# FastAPI's get() routes accept only GET. The pages also serve HEAD, which the read-only middleware
# in app.py lets through.
READ_METHODS = ["GET", "HEAD"]


class DashboardState:
    """Readers and caches shared by every request; ``clock`` returns the current UTC time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = SourceRegistryReader(settings.sources_file)
        self.runs = RunHistory(settings.runs_dir)
        self.facts: VersionCache[VersionFacts] = VersionCache(load_version_facts)
        self.themes: VersionCache[ThemesView] = VersionCache(load_themes)
        self.changes = ChangeCache()
        self.clock: Callable[[], datetime] = utc_now

    def current_version(self) -> PublishedVersion | None:
        try:
            return resolve_version(self.settings.publish_dir)
        except NoPublishedVersion:
            return None

    def overview(self, version: PublishedVersion) -> Overview:
        return build_overview(
            manifest=version.manifest,
            facts=self.facts.get(version),
            registry=self.registry.sources(),
            latest_run=self.runs.latest(),
            last_fetches=self.runs.last_fetches(),
            now=self.clock(),
        )


def install(app: FastAPI) -> None:
    """Add the dashboard pages and their stylesheet to ``app``."""
    state = DashboardState(app.state.settings)
    app.state.dashboard = state
    templates = _templates()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    router = APIRouter(include_in_schema=False)

    def render(request: Request, name: str, status_code: int = 200, headers: dict[str, str] | None = None,
               **context: Any) -> HTMLResponse:
        context.update(_page_helpers(request, request_language(request)))
        context.setdefault("version", None)
        return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)

    @router.api_route("/", methods=READ_METHODS, response_class=HTMLResponse)
    def overview_page(request: Request) -> HTMLResponse:
        version = state.current_version()
        if version is None:
            return render(request, "message.html", title_key="overview_title", message_key="no_version")
        overview = state.overview(version)
        lang = request_language(request)
        return render(request, "overview.html", version=version, overview=overview,
                      chart=_department_chart(overview, lang), now=state.clock())

    @router.api_route("/runs", methods=READ_METHODS, response_class=HTMLResponse)
    def runs_page(request: Request) -> HTMLResponse:
        # NOTE: the table lists every run record and the chart the newest 20. Years of daily runs
        # would make the table long enough to need paging.
        runs = state.runs.records()
        lang = request_language(request)
        return render(request, "runs.html", version=state.current_version(), runs=runs,
                      chart=_runs_chart(runs[:MAX_CHARTED_RUNS], lang) if runs else None)

    @router.api_route("/runs/{run_id}", methods=READ_METHODS, response_class=HTMLResponse)
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        run = state.runs.get(run_id) if RUN_ID_PATTERN.match(run_id) and run_id != "latest" else None
        lang = request_language(request)
        if run is None:
            return render(request, "message.html", status_code=404, title_key="not_found_title",
                          message=translate("run_not_found", lang, run=run_id))
        return render(request, "run.html", version=state.current_version(), run=run,
                      chart=_stages_chart(run, lang))

    @router.api_route("/versions", methods=READ_METHODS, response_class=HTMLResponse)
    def versions_page(request: Request) -> HTMLResponse:
        publish_dir = state.settings.publish_dir
        version = state.current_version()
        current = version.version_id if version else None
        entries = publication_entries(publish_dir)
        return render(request, "versions.html", version=version, entries=entries,
                      is_inferred=any(entry.is_inferred for entry in entries),
                      summaries=version_summaries(publish_dir, current), current=current,
                      changes=consecutive_changes(publish_dir, state.changes))

    @router.api_route("/themes", methods=READ_METHODS, response_class=HTMLResponse)
    def themes_page(request: Request) -> HTMLResponse:
        version = state.current_version()
        if version is None:
            return render(request, "message.html", title_key="themes_title", message_key="no_version")
        view = state.themes.get(version)
        lang = request_language(request)
        return render(request, "themes.html", version=version, view=view,
                      heatmap=_coverage_chart(view, lang),
                      composition_charts={theme.theme_id: _composition_chart(theme, lang) for theme in view.compositions})

    @router.api_route("/reports/quality/{department}.html", methods=READ_METHODS, response_class=HTMLResponse)
    def quality_report_page(request: Request, department: str) -> Response:
        lang = request_language(request)
        version = state.current_version()
        if version is None:
            return render(request, "message.html", title_key="nav_overview", message_key="report_no_version")
        report = _department_report(state, version, department)
        if report is None:
            return render(request, "message.html", status_code=404, title_key="not_found_title",
                          message=translate("report_unknown_department", lang, department=department))
        filename = quality_report.download_filename(report, "html", lang)
        return render(
            request, "quality_report.html", version=version, report=report, csv_columns=quality_report.CSV_COLUMNS,
            stylesheet=STYLESHEET.read_text(encoding="utf-8"),
            headers={"Content-Disposition": quality_report.content_disposition(
                "inline", filename, f"quality-report-{report.department_id}.html")},
        )

    @router.api_route("/reports/quality/{department}.csv", methods=READ_METHODS)
    def quality_report_csv(request: Request, department: str) -> Response:
        lang = request_language(request)
        version = state.current_version()
        if version is None:
            return PlainTextResponse(translate("report_no_version", lang), status_code=404)
        report = _department_report(state, version, department)
        if report is None:
            return PlainTextResponse(translate("report_unknown_department", lang, department=department), status_code=404)
        filename = quality_report.download_filename(report, "csv", lang)
        disposition = quality_report.content_disposition(
            "attachment", filename, f"quality-report-{report.department_id}-{report.version_id}.csv")
        return Response(quality_report.render_csv(report, lang), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": disposition})

    app.include_router(router)


def request_language(request: Request) -> str:
    """Return ``en`` for ``?lang=en`` and ``zh`` otherwise; Chinese is the default."""
    lang = request.query_params.get("lang", "zh")
    return lang if lang in LANGUAGES else "zh"


def _templates() -> Jinja2Templates:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["local_time"] = local_time
    environment.filters["number"] = format_number
    return Jinja2Templates(env=environment)


def _page_helpers(request: Request, lang: str) -> dict[str, Any]:
    """Return the functions that every template uses to translate and to link in the same language."""

    def link(path: str) -> str:
        return f"{path}?lang=en" if lang == "en" else path

    other = "zh" if lang == "en" else "en"
    query = {key: value for key, value in request.query_params.items() if key != "lang"}
    if other == "en":
        query["lang"] = "en"
    switch_url = request.url.path + (f"?{urlencode(query)}" if query else "")
    return {
        "lang": lang,
        "t": lambda key, **fields: translate(key, lang, **fields),
        "label": lambda prefix, value: label_or_value(prefix, value, lang),
        "span": lambda value: format_span(value, lang),
        "seconds": lambda value: format_seconds(value, lang),
        "run_seconds": run_duration,
        "owner_id": quality_report.department_id,
        "field_label": lambda field: quality_report.field_label(field, lang),
        "link": link,
        "switch_url": switch_url,
        "report_url": lambda department_id, extension="html": link(f"/reports/quality/{department_id}.{extension}"),
    }


def local_time(value: str | datetime | None) -> str:
    """Render an ISO 8601 time or a datetime as Beijing time, to the minute."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SCHEDULE_TIMEZONE).strftime("%Y-%m-%d %H:%M")


def format_number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,}"


def run_duration(run: dict[str, Any]) -> float | None:
    """Return the seconds from a run's start to its end, or None while it runs."""
    if not run.get("started_at") or not run.get("finished_at"):
        return None
    return (datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])).total_seconds()


def _department_report(state: DashboardState, version: PublishedVersion, department: str) -> quality_report.QualityReport | None:
    """Return the report of the owner whose id is ``department``, or None if no owner has that id."""
    if not DEPARTMENT_ID_PATTERN.match(department):
        return None
    overview = state.overview(version)
    owners: dict[str, set[str]] = {}
    for owner in overview.departments + overview.other_owners:
        owners.setdefault(owner.name, set()).update(source.source_id for source in owner.sources)
    for source in overview.content_sources:
        owners.setdefault(source.owner, set()).add(source.source_id)
    for name, source_ids in owners.items():
        if quality_report.department_id(name) == department:
            return quality_report.build_report(
                version.path, version_id=version.version_id,
                version_created_at=version.manifest.get("created_at", ""),
                department_name=name, source_ids=source_ids,
            )
    return None


def _department_chart(overview: Overview, lang: str) -> Any:
    rows = []
    for owner in overview.departments + overview.other_owners:
        counts = owner.counts
        if counts["fetched"] is None:
            continue
        href = f"/reports/quality/{owner.department_id}.html" + ("?lang=en" if lang == "en" else "")
        rows.append(charts.BarRow(owner.name, {key: counts[key] or 0 for key in counts}, href=href))
    rows.sort(key=lambda row: -row.values["fetched"])
    segments = [
        charts.Segment("published", translate("count_published", lang), "seg-published"),
        charts.Segment("quarantined", translate("count_quarantined", lang), "seg-quarantined"),
        charts.Segment("merged", translate("count_merged", lang), "seg-merged"),
    ]
    return charts.stacked_bars(
        rows, segments, title=translate("chart_departments_title", lang),
        sub_segment=charts.Segment("flagged", translate("count_flagged", lang), "seg-flagged"),
    )


def _stage_segments(runs: list[dict[str, Any]], lang: str) -> list[charts.Segment]:
    names: list[str] = []
    for run in runs:
        for stage in run.get("stages", []):
            if stage.get("stage") not in names:
                names.append(stage.get("stage"))
    return [charts.Segment(name, label_or_value("stage", name, lang), f"seg-stage-{index % 6}")
            for index, name in enumerate(names)]


def _runs_chart(runs: list[dict[str, Any]], lang: str) -> Any:
    segments = _stage_segments(runs, lang)
    rows = []
    for run in runs:
        values: dict[str, float] = {}
        for stage in run.get("stages", []):
            values[stage.get("stage")] = values.get(stage.get("stage"), 0) + (stage.get("duration_seconds") or 0)
        href = f"/runs/{run['run_id']}" + ("?lang=en" if lang == "en" else "")
        rows.append(charts.BarRow(local_time(run.get("started_at")), values, href=href))
    unit = "s" if lang == "en" else "秒"
    return charts.stacked_bars(rows, segments, title=translate("chart_runs_title", lang), unit=f" {unit}")


def _stages_chart(run: dict[str, Any], lang: str) -> Any:
    stages = run.get("stages", [])
    if not stages:
        return None
    segments = _stage_segments([run], lang)
    rows = [
        charts.BarRow(label_or_value("stage", stage.get("stage"), lang),
                      {stage.get("stage"): stage.get("duration_seconds") or 0})
        for stage in stages
    ]
    unit = "s" if lang == "en" else "秒"
    return charts.stacked_bars(rows, segments, title=translate("chart_stages_title", lang), unit=f" {unit}")


def _coverage_chart(view: ThemesView, lang: str) -> Any:
    coverage = view.coverage
    if not coverage.departments:
        return None
    return charts.heatmap(
        [(department["department_id"], department["name"]) for department in coverage.departments],
        [(theme["theme_id"], theme["name"]) for theme in coverage.themes],
        coverage.counts,
        title=translate("chart_coverage_title", lang),
        cell_title=translate("coverage_cell", lang, row="{row}", column="{column}", count="{count}"),
    )


def _composition_chart(theme: Any, lang: str) -> Any:
    segments = [
        charts.Segment("primary", translate("share_primary", lang), "seg-primary"),
        charts.Segment("secondary", translate("share_secondary", lang), "seg-secondary"),
        charts.Segment("unknown", translate("share_unknown", lang), "seg-unknown"),
    ]
    rows = []
    marked = set()
    for dimension in theme.dimensions:
        label = label_or_value("dimension", dimension.dimension, lang)
        if lang == "zh" and dimension.label:
            label = dimension.label
        if dimension.breaches:
            marked.add(label)
        rows.append(charts.BarRow(label, {"primary": dimension.primary_share, "secondary": dimension.secondary_share,
                                          "unknown": dimension.unknown_share}))
    return charts.share_bars(rows, segments, title=theme.name, marked=marked)
