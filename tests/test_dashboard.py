"""Integration-status dashboard and quality reports, over the published files of the real demo run."""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from string import Formatter
from urllib.parse import quote

import duckdb
import pytest
from fastapi.testclient import TestClient

from huiju import publish
from huiju.freshness import SCHEDULE_TIMEZONE, assess_freshness
from huiju.quality_report import CSV_COLUMNS, department_id
from huiju.serve.app import create_app
from huiju.serve.labels import LABELS
from huiju.settings import Settings

COUNT_KEYS = ("fetched", "published", "quarantined", "merged", "flagged", "withdrawn")
CHINESE_CSV_HEADERS = ["记录标识", "来源", "规则", "严重程度（隔离/存疑）", "字段", "原因", "原始值", "事项名称", "事项标识", "原始记录"]
PAGE_HEADINGS = {
    "/": ("各部门集成状态", "Integration status by department"),
    "/runs": ("运行记录", "Pipeline runs"),
    "/versions": ("发布版本", "Publications"),
    "/themes": ("服务主题", "Service themes"),
}


@dataclass
class Cell:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class Row:
    attrs: dict[str, str]
    cells: list[Cell] = field(default_factory=list)

    def count(self, key: str) -> int | None:
        cell = next(cell for cell in self.cells if cell.attrs.get("data-count") == key)
        text = cell.text.strip().replace(",", "")
        return None if text == "—" else int(text)


