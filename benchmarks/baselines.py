"""Plain baselines of Huiju's harvest, transform and load, measured on the data Huiju harvests.

Each baseline returns a :class:`BaselineResult`:

- :func:`fetch_with_requests`: a bare ``requests`` loop that fetches the same pages as Huiju's
  connectors and keeps only the bytes.
- :func:`transform_with_sql`: ``baseline_transforms.sql``, one plain DuckDB SQL script with the
  dbt project's core service-item transforms, run on a copy of a loaded warehouse.
- :func:`load_with_dlt`: dlt's REST API source loading the JSON API sources into DuckDB.

:func:`run_isolated` runs a baseline in a spawned child process, so that its peak resident
memory is its own. The command line runs one baseline in this process and writes its result as
JSON::

    python -m benchmarks.baselines requests SOURCES_FILE --result result.json
    python -m benchmarks.baselines sql WAREHOUSE_FILE WORK_DIR --result result.json
    python -m benchmarks.baselines dlt SOURCES_FILE WORK_DIR --result result.json

``${VAR}`` values in the registry, such as ``${HUIJU_DEPT_BASE_URL}``, are read from the
environment.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import multiprocessing
import os
import re
import resource
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from connectors.http import DEFAULT_USER_AGENT
from connectors.registry import JsonApiSource, Registry, load_registry

REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_SCRIPT_PATH = Path(__file__).resolve().parent / "baseline_transforms.sql"
SEEDS_DIR = REPO_ROOT / "dbt_project" / "seeds"
# Parquet files that baseline_transforms.sql writes into its output folder.
SQL_OUTPUT_TABLES = ("fct_service_item", "dim_department", "mart_service_themes")

# Sources fetched at one time; the same as MAX_PARALLEL_SOURCES in flows/harvest.py.
DEFAULT_MAX_WORKERS = 8

RegistryInput = Registry | str | Path


@dataclass(frozen=True)
class BaselineResult:
    """One measured baseline run.

    ``seconds`` is the wall time of the measured work only (see each baseline), ``records`` the
    records it fetched, wrote or loaded, and ``bytes`` the bytes it received or wrote.
    ``peak_rss_mb`` is the peak resident memory of the process that ran it, in MiB, or ``None``
    when the baseline ran in a process shared with other work.
    """

    name: str
    seconds: float
    records: int
    bytes: int
    peak_rss_mb: float | None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Process isolation


def run_isolated(fn: Callable[..., BaselineResult], *args: Any, **kwargs: Any) -> BaselineResult:
    """Run ``fn(*args, **kwargs)`` in a spawned child process and return its result with the child's peak RSS.

    The child is spawned, not forked, so its ``ru_maxrss`` starts from a fresh interpreter and
    not from the parent's memory. The peak includes the interpreter and the modules that the
    baseline imports. ``fn`` and its arguments must be picklable, as a :class:`Registry` is.
    """
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_call_with_peak_rss, fn, args, kwargs).result()


def _call_with_peak_rss(fn: Callable[..., BaselineResult], args: tuple, kwargs: dict) -> BaselineResult:
    result = fn(*args, **kwargs)
    return dataclasses.replace(result, peak_rss_mb=peak_rss_mb())


def peak_rss_mb() -> float:
    """Return the peak resident memory of this process so far, in MiB (Linux reports ``ru_maxrss`` in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _registry(registry: RegistryInput, environ: Mapping[str, str] | None) -> Registry:
    if isinstance(registry, Registry):
        return registry
    return load_registry(registry, environ)


# (a) Bare requests loop


@dataclass
class _SourceFetch:
    source_id: str
    pages: int = 0
    records: int = 0
    bytes: int = 0
    request_urls: list[str] = field(default_factory=list)


def fetch_with_requests(
    registry: RegistryInput,
    base_url_env: Mapping[str, str] | None = None,
    *,
    max_workers: int = DEFAULT_MAX_WORKERS,
    respect_host_limits: bool = False,
    keep_request_urls: bool = False,
) -> BaselineResult:
    """Fetch every page of every source of ``registry`` with a bare ``requests.Session`` loop.

    ``registry`` is a loaded :class:`Registry` or the path of a registry file, whose ``${VAR}``
    values are read from ``base_url_env`` (default: ``os.environ``).

    The loop requests the same URLs, in the same order, as Huiju's connectors on a full fetch.
    JSON pages follow the source's pagination style and stop where ``connectors/json_api.py``
    stops: a short page or the reported total for page-number and offset styles, an empty next
    cursor or next link for the others. Each JSON page is parsed because the next page and the
    stop depend on it. ``json.loads`` reads UTF-8, UTF-16 and UTF-32 bodies only, whereas Huiju
    also decodes other declared charsets. Exports and feeds are one request each and are not decoded. Their
    records are counted with a byte scan (see :func:`_count_records`). Each source keeps its
    response bodies in memory until its last page has arrived, as Huiju's harvest does before
    it lands them.

    Sources are fetched by a pool of ``max_workers`` threads (default 8, the number of sources
    Huiju's harvest flow fetches at one time), each source sequentially with its own session.
    Every request has the source's ``timeout_seconds``. Compared with Huiju's HTTP client the
    loop leaves out retries, the response size limit, the host allow-list, conditional requests,
    checksums and landing. It also skips the per-host limits of ``max_concurrent_requests`` and
    ``max_requests_per_second`` unless ``respect_host_limits`` is true. Huiju applies them, so
    with the default limits its harvest sends at most 5 requests per second to one host.
    Credential headers are sent as Huiju sends them.

    ``seconds`` is the wall time from the first request to the last response. With
    ``keep_request_urls``, ``detail["request_urls"]`` lists every requested URL per source.

    Raises:
        requests.RequestException: a request failed, timed out or returned an error status.
        RuntimeError: a JSON API needed more than ``max_pages`` pages.
    """
    loaded = _registry(registry, base_url_env)
    limiter = None
    if respect_host_limits:
        from huiju.politeness import HostLimiter

        limiter = HostLimiter.for_sources(loaded.sources)

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="baseline-fetch") as pool:
        fetches = list(pool.map(lambda source: _fetch_source(source, limiter), loaded.sources))
    seconds = time.perf_counter() - started

    detail: dict[str, Any] = {
        "sources": len(fetches),
        "requests": sum(fetch.pages for fetch in fetches),
        "max_workers": max_workers,
        "respect_host_limits": respect_host_limits,
        "by_source": {
            fetch.source_id: {"pages": fetch.pages, "records": fetch.records, "bytes": fetch.bytes} for fetch in fetches
        },
    }
    if keep_request_urls:
        detail["request_urls"] = {fetch.source_id: fetch.request_urls for fetch in fetches}
    return BaselineResult(
        name="requests",
        seconds=seconds,
        records=sum(fetch.records for fetch in fetches),
        bytes=sum(fetch.bytes for fetch in fetches),
        peak_rss_mb=None,
        detail=detail,
    )


