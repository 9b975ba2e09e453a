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

import pytest  # noqa: E402


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


@pytest.fixture
def clean_server(server):
    """The module's server with no queued faults or replaced records before and after a test."""
    server.reset()
    yield server
    server.reset()
