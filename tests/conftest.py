"""Shared fixtures: a Prefect test harness for the whole session, and a temporary Prefect home."""

from __future__ import annotations

import os
import tempfile

# Prefect reads its home when first imported, so it is set before any test module imports Prefect.
_PREFECT_HOME = tempfile.mkdtemp(prefix="huiju-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

import pytest


@pytest.fixture(scope="session")
def prefect_harness():
    """One ephemeral Prefect API for every flow test; its server needs 10+ seconds to start."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="module")
def server():
    """A department-system server on a free 127.0.0.1 port, serving the bundled real catalog."""
    from department_systems.server import DepartmentSystemServer

    with DepartmentSystemServer() as running:
        yield running


@pytest.fixture(scope="module")
def department_server():
    """A department-system server whose URL ``HUIJU_DEPT_BASE_URL`` gives the bundled registry."""
    from department_systems.server import DepartmentSystemServer

    with DepartmentSystemServer() as server:
        previous = os.environ.get("HUIJU_DEPT_BASE_URL")
        os.environ["HUIJU_DEPT_BASE_URL"] = server.base_url
        yield server
        if previous is None:
            os.environ.pop("HUIJU_DEPT_BASE_URL", None)
        else:
            os.environ["HUIJU_DEPT_BASE_URL"] = previous


@pytest.fixture
def clean_server(server):
    """The module's server with no queued faults or replaced records before and after a test."""
    server.reset()
    yield server
    server.reset()


def _shared_root(tmp_path_factory, worker_id: str):
    """Return the temporary directory that every pytest-xdist worker of this session shares."""
    root = tmp_path_factory.getbasetemp()
    return root if worker_id == "master" else root.parent


@pytest.fixture(scope="session")
def theme_warehouse_path(tmp_path_factory, worker_id):
    """The warehouse built by ``theme_warehouse.build_warehouse``, once per session for every worker.

    It is built in a child process: dbt-duckdb keeps its read-write connection open in the
    process that ran dbt, and DuckDB refuses a read-only connection beside it. Tests open it
    read-only, so both workers can read it at the same time.
    """
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from filelock import FileLock

    root = _shared_root(tmp_path_factory, worker_id)
    work_dir = root / "theme-warehouse"
    with FileLock(str(root / "theme-warehouse.lock")):
        if not (work_dir / "built").exists():
            shutil.rmtree(work_dir, ignore_errors=True)
            work_dir.mkdir()
            script = "import sys, pathlib, theme_warehouse; theme_warehouse.build_warehouse(pathlib.Path(sys.argv[1]))"
            subprocess.run([sys.executable, "-c", script, str(work_dir)], cwd=Path(__file__).parent, check=True)
            (work_dir / "built").touch()
    return work_dir / "warehouse.duckdb"


@pytest.fixture(scope="session")
def demo_home(prefect_harness, tmp_path_factory, worker_id):
    """A home where the pipeline ran once on the bundled real catalog; shared by every test worker.

    The first worker that requests it builds it under a file lock; the others wait and reuse it. Tests
    must not change it: use ``published_home`` for a copy of its published files and run records.
    """
    import shutil

    from filelock import FileLock

    from department_systems.server import DepartmentSystemServer
    from flows.pipeline import pipeline_flow

    root = _shared_root(tmp_path_factory, worker_id)
    home = root / "demo-home"
    with FileLock(str(root / "demo-home.lock")):
        if not (home / "published" / "current").is_symlink():
            shutil.rmtree(home, ignore_errors=True)
            with DepartmentSystemServer() as server:
                previous = os.environ.get("HUIJU_DEPT_BASE_URL")
                os.environ["HUIJU_DEPT_BASE_URL"] = server.base_url
                try:
                    pipeline_flow(home=str(home))
                finally:
                    if previous is None:
                        os.environ.pop("HUIJU_DEPT_BASE_URL", None)
                    else:
                        os.environ["HUIJU_DEPT_BASE_URL"] = previous
    return home


@pytest.fixture(scope="module")
def published_home(demo_home, tmp_path_factory):
    """A module's own copy of the demo home's published versions and run records."""
    import shutil

    home = tmp_path_factory.mktemp("published-home")
    for part in ("published", "runs"):
        shutil.copytree(demo_home / part, home / part, symlinks=True)
    return home


@pytest.fixture(scope="module")
def demo_home_copy(demo_home, tmp_path_factory):
    """A module's own copy of the whole demo home, warehouse, landing and state included.

    The pipeline can run on it again. Its departments return 304s to a later run even from a
    server on another port, because harvest state is keyed by URLs relative to ``base_url``.
    """
    import shutil

    home = tmp_path_factory.mktemp("demo-home-copy")
    shutil.copytree(demo_home, home, symlinks=True, dirs_exist_ok=True, ignore=shutil.ignore_patterns("dbt", "prefect"))
    return home