def _fetch_source(source: Any, limiter: Any) -> _SourceFetch:
    """Fetch one source in its own session and count its pages, records and bytes."""
    fetch = _SourceFetch(source.id)
    bodies: list[bytes] = []
    with requests.Session() as session:
        # Like Huiju's HttpClient: no proxy or .netrc settings from the environment.
        session.trust_env = False
        session.headers["User-Agent"] = DEFAULT_USER_AGENT
        session.headers.update(_credential_headers(source))

        def get(url: str, params: Mapping[str, Any] | None) -> requests.Response:
            host = (urlsplit(url).hostname or "").lower()
            # Like Huiju's PoliteClient: a host without registry limits is requested at once.
            limited = limiter is not None and host in limiter.limits
            if limited:
                limiter.acquire(host)
            try:
                response = session.get(url, params=params, timeout=source.timeout_seconds)
            finally:
                if limited:
                    limiter.release(host)
            response.raise_for_status()
            fetch.request_urls.append(response.url)
            bodies.append(response.content)
            return response

        if source.format == "json_api":
            fetch.records = _walk_json_pages(source, get)
        else:
            response = get(source.url, None)
            fetch.records = _count_records(source, response.content)

    fetch.pages = len(bodies)
    fetch.bytes = sum(len(body) for body in bodies)
    return fetch


