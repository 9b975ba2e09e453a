"""Reading the published service history as of a run or a time, and the ``huiju history`` command."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from huiju.cli import main as cli_main
from huiju.history import HistoryError, parse_as_of, service_history, services_as_of

RUN_1 = "20261201T020000Z-aaaaaa"
RUN_2 = "20261202T020000Z-bbbbbb"
RUN_3 = "20261203T020000Z-cccccc"


def _history_rows() -> list[tuple]:
    """A renamed service (two rows), a withdrawn one and one added in run 2."""
    return [
        ("renamed", "旧名称", RUN_1, "2026-12-01 02:05:00+00", RUN_2, "2026-12-02 02:05:00+00", False, "changed"),
        ("renamed", "新名称", RUN_2, "2026-12-02 02:05:00+00", None, None, True, None),
        ("withdrawn", "已撤销事项", RUN_1, "2026-12-01 02:05:00+00", RUN_3, "2026-12-03 02:05:00+00", False, "withdrawn"),
        ("added", "新增事项", RUN_2, "2026-12-02 02:05:00+00", None, None, True, None),
    ]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A Huiju home with a published history Parquet and run records of the three runs."""
    marts = tmp_path / "published" / "versions" / "v1" / "marts"
    marts.mkdir(parents=True)
    (tmp_path / "published" / "current").symlink_to(Path("versions") / "v1")
    runs = tmp_path / "runs"
    runs.mkdir()
    for run_id in (RUN_1, RUN_2, RUN_3):
        (runs / f"{run_id}.json").write_text(json.dumps({"run_id": run_id}), encoding="utf-8")
    with duckdb.connect() as connection:
        connection.execute(
            """
            create table history (
                service_item_id varchar, task_name varchar, opened_run_id varchar, valid_from timestamptz,
                closed_run_id varchar, valid_to timestamptz, is_current boolean, close_reason varchar
            )
            """
        )
        connection.executemany("insert into history values (?, ?, ?, ?, ?, ?, ?, ?)", _history_rows())
        connection.execute(
            f"""
            copy (
                select *, null::varchar as task_code, null::varchar as catalog_code, null::varchar as region_code,
                    null::varchar as task_type_code, null::varchar as task_type_label, '区测试局' as dept_name,
                    null::varchar as dept_code, null::varchar as link_url
                from history
            ) to '{marts / "fct_service_item_history.parquet"}' (format parquet)
            """
        )
    return tmp_path


def _path(home: Path) -> Path:
    return home / "published" / "current" / "marts" / "fct_service_item_history.parquet"


def _names(rows: list[dict]) -> dict[str, str]:
    return {row["service_item_id"]: row["task_name"] for row in rows}


def test_as_of_run_1_old_name(home):
    assert _names(services_as_of(_path(home), RUN_1)) == {"renamed": "旧名称", "withdrawn": "已撤销事项"}


def test_as_of_run_2_new_name(home):
    assert _names(services_as_of(_path(home), RUN_2)) == {"renamed": "新名称", "withdrawn": "已撤销事项", "added": "新增事项"}


def test_as_of_run_3_drops_withdrawn(home):
    assert _names(services_as_of(_path(home), RUN_3)) == {"renamed": "新名称", "added": "新增事项"}


def test_as_of_time_between_runs(home):
    assert _names(services_as_of(_path(home), "2026-12-01T12:00:00+08:00")) == {"renamed": "旧名称", "withdrawn": "已撤销事项"}


def test_as_of_time_before_first_run(home):
    assert services_as_of(_path(home), "2026-11-30T00:00:00Z") == []


def test_current_rows_without_as_of(home):
    assert _names(services_as_of(_path(home))) == {"renamed": "新名称", "added": "新增事项"}


def test_service_history_oldest_first(home):
    assert [row["task_name"] for row in service_history(_path(home), "renamed")] == ["旧名称", "新名称"]


def test_parse_as_of_run_id():
    assert parse_as_of(RUN_1) == ("run", RUN_1)


def test_parse_as_of_naive_time_is_utc():
    assert parse_as_of("2026-12-01T02:00:00") == ("time", datetime(2026, 12, 1, 2, tzinfo=timezone.utc))


def test_parse_as_of_invalid_value():
    with pytest.raises(HistoryError, match="invalid --as-of value 'yesterday'"):
        parse_as_of("yesterday")


def test_cli_history_table(home, capsys):
    assert cli_main(["--home", str(home), "history", "--as-of", RUN_1]) == 0
    output = capsys.readouterr().out

    assert "事项名称" in output
    assert "旧名称" in output
    assert "新名称" not in output


def test_cli_history_json_service(home, capsys):
    assert cli_main(["--home", str(home), "history", "--service", "renamed", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)

    assert [row["task_name"] for row in rows] == ["旧名称", "新名称"]
    assert rows[0]["close_reason"] == "changed"


def test_cli_history_unknown_run(home, capsys):
    assert cli_main(["--home", str(home), "history", "--as-of", "20261231T000000Z-dddddd"]) == 2
    assert "run 20261231T000000Z-dddddd not found" in capsys.readouterr().err


def test_cli_history_invalid_as_of(home, capsys):
    assert cli_main(["--home", str(home), "history", "--as-of", "yesterday"]) == 2
    assert "invalid --as-of value" in capsys.readouterr().err


def test_cli_history_without_publication(tmp_path, capsys):
    assert cli_main(["--home", str(tmp_path), "history"]) == 2
    assert "no published service history" in capsys.readouterr().err
