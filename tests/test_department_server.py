"""Tests of the local department system server, through real HTTP on 127.0.0.1."""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections import Counter

import pytest
import requests

from department_systems.catalog import (
    CATALOG_PATH,
    EXPORT_HEADER,
    RECORD_FIELDS,
    load_departments,
    task_type_label,
)
from department_systems.server import DepartmentSystemServer, Fault

pytestmark = pytest.mark.usefixtures("clean_server")

CATALOG_ITEM_COUNT = 1135
JSON_CONTENT_TYPE = "application/json;charset=UTF-8"


@pytest.fixture(scope="module")
def http():
    with requests.Session() as session:
        session.trust_env = False
        yield session


def fetch_all_json_records(http, server, slug, page_size=100):
    records = []
    page_number = 1
    while True:
        response = http.get(
            server.base_url + server.json_api_path(slug), params={"pageNo": page_number, "pageSize": page_size}
        )
        response.raise_for_status()
        data = json.loads(response.content)["data"]
        records.extend(data["records"])
        if page_number >= data["totalPages"]:
            return records
        page_number += 1


def read_export_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("gb18030"), newline="")))


def test_departments_csv_matches_catalog():
    departments = load_departments()
    catalog_names = [entry["department"] for entry in json.loads(CATALOG_PATH.read_text(encoding="utf-8"))]
    slugs = [department.slug for department in departments]

    assert len(departments) == 34
    assert [department.name for department in departments] == catalog_names
    assert len(set(slugs)) == len(slugs)
    for slug in slugs:
        assert slug.isascii(), slug
        assert slug.isalpha(), slug
        assert slug.islower(), slug


def test_every_department_in_both_formats(server, http):
    json_total = 0
    export_total = 0
    for department in server.departments:
        records = fetch_all_json_records(http, server, department.slug)
        export = http.get(server.base_url + server.export_path(department.slug))
        rows = read_export_rows(export.content)

        assert records, department.slug
        assert {record["dept_name"] for record in records} == {department.name}
        assert rows[0] == list(EXPORT_HEADER)
        assert len(rows) - 1 == len(records), department.slug
        json_total += len(records)
        export_total += len(rows) - 1

    assert json_total == CATALOG_ITEM_COUNT
    assert export_total == CATALOG_ITEM_COUNT


def test_json_page_envelope_and_fields(server, http):
    response = http.get(server.base_url + "/xzspj/api/tasks", params={"pageNo": 2, "pageSize": 100})
    payload = json.loads(response.content)
    data = payload["data"]

    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON_CONTENT_TYPE
    assert payload["code"] == "200"
    assert payload["message"] == "success"
    assert data["pageNo"] == 2
    assert data["pageSize"] == 100
    assert data["total"] == 344
    assert data["totalPages"] == math.ceil(344 / 100)
    assert len(data["records"]) == 100
    assert data["records"] == server.records("xzspj")[100:200]
    for record in data["records"]:
        assert tuple(record) == RECORD_FIELDS


def test_json_record_values_from_catalog(server, http):
    response = http.get(server.base_url + "/jxj/api/tasks", params={"pageNo": 1, "pageSize": 10})
    (record,) = json.loads(response.content)["data"]["records"]

    assert record["task_name"] == "企业投资项目备案（技术改造）（市级/县级）"
    assert record["task_code"] == "511Z07001006-511602000000-000-11511301008778183N-1-00"
    assert record["task_type"] == "10"
    assert record["dept_name"] == "区经信局"
    assert record["dept_code"] == "11511301008778183N"
    assert record["main_task_name"] == "未分类"
    assert record["link_addr"].startswith("http://www.sczwfw.gov.cn/jiq/front/transition/ywTransToDetail?")
    assert record["catalog_code"] is None
    assert record["server_type"] is None
    assert record["use_level"] is None
    assert record["task_state"] is None


