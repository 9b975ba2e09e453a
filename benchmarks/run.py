"""Benchmark the whole pipeline on synthetic catalogs against plain baselines.

``python -m benchmarks.run`` (or ``make benchmark``) runs, for each size (10k, 100k and 1M
items by default):

1. ``department_systems.synthetic`` writes a catalog of N items in M department systems, and
   one department system server in this process serves it on a free 127.0.0.1 port.
2. ``huiju run`` in a fresh home: a full refresh, then a run with nothing changed. Each run is
   a child process whose whole tree (the pipeline, dbt, Prefect's server) is sampled for
   memory. The run record gives each stage's window, so every stage gets wall time, records
   per second and peak memory.
3. The baselines on the same data, each in its own child process:
   (a) a bare ``requests`` loop fetching the same pages and keeping the bytes,
   (b) one plain DuckDB SQL script doing the equivalent transforms on the loaded raw tables,
   (c) dlt's REST API source loading the JSON API sources into DuckDB, against Huiju's
   harvest and load of the same JSON API sources alone.
4. A third ``huiju run`` after 1 % of the records changed (事项名称 edited in place).

It prints every figure as it goes and writes ``docs/benchmarks.md`` with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.measure import Measured, run_measured, unix_time
from department_systems import synthetic
from department_systems.server import DepartmentSystemServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
STAGES = ("harvest", "load", "dbt", "audit", "publish")
# The full refresh always runs; it builds the home that the other two start from.
SCENARIOS = ("full", "unchanged", "changed_1pct")
CHANGED_SHARE = 0.01
CHANGE_MARK = "（修订）"
ANALYSIS_MARKER = "<!-- analysis: kept when the benchmark rewrites this file -->"


def departments_for(items: int) -> int:
    """Department systems for a catalog of ``items``: about √N, at least the 34 real kinds."""
    return max(34, round(items ** 0.5))


@dataclass
class StageFigure:
    seconds: float | None
    records: int | None
    peak_mb: float | None

    @property
    def records_per_second(self) -> float | None:
        if not self.seconds or self.records is None:
            return None
        return self.records / self.seconds


@dataclass
class RunFigures:
    """One measured pipeline run."""

    scenario: str
    status: str
    wall_seconds: float
    peak_mb: float | None
    peak_without_server_mb: float | None = None
    stages: dict[str, StageFigure] = field(default_factory=dict)
    fetched: int | None = None
    published: int | None = None
    is_unchanged: bool | None = None

    @property
    def stage_seconds(self) -> float:
        return sum(figure.seconds or 0.0 for figure in self.stages.values())


def _child_env(home: Path, sources_file: Path, base_url: str) -> dict[str, str]:
    (home / "prefect").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "HUIJU_HOME": str(home),
        "HUIJU_SOURCES_FILE": str(sources_file),
        "HUIJU_DEPT_BASE_URL": base_url,
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _latest_run(home: Path) -> dict[str, Any]:
    path = home / "runs" / "latest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def stage_figures(run: dict[str, Any], measured: Measured) -> dict[str, StageFigure]:
    """Split the run record's stages into harvest, load, dbt, audit and publish, with their peaks."""
    stages = {stage["stage"]: stage for stage in run.get("stages", [])}
    fetched = sum((source.get("fetched") or 0) for source in run.get("sources", {}).values())
    figures: dict[str, StageFigure] = {}
    harvest = stages.get("harvest")
    if harvest:
        detail = harvest.get("detail", harvest)
        start, end = unix_time(harvest["started_at"]), unix_time(harvest.get("finished_at"))
        load_start = unix_time(detail.get("load_started_at")) or end
        figures["harvest"] = StageFigure(detail.get("fetch_seconds", harvest.get("duration_seconds")), fetched,
                                         measured.sampler.peak_mb(start, load_start))
        figures["load"] = StageFigure(detail.get("load_seconds"), fetched, measured.sampler.peak_mb(load_start, end))
    candidate_rows = None
    for name, label in (("transform", "dbt"), ("audit", "audit"), ("publish", "publish")):
        stage = stages.get(name)
        if not stage:
            continue
        detail = stage.get("detail", stage)
        if name == "audit":
            # The audit checks every candidate table; its records are the service items.
            candidate_rows = (detail.get("candidate_rows") or {}).get("fct_service_item")
        figures[label] = StageFigure(
            stage.get("duration_seconds"),
            candidate_rows if name != "transform" else fetched,
            measured.sampler.peak_mb(unix_time(stage["started_at"]), unix_time(stage.get("finished_at"))),
        )
    return figures


