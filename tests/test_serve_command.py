"""`huiju serve` as a user starts it: a separate process on a free 127.0.0.1 port."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests
from web_server import free_port

from huiju.settings import PROJECT_ROOT

START_TIMEOUT_SECONDS = 30


@pytest.fixture(scope="module")
def served(published_home):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "huiju.cli", "--home", str(published_home), "serve", "--port", str(port)],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            requests.get(f"{base_url}/api/openapi.json", timeout=2)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"huiju serve did not answer on {base_url}: {process.communicate()[0]}")
            time.sleep(0.2)
    yield base_url, process
    process.terminate()
    process.wait(timeout=10)


def test_serve_prints_addresses(served):
    base_url, process = served
    banner = [process.stdout.readline() for _ in range(3)]
    assert banner[0].strip() == f"状态看板：{base_url}/"
    assert f"{base_url}/api/v1/themes" in banner[1]
    assert f"{base_url}/api/docs" in banner[1]


def test_serve_answers_dashboard_and_api(served):
    base_url, _ = served
    dashboard = requests.get(f"{base_url}/", timeout=10)
    assert dashboard.status_code == 200
    assert "各部门集成状态" in dashboard.text
    version = requests.get(f"{base_url}/api/v1/version", timeout=10)
    assert version.status_code == 200
    assert version.headers["ETag"]


def test_serve_rejects_writes(served):
    base_url, _ = served
    response = requests.post(f"{base_url}/api/v1/themes", json={}, timeout=10)
    assert response.status_code == 405