class TableParser(HTMLParser):
    """Collect the rows of the table with a given id, with each cell's attributes and text."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.depth = 0
        self.rows: list[Row] = []
        self._cell: Cell | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "table":
            if self.depth or attributes.get("id") == self.table_id:
                self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append(Row(attributes))
        elif self.depth and tag in ("td", "th") and self.rows:
            self._cell = Cell(tag, attributes)
            self.rows[-1].cells.append(self._cell)

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.text += data


def table_rows(html: str, table_id: str, row_class: str | None = None) -> list[Row]:
    parser = TableParser(table_id)
    parser.feed(html)
    rows = parser.rows
    if row_class is not None:
        rows = [row for row in rows if row_class in row.attrs.get("class", "").split()]
    return rows


def read_parquet(path: Path, query: str = "select * from data") -> list[tuple]:
    with duckdb.connect() as connection:
        connection.execute(f"create view data as select * from read_parquet('{path}')")
        return connection.execute(query).fetchall()


def current_dir(home: Path) -> Path:
    return (home / "published" / "current").resolve()


def make_client(home: Path, now: datetime | None = None) -> TestClient:
    app = create_app(Settings(home=home))
    if now is not None:
        app.state.dashboard.clock = lambda: now
    return TestClient(app)


def run_started_at(home: Path) -> datetime:
    run = json.loads((home / "runs" / "latest.json").read_text(encoding="utf-8"))
    return datetime.fromisoformat(run["started_at"])


@pytest.fixture(scope="module")
def client(published_home):
    return make_client(published_home, run_started_at(published_home) + timedelta(minutes=10))


@pytest.fixture(scope="module")
def manifest(published_home):
    return json.loads((current_dir(published_home) / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def departments(published_home):
    """Department names of dim_department in the current version."""
    return {name for (name,) in read_parquet(current_dir(published_home) / "marts" / "dim_department.parquet",
                                             "select dept_name from data")}


MONDAY_10_00 = datetime(2026, 12, 7, 10, 0, tzinfo=SCHEDULE_TIMEZONE)


@pytest.mark.parametrize("schedule, now, hours_since_fetch, expected", [
    ("30 2 * * *", MONDAY_10_00, 23, "on_time"),
    ("30 2 * * *", MONDAY_10_00, 24.5, "on_time"),  # inside the hour allowed for a run
    ("30 2 * * *", MONDAY_10_00, 25.5, "overdue"),
    ("0 */6 * * *", MONDAY_10_00, 6.5, "on_time"),
    ("0 */6 * * *", MONDAY_10_00, 7.5, "overdue"),
    ("0 2 * * 1-5", MONDAY_10_00, 71.5, "on_time"),  # Friday's fetch is due again on Monday
    ("0 2 * * 1-5", MONDAY_10_00 + timedelta(days=1), 32, "overdue"),
    ("30 2 * * *", MONDAY_10_00, None, "overdue"),
    ("not a schedule", MONDAY_10_00, 1, "unknown"),
    (None, MONDAY_10_00, 1, "unknown"),
])
def test_freshness_against_schedule(schedule, now, hours_since_fetch, expected):
    last_fetch = None if hours_since_fetch is None else now - timedelta(hours=hours_since_fetch)

    freshness = assess_freshness(schedule, last_fetch, now)

    assert freshness.state == expected


def test_labels_exist_in_both_languages():
    for key, texts in LABELS.items():
        assert set(texts) == {"zh", "en"}, key
        assert texts["zh"].strip(), key
        assert texts["en"].strip(), key
        fields = [{name for _, name, _, _ in Formatter().parse(texts[lang]) if name} for lang in ("zh", "en")]
        assert fields[0] == fields[1], key


@pytest.mark.parametrize("path", sorted(PAGE_HEADINGS))
def test_page_in_chinese_and_english(client, path):
    chinese, english = PAGE_HEADINGS[path]

    zh = client.get(path)
    en = client.get(path, params={"lang": "en"})

    assert zh.status_code == 200
    assert en.status_code == 200
    assert zh.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in zh.text
    assert '<html lang="en">' in en.text
    assert f"<h1>{chinese}</h1>" in zh.text
    assert f"<h1>{english}</h1>" in en.text
    # Links keep the chosen language, and the switch leads to the other one.
    assert 'href="/runs?lang=en"' in en.text
    assert 'href="/runs"' in zh.text
    assert f'id="lang-switch" href="{path}?lang=en"' in zh.text


def test_run_and_report_pages_in_both_languages(client, published_home, departments):
    run_id = json.loads((published_home / "runs" / "latest.json").read_text(encoding="utf-8"))["run_id"]
    report = f"/reports/quality/{department_id('区人社局')}.html"

    for path, chinese, english in [
        (f"/runs/{run_id}", f"运行 {run_id}", f"Run {run_id}"),
        (report, "区人社局 数据质量报告", "Data quality report: 区人社局"),
    ]:
        zh = client.get(path)
        en = client.get(path, params={"lang": "en"})
        assert zh.status_code == 200, path
        assert en.status_code == 200, path
        assert chinese in zh.text
        assert english in en.text


def test_department_table_lists_every_department(client, departments):
    html = client.get("/").text
    rows = table_rows(html, "departments", "department-row")
    names = [row.cells[0].text.strip() for row in rows]

    assert len(departments) == 34
    assert sorted(names) == sorted(departments)
    assert len(names) == len(set(names))
    for row, name in zip(rows, names):
        assert row.attrs["data-department-id"] == department_id(name)


def test_department_counts_add_up(client, manifest):
    html = client.get("/").text
    rows = table_rows(html, "departments", "department-row") + table_rows(html, "other-sources", "owner-row")
    totals = {key: 0 for key in COUNT_KEYS}

    for row in rows:
        name = row.cells[0].text.strip()
        assert row.count("fetched") == row.count("published") + row.count("quarantined") + row.count("merged"), name
        for key in COUNT_KEYS:
            totals[key] += row.count(key)

    service_sources = {source_id: counts for source_id, counts in manifest["sources"].items()
                       if not source_id.startswith("portal_")}
    for source_id, counts in manifest["sources"].items():
        assert counts["fetched"] == counts["published"] + counts["quarantined"] + counts["merged"], source_id
    for key in ("fetched", "published", "quarantined", "merged", "flagged"):
        assert totals[key] == sum(counts[key] for counts in service_sources.values()), key
    assert totals["fetched"] == 1143
    assert f'<span class="card-value" data-total="fetched">{totals["fetched"]:,}</span>' in html


def test_department_row_shows_real_counts(client):
    html = client.get("/").text
    row = next(row for row in table_rows(html, "departments", "department-row") if row.cells[0].text.strip() == "区人社局")

    assert [row.count(key) for key in COUNT_KEYS] == [144, 143, 0, 1, 143, 0]
    assert "guangan_rsj" in row.cells[1].text
    assert "已载入" in row.cells[2].text
    assert "实施主体编码被截断" in html
    assert row.attrs["data-freshness"] == "on_time"


def test_republished_source_listed_apart(client):
    html = client.get("/").text
    rows = table_rows(html, "other-sources", "owner-row")

    assert [row.cells[0].text.strip() for row in rows] == ["四川政务服务网"]
    assert [rows[0].count(key) for key in ("fetched", "published", "quarantined", "merged")] == [8, 0, 0, 8]


def test_content_feeds_listed(client):
    html = client.get("/").text
    rows = table_rows(html, "content-sources", "content-row")

    assert sorted(row.attrs["data-source-id"] for row in rows) == ["portal_interpretations", "portal_notices",
                                                                    "portal_policies"]
    assert "通知公告" in html
    assert "政策解读" in html
    for row in rows:
        assert row.count("fetched") == row.count("published") + row.count("quarantined") + row.count("merged")


def test_chart_has_bar_per_department(client):
    html = client.get("/").text

    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in html
    assert html.count('data-segment="published"') >= 34
    assert 'data-segment="flagged" data-value="143"' in html
    assert "<script" not in html
    assert "http://" not in html.split("<main>")[0].replace("http://www.w3.org/2000/svg", "")


def test_overdue_after_missed_schedule(published_home):
    late = make_client(published_home, run_started_at(published_home) + timedelta(days=3, hours=1))
    html = late.get("/").text
    rows = table_rows(html, "departments", "department-row")

    assert {row.attrs["data-freshness"] for row in rows} == {"overdue"}
    assert "逾期" in html
    assert "距上次成功抓取 3 天，计划间隔 24 小时" in html


def test_runs_pages_show_stages_and_gates(client, published_home):
    run = json.loads((published_home / "runs" / "latest.json").read_text(encoding="utf-8"))
    listing = client.get("/runs").text
    detail = client.get(f"/runs/{run['run_id']}").text

    assert [row.attrs["data-run-id"] for row in table_rows(listing, "runs", "run-row")] == [run["run_id"]]
    assert 'id="runs-chart"' in listing
    stages = table_rows(detail, "stages", "stage-row")
    assert [row.attrs["data-stage"] for row in stages] == ["harvest", "transform", "audit", "publish"]
    assert detail.count('class="bar seg-stage-') >= 4
    gates = table_rows(detail, "gates", "gate-row")
    assert len(gates) == len(run["gates"])
    assert {row.attrs["data-passed"] for row in gates} == {"true"}
    assert "本次运行没有失败的来源。" in detail


def test_failed_source_shows_reason(published_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(published_home / "published", home / "published", symlinks=True)
    (home / "runs").mkdir()
    run = json.loads((published_home / "runs" / "latest.json").read_text(encoding="utf-8"))
    run["run_id"] = "20261206T020000Z-f00d01"
    run["status"] = "partial"
    run["sources"]["guangan_wjj"].update(
        status="failed", is_stale=True,
        error={"stage": "fetch", "url": "http://127.0.0.1:9/wjj/api/tasks", "status": 503, "reason": "HTTP 503 after 3 retries"},
    )
    (home / "runs" / f"{run['run_id']}.json").write_text(json.dumps(run, ensure_ascii=False), encoding="utf-8")
    (home / "runs" / "latest.json").write_text(json.dumps(run, ensure_ascii=False), encoding="utf-8")
    client = make_client(home, datetime.fromisoformat(run["started_at"]) + timedelta(minutes=10))

    detail = client.get(f"/runs/{run['run_id']}").text
    overview = client.get("/").text

    failed = table_rows(detail, "failed-sources", "failed-source")
    assert [row.attrs["data-source-id"] for row in failed] == ["guangan_wjj"]
    assert "HTTP 503 after 3 retries" in failed[0].cells[5].text
    assert "503" in failed[0].cells[4].text
    row = next(row for row in table_rows(overview, "departments", "department-row") if row.cells[0].text.strip() == "区卫健局")
    assert "失败" in row.cells[2].text
    assert "HTTP 503 after 3 retries" in row.cells[2].text
    assert "沿用上次数据" in row.cells[10].text
    assert row.attrs["data-freshness"] == "overdue"


def test_quality_report_html(client, published_home):
    flags = read_parquet(current_dir(published_home) / "quality_flags.parquet",
                         "select source_record_id, rule_id, value from data where source_id = 'guangan_rsj'")
    response = client.get(f"/reports/quality/{department_id('区人社局')}.html")

    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('inline; filename="quality-report-')
    assert "filename*=UTF-8''" + quote("区人社局-质量报告-", safe="") in disposition
    rows = table_rows(response.text, "problem-records", "problem-row")
    assert len(rows) == len(flags)
    assert {(row.attrs["data-record-id"], row.attrs["data-rule"]) for row in rows} == {(record, rule) for record, rule, _ in flags}
    assert '<span class="card-value" id="suspect-count">143</span>' in response.text
    assert '<span class="card-value" id="quarantined-count">0</span>' in response.text
    assert "实施主体编码被截断（如 17 位的统一社会信用代码）" in response.text
    assert "1151130108778239R" in response.text
    assert "<link" not in response.text  # the style travels inside the saved file


def test_quality_report_csv(client, published_home):
    flags = read_parquet(current_dir(published_home) / "quality_flags.parquet",
                         "select source_record_id, rule_id, value, source_record from data where source_id = 'guangan_rsj'")
    response = client.get(f"/reports/quality/{department_id('区人社局')}.csv")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="quality-report-')
    assert disposition.isascii()
    assert disposition.endswith("filename*=UTF-8''" + quote(f"区人社局-质量报告-{current_dir(published_home).name}.csv", safe=""))
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == CHINESE_CSV_HEADERS
    assert table[0] == [chinese for _, chinese, _ in CSV_COLUMNS]
    assert len(table) - 1 == len(flags)
    assert {row[3] for row in table[1:]} == {"存疑"}
    assert {(row[0], row[2], row[6], row[9]) for row in table[1:]} == set(flags)
    assert b"\r\n" in response.content


def test_quality_report_csv_in_english(client):
    response = client.get(f"/reports/quality/{department_id('区人社局')}.csv", params={"lang": "en"})
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))

    assert table[0][:4] == ["Record ID", "Source", "Rule", "Severity (quarantined/suspect)"]
    assert {row[3] for row in table[1:]} == {"suspect"}
    assert "quality-report-" in response.headers["content-disposition"].split("filename*=")[1]


def test_clean_department_report(client):
    html = client.get(f"/reports/quality/{department_id('区住建局')}.html").text
    csv_text = client.get(f"/reports/quality/{department_id('区住建局')}.csv").content.decode("utf-8-sig")

    assert "本版本中该部门没有被隔离或存疑的记录，无需修正。" in html
    assert 'id="problem-records"' not in html
    assert csv_text.splitlines() == [",".join(CHINESE_CSV_HEADERS)]


def test_every_department_has_report_link(client, departments):
    html = client.get("/").text

    for name in departments:
        assert f'href="/reports/quality/{department_id(name)}.html"' in html, name
        response = client.get(f"/reports/quality/{department_id(name)}.html")
        assert response.status_code == 200, name


@pytest.mark.parametrize("path", [
    f"/reports/quality/{'0' * 32}.html",
    f"/reports/quality/{'0' * 32}.csv",
    "/reports/quality/not-a-department.html",
    "/runs/20000101T000000Z-000000",
    "/runs/latest",
    "/no-such-page",
])
def test_unknown_page_is_404(client, path):
    response = client.get(path)

    assert response.status_code == 404


def test_unknown_department_message_in_chinese(client):
    html = client.get(f"/reports/quality/{'0' * 32}.html")
    csv_response = client.get(f"/reports/quality/{'0' * 32}.csv")

    assert f"未找到部门 {'0' * 32}。请从部门概览页的“质量报告”链接进入。" in html.text
    assert "未找到部门" in csv_response.text


@pytest.mark.parametrize("path", ["/", "/versions", f"/reports/quality/{department_id('区人社局')}.csv"])
def test_write_methods_rejected(client, path):
    assert client.post(path).status_code == 405
    assert client.put(path).status_code == 405
    assert client.delete(path).status_code == 405
    assert client.head(path).status_code == 200


def test_pages_without_published_version(tmp_path):
    client = make_client(tmp_path / "empty-home")

    for path in ("/", "/themes", f"/reports/quality/{department_id('区人社局')}.html"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "尚未发布任何版本" in response.text, path
    assert "还没有运行记录。" in client.get("/runs").text
    assert "还没有发布记录。" in client.get("/versions").text
    assert client.get(f"/reports/quality/{department_id('区人社局')}.csv").status_code == 404


def test_themes_coverage_and_composition(client, published_home):
    marts = current_dir(published_home) / "marts"
    cells = read_parquet(marts / "mart_theme_steps.parquet",
                         "select count(distinct (department_id, theme_id)) from data where service_item_id is not null")[0][0]
    themes = read_parquet(marts / "mart_theme_composition.parquet", "select distinct theme_id, theme_result from data")
    html = client.get("/themes").text

    assert html.count('class="heat heat-') - html.count('class="heat heat-0"') == cells
    assert 'data-count="24"' in html  # 区人社局 in 就业创业
    for theme_id, result in themes:
        assert f'id="theme-{theme_id}" data-result="{result}"' in html
    assert html.count('data-segment="unknown"') > 0
    assert "各维度未知事项占比不高于八成" in html
    assert "刻制公章" in html  # a step without services
    assert "未参与任何主题的部门（26 个）" in html


def test_versions_page_marks_current(client, published_home):
    current = current_dir(published_home).name
    html = client.get("/versions").text

    entries = table_rows(html, "publications", "publication-row")
    assert [row.attrs["data-action"] for row in entries] == ["publish"]
    assert entries[0].attrs["data-version"] == current
    assert "当前" in entries[0].cells[2].text
    assert "只有一个版本，暂无可比较的变化。" in html


# A second version built from the real one: two 区人社局 items leave (one quarantined, one
# withdrawn), one 区住建局 item is renamed.


@dataclass
class TwoVersions:
    home: Path
    first: str
    second: str
    quarantined: tuple[str, str]
    withdrawn: str
    renamed: str


def _build_second_version(home: Path) -> TwoVersions:
    publish_dir = home / "published"
    first_dir = current_dir(home)
    manifest = json.loads((first_dir / "manifest.json").read_text(encoding="utf-8"))
    created = datetime.fromisoformat(manifest["created_at"]) + timedelta(hours=1)
    second = f"v{created:%Y%m%dT%H%M%SZ}-5ec0nd00"
    second_dir = publish_dir / "versions" / second
    shutil.copytree(first_dir, second_dir)
    marts, first_marts = second_dir / "marts", first_dir / "marts"

    rsj = department_id("区人社局")
    (quarantined, withdrawn), = [tuple(row[0] for row in read_parquet(
        first_marts / "mart_theme_steps.parquet",
        f"select distinct service_item_id from data where department_id = '{rsj}' order by 1 limit 2"))]
    quarantined_record = read_parquet(first_marts / "fct_service_item.parquet",
                                      f"select source_record_id from data where service_item_id = '{quarantined}'")[0][0]
    renamed = read_parquet(first_marts / "fct_service_item.parquet",
                           "select service_item_id from data where dept_name = '区住建局' order by 1 limit 1")[0][0]
    removed_ids = f"('{quarantined}', '{withdrawn}')"
    with duckdb.connect() as connection:
        connection.execute(f"""
            copy (select * replace (case when service_item_id = '{renamed}' then task_name || '（更名）'
                                         else task_name end as task_name)
                  from read_parquet('{first_marts / "fct_service_item.parquet"}') where service_item_id not in {removed_ids})
            to '{marts / "fct_service_item.parquet"}' (format parquet)""")
        connection.execute(f"""
            copy (select * from read_parquet('{first_marts / "mart_theme_steps.parquet"}') where service_item_id not in {removed_ids})
            to '{marts / "mart_theme_steps.parquet"}' (format parquet)""")
        connection.execute(f"""
            copy (select * replace (service_item_id = '{withdrawn}' as is_withdrawn)
                  from read_parquet('{first_marts / "fct_service_item_status.parquet"}')
                  where service_item_id != '{quarantined}')
            to '{marts / "fct_service_item_status.parquet"}' (format parquet)""")
        connection.execute(f"""
            copy (select * from read_parquet('{first_dir / "quality_flags.parquet"}') where service_item_id not in {removed_ids})
            to '{second_dir / "quality_flags.parquet"}' (format parquet)""")
        connection.execute(f"""
            copy (
                select * from read_parquet('{first_dir / "quarantine.parquet"}')
                union all by name
                select '{quarantined}' as service_item_id, '{quarantined_record}' as source_record_id,
                       'guangan_rsj' as source_id, 'missing_name' as rule_id, 'task_name_raw' as field,
                       null::varchar as value, '事项名称为空' as reason_zh, 'the service name is empty' as reason_en,
                       '{{"task_name": null, "dept_name": "区人社局"}}' as source_record
            ) to '{second_dir / "quarantine.parquet"}' (format parquet)""")
        flagged = connection.execute(f"""
            select count(distinct service_item_id) from read_parquet('{second_dir / "quality_flags.parquet"}')
            where source_id = 'guangan_rsj'""").fetchone()[0]

    manifest.update(version=second, created_at=created.isoformat(), run_id=None)
    manifest["sources"]["guangan_rsj"].update(fetched=143, published=141, quarantined=1, merged=1, flagged=flagged)
    (second_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    publish.switch_current(publish_dir, second)
    return TwoVersions(home, first_dir.name, second, (quarantined, quarantined_record), withdrawn, renamed)


@pytest.fixture(scope="module")
def two_versions(published_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("two-versions")
    for part in ("published", "runs"):
        shutil.copytree(published_home / part, home / part, symlinks=True)
    return _build_second_version(home)


def test_second_version_counts_and_quarantine(two_versions):
    client = make_client(two_versions.home, run_started_at(two_versions.home) + timedelta(minutes=10))
    html = client.get("/").text
    row = next(row for row in table_rows(html, "departments", "department-row") if row.cells[0].text.strip() == "区人社局")
    report = client.get(f"/reports/quality/{department_id('区人社局')}.html").text
    table = list(csv.reader(io.StringIO(
        client.get(f"/reports/quality/{department_id('区人社局')}.csv").content.decode("utf-8-sig"))))

    assert [row.count(key) for key in ("fetched", "published", "quarantined", "merged", "withdrawn")] == [143, 141, 1, 1, 1]
    assert "事项名称为空" in row.cells[11].text
    assert '<span class="card-value" id="quarantined-count">1</span>' in report
    quarantined_rows = table_rows(report, "problem-records", "problem-row")
    assert quarantined_rows[0].attrs["data-record-id"] == two_versions.quarantined[1]
    assert "problem-quarantined" in quarantined_rows[0].attrs["class"]
    assert table[1][:6] == [two_versions.quarantined[1], "guangan_rsj", "missing_name", "隔离", "事项名称 (task_name_raw)",
                            "事项名称为空"]
    assert json.loads(table[1][9]) == {"task_name": None, "dept_name": "区人社局"}


def test_versions_page_shows_changes(two_versions):
    client = make_client(two_versions.home)
    html = client.get("/versions").text

    assert f'data-older="{two_versions.first}" data-newer="{two_versions.second}"' in html
    changes = html.split(f'data-newer="{two_versions.second}"')[1]
    by_department = _change_rows(changes, "changes-department")
    assert by_department == {"区人社局": (0, 2, 0), "区住建局": (0, 0, 1)}
    by_theme = _change_rows(changes, "changes-theme")
    assert sum(removed for _, removed, _ in by_theme.values()) >= 2
    assert all(added == 0 for added, _, _ in by_theme.values())


def _change_rows(html: str, table_class: str) -> dict[str, tuple[int, int, int]]:
    start = html.index(f'class="data {table_class}"')
    table = html[html.rindex("<table", 0, start):html.index("</table>", start) + len("</table>")]
    table = table.replace(f'class="data {table_class}"', f'id="{table_class}" class="data"', 1)
    rows = table_rows(table, table_class)[1:]
    return {
        row.cells[0].text.strip(): tuple(int(row.cells[index].attrs[f"data-{kind}"])
                                         for index, kind in ((1, "added"), (2, "removed"), (3, "changed")))
        for row in rows
    }


def test_rollback_marked_on_versions_page(two_versions):
    publish_dir = two_versions.home / "published"
    client = make_client(two_versions.home, run_started_at(two_versions.home) + timedelta(minutes=10))

    before, after = publish.rollback(publish_dir)
    html = client.get("/versions").text
    english = client.get("/versions", params={"lang": "en"}).text
    overview = client.get("/").text

    assert (before, after) == (two_versions.second, two_versions.first)
    entries = table_rows(html, "publications", "publication-row")
    assert [row.attrs["data-action"] for row in entries] == ["rollback", "publish", "publish"]
    assert entries[0].attrs["data-version"] == two_versions.first
    assert "回滚" in entries[0].cells[1].text
    assert "当前" in entries[0].cells[2].text
    assert two_versions.second in entries[0].cells[3].text
    assert "rollback" in table_rows(english, "publications", "publication-row")[0].cells[1].text
    versions = {row.attrs["data-version"]: row for row in table_rows(html, "versions", "version-row")}
    assert "is-current" in versions[two_versions.first].attrs["class"]
    assert "is-current" not in versions[two_versions.second].attrs["class"]
    row = next(row for row in table_rows(overview, "departments", "department-row") if row.cells[0].text.strip() == "区人社局")
    assert row.count("quarantined") == 0