def _walk_json_pages(source: JsonApiSource, get: Callable[[str, Mapping[str, Any] | None], requests.Response]) -> int:
    """Request the pages of a JSON API in the order ``connectors.json_api.fetch_pages`` does and return the record count."""
    received = 0
    page_number = 0
    url, params = source.url, _first_page_params(source)
    while True:
        page_number += 1
        if page_number > source.max_pages:
            raise RuntimeError(f"source {source.id}: more than max_pages={source.max_pages} pages at {source.url}")
        response = get(url, params)
        document = json.loads(response.content)
        records = _value_at(document, source.records_path)
        received += len(records)

        if source.pagination in ("page_number", "offset_limit"):
            total = _value_at(document, source.total_path) if source.total_path else None
            is_short_page = len(records) < source.page_size
            if is_short_page or (total is not None and received >= int(total)):
                return received
            if source.pagination == "page_number":
                params = {source.page_param: source.first_page + page_number, source.size_param: source.page_size}
            else:
                params = {source.offset_param: received, source.limit_param: source.page_size}
        elif source.pagination == "cursor":
            cursor = _value_at(document, source.next_cursor_path)
            if cursor is None or cursor == "":
                return received
            params = {source.cursor_param: str(cursor), source.limit_param: source.page_size}
        else:
            link = _value_at(document, source.next_link_path)
            if link is None or link == "":
                return received
            url, params = urljoin(response.url, str(link)), None


def _first_page_params(source: JsonApiSource) -> dict[str, Any]:
    if source.pagination == "page_number":
        return {source.page_param: source.first_page, source.size_param: source.page_size}
    if source.pagination == "offset_limit":
        return {source.offset_param: 0, source.limit_param: source.page_size}
    if source.pagination == "cursor":
        return {source.limit_param: source.page_size}
    return {source.size_param: source.page_size}


def _value_at(document: Any, dotted_path: str) -> Any:
    value = document
    for key in dotted_path.split("."):
        value = value[key]
    return value


def _count_records(source: Any, body: bytes) -> int:
    """Count the records of an export or feed body without decoding it.

    A CSV record ends at a line break outside double quotes, and blank lines and the header row
    are not records. XML records and feed entries are counted by their start tags, with or without a namespace
    prefix. The scan works on UTF-8 and GB 18030 bodies, because neither encoding has the bytes
    of '"', '\\n' or '<' inside a multi-byte character.

    NOTE: a start tag inside an XML comment or CDATA section is counted too, but Huiju's
    parsers do not count it.
    """
    if source.format == "csv_export":
        return _count_csv_records(body)
    element = {"rss_feed": "item", "atom_feed": "entry"}.get(source.format) or source.record_element
    start_tag = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?" + re.escape(element.encode()) + rb"[\s/>]")
    return len(start_tag.findall(body))


def _count_csv_records(body: bytes) -> int:
    """Count the data rows of a CSV body: line breaks outside double quotes, less blank lines and the header."""
    # Splitting at '"' leaves the text outside quoted fields at the even indexes.
    outside_quotes = body.split(b'"')[::2]
    line_ends = sum(part.count(b"\n") - len(_BREAK_BEFORE_BLANK_LINE.findall(part)) for part in outside_quotes)
    if body.startswith((b"\n", b"\r\n")):
        line_ends -= 1
    if body.rstrip(b"\r\n") and not body.endswith(b"\n"):
        line_ends += 1
    return max(line_ends - 1, 0)


# A line break followed by an empty line, which the csv module (and so Huiju) skips.
_BREAK_BEFORE_BLANK_LINE = re.compile(rb"\n(?=\r?\n)")


def _credential_headers(source: Any) -> dict[str, str]:
    if getattr(source, "credentials", None) is None:
        return {}
    from huiju.harvest import resolve_credential_headers

    return resolve_credential_headers(source)


# (b) Plain DuckDB SQL


