"""Read the published service history (``fct_service_item_history``) as of a run or a time.

A history row is valid from ``valid_from`` until ``valid_to`` (null while current), and was opened
and closed by the runs ``opened_run_id`` and ``closed_run_id``. The services as of a run are the
rows that a run at or before it opened and no run at or before it closed. Run ids sort by their
start time (``20261204T201500Z-3f9a1c``), so they are compared as text.

NOTE: two runs started in the same second sort by their random suffix, not by start order.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

HISTORY_MART = "fct_service_item_history"
RUN_ID_PATTERN = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]+$")
COLUMNS = (
    "service_item_id", "task_name", "task_code", "catalog_code", "region_code", "task_type_code",
    "task_type_label", "dept_name", "dept_code", "link_url", "valid_from", "valid_to",
    "opened_run_id", "closed_run_id", "is_current", "close_reason",
)


class HistoryError(ValueError):
    """The history file is missing or an as-of value is invalid."""


def history_path(publish_dir: Path) -> Path:
    """Return the history Parquet of the current published version, or raise ``HistoryError``."""
    path = publish_dir / "current" / "marts" / f"{HISTORY_MART}.parquet"
    if not path.exists():
        raise HistoryError(f"no published service history at {path}; run the pipeline (huiju run) first")
    return path


def parse_as_of(value: str) -> tuple[str, str | datetime]:
    """Classify an as-of value as ``("run", run_id)`` or ``("time", aware datetime in UTC)``.

    A time without a zone is read as UTC.
    """
    text = value.strip()
    if RUN_ID_PATTERN.match(text):
        return "run", text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HistoryError(
            f"invalid --as-of value {value!r}: expected a run id such as 20261204T201500Z-3f9a1c "
            "or an ISO 8601 time such as 2026-12-04T20:15:00+08:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return "time", moment.astimezone(timezone.utc)


def services_as_of(
    path: Path, as_of: str | None = None, service_item_id: str | None = None
) -> list[dict[str, Any]]:
    """Return the history rows valid as of ``as_of`` (a run id or a time), sorted by service id.

    Without ``as_of`` the current rows are returned. With ``service_item_id`` only that service's
    rows are returned, and with both ``as_of`` and a service id at most one row.
    """
    conditions = []
    parameters: list[Any] = []
    if as_of is None:
        conditions.append("valid_to is null")
    else:
        kind, point = parse_as_of(as_of)
        if kind == "run":
            conditions.append("opened_run_id <= ? and (closed_run_id is null or closed_run_id > ?)")
        else:
            conditions.append("valid_from <= ? and (valid_to is null or valid_to > ?)")
        parameters += [point, point]
    if service_item_id is not None:
        conditions.append("service_item_id = ?")
        parameters.append(service_item_id)

    query = (
        f"select {', '.join(COLUMNS)} from read_parquet(?) "
        f"where {' and '.join(conditions)} order by service_item_id, valid_from"
    )
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        cursor = connection.execute(query, [str(path), *parameters])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def service_history(path: Path, service_item_id: str) -> list[dict[str, Any]]:
    """Return every history row of one service, oldest first."""
    query = f"select {', '.join(COLUMNS)} from read_parquet(?) where service_item_id = ? order by valid_from"
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        cursor = connection.execute(query, [str(path), service_item_id])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