def test_json_page_past_last_is_empty(server, http):
    response = http.get(server.base_url + "/xzspj/api/tasks", params={"pageNo": 9, "pageSize": 100})
    data = json.loads(response.content)["data"]

    assert response.status_code == 200
    assert data["records"] == []
    assert data["total"] == 344


def test_json_invalid_page_params_rejected(server, http):
    for params in ({"pageNo": 0}, {"pageNo": "x"}, {"pageSize": 0}, {"pageSize": 100000}):
        response = http.get(server.base_url + "/xzspj/api/tasks", params=params)
        assert response.status_code == 400, params
        assert json.loads(response.content)["code"] == "400"


def test_export_is_gb18030_without_charset(server, http):
    response = http.get(server.base_url + "/xzspj/export/tasks.csv")
    body = response.content

    assert response.headers["Content-Type"] == "text/csv"
    assert "charset" not in response.headers["Content-Type"]
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert body.decode("gb18030").startswith(",".join(EXPORT_HEADER) + "\r\n")
    assert body.count(b"\r\n") == 344 + 1
    assert body.count(b"\n") == body.count(b"\r\n")


def test_export_rows_and_task_type_labels(server, http):
    rows = read_export_rows(http.get(server.base_url + "/xzspj/export/tasks.csv").content)
    header, data_rows = rows[0], rows[1:]
    records = server.records("xzspj")
    column = {name: index for index, name in enumerate(header)}

    assert [row[column["序号"]] for row in data_rows] == [str(number) for number in range(1, len(records) + 1)]
    for row, record in zip(data_rows, records):
        assert row[column["事项名称"]] == record["task_name"]
        assert row[column["实施编码"]] == record["task_code"]
        assert row[column["实施主体编码"]] == record["dept_code"]
        assert row[column["在线办理地址"]] == record["link_addr"]
        assert row[column["所属主项"]] == record["main_task_name"]
        assert row[column["基本编码"]] == ""
        assert row[column["服务对象"]] == ""
        assert row[column["行使层级"]] == ""

    labels = Counter(row[column["事项类型"]] for row in data_rows)
    assert set(labels) <= {"行政许可", "行政给付", "行政确认", "行政奖励", "行政裁决", "其他行政权力", "公共服务"}
    assert labels["行政许可"] == sum(1 for record in records if record["task_type"] == "1")
    assert labels["公共服务"] == sum(1 for record in records if record["task_type"] == "20")


def test_task_type_label_padding(server):
    labels = server.task_type_labels

    assert task_type_label("1", labels) == "行政许可"
    assert task_type_label("01", labels) == "行政许可"
    assert task_type_label("7", labels) == "行政确认"
    assert task_type_label("20", labels) == "公共服务"
    assert task_type_label("42", labels) == "42"
    assert task_type_label(None, labels) == ""


def test_unknown_paths_return_json_404(server, http):
    for path in ("/nosuch/api/tasks", "/xzspj/api/other", "/xzspj", "/xzspj/export/tasks.json"):
        response = http.get(server.base_url + path)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"] == JSON_CONTENT_TYPE
        assert json.loads(response.content)["code"] == "404"


def test_index_lists_departments(server, http):
    data = json.loads(http.get(server.base_url + "/").content)["data"]

    assert len(data) == 34
    assert {"slug": "xzspj", "department": "区行政审批局", "json_api": "/xzspj/api/tasks",
            "csv_export": "/xzspj/export/tasks.csv"} in data


def test_status_sequence_then_normal(server, http):
    path = server.json_api_path("fgj")
    server.queue_statuses(path, 503, 500, 200)

    statuses = [http.get(server.base_url + path).status_code for _ in range(4)]

    assert statuses == [503, 500, 200, 200]
    assert server.pending_faults(path) == 0


def test_retry_after_header_sent(server, http):
    path = server.export_path("fgj")
    server.queue_retry_after(path, 7)

    response = http.get(server.base_url + path)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


