"""Landing store and the bulk loader of raw tables, on records taken from the real catalog."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from huiju import warehouse
from huiju.landing import LandingError, LandingWriter, read_landing

CSV_HEADER = "序号,事项名称,实施编码,基本编码,事项类型,实施主体,实施主体编码,服务对象,行使层级,在线办理地址,所属主项"
REAL_LINK = (
    "http://www.sczwfw.gov.cn/jiq/front/transition/ywTransToDetail?areaCode=511602000000"
    "&itemCode=511A0138000000-511602000000-000-115113010833722043-1-00&taskType=1&deptCode=083372204"
)


def _land(tmp_path: Path, source_id: str, source_format: str, run_id: str, bodies: list[bytes], encoding: str):
    writer = LandingWriter(tmp_path / "landing", source_id, source_format, run_id)
    for number, body in enumerate(bodies, start=1):
        writer.add_page(
            page_number=number,
            request_url=f"http://127.0.0.1:9/{source_id}?pageNo={number}",
            status_code=200,
            headers={"Content-Type": "text/csv"},
            body=body,
            fetched_at=datetime(2026, 12, 4, tzinfo=timezone.utc),
            sha256=hashlib.sha256(body).hexdigest(),
            encoding=encoding,
            record_count=None,
        )
    return writer.commit()


def _json_page(records: list[dict], total: int) -> bytes:
    envelope = {"code": "200", "message": "success", "data": {"total": total, "records": records}}
    return json.dumps(envelope, ensure_ascii=False, indent=1).encode("utf-8")


def _csv_body(rows: list[str], encoding: str) -> bytes:
    return ("\r\n".join([CSV_HEADER, *rows]) + "\r\n").encode(encoding)


def test_landing_round_trip_checks_hashes(tmp_path):
    landing = _land(tmp_path, "demo", "json_api", "r1", [_json_page([], 0)], "utf-8")
    again = read_landing(landing.directory)

    assert again.pages[0].sha256 == landing.pages[0].sha256
    assert again.snapshot_id == landing.snapshot_id

    landing.pages[0].body_path.write_bytes(b"tampered")
    with pytest.raises(LandingError, match="SHA-256"):
        read_landing(landing.directory)


def test_uncommitted_landing_is_rejected(tmp_path):
    writer = LandingWriter(tmp_path / "landing", "demo", "csv_export", "r1")
    with pytest.raises(LandingError, match="incomplete"):
        read_landing(writer.directory)


def test_landing_rejects_wrong_hash(tmp_path):
    writer = LandingWriter(tmp_path / "landing", "demo", "csv_export", "r1")
    with pytest.raises(LandingError, match="SHA-256"):
        writer.add_page(page_number=1, request_url="http://127.0.0.1/x", status_code=200, headers={},
                        body=b"a", fetched_at=datetime.now(timezone.utc), sha256="0" * 64,
                        encoding="utf-8", record_count=None)


def test_json_pages_load_with_positions(tmp_path):
    records = [
        {"task_name": "适龄儿童、少年因身体状况需要延缓入学或者休学审批", "task_code": "511A0138000000-511602000000-000-115113010833722043-1-00",
         "task_type": "1", "dept_code": "083372204", "link_addr": REAL_LINK, "catalog_code": None},
        {"task_name": "学生资助政策咨询", "task_code": "512C0053300008-511602000000-000-115113010833722043-1-00",
         "task_type": "20", "dept_code": "083372204", "link_addr": REAL_LINK, "catalog_code": None},
        {"task_name": "文物定级", "task_code": "511F0118100001-511602000000-000-0087790701-1-00",
         "task_type": "7", "dept_code": "0087790701", "link_addr": REAL_LINK, "catalog_code": None},
    ]
    landing = _land(tmp_path, "jky", "json_api", "r1", [_json_page(records[:2], 3), _json_page(records[2:], 3)], "utf-8")
    connection = warehouse.connect(tmp_path / "w.duckdb")

    assert warehouse.load_landing(connection, landing) == 3
    rows = connection.execute(
        "select page_number, record_position, record->>'task_code', record->>'dept_code', record->>'catalog_code' "
        "from raw.json_api_records order by record_position"
    ).fetchall()
    assert [row[:2] for row in rows] == [(1, 1), (1, 2), (2, 3)]
    assert rows[2][3] == "0087790701"
    assert rows[0][4] is None
    files = connection.execute("select count(*), sum(byte_count) from raw.landing_files where source_id = 'jky'").fetchone()
    assert files == (2, sum(page.byte_count for page in landing.pages))


def test_gb18030_csv_loads_keeping_zeros(tmp_path):
    rows = [
        f"1,律师及律所信息查询,512C0107400001-511602000000-000-00877868-5-1-00,,公共服务,区司法局,00877868-5,,,{REAL_LINK},未分类",
        f"2,文物定级,511F0118100001-511602000000-000-0087790701-1-00,,行政确认,区文广旅局,0087790701,,,{REAL_LINK},未分类",
    ]
    landing = _land(tmp_path, "sfj", "csv_export", "r1", [_csv_body(rows, "gb18030")], "gb18030")
    connection = warehouse.connect(tmp_path / "w.duckdb")

    assert warehouse.load_landing(connection, landing) == 2
    loaded = connection.execute(
        "select record_position, record->>'事项名称', record->>'实施主体编码', record->>'基本编码' "
        "from raw.csv_export_records order by record_position"
    ).fetchall()
    assert loaded[0] == (1, "律师及律所信息查询", "00877868-5", "")
    assert loaded[1][2] == "0087790701"


def test_utf8_bom_csv_loads(tmp_path):
    body = b"\xef\xbb\xbf" + _csv_body([f"1,残疾人证新办,511F82001002-511602000000-000-11511301452259996U-1-00,,行政确认,区残联,11511301452259996u,,,{REAL_LINK},未分类"], "utf-8")
    landing = _land(tmp_path, "cl", "csv_export", "r1", [body], "utf-8")
    connection = warehouse.connect(tmp_path / "w.duckdb")

    warehouse.load_landing(connection, landing)
    keys = connection.execute("select json_keys(record) from raw.csv_export_records").fetchone()[0]
    assert keys[0] == "序号"


def test_reload_replaces_previous_run(tmp_path):
    connection = warehouse.connect(tmp_path / "w.duckdb")
    first = _land(tmp_path, "jky", "json_api", "r1", [_json_page([{"task_name": "a"}, {"task_name": "b"}], 2)], "utf-8")
    second = _land(tmp_path, "jky", "json_api", "r2", [_json_page([{"task_name": "c"}], 1)], "utf-8")

    warehouse.load_landing(connection, first)
    warehouse.load_landing(connection, second)
    assert connection.execute("select run_id, count(*) from raw.json_api_records group by run_id").fetchall() == [("r2", 1)]
    assert connection.execute("select distinct run_id from raw.landing_files").fetchall() == [("r2",)]


def test_failed_load_keeps_last_good_rows(tmp_path):
    connection = warehouse.connect(tmp_path / "w.duckdb")
    good = _land(tmp_path, "sfj", "csv_export", "r1", [_csv_body([f"1,文物定级,x,,行政确认,区文广旅局,1,,,{REAL_LINK},未分类"], "utf-8")], "utf-8")
    broken = _land(tmp_path, "sfj", "csv_export", "r2", [b"\xff\xfe\x00broken"], "utf-8")

    warehouse.load_landing(connection, good)
    with pytest.raises(warehouse.LoadError, match="sfj"):
        warehouse.load_landing(connection, broken)
    assert connection.execute("select run_id, count(*) from raw.csv_export_records group by run_id").fetchall() == [("r1", 1)]


def test_csv_with_repeated_column_is_rejected(tmp_path):
    connection = warehouse.connect(tmp_path / "w.duckdb")
    landing = _land(tmp_path, "dup", "csv_export", "r1", ["事项名称,事项名称\r\na,b\r\n".encode("utf-8")], "utf-8")
    with pytest.raises(warehouse.LoadError, match="repeats the columns"):
        warehouse.load_landing(connection, landing)
