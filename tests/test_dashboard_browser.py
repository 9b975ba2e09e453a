"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, over the real demo run.

The server runs with uvicorn in a thread on a free 127.0.0.1 port. Screenshots go to the test's
temporary directory and, when HUIJU_SCREENSHOT_DIR is set, to that directory too.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_server import serve_in_thread

from huiju.quality_report import department_id
from huiju.serve.app import create_app
from huiju.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
# Without these flags Chromium tries to reach update, sync and QUIC endpoints, which time out on a
# closed network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def base_url(published_home) -> Iterator[str]:
    with serve_in_thread(create_app(Settings(home=published_home))) as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; run `make test`, which installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    # Playwright rejects --user-data-dir in launch(); a persistent context takes the fresh profile directory instead.
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True,
            viewport={"width": 1440, "height": 900},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def _save_screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    extra = os.environ.get("HUIJU_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / name)
    return path


def test_dashboard_in_browser(browser_page, base_url, tmp_path):
    page = browser_page

    page.goto(f"{base_url}/")
    assert page.locator("h1").inner_text() == "各部门集成状态"
    rows = page.locator("#departments tbody tr.department-row")
    assert rows.count() == 34
    rsj = page.locator("#departments tr.department-row", has_text="区人社局")
    assert rsj.locator("td[data-count=fetched]").inner_text() == "144"
    assert rsj.locator("td[data-count=published]").inner_text() == "143"

    bars = page.locator("#department-chart svg rect.bar[data-segment=published]")
    assert bars.count() >= 34
    widest = page.locator("#department-chart svg rect.bar[data-segment=published][data-value='343']").bounding_box()
    narrowest = page.locator("#department-chart svg rect.bar[data-segment=published][data-value='1']").first.bounding_box()
    assert widest["width"] > 300
    assert 0 < narrowest["width"] < widest["width"] / 100
    _save_screenshot(page, tmp_path, "dashboard-overview.png")

    rsj.locator("a.report-link").click()
    page.wait_for_url(f"**/reports/quality/{department_id('区人社局')}.html")
    assert page.locator("#report-title").inner_text() == "区人社局 数据质量报告"
    assert page.locator("#problem-records tbody tr").count() > 100
    page.locator("#problem-records tbody tr").first.locator("summary").click()
    assert '"dept_name": "区人社局"' in page.locator("#problem-records tbody tr").first.locator("pre").inner_text()

    page.locator("#lang-switch").click()
    page.wait_for_url(re.compile(r"\?lang=en$"))
    assert page.locator("#report-title").inner_text() == "Data quality report: 区人社局"
    page.get_by_role("link", name="Departments", exact=True).click()
    page.wait_for_url(f"{base_url}/?lang=en")
    assert page.locator("h1").inner_text() == "Integration status by department"
    assert page.locator("#departments thead").inner_text().startswith("Department")

    page.goto(f"{base_url}/themes")
    assert page.locator("#coverage-chart svg rect.heat").count() > 0
    _save_screenshot(page, tmp_path, "dashboard-themes.png")


def test_api_docs_render_offline(browser_page, base_url, tmp_path):
    page = browser_page
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(re.sub(r"^\w+://([^/]+).*$", r"\1", request.url)))

    page.goto(f"{base_url}/api/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() >= 7
    assert "Unable to render" not in page.content()
    assert hosts == {base_url.removeprefix("http://")}
    _save_screenshot(page, tmp_path, "api-docs.png")
