"""Wall time and peak memory of a child process tree, sampled from ``/proc``.

A pipeline run is one process with children (dbt, Prefect's server), so ``ru_maxrss`` of one
process misses most of it. :class:`TreeSampler` sums the resident set of the whole tree every
``interval`` seconds and keeps the time series, so the peak of any time window, such as one
stage of a run, can be read afterwards.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses; fields resume after the last ')'.
        parent = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE_SIZE
    except OSError:
        return 0


def _is_prefect_server(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"prefect.server" in handle.read()
    except OSError:
        return False


def tree_rss_bytes(root: int) -> tuple[int, int]:
    """Resident bytes of ``root`` and all its descendants now, and the part of it in Prefect's server.

    A run started by hand starts a temporary Prefect server as a child; a deployment talks to a
    server that runs on its own. Its share is kept apart so that both figures can be reported.
    """
    children = _children_map()
    total, server, stack = 0, 0, [root]
    while stack:
        pid = stack.pop()
        rss = _rss_bytes(pid)
        total += rss
        if _is_prefect_server(pid):
            server += rss
        stack.extend(children.get(pid, ()))
    return total, server


@dataclass
class TreeSampler:
    """Samples the resident memory of a process tree in a background thread."""

    root: int
    interval: float = 0.1
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), *tree_rss_bytes(self.root)))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def peak_mb(self, start: float | None = None, end: float | None = None, *,
                without_server: bool = False) -> float | None:
        """Highest sampled total in ``[start, end]`` (Unix times), in MiB; ``None`` if no sample fell in it.

        ``without_server`` leaves out the resident memory of Prefect's server.
        """
        values = [
            rss - (server if without_server else 0) for at, rss, server in self.samples
            if (start is None or at >= start) and (end is None or at <= end)
        ]
        return round(max(values) / 2**20, 1) if values else None


@dataclass(frozen=True)
class Measured:
    """One measured command: exit code, wall seconds, sampled peak, and its sampler for windows."""

    returncode: int
    seconds: float
    peak_mb: float | None
    sampler: TreeSampler
    output: str


def run_measured(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_path: Path, interval: float = 0.1
) -> Measured:
    """Run ``command`` to completion, sampling its process tree; its output goes to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(list(command), env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        sampler = TreeSampler(process.pid, interval).start()
        returncode = process.wait()
        sampler.stop()
    seconds = time.perf_counter() - started
    output = log_path.read_text(encoding="utf-8", errors="replace")
    return Measured(returncode, seconds, sampler.peak_mb(), sampler, output)


def unix_time(iso: str | None) -> float | None:
    """Unix time of an ISO 8601 timestamp from a run record (naive ones are UTC)."""
    if not iso:
        return None
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