def transform_with_sql(
    raw_warehouse_path: str | Path,
    work_dir: str | Path,
    *,
    seeds_dir: str | Path = SEEDS_DIR,
    script_path: str | Path = SQL_SCRIPT_PATH,
) -> BaselineResult:
    """Run ``baseline_transforms.sql`` on a copy of a loaded warehouse and write its marts as Parquet.

    The warehouse file (and its ``.wal`` file, if there is one) is copied to
    ``work_dir/warehouse.duckdb``, and DuckDB never opens the original. The script reads only the
    ``raw`` tables of the copy and the seed CSV files in ``seeds_dir``, and writes
    fct_service_item, dim_department and mart_service_themes as Parquet into
    ``work_dir/parquet``. The script's header lists what it leaves out of the dbt project.

    ``seconds`` covers opening the copy, the whole script and closing the connection, not the
    copy itself. ``records`` is the sum of the rows of the three Parquet files and ``bytes``
    their size. DuckDB uses its default thread count and memory limit.

    Raises:
        FileNotFoundError: the warehouse file does not exist.
        ValueError: ``work_dir`` would put the copy on top of the original file.
        duckdb.Error: the script failed, for example because a raw table is missing.
    """
    import duckdb

    original = Path(raw_warehouse_path).resolve()
    if not original.is_file():
        raise FileNotFoundError(f"warehouse file {original} not found; run the pipeline first to load it")
    work = Path(work_dir).resolve()
    copy_path = work / "warehouse.duckdb"
    if copy_path == original:
        raise ValueError(f"work_dir {work} contains the original warehouse; choose another folder for the copy")
    output_dir = work / "parquet"
    shutil.rmtree(output_dir, ignore_errors=True)
    output_dir.mkdir(parents=True)
    _copy_warehouse(original, copy_path)
    script = Path(script_path).read_text(encoding="utf-8")

    started = time.perf_counter()
    connection = duckdb.connect(str(copy_path))
    try:
        connection.execute("set variable seeds_dir = ?", [str(Path(seeds_dir).resolve())])
        connection.execute("set variable output_dir = ?", [str(output_dir)])
        connection.execute(script)
    finally:
        connection.close()
    seconds = time.perf_counter() - started

    output_rows: dict[str, int] = {}
    with duckdb.connect() as reader:
        for table in SQL_OUTPUT_TABLES:
            path = output_dir / f"{table}.parquet"
            output_rows[table] = reader.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0]
    input_records = _count_raw_service_records(copy_path)
    return BaselineResult(
        name="sql",
        seconds=seconds,
        records=sum(output_rows.values()),
        bytes=sum((output_dir / f"{table}.parquet").stat().st_size for table in SQL_OUTPUT_TABLES),
        peak_rss_mb=None,
        detail={
            "input_records": input_records,
            "output_rows": output_rows,
            "output_dir": str(output_dir),
            "warehouse_copy": str(copy_path),
        },
    )


def _copy_warehouse(original: Path, copy_path: Path) -> None:
    """Copy a DuckDB file and its write-ahead log, which contains changes not yet checkpointed."""
    copy_path.parent.mkdir(parents=True, exist_ok=True)
    copy_wal = copy_path.with_name(copy_path.name + ".wal")
    copy_wal.unlink(missing_ok=True)
    shutil.copyfile(original, copy_path)
    original_wal = original.with_name(original.name + ".wal")
    if original_wal.exists():
        shutil.copyfile(original_wal, copy_wal)


def _count_raw_service_records(warehouse_path: Path) -> int:
    import duckdb

    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        return connection.execute(
            """
            select (select count(*) from raw.json_api_records)
                + (select count(*) from raw.csv_export_records)
                + (select count(*) from raw.xml_export_records)
            """
        ).fetchone()[0]


# (c) dlt REST API source