def run_pipeline(scenario: str, home: Path, sources_file: Path, base_url: str, logs: Path) -> RunFigures:
    measured = run_measured(
        [str(Path(sys.executable).with_name("huiju")), "run"],
        env=_child_env(home, sources_file, base_url), cwd=PROJECT_ROOT, log_path=logs / f"{scenario}.log",
    )
    run = _latest_run(home)
    if measured.returncode != 0:
        print(f"  {scenario}: huiju run exited {measured.returncode}; see {logs / f'{scenario}.log'}", flush=True)
    sources = run.get("sources", {}).values()
    figures = RunFigures(
        scenario=scenario,
        status=run.get("status", "unknown"),
        wall_seconds=measured.seconds,
        peak_mb=measured.peak_mb,
        peak_without_server_mb=measured.sampler.peak_mb(without_server=True),
        stages=stage_figures(run, measured),
        fetched=sum((source.get("fetched") or 0) for source in sources),
        published=sum((source.get("published") or 0) for source in sources),
        is_unchanged=run.get("is_unchanged"),
    )
    _print_run(figures)
    return figures


def change_records(server: DepartmentSystemServer, share: float, seed: int) -> int:
    """Edit the 事项名称 of ``share`` of every department's records in place; return how many changed."""
    rng = random.Random(seed)
    changed = 0
    for department in server.departments:
        records = [dict(record) for record in server.records(department.slug)]
        picks = rng.sample(range(len(records)), k=max(0, round(len(records) * share)))
        for index in picks:
            records[index]["task_name"] = records[index]["task_name"] + CHANGE_MARK
        if picks:
            server.replace_records(department.slug, records)
            changed += len(picks)
    return changed


def _print_run(figures: RunFigures) -> None:
    print(f"  {figures.scenario}: {figures.status}, wall {figures.wall_seconds:.1f} s "
          f"(stages {figures.stage_seconds:.1f} s), peak {figures.peak_mb} MiB "
          f"({figures.peak_without_server_mb} MiB without Prefect's server), fetched {figures.fetched}, "
          f"published {figures.published}, unchanged={figures.is_unchanged}", flush=True)
    for name in STAGES:
        stage = figures.stages.get(name)
        if stage is None:
            continue
        rate = stage.records_per_second
        print(f"    {name:<8} {_fmt(stage.seconds, '.1f'):>8} s  {_fmt(rate, ',.0f'):>10} rec/s  "
              f"{_fmt(stage.peak_mb, '.0f'):>6} MiB", flush=True)


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


@dataclass
class SizeResult:
    items: int
    departments: int
    generate_seconds: float
    server_start_seconds: float
    changed_records: int = 0
    runs: dict[str, RunFigures] = field(default_factory=dict)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    json_api_huiju: dict[str, Any] | None = None


