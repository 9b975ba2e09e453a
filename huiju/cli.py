"""The ``huiju`` command: run the pipeline, run the demo, list sources, show the last run."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import unicodedata
from typing import Any

from huiju.settings import Settings

DEMO_BASE_URL_VARIABLE = "HUIJU_DEPT_BASE_URL"
# Base URL that commands which fetch nothing use when HUIJU_DEPT_BASE_URL is unset.
PLACEHOLDER_BASE_URL = "http://127.0.0.1:8000"
# Characters of an error shown in a table cell; the JSON output keeps the whole message.
MAX_ERROR_WIDTH = 100
# Characters of a service name shown in the history table.
MAX_NAME_WIDTH = 30


def _settings(arguments: argparse.Namespace) -> Settings:
    return Settings.with_overrides(arguments.home, arguments.sources)


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(width - _width(text), 0)
    return gap + text if right else text + gap


def format_table(
    headings: list[str], rows: list[list[Any]], *, right_align_from: int | None = None, total_row: bool = False
) -> str:
    """Lay out rows under headings in padded columns; None prints as an empty cell.

    Columns from ``right_align_from`` on are right-aligned. With ``total_row`` a rule separates the
    last row.
    """
    cells = [["" if value is None else str(value) for value in row] for row in [headings, *rows]]
    widths = [max(_width(row[column]) for row in cells) for column in range(len(headings))]
    lines = []
    for index, row in enumerate(cells):
        if total_row and index == len(cells) - 1:
            lines.append("  ".join("-" * width for width in widths))
        right = [right_align_from is not None and column >= right_align_from for column in range(len(row))]
        lines.append("  ".join(_pad(value, widths[column], right[column]) for column, value in enumerate(row)).rstrip())
    return "\n".join(lines)


# Chinese labels of the source, stage and run statuses that run records store in English.
STATUS_LABELS = {
    "landed": "已载入",
    "unchanged": "未变化",
    "replayed": "已重放",
    "failed": "失败",
    "succeeded": "成功",
    "passed": "通过",
    "blocked": "拦截",
    "partial": "部分成功",
    "skipped": "跳过",
    "running": "运行中",
    "unknown": "未知",
}


def status_label(status: str) -> str:
    """Return the Chinese label of a status, or the status itself if it has none."""
    return STATUS_LABELS.get(status, status)


CONTENT_FORMATS = ("rss_feed", "atom_feed")
COUNT_KEYS = ("fetched", "published", "quarantined", "merged", "flagged")


def record_kind(source_format: str) -> str:
    """Return ``content`` for feeds of notices and policy documents, else ``service_item``."""
    return "content" if source_format in CONTENT_FORMATS else "service_item"


def _count_totals(sources: list[dict[str, Any]]) -> dict[str, int]:
    return {key: sum((source.get(key) or 0) for source in sources) for key in COUNT_KEYS}


def _summary_table(sources: list[dict[str, Any]], first_heading: str) -> str:
    headings = [first_heading, "来源", "格式", "状态", "抓取", "发布", "隔离", "合并", "其中有警告"]
    rows = []
    for source in sorted(sources, key=lambda item: (item["owner_department"], item["source_id"])):
        status = status_label(source["status"]) + ("（沿用上次数据）" if source.get("is_stale") else "")
        rows.append([source["owner_department"], source["source_id"], source["source_format"], status,
                     *(source.get(key) for key in COUNT_KEYS)])
    rows.append(["合计", f"{len(sources)} 个来源", "", "", *_count_totals(sources).values()])
    return format_table(headings, rows, right_align_from=4, total_row=True)


def format_department_summary(run: dict[str, Any]) -> str:
    """Render the per-department counts of the service-item sources of a run as a table."""
    sources = [source for source in run["sources"].values() if record_kind(source["source_format"]) == "service_item"]
    return _summary_table(sources, "部门")


def format_content_summary(run: dict[str, Any]) -> str:
    """Render the counts of the content feeds of a run as a table; '' when the run has none.

    Feeds are not departments: their owner is the office that collects the content.
    """
    sources = [source for source in run["sources"].values() if record_kind(source["source_format"]) == "content"]
    return _summary_table(sources, "内容来源负责方") if sources else ""


def _print_run_outcome(run: dict[str, Any], settings: Settings) -> None:
    print()
    print(format_department_summary(run))
    content_table = format_content_summary(run)
    if content_table:
        print()
        print("通知公告、政策文件和政策解读：")
        print(content_table)
    service_sources = [source for source in run["sources"].values()
                       if record_kind(source["source_format"]) == "service_item"]
    content_sources = [source for source in run["sources"].values()
                       if record_kind(source["source_format"]) == "content"]
    totals = _count_totals(service_sources)
    print()
    print("阶段：" + "，".join(f"{stage['stage']} {status_label(stage['status'])}（{stage['duration_seconds']} 秒）"
                              for stage in run["stages"]))
    print(f"运行 {run['run_id']}：{status_label(run['status'])}")
    print(f"抓取 {totals['fetched']} = 发布 {totals['published']} + 隔离 {totals['quarantined']} + 合并 {totals['merged']}；"
          f"发布的记录中 {totals['flagged']} 条带质量警告")
    if content_sources:
        content = _count_totals(content_sources)
        print(f"内容条目：抓取 {content['fetched']} = 发布 {content['published']} + 隔离 {content['quarantined']} "
              f"+ 合并 {content['merged']}")
    if run.get("is_unchanged"):
        print(f"内容与当前版本相同，未生成新版本：{run['published_version']}")
        print(f"门户数据：{settings.publish_dir / 'current' / 'feed.json'}")
    elif run.get("published_version"):
        version_dir = settings.publish_dir / "versions" / run["published_version"]
        print(f"已发布版本：{run['published_version']}")
        print(f"门户数据：{settings.publish_dir / 'current' / 'feed.json'}")
        print(f"版本目录：{version_dir}")
    else:
        print(f"未发布新版本：{run.get('message')}")
        print(f"当前版本：{run.get('current_version') or '无'}")


def _run_pipeline(settings: Settings) -> dict[str, Any]:
    from flows.pipeline import PipelineError, pipeline_flow

    try:
        return pipeline_flow(home=str(settings.home), sources_file=str(settings.sources_file))
    except PipelineError as error:
        print(f"huiju: pipeline failed: {error}", file=sys.stderr)
        raise SystemExit(1) from error


def command_run(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)
    run = _run_pipeline(settings)
    _print_run_outcome(run, settings)
    return 0 if run["status"] in ("succeeded", "partial") else 2


def command_replay(arguments: argparse.Namespace) -> int:
    """Rebuild the raw tables from landing, then transform, audit and publish as a run does."""
    from flows.pipeline import PipelineError, pipeline_flow

    settings = _settings(arguments)
    if arguments.run and not (settings.runs_dir / f"{arguments.run}.json").exists():
        recent = sorted(path.stem for path in settings.runs_dir.glob("*.json") if path.stem != "latest")[-5:]
        print(f"huiju: run {arguments.run} not found in {settings.runs_dir}; recent runs: "
              f"{', '.join(recent) or 'none'}", file=sys.stderr)
        return 2
    try:
        run = pipeline_flow(home=str(settings.home), sources_file=str(settings.sources_file),
                            replay=True, replay_run_id=arguments.run)
    except PipelineError as error:
        print(f"huiju: replay failed: {error}", file=sys.stderr)
        return 1
    _print_run_outcome(run, settings)
    return 0 if run["status"] in ("succeeded", "partial") else 2


def command_sources_check(arguments: argparse.Namespace) -> int:
    """Probe every registered source and print reachability, record count and the last error."""
    from connectors.registry import load_registry
    from huiju.probe import probe_sources
    from huiju.runs import RunStore

    settings = _settings(arguments)
    registry = load_registry(settings.sources_file)
    results = probe_sources(registry)
    last_run = RunStore(settings.runs_dir).latest()
    for result in results:
        source = last_run.sources.get(result.source_id) if last_run else None
        if source is not None and source.error:
            result.last_run_error = f"{source.error['stage']}: {source.error['reason']}"
    if arguments.json:
        print(json.dumps([result.to_dict() for result in results], ensure_ascii=False, indent=2))
    else:
        headings = ["来源", "格式", "可达", "记录数", "耗时(秒)", "探测错误", "上次运行错误"]
        rows = [
            [r.source_id, r.source_format, "是" if r.is_reachable else "否", r.record_count, r.elapsed_seconds,
             _shorten(r.error), _shorten(r.last_run_error)]
            for r in results
        ]
        print(format_table(headings, rows))
        if any(len(r.error or "") > MAX_ERROR_WIDTH for r in results):
            print("\n错误信息较长时已截断，完整内容见 `huiju sources check --json`。")
        reachable = sum(result.is_reachable for result in results)
        print(f"\n{reachable}/{len(results)} 个来源可达")
    return 0 if all(result.is_reachable for result in results) else 1


def _shorten(text: str | None, width: int = MAX_ERROR_WIDTH) -> str:
    if not text:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def command_demo(arguments: argparse.Namespace) -> int:
    """Serve the bundled real catalog from local department systems and run the pipeline on it."""
    from department_systems.server import DepartmentSystemServer

    settings = _settings(arguments)
    with DepartmentSystemServer() as server:
        os.environ[DEMO_BASE_URL_VARIABLE] = server.base_url
        print(f"本地部门系统已启动：{server.base_url}")
        run = _run_pipeline(settings)
    _print_run_outcome(run, settings)
    home = f" --home {arguments.home}" if arguments.home else ""
    print()
    print(f"查看状态看板和读取接口：运行 `.venv/bin/huiju{home} serve`（或 `make serve`），然后打开")
    print("  状态看板  http://127.0.0.1:8000/")
    print("  读取接口  http://127.0.0.1:8000/api/v1/themes （接口文档 http://127.0.0.1:8000/api/docs）")
    return 0 if run["status"] in ("succeeded", "partial") else 2


def command_sources_list(arguments: argparse.Namespace) -> int:
    from connectors.registry import load_registry

    settings = _settings(arguments)
    environment = dict(os.environ)
    if arguments.placeholder_urls:
        environment.setdefault(DEMO_BASE_URL_VARIABLE, PLACEHOLDER_BASE_URL)
    registry = load_registry(settings.sources_file, environment)
    if arguments.json:
        print(json.dumps(
            [{"id": s.id, "name": s.name, "format": s.format, "base_url": s.base_url, "schedule": s.schedule,
              "owner_department": s.owner_department, "contact": s.contact} for s in registry.sources],
            ensure_ascii=False, indent=2,
        ))
        return 0
    headings = ["来源", "名称", "格式", "计划", "所属部门", "地址"]
    rows = [[s.id, s.name, s.format, s.schedule, s.owner_department, s.base_url] for s in registry.sources]
    print(format_table(headings, rows))
    print(f"\n共 {len(rows)} 个来源（{settings.sources_file}）")
    return 0


def status_document(settings: Settings) -> dict[str, Any] | None:
    """Build the summary of the last run that ``huiju status --json`` prints."""
    from huiju.publish import current_version
    from huiju.runs import RunStore

    run = RunStore(settings.runs_dir).latest()
    if run is None:
        return None
    record = run.to_dict()
    return {
        "run_id": record["run_id"],
        "status": record["status"],
        "started_at": record["started_at"],
        "finished_at": record["finished_at"],
        "message": record["message"],
        "published_version": record["published_version"],
        "is_unchanged": record["is_unchanged"],
        # A rollback after the run moves current, so it is read from the publish directory.
        "current_version": current_version(settings.publish_dir),
        "stages": [
            {key: stage[key] for key in ("stage", "status", "duration_seconds", "error")}
            for stage in record["stages"]
        ],
        "sources": {
            source_id: {
                key: source[key]
                for key in ("owner_department", "source_format", "status", "fetched", "published",
                            "quarantined", "merged", "flagged", "is_stale", "error")
            } | {"record_kind": record_kind(source["source_format"])}
            for source_id, source in record["sources"].items()
        },
    }


def command_status(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)
    document = status_document(settings)
    if document is None:
        print(f"huiju: no run recorded yet in {settings.runs_dir}; run `huiju run` or `huiju demo` first",
              file=sys.stderr)
        return 1
    if arguments.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    from huiju.runs import RunStore

    _print_run_outcome(RunStore(settings.runs_dir).latest().to_dict(), settings)
    if document["published_version"] and document["current_version"] != document["published_version"]:
        print(f"当前版本已在此次运行后切换为 {document['current_version'] or '无'}（例如回滚），见 `huiju publish list`")
    return 0


HISTORY_HEADINGS = ["事项标识", "事项名称", "实施编码", "实施主体", "生效时间", "失效时间", "开始运行", "结束运行", "结束原因"]
CLOSE_REASON_LABELS = {"changed": "属性变更", "withdrawn": "已撤销"}


def command_history(arguments: argparse.Namespace) -> int:
    from huiju.history import (
        HistoryError,
        history_path,
        parse_as_of,
        service_history,
        services_as_of,
    )

    settings = _settings(arguments)
    try:
        path = history_path(settings.publish_dir)
        as_of = arguments.as_of
        is_run_id = as_of is not None and parse_as_of(as_of)[0] == "run"
        if is_run_id and not (settings.runs_dir / f"{as_of.strip()}.json").exists():
            raise HistoryError(f"run {as_of} not found in {settings.runs_dir}; see `huiju status` for run ids")
        if arguments.service is not None and as_of is None:
            rows = service_history(path, arguments.service)
        else:
            rows = services_as_of(path, as_of, arguments.service)
    except HistoryError as error:
        print(f"huiju: {error}", file=sys.stderr)
        return 2

    if arguments.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    if not rows:
        print("没有符合条件的事项历史记录")
        return 1 if arguments.service is not None else 0
    table = [
        [row["service_item_id"], _shorten(row["task_name"], MAX_NAME_WIDTH), row["task_code"], row["dept_name"],
         f"{row['valid_from']:%Y-%m-%d %H:%M:%S}", f"{row['valid_to']:%Y-%m-%d %H:%M:%S}" if row["valid_to"] else None,
         row["opened_run_id"], row["closed_run_id"], CLOSE_REASON_LABELS.get(row["close_reason"], row["close_reason"])]
        for row in rows
    ]
    print(format_table(HISTORY_HEADINGS, table))
    as_of_label = f"，截至 {as_of}" if as_of else ""
    print(f"共 {len(rows)} 行{as_of_label}（时间为 UTC；长名称已截断，完整内容见 --json）")
    return 0


ACTION_LABELS = {"publish": "发布", "rollback": "回滚"}


def command_publish_list(arguments: argparse.Namespace) -> int:
    """List the published versions, oldest first, with the current one marked."""
    from huiju import publish

    settings = _settings(arguments)
    versions = publish.list_versions(settings.publish_dir)
    current = publish.current_version(settings.publish_dir)
    if arguments.json:
        print(json.dumps({"current": current, "versions": [
            {key: manifest.get(key) for key in ("version", "run_id", "created_at", "content_sha256")}
            | {"service_items": manifest["row_counts"].get("feed_items")}
            for manifest in versions
        ], "publications": publish.publications(settings.publish_dir)}, ensure_ascii=False, indent=2))
        return 0
    if not versions:
        print(f"尚无已发布版本（{settings.publish_dir}）")
        return 1
    rows = [
        ["*" if manifest["version"] == current else "", manifest["version"], manifest["run_id"],
         manifest["created_at"][:19].replace("T", " "), manifest["row_counts"].get("feed_items")]
        for manifest in versions
    ]
    print(format_table(["当前", "版本", "运行", "创建时间(UTC)", "事项数"], rows))
    recent = publish.publications(settings.publish_dir)[-5:]
    if recent:
        print("\n最近的切换：")
        for entry in recent:
            label = ACTION_LABELS.get(entry["action"], entry["action"])
            print(f"  {entry['at'][:19].replace('T', ' ')}  {label}  {entry['previous'] or '无'} → {entry['version']}")
    return 0


def command_publish_rollback(arguments: argparse.Namespace) -> int:
    """Make an earlier version current by the same atomic switch a run uses."""
    from huiju import publish

    settings = _settings(arguments)
    try:
        previous, current = publish.rollback(settings.publish_dir, arguments.version)
    except publish.PublishError as error:
        print(f"huiju: rollback failed: {error}", file=sys.stderr)
        return 2
    print(f"已回滚：当前版本 {previous} → {current}")
    print("下一次运行的内容若与当前版本不同，会发布为新版本。")
    return 0


def command_serve(arguments: argparse.Namespace) -> int:
    """Serve the read API and the integration-status dashboard over the published versions."""
    import uvicorn

    from huiju.serve.app import create_app

    settings = _settings(arguments)
    try:
        with socket.create_server((arguments.host, arguments.port)):
            pass
    except OSError as error:
        print(f"huiju: cannot listen on {arguments.host}:{arguments.port}: {error.strerror}; "
              "choose another port with --port", file=sys.stderr)
        return 2
    address = f"http://{arguments.host}:{arguments.port}"
    print(f"状态看板：{address}/")
    print(f"读取接口：{address}/api/v1/themes （接口文档：{address}/api/docs）")
    print(f"发布目录：{settings.publish_dir}（按 Ctrl+C 停止）", flush=True)
    uvicorn.run(create_app(settings), host=arguments.host, port=arguments.port, log_level=arguments.log_level)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="huiju", description="Integrate department service catalogs into a portal feed.")
    parser.add_argument("--home", help="data directory for landing, warehouse, versions and run records (default: ./var or $HUIJU_HOME)")
    parser.add_argument("--sources", help="source registry YAML (default: sources.yaml or $HUIJU_SOURCES_FILE)")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("run", help="run the pipeline once: harvest, transform, audit, publish").set_defaults(handler=command_run)
    commands.add_parser(
        "demo", help="start local department systems serving the bundled real catalog and run the pipeline on them"
    ).set_defaults(handler=command_demo)

    sources = commands.add_parser("sources", help="inspect the source registry")
    source_commands = sources.add_subparsers(dest="sources_command", required=True)
    listing = source_commands.add_parser("list", help="list the registered department systems")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.add_argument(
        "--placeholder-urls", action="store_true",
        help=f"fill an unset ${DEMO_BASE_URL_VARIABLE} with http://127.0.0.1:8000 so the demo registry can be listed",
    )
    listing.set_defaults(handler=command_sources_list)
    check = source_commands.add_parser(
        "check", help="probe every registered source once: reachability, format, record count, last error"
    )
    check.add_argument("--json", action="store_true", help="print JSON instead of a table")
    check.set_defaults(handler=command_sources_check)

    replay = commands.add_parser(
        "replay", help="rebuild the raw tables from landing without fetching, then transform, audit and publish"
    )
    replay.add_argument("--run", help="replay the landings of this run id (default: each source's last good load)")
    replay.set_defaults(handler=command_replay)

    status = commands.add_parser("status", help="show the last run")
    status.add_argument("--json", action="store_true", help="print the last run as JSON")
    status.set_defaults(handler=command_status)

    history = commands.add_parser("history", help="show service items as of a run or a time, from the published history")
    history.add_argument("--as-of", help="a run id (e.g. 20261204T201500Z-3f9a1c) or an ISO 8601 time; default: now")
    history.add_argument("--service", help="show only this service_item_id; without --as-of, all its history rows")
    history.add_argument("--json", action="store_true", help="print the rows as JSON")
    history.set_defaults(handler=command_history)

    publish_parser = commands.add_parser("publish", help="list published versions or roll back to an earlier one")
    publish_commands = publish_parser.add_subparsers(dest="publish_command", required=True)
    versions = publish_commands.add_parser("list", help="list published versions and recent switches of current")
    versions.add_argument("--json", action="store_true", help="print JSON instead of a table")
    versions.set_defaults(handler=command_publish_list)
    rollback = publish_commands.add_parser(
        "rollback", help="make an earlier version current (default: the version written before the current one)"
    )
    rollback.add_argument("version", nargs="?", help="version id, as `huiju publish list` prints it")
    rollback.set_defaults(handler=command_publish_rollback)

    serve = commands.add_parser("serve", help="serve the read API and the integration-status dashboard")
    serve.add_argument("--host", default=os.environ.get("HUIJU_SERVE_HOST", "127.0.0.1"),
                       help="address to listen on (default: 127.0.0.1 or $HUIJU_SERVE_HOST)")
    serve.add_argument("--port", type=int, default=int(os.environ.get("HUIJU_SERVE_PORT", "8000")),
                       help="port to listen on (default: 8000 or $HUIJU_SERVE_PORT)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(handler=command_serve)
    return parser


def _prepare_prefect(settings: Settings, *, isolated: bool) -> None:
    """Give Prefect's temporary local API time to start; the demo also gets its own Prefect home.

    Prefect reads these variables when it is first imported, so this runs before any flow import.
    A value the user has set is kept.
    """
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    # The temporary API's telemetry heartbeat is of no use to a local run and races its SQLite writes.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Retries, loads and gate results logged by the library show up in the flow run logs too.
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "huiju,connectors")
    for name in ("huiju", "connectors"):
        logging.getLogger(name).setLevel(logging.INFO)
    if isolated and "PREFECT_HOME" not in os.environ:
        prefect_home = settings.home / "prefect"
        prefect_home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(prefect_home)


MAX_PROBLEMS_SHOWN = 5


def format_registry_error(error: Any) -> str:
    """Render a ``RegistryError`` for the terminal: the first problems, a count of the rest, a hint."""
    lines = str(error).splitlines()
    output_lines = lines[:MAX_PROBLEMS_SHOWN]
    if len(lines) > MAX_PROBLEMS_SHOWN:
        output_lines.append(f"... and {len(lines) - MAX_PROBLEMS_SHOWN} more problems of the same file")
    if f"{DEMO_BASE_URL_VARIABLE} is not set" in str(error):
        output_lines.append(
            f"{DEMO_BASE_URL_VARIABLE} is set by `huiju demo` to its local department systems. For other "
            f"commands, export it (see `python -m department_systems`), or list the sources with "
            f"`huiju sources list --placeholder-urls`."
        )
    return "\n".join(f"huiju: {line}" for line in output_lines)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader of the output, such as `head`, exited early; that is not an error of huiju.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    from connectors.registry import RegistryError, load_registry

    if arguments.command == "replay":
        # A replay fetches nothing, so the department systems' address only has to be valid.
        os.environ.setdefault(DEMO_BASE_URL_VARIABLE, PLACEHOLDER_BASE_URL)
    try:
        if arguments.command in ("run", "replay"):
            # Check the registry before Prefect starts its temporary API, which takes seconds.
            load_registry(_settings(arguments).sources_file)
        if arguments.command in ("run", "demo", "replay"):
            _prepare_prefect(_settings(arguments), isolated=arguments.command == "demo")
        return arguments.handler(arguments)
    except RegistryError as error:
        print(format_registry_error(error), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