def json_api_endpoints(registry: Registry) -> list[dict[str, Any]]:
    """Describe each JSON API source of ``registry`` as a dlt REST API resource (an ``EndpointResource`` dict).

    The resource is named after the source id and loads into a table of that name. Its
    endpoint is the source's absolute URL with the first page's query parameters, its
    ``data_selector`` is ``records_path``, and its paginator is the dlt paginator of the
    source's style:

    - ``page_number``: ``page_number`` with ``base_page`` and ``page_param``. dlt's
      ``total_path`` is a page count, so it reads ``totalPages`` beside the record total, as
      ``department_systems`` sends it.
    - ``offset_limit``: ``offset`` with ``total_path`` as the record total.
    - ``cursor``: ``cursor`` (JSONResponseCursorPaginator) with ``next_cursor_path``.
    - ``next_link``: ``json_link`` (JSONLinkPaginator) with ``next_link_path``.

    NOTE: dlt stops a page-number or offset source at the total or at an empty page, not at a
    short page as Huiju does. A source without ``total_path`` therefore costs dlt one more,
    empty request, and a page-number API that sends no ``totalPages`` fails in dlt.
    """
    resources = []
    for source in registry.sources:
        if source.format != "json_api":
            continue
        endpoint: dict[str, Any] = {
            "path": source.url,
            "params": _first_page_params(source),
            "data_selector": source.records_path,
            "paginator": _dlt_paginator(source),
        }
        headers = _credential_headers(source)
        if headers:
            endpoint["headers"] = headers
        resources.append({"name": source.id, "table_name": source.id, "endpoint": endpoint})
    return resources


def _dlt_paginator(source: JsonApiSource) -> dict[str, Any]:
    total_path = source.total_path
    if source.pagination == "page_number":
        pages_path = None
        if total_path is not None:
            parent = total_path.rpartition(".")[0]
            pages_path = f"{parent}.totalPages" if parent else "totalPages"
        return {
            "type": "page_number",
            "base_page": source.first_page,
            "page_param": source.page_param,
            "total_path": pages_path,
            "stop_after_empty_page": True,
        }
    if source.pagination == "offset_limit":
        return {
            "type": "offset",
            "limit": source.page_size,
            "offset_param": source.offset_param,
            "limit_param": source.limit_param,
            "total_path": total_path,
            "stop_after_empty_page": True,
        }
    if source.pagination == "cursor":
        return {"type": "cursor", "cursor_path": source.next_cursor_path, "cursor_param": source.cursor_param}
    return {"type": "json_link", "next_url_path": source.next_link_path}


def load_with_dlt(
    registry: RegistryInput,
    work_dir: str | Path,
    base_url_env: Mapping[str, str] | None = None,
    *,
    max_workers: int = DEFAULT_MAX_WORKERS,
) -> BaselineResult:
    """Load the JSON API sources of ``registry`` into ``work_dir/dlt.duckdb`` with dlt's REST API source.

    One ``rest_api_source`` contains a resource per JSON API source (see :func:`json_api_endpoints`),
    extracted in parallel by ``max_workers`` threads (dlt's ``extract.workers``), so that dlt
    fetches as many sources at one time as Huiju's harvest. dlt then normalizes the records
    into one typed table per source and loads them. Every table is replaced on each run.

    ``RUNTIME__DLTHUB_TELEMETRY=false`` and ``EXTRACT__WORKERS`` are set in this process's
    environment, so dlt sends no telemetry. Pipeline state goes to ``work_dir/pipelines``, and
    the HTTP session ignores proxy settings from the environment. Requests have the largest
    ``timeout_seconds`` and ``max_retries`` of the sources.

    ``seconds`` is the wall time of ``pipeline.run``: extract, normalize and load. ``records`` is
    the row count of the sources' tables in the DuckDB file, and ``bytes`` the response bytes
    received.

    Raises:
        ImportError: dlt is not installed. Install the ``bench`` extra.
    """
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ["EXTRACT__WORKERS"] = str(max_workers)
    import dlt
    import duckdb
    from dlt.sources.helpers.requests import Client
    from dlt.sources.rest_api import rest_api_source

    loaded = _registry(registry, base_url_env)
    json_sources = [source for source in loaded.sources if source.format == "json_api"]
    work = Path(work_dir).resolve()
    database_path = work / "dlt.duckdb"
    shutil.rmtree(work / "pipelines", ignore_errors=True)
    database_path.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)

    response_sizes: list[int] = []
    session = Client(
        request_timeout=max((source.timeout_seconds for source in json_sources), default=10),
        request_max_attempts=1 + max((source.max_retries for source in json_sources), default=0),
        raise_for_status=False,
        session_attrs={"trust_env": False, "headers": {"User-Agent": DEFAULT_USER_AGENT}},
    ).session
    _count_response_sizes(session, response_sizes)

    config = {
        "client": {"base_url": "", "session": session},
        "resource_defaults": {"write_disposition": "replace"},
        "resources": json_api_endpoints(loaded),
    }
    source = rest_api_source(config, name="huiju_json_api", parallelized=True)
    pipeline = dlt.pipeline(
        pipeline_name="huiju_json_api_baseline",
        destination=dlt.destinations.duckdb(str(database_path)),
        dataset_name="raw_json_api",
        pipelines_dir=str(work / "pipelines"),
    )

    started = time.perf_counter()
    pipeline.run(source)
    seconds = time.perf_counter() - started

    rows_by_source: dict[str, int] = {}
    with duckdb.connect(str(database_path), read_only=True) as connection:
        for json_source in json_sources:
            rows_by_source[json_source.id] = connection.execute(
                f'select count(*) from raw_json_api."{json_source.id}"'
            ).fetchone()[0]
    return BaselineResult(
        name="dlt",
        seconds=seconds,
        records=sum(rows_by_source.values()),
        bytes=sum(response_sizes),
        peak_rss_mb=None,
        detail={
            "dlt_version": dlt.__version__,
            "sources": len(json_sources),
            "requests": len(response_sizes),
            "max_workers": max_workers,
            "rows_by_source": rows_by_source,
            "database": str(database_path),
        },
    )