def _run_baseline(name: str, arguments: list[str], work: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run one baseline in a child process (``python -m benchmarks.baselines NAME …``); return its JSON result."""
    result_path = work / f"baseline-{name}.json"
    measured = run_measured(
        [sys.executable, "-m", "benchmarks.baselines", name, *arguments, "--result", str(result_path)],
        env=env, cwd=PROJECT_ROOT, log_path=work / "logs" / f"baseline-{name}.log",
    )
    if measured.returncode != 0 or not result_path.exists():
        print(f"  baseline {name}: failed (exit {measured.returncode}); see {work / 'logs'}", flush=True)
        return {"name": name, "error": f"exit {measured.returncode}", "wall_seconds": measured.seconds}
    result = json.loads(result_path.read_text(encoding="utf-8"))
    result["wall_seconds"] = measured.seconds
    result["peak_mb"] = measured.peak_mb
    print(f"  baseline {name}: {result['seconds']:.1f} s, {result['records']} records, "
          f"peak {measured.peak_mb} MiB", flush=True)
    return result


def _json_api_registry(sources_file: Path, target: Path) -> int:
    """Write a registry of only the JSON API sources of ``sources_file``; return their count."""
    text = sources_file.read_text(encoding="utf-8")
    registry = json.loads(text[text.index("{"):])
    registry["sources"] = [source for source in registry["sources"] if source["format"] == "json_api"]
    target.write_text(json.dumps(registry, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(registry["sources"])


def harvest_json_api(work: Path, sources_file: Path, base_url: str) -> dict[str, Any]:
    """Huiju's harvest and load (fetch, land, load raw tables) of the JSON API sources alone."""
    home = work / "home-json-api"
    shutil.rmtree(home, ignore_errors=True)
    registry = work / "sources-json-api.yaml"
    _json_api_registry(sources_file, registry)
    code = (
        "import json, sys; from flows.harvest import harvest_flow; "
        "result = harvest_flow(home=sys.argv[1], sources_file=sys.argv[2]); "
        "print('HARVEST ' + json.dumps({'timings': result['timings'], "
        "'fetched': sum(o.get('fetched') or 0 for o in result['sources'].values())}))"
    )
    measured = run_measured(
        [sys.executable, "-c", code, str(home), str(registry)],
        env=_child_env(home, registry, base_url), cwd=PROJECT_ROOT, log_path=work / "logs" / "harvest-json-api.log",
    )
    line = next((line for line in measured.output.splitlines() if line.startswith("HARVEST ")), None)
    if measured.returncode != 0 or line is None:
        print(f"  huiju JSON API harvest: failed (exit {measured.returncode})", flush=True)
        return {"error": f"exit {measured.returncode}"}
    result = json.loads(line.removeprefix("HARVEST "))
    seconds = result["timings"]["fetch_seconds"] + result["timings"]["load_seconds"]
    print(f"  huiju JSON API harvest+load: {seconds:.1f} s (fetch {result['timings']['fetch_seconds']:.1f}, "
          f"load {result['timings']['load_seconds']:.1f}), {result['fetched']} records, "
          f"process wall {measured.seconds:.1f} s, peak {measured.peak_mb} MiB", flush=True)
    return {"seconds": seconds, "records": result["fetched"], "wall_seconds": measured.seconds,
            "peak_mb": measured.peak_mb, **result["timings"]}


def bench_size(items: int, work_root: Path, *, baselines: bool, seed: int,
               scenarios: tuple[str, ...] = SCENARIOS,
               on_progress: Callable[[SizeResult], None] = lambda result: None) -> SizeResult:
    """Measure one size: the full refresh, the unchanged run, the baselines, then the 1 % run.

    The baselines run before the 1 % change, on the catalog and warehouse of the full refresh.
    ``on_progress`` gets the partial result after each step, so a report can be rewritten as
    the benchmark goes.
    """
    work = work_root / f"n{items}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    department_count = departments_for(items)
    print(f"\n== {items:,} items in {department_count} department systems ==", flush=True)

    started = time.perf_counter()
    catalog_dir = work / "catalog"
    synthetic.generate(catalog_dir, items, department_count, seed)
    generate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    server = DepartmentSystemServer(
        catalog_path=catalog_dir / "catalog.json", departments_path=catalog_dir / "departments.csv", portal_slugs=(),
    ).start()
    server_seconds = time.perf_counter() - started
    print(f"  generated in {generate_seconds:.1f} s; server up in {server_seconds:.1f} s at {server.base_url}",
          flush=True)
    result = SizeResult(items, department_count, generate_seconds, server_seconds)
    sources_file = catalog_dir / "sources.yaml"
    home = work / "home"
    logs = work / "logs"
    try:
        result.runs["full"] = run_pipeline("full", home, sources_file, server.base_url, logs)
        on_progress(result)
        if "unchanged" in scenarios:
            result.runs["unchanged"] = run_pipeline("unchanged", home, sources_file, server.base_url, logs)
            on_progress(result)
        if baselines:
            env = _child_env(work / "baseline-home", sources_file, server.base_url)
            result.baselines["a"] = _run_baseline("requests", [str(sources_file)], work, env)
            result.baselines["b"] = _run_baseline(
                "sql", [str(home / "warehouse" / "huiju.duckdb"), str(work / "sql")], work, env)
            on_progress(result)
            result.baselines["c"] = _run_baseline("dlt", [str(sources_file), str(work / "dlt")], work, env)
            result.json_api_huiju = harvest_json_api(work, sources_file, server.base_url)
            on_progress(result)
        if "changed_1pct" in scenarios:
            result.changed_records = change_records(server, CHANGED_SHARE, seed)
            print(f"  changed {result.changed_records} records", flush=True)
            result.runs["changed_1pct"] = run_pipeline("changed_1pct", home, sources_file, server.base_url, logs)
            on_progress(result)
    finally:
        server.stop()
    return result


def machine_description() -> dict[str, str]:
    """CPU, cores, memory, disk and versions of the machine the benchmark runs on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    versions = {}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "prefect", "requests", "dlt"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # noqa: BLE001 - a missing package is reported as such
            versions[package] = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                                text=True, check=False, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, check=False, timeout=10).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    return {
        "huiju commit": (commit or "unknown") + (" with uncommitted changes" if dirty else ""),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        **versions,
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return numerator / denominator


def _largest(results: list[SizeResult], has: Callable[[SizeResult], bool]) -> SizeResult | None:
    """Return the largest size whose result has what a target needs."""
    eligible = [result for result in results if has(result)]
    return max(eligible, key=lambda result: result.items) if eligible else None


def targets(results: list[SizeResult]) -> list[tuple[str, str, str, bool | None]]:
    """Return each target with its limit, the measured figure and whether it is met.

    Each target is judged at the largest size that has its figures, normally 1M items.
    """
    rows: list[tuple[str, str, str, bool | None]] = []

    def seconds(result: SizeResult, key: str) -> float | None:
        return result.baselines.get(key, {}).get("seconds")

    def full_seconds(result: SizeResult) -> float:
        full = result.runs.get("full")
        return full.stage_seconds if full else 0.0

    size = _largest(results, lambda r: bool(full_seconds(r) and seconds(r, "a") and seconds(r, "b")))
    if size:
        a, b, full = seconds(size, "a"), seconds(size, "b"), full_seconds(size)
        ratio = full / (a + b)
        rows.append((f"Full refresh at {size.items:,} ≤ 1.5 × (a + b)", "≤ 1.5",
                     f"{full:.0f} s / ({a:.0f} s + {b:.0f} s) = {ratio:.2f}", ratio <= 1.5))
    for scenario, limit, label in (("unchanged", 0.05, "Nothing changed"), ("changed_1pct", 0.15, "1 % changed")):
        size = _largest(results, lambda r, scenario=scenario: bool(full_seconds(r) and scenario in r.runs))
        if size:
            run, full = size.runs[scenario], full_seconds(size)
            ratio = run.stage_seconds / full
            rows.append((f"{label} at {size.items:,} ≤ {limit:.0%} of full", f"≤ {limit:.0%}",
                         f"{run.stage_seconds:.1f} s / {full:.0f} s = {ratio:.1%}", ratio <= limit))
    size = _largest(results, lambda r: bool(seconds(r, "c") and (r.json_api_huiju or {}).get("seconds")))
    if size:
        c, huiju_json = seconds(size, "c"), size.json_api_huiju["seconds"]
        ratio = c / huiju_json
        rows.append((f"JSON API harvest+load at {size.items:,} ≥ 2 × faster than dlt", "≥ 2",
                     f"dlt {c:.0f} s / Huiju {huiju_json:.0f} s = {ratio:.2f}", ratio >= 2))
    size = _largest(results, lambda r: any(run.peak_mb for run in r.runs.values()))
    if size:
        peak = max(run.peak_mb or 0 for run in size.runs.values())
        own = max(run.peak_without_server_mb or 0 for run in size.runs.values())
        rows.append((f"Peak memory at {size.items:,} ≤ 1.5 GB", "≤ 1536 MiB",
                     f"{peak:.0f} MiB ({own:.0f} MiB without Prefect's server)", peak <= 1536))
    by_size = {result.items: result for result in results}
    if 100_000 in by_size and 1_000_000 in by_size:
        small, large = full_seconds(by_size[100_000]), full_seconds(by_size[1_000_000])
        if small and large:
            ratio = large / small
            rows.append(("Full refresh 1M ÷ 100k ≤ 11", "≤ 11", f"{large:.0f} s / {small:.0f} s = {ratio:.1f}",
                         ratio <= 11))
    return rows


def write_report(path: Path, results: list[SizeResult], machine: dict[str, str], started_at: str,
                 command: str) -> None:
    lines = [
        "# Benchmarks",
        "",
        (f"Measured by `{command}` on {started_at} (UTC). Every catalog is synthetic (合成数据), drawn "
        "from the real 广安区 catalog by `department_systems.synthetic`, and served from one local "
        "department system server. Times of a Huiju run are the sum of its stages (harvest, load, "
        "dbt, audit, publish); the process also spends a few seconds starting Python and Prefect, shown "
        "as wall time. Peak memory is the resident set of the run's whole process tree (pipeline, "
        "dbt, Prefect's server), sampled every 0.1 s."),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in machine.items()],
        "",
        "## Targets",
        "",
        "| target | limit | measured | met |",
        "|---|---|---|---|",
        *[f"| {name} | {limit} | {figure} | {'yes' if met else 'no'} |" for name, limit, figure, met in targets(results)],
        "",
    ]
    for result in results:
        lines += [
            f"## {result.items:,} items in {result.departments} department systems",
            "",
            (f"Catalog generated in {result.generate_seconds:.1f} s; server started in "
             f"{result.server_start_seconds:.1f} s"
             + (f"; the 1 % run follows an edit of {result.changed_records:,} records."
                if "changed_1pct" in result.runs else ".")),
            "",
            "| run | stage | seconds | records/s | peak MiB |",
            "|---|---|---:|---:|---:|",
        ]
        for run in result.runs.values():
            for name in STAGES:
                stage = run.stages.get(name)
                if stage is None:
                    continue
                lines.append(f"| {run.scenario} | {name} | {_fmt(stage.seconds, '.1f')} | "
                             f"{_fmt(stage.records_per_second, ',.0f')} | {_fmt(stage.peak_mb, '.0f')} |")
            lines.append(f"| {run.scenario} | **all stages** ({run.status}) | **{run.stage_seconds:.1f}** | "
                         f"{_fmt(_ratio(run.fetched, run.stage_seconds), ',.0f')} | **{_fmt(run.peak_mb, '.0f')}** |")
            lines.append(f"| {run.scenario} | process wall; peak without Prefect's server | {run.wall_seconds:.1f} | | "
                         f"{_fmt(run.peak_without_server_mb, '.0f')} |")
        full = result.runs.get("full")
        if result.baselines:
            lines += ["", "| baseline | seconds | records | peak MiB | Huiju ÷ baseline |", "|---|---:|---:|---:|---|"]
            names = {"a": "(a) bare requests loop", "b": "(b) plain DuckDB SQL", "c": "(c) dlt REST API source"}
            huiju_for = {
                "a": (full.stages["harvest"].seconds if full and "harvest" in full.stages else None, "harvest"),
                "b": (sum((full.stages[name].seconds or 0) for name in ("dbt", "audit", "publish") if name in full.stages)
                      if full else None, "dbt+audit+publish"),
                "c": ((result.json_api_huiju or {}).get("seconds"), "harvest+load of the JSON API sources"),
            }
            for key, baseline in result.baselines.items():
                huiju_seconds, label = huiju_for[key]
                if "error" in baseline:
                    lines.append(f"| {names[key]} | failed ({baseline['error']}) | | | |")
                    continue
                ratio = _ratio(huiju_seconds, baseline["seconds"])
                lines.append(f"| {names[key]} | {baseline['seconds']:.1f} | {baseline['records']:,} | "
                             f"{_fmt(baseline.get('peak_mb'), '.0f')} | {_fmt(ratio, '.2f')} ({label}) |")
            a, b = result.baselines.get("a", {}).get("seconds"), result.baselines.get("b", {}).get("seconds")
            if full and a and b:
                lines.append(f"| (a) + (b) | {a + b:.1f} | | | {full.stage_seconds / (a + b):.2f} (full refresh) |")
        lines.append("")
    # The analysis below the marker is written by hand and survives a new measurement.
    if path.exists() and ANALYSIS_MARKER in path.read_text(encoding="utf-8"):
        kept = path.read_text(encoding="utf-8").split(ANALYSIS_MARKER, 1)[1]
        lines += [ANALYSIS_MARKER + kept.rstrip("\n")]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(size) for size in DEFAULT_SIZES),
                        help="comma-separated item counts (default: 10000,100000,1000000)")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "var" / "benchmarks",
                        help="scratch directory for catalogs, homes and logs (default: var/benchmarks)")
    parser.add_argument("--report", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md",
                        help="Markdown report to write (default: docs/benchmarks.md)")
    parser.add_argument("--no-baselines", action="store_true", help="measure only Huiju's runs")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="runs after the full refresh, comma-separated (default: full,unchanged,changed_1pct)")
    parser.add_argument("--seed", type=int, default=2260)
    args = parser.parse_args(argv)

    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    machine = machine_description()
    command = " ".join(["python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])])
    print("Machine: " + ", ".join(f"{key} {value}" for key, value in machine.items()), flush=True)
    scenarios = tuple(name.strip() for name in args.scenarios.split(",") if name.strip())
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    results: list[SizeResult] = []
    for items in sizes:
        done = list(results)

        def report(partial: SizeResult, done: list[SizeResult] = done) -> None:
            write_report(args.report, [*done, partial], machine, started_at, command)

        results.append(bench_size(items, args.work, baselines=not args.no_baselines, seed=args.seed,
                                  scenarios=scenarios, on_progress=report))
        write_report(args.report, results, machine, started_at, command)
    print("\nTargets:")
    for name, limit, figure, met in targets(results):
        print(f"  {'met   ' if met else 'MISSED'} {name}: {figure}")
    print(f"\nReport written to {args.report}")


if __name__ == "__main__":
    main()