def test_delay_fault_delays_response(server, http):
    path = server.export_path("fgj")
    server.queue_delay(path, 0.3)

    started = time.monotonic()
    response = http.get(server.base_url + path)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.25


def test_repeated_page_fault(server, http):
    path = server.json_api_path("xzspj")
    server.queue_repeated_page(path, page=2)

    first = http.get(server.base_url + path, params={"pageNo": 1, "pageSize": 100})
    second = http.get(server.base_url + path, params={"pageNo": 2, "pageSize": 100})
    third = http.get(server.base_url + path, params={"pageNo": 2, "pageSize": 100})

    assert second.content == first.content
    assert third.content != first.content


def test_oversized_body_fault(server, http):
    path = server.export_path("fgj")
    server.queue_oversized_body(path, 300_000)
    server.queue_oversized_body(path, 200_000, send_content_length=False)

    with_length = http.get(server.base_url + path)
    without_length = http.get(server.base_url + path)

    assert with_length.headers["Content-Length"] == "300000"
    assert len(with_length.content) == 300_000
    assert "Content-Length" not in without_length.headers
    assert len(without_length.content) == 200_000


def test_body_fault_replaces_response(server, http):
    path = server.json_api_path("fgj")
    server.queue_fault(path, Fault(body=b'{"code": "500", "message": "busy"}'))

    response = http.get(server.base_url + path)

    assert response.status_code == 200
    assert response.content == b'{"code": "500", "message": "busy"}'


def test_redirect_fault(server, http):
    path = server.export_path("fgj")
    server.queue_redirect(path, "/tjj/export/tasks.csv")

    response = http.get(server.base_url + path, allow_redirects=False)

    assert response.status_code == 302
    assert response.headers["Location"] == "/tjj/export/tasks.csv"


def test_replace_records_serves_both_formats(server, http):
    bad_records = [
        {"task_name": "  测试事项\u200b", "task_code": "", "task_type": "3x", "dept_name": "区发改局"},
        {"task_name": None, "unexpected": 1},
    ]
    server.replace_records("fgj", bad_records)

    page = json.loads(http.get(server.base_url + "/fgj/api/tasks", params={"pageSize": 10}).content)["data"]
    rows = read_export_rows(http.get(server.base_url + "/fgj/export/tasks.csv").content)

    assert page["total"] == 2
    assert page["records"] == bad_records
    assert len(rows) == 3
    assert rows[1][1] == "  测试事项\u200b"
    assert rows[1][4] == "3x"
    assert rows[2][1] == ""


def test_replace_export_body(server, http):
    server.replace_export_body("fgj", "序号,事项名称\n1,事项\n".encode("utf-8"))

    response = http.get(server.base_url + "/fgj/export/tasks.csv")

    assert response.content == "序号,事项名称\n1,事项\n".encode("utf-8")


def test_reset_restores_catalog(server, http):
    server.replace_records("fgj", [])
    server.queue_statuses(server.export_path("fgj"), 503)

    server.reset()
    response = http.get(server.base_url + "/fgj/export/tasks.csv")

    assert response.status_code == 200
    assert len(read_export_rows(response.content)) == 3 + 1


def test_received_requests_recorded(server, http):
    http.get(server.base_url + "/fgj/api/tasks?pageNo=1&pageSize=5")

    (received,) = server.received_requests

    assert received.method == "GET"
    assert received.path == "/fgj/api/tasks"
    assert received.query == "pageNo=1&pageSize=5"


def test_stop_wakes_delayed_handler():
    with DepartmentSystemServer() as running:
        running.queue_delay(running.export_path("fgj"), 30)
        with requests.Session() as session, pytest.raises(requests.exceptions.ReadTimeout):
            session.trust_env = False
            session.get(running.base_url + running.export_path("fgj"), timeout=(1, 0.2))
        started = time.monotonic()
    assert time.monotonic() - started < 5