def _count_response_sizes(session: requests.Session, sizes: list[int]) -> None:
    """Make ``session`` append the body size of every response to ``sizes``.

    dlt's REST client replaces the session's response hooks with its own per request, so this
    wraps ``send``, as dlt's retry wrapper does. ``list.append`` is atomic in CPython, so dlt's
    extract threads can share the list.
    """
    send = session.send

    def send_and_count(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = send(request, **kwargs)
        sizes.append(len(response.content))
        return response

    session.send = send_and_count  # type: ignore[method-assign]


# Command line


def main(argv: list[str] | None = None) -> int:
    """Run one baseline in this process and write its result, with this process's peak RSS, as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.baselines", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--result", type=Path, help="write the result as JSON to this file (default: standard output)")
    commands = parser.add_subparsers(dest="baseline", required=True)
    fetch = commands.add_parser("requests", parents=[common], help="(a) fetch every source with a bare requests loop")
    fetch.add_argument("sources_file", type=Path, help="registry file, such as sources.yaml")
    fetch.add_argument("--workers", type=int, default=DEFAULT_MAX_WORKERS, help="sources fetched at one time")
    fetch.add_argument("--host-limits", action="store_true",
                       help="apply the registry's per-host concurrency and rate limits, as Huiju does")
    sql = commands.add_parser("sql", parents=[common], help="(b) run baseline_transforms.sql on a copy of a loaded warehouse")
    sql.add_argument("warehouse", type=Path, help="loaded warehouse file, such as HUIJU_HOME/warehouse/huiju.duckdb")
    sql.add_argument("work_dir", type=Path, help="folder for the copy and the Parquet output")
    load = commands.add_parser("dlt", parents=[common], help="(c) load the JSON API sources with dlt's REST API source")
    load.add_argument("sources_file", type=Path, help="registry file, such as sources.yaml")
    load.add_argument("work_dir", type=Path, help="folder for the DuckDB file and dlt's pipeline state")
    load.add_argument("--workers", type=int, default=DEFAULT_MAX_WORKERS, help="dlt extract threads")
    args = parser.parse_args(argv)

    if args.baseline == "requests":
        result = fetch_with_requests(args.sources_file, max_workers=args.workers, respect_host_limits=args.host_limits)
    elif args.baseline == "sql":
        result = transform_with_sql(args.warehouse, args.work_dir)
    else:
        result = load_with_dlt(args.sources_file, args.work_dir, max_workers=args.workers)
    result = dataclasses.replace(result, peak_rss_mb=peak_rss_mb())

    text = json.dumps(result.to_dict(), ensure_ascii=False, indent=1)
    if args.result is None:
        print(text)
    else:
        args.result.parent.mkdir(parents=True, exist_ok=True)
        args.result.write_text(text + "\n", encoding="utf-8")
    print(f"{result.name}: {result.seconds:.2f} s, {result.records} records, {result.bytes} bytes, "
          f"peak {result.peak_rss_mb} MiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
