"""Raw layer of the DuckDB warehouse: landed pages parsed in bulk into ``raw.*`` tables.

The raw tables hold each source's whole catalog as of its last good load. A full landing
replaces the source's rows, and an updated-since landing replaces the rows whose record key it
brings and adds the others. Each load is one transaction, so a failed load leaves the previous
rows in place, and landing keeps every run for a rebuild. Only the pipeline process opens this
file; readers use the published versions.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv

from connectors.errors import ConnectorError
from huiju.landing import UPDATED_SINCE, Landing

logger = logging.getLogger(__name__)

_UTF8_NAMES = {"utf-8", "utf8", "ascii", "us-ascii"}

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.sources (
    source_id varchar primary key,
    source_name varchar,
    source_format varchar,
    owner_department varchar,
    base_url varchar,
    schedule varchar,
    contact varchar
);
create table if not exists raw.landing_files (
    run_id varchar,
    source_id varchar,
    source_format varchar,
    landing_file varchar,
    request_url varchar,
    status_code integer,
    fetched_at timestamptz,
    sha256 varchar,
    byte_count bigint,
    encoding varchar,
    page_number integer
);
create table if not exists raw.json_api_records (
    source_id varchar,
    run_id varchar,
    landing_file varchar,
    page_number integer,
    record_position integer,
    record json
);
create table if not exists raw.csv_export_records (
    source_id varchar,
    run_id varchar,
    landing_file varchar,
    record_position integer,
    record json
);
create table if not exists raw.xml_export_records (
    source_id varchar,
    run_id varchar,
    landing_file varchar,
    record_position integer,
    record json
);
create table if not exists raw.feed_entries (
    source_id varchar,
    run_id varchar,
    landing_file varchar,
    content_kind varchar,
    record_position integer,
    record json
);
"""

RECORD_TABLES = {
    "json_api": "raw.json_api_records",
    "csv_export": "raw.csv_export_records",
    "xml_export": "raw.xml_export_records",
    "rss_feed": "raw.feed_entries",
    "atom_feed": "raw.feed_entries",
}


class LoadError(RuntimeError):
    """A landed page could not be parsed into the raw tables."""

    stage = "load"


def connect(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(warehouse_path))
    connection.execute(RAW_DDL)
    return connection


def replace_sources(connection: duckdb.DuckDBPyConnection, sources: Iterable[Any]) -> None:
    """Store a snapshot of the registry's sources for the models (department owners, formats)."""
    rows = [
        {
            "source_id": source.id,
            "source_name": source.name,
            "source_format": source.format,
            "owner_department": source.owner_department,
            "base_url": source.base_url,
            "schedule": source.schedule,
            "contact": source.contact,
        }
        for source in sources
    ]
    table = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [(name, pa.string()) for name in
             ("source_id", "source_name", "source_format", "owner_department", "base_url", "schedule", "contact")]
        ),
    )
    connection.execute("begin transaction")
    connection.execute("delete from raw.sources")
    connection.register("registry_snapshot", table)
    connection.execute("insert into raw.sources select * from registry_snapshot")
    connection.unregister("registry_snapshot")
    connection.execute("commit")


def _utf8_path(page_path: Path, encoding: str, scratch: Path) -> Path:
    """Return a path DuckDB can read as UTF-8: the landed file itself, or a transcoded copy."""
    body = page_path.read_bytes()
    try:
        text = body.decode(encoding)
    except (LookupError, UnicodeDecodeError) as error:
        raise LoadError(f"{page_path}: cannot decode as {encoding}: {error}") from error
    if encoding.lower() in _UTF8_NAMES and not text.startswith("\ufeff"):
        return page_path
    target = scratch / page_path.name
    target.write_text(text.lstrip("\ufeff"), encoding="utf-8")
    return target


def _json_path(records_path: str) -> str:
    """Turn a dotted records path such as ``data.records`` into a DuckDB JSON path."""
    return "$." + records_path + "[*]"


def _load_json_pages(
    connection: duckdb.DuckDBPyConnection, landing: Landing, records_path: str, scratch: Path,
    pages_to_load: list[Any] | None = None, page_offset: int = 0,
) -> int:
    landed = landing.pages if pages_to_load is None else pages_to_load
    if not landed:
        return 0
    readable = [str(_utf8_path(page.body_path, page.encoding, scratch)) for page in landed]
    pages = pa.table(
        {
            "read_path": readable,
            "landing_file": [str(page.body_path) for page in landed],
            "page_number": [page.page_number + page_offset for page in landed],
        }
    )
    connection.register("landed_pages", pages)
    try:
        connection.execute(
            """
            insert into raw.json_api_records
            with documents as (
                select filename, json as document
                from read_json_objects(?, filename = true, format = 'auto')
            ),

            records as (
                select
                    landed_pages.landing_file,
                    landed_pages.page_number,
                    unnest(json_extract(documents.document, ?)) as record,
                    generate_subscripts(json_extract(documents.document, ?), 1) as position_in_page
                from documents
                inner join landed_pages on documents.filename = landed_pages.read_path
            )

            select
                ? as source_id,
                ? as run_id,
                landing_file,
                page_number,
                row_number() over (order by page_number, position_in_page)::integer as record_position,
                record
            from records
            """,
            [readable, _json_path(records_path), _json_path(records_path), landing.source_id, landing.run_id],
        )
    except duckdb.Error as error:
        raise LoadError(f"source {landing.source_id}, run {landing.run_id}: JSON pages failed to parse: {error}") from error
    finally:
        connection.unregister("landed_pages")
    return connection.execute(
        "select count(*) from raw.json_api_records where source_id = ? and run_id = ?",
        [landing.source_id, landing.run_id],
    ).fetchone()[0]


def _read_csv_page(path: Path, source_id: str) -> pa.Table:
    """Parse one UTF-8 CSV export with every column as text, keeping empty cells as ''."""
    with open(path, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(io.StringIO(handle.readline())), None)
    if not header:
        raise LoadError(f"source {source_id}: CSV export {path} has no header row")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise LoadError(f"source {source_id}: CSV export {path} repeats the columns {duplicates}")
    try:
        return pa_csv.read_csv(
            path,
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as error:
        raise LoadError(f"source {source_id}: CSV export {path} failed to parse: {error}") from error


def _load_csv_pages(connection: duckdb.DuckDBPyConnection, landing: Landing, scratch: Path) -> int:
    offset = 0
    for page in landing.pages:
        table = _read_csv_page(_utf8_path(page.body_path, page.encoding, scratch), landing.source_id)
        positions = pa.array(range(offset + 1, offset + table.num_rows + 1), type=pa.int32())
        offset += table.num_rows
        connection.register("csv_page", table.append_column("__record_position", positions))
        try:
            connection.execute(
                """
                insert into raw.csv_export_records
                select
                    ? as source_id,
                    ? as run_id,
                    ? as landing_file,
                    __record_position as record_position,
                    to_json(struct_pack(*columns(* exclude (__record_position)))) as record
                from csv_page
                """,
                [landing.source_id, landing.run_id, str(page.body_path)],
            )
        finally:
            connection.unregister("csv_page")
    return offset


def _load_parsed_pages(
    connection: duckdb.DuckDBPyConnection,
    landing: Landing,
    parse: Callable[[bytes, str], list[dict[str, Any]]],
    table: str,
    extra_columns: str = "",
) -> int:
    """Load pages that Python parses (XML exports and feeds), every value kept as text."""
    offset = 0
    for page in landing.pages:
        try:
            records = parse(page.body_path.read_bytes(), page.request_url)
        except ConnectorError as error:
            raise LoadError(f"source {landing.source_id}: {page.body_path} failed to parse: {error}") from error
        if not records:
            continue
        names = sorted({name for record in records for name in record})
        rows = pa.Table.from_pylist(
            [{name: _text_or_none(record.get(name)) for name in names} for record in records],
            schema=pa.schema([(name, pa.string()) for name in names]),
        )
        positions = pa.array(range(offset + 1, offset + rows.num_rows + 1), type=pa.int32())
        offset += rows.num_rows
        connection.register("parsed_page", rows.append_column("__record_position", positions))
        try:
            connection.execute(
                f"""
                insert into {table}
                select ?, ?, ?{extra_columns}, __record_position,
                       to_json(struct_pack(*columns(* exclude (__record_position))))
                from parsed_page
                """,
                [landing.source_id, landing.run_id, str(page.body_path)],
            )
        finally:
            connection.unregister("parsed_page")
    return offset


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _load_xml_pages(connection: duckdb.DuckDBPyConnection, landing: Landing, source: Any) -> int:
    """Parse XML exports and RSS/Atom feeds with the connectors' safe parsers and load them."""
    from connectors.feeds import parse_feed_entries
    from connectors.xml_export import parse_xml_records

    source_id = landing.source_id
    if landing.source_format == "xml_export":
        element = getattr(source, "record_element", "task")
        return _load_parsed_pages(
            connection, landing,
            lambda body, url: parse_xml_records(body, source_id=source_id, url=url, record_element=element),
            "raw.xml_export_records",
        )
    feed_format = landing.source_format
    content_kind = getattr(source, "content_kind", None)
    return _load_parsed_pages(
        connection, landing,
        lambda body, url: parse_feed_entries(body, source_id=source_id, url=url, feed_format=feed_format),
        "raw.feed_entries",
        extra_columns=", " + ("null" if content_kind is None else "'" + content_kind.replace("'", "''") + "'"),
    )


def load_landing(
    connection: duckdb.DuckDBPyConnection,
    landing: Landing,
    *,
    source: Any = None,
    records_path: str = "data.records",
    check: Callable[[duckdb.DuckDBPyConnection, int], None] | None = None,
    unchanged_pages: Collection[int] = (),
) -> int:
    """Load this landing as the raw rows of ``landing.source_id``; return the source's record count.

    A full landing replaces the source's rows. An updated-since landing is merged: its records
    replace the rows with the same ``updated_since.record_key`` of ``source`` and the others are
    added after the existing pages. ``source`` (the registry entry) also supplies format options
    such as the JSON records path. ``unchanged_pages`` lists JSON page numbers whose rows in the
    raw table already equal this landing's pages. Those rows stay, and only the other pages are
    parsed and loaded. ``check`` runs inside the transaction after the insert; an exception it
    raises rolls the load back, so the source keeps its previous rows.
    """
    if landing.mode == UPDATED_SINCE:
        return _merge_landing(connection, landing, source, check)
    unchanged = set(unchanged_pages) if landing.source_format == "json_api" else set()
    changed = [page for page in landing.pages if page.page_number not in unchanged]
    record_table = RECORD_TABLES[landing.source_format]
    if source is not None:
        records_path = getattr(source, "records_path", records_path)
    landing_rows = _landing_rows(landing, changed)
    unchanged_list = sorted(unchanged) or [-1]
    with _scratch_transaction(connection) as scratch:
        # Rows of unchanged pages stay; rows of changed pages, and of pages the source no longer has, go.
        connection.execute(
            f"delete from {record_table} where source_id = ? and not list_contains(?, page_number)"
            if record_table == "raw.json_api_records"
            else f"delete from {record_table} where source_id = ?",
            [landing.source_id, unchanged_list] if record_table == "raw.json_api_records" else [landing.source_id],
        )
        connection.execute(
            "delete from raw.landing_files where source_id = ? and not list_contains(?, page_number)",
            [landing.source_id, unchanged_list],
        )
        _insert_landing_rows(connection, landing_rows)
        if landing.source_format == "json_api":
            _load_json_pages(connection, landing, records_path, scratch, changed)
            count = _renumber_json_records(connection, landing.source_id)
        elif landing.source_format == "csv_export":
            count = _load_csv_pages(connection, landing, scratch)
        else:
            count = _load_xml_pages(connection, landing, source)
        if check is not None:
            check(connection, count)
    logger.info("Loaded %d records of source %s, run %s (%d of %d pages parsed)",
                count, landing.source_id, landing.run_id, len(changed), len(landing.pages))
    return count


@contextmanager
def _scratch_transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[Path]:
    """Run the block in one transaction, rolled back on any exception, with a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="huiju-load-") as scratch_name:
        connection.execute("begin transaction")
        try:
            yield Path(scratch_name)
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise


def _merge_landing(
    connection: duckdb.DuckDBPyConnection,
    landing: Landing,
    source: Any,
    check: Callable[[duckdb.DuckDBPyConnection, int], None] | None,
) -> int:
    """Merge an updated-since landing of a JSON API into the source's raw rows."""
    options = getattr(source, "updated_since", None)
    if landing.source_format != "json_api" or options is None:
        raise LoadError(
            f"source {landing.source_id}, run {landing.run_id}: an updated-since landing needs a json_api "
            "source with updated_since in the registry"
        )
    key_path = "$." + options.record_key
    with _scratch_transaction(connection) as scratch:
        page_offset = connection.execute(
            "select coalesce(max(page_number), 0) from raw.landing_files where source_id = ?", [landing.source_id]
        ).fetchone()[0]
        _insert_landing_rows(connection, _landing_rows(landing, list(landing.pages), page_offset))
        _load_json_pages(connection, landing, source.records_path, scratch, list(landing.pages), page_offset)
        # A record without the key cannot replace an older row, so it is added. The next full fetch
        # replaces all rows, and until then the models merge any duplicate.
        connection.execute(
            """
            delete from raw.json_api_records
            where source_id = $source_id
                and run_id <> $run_id
                and json_extract_string(record, $key_path) in (
                    select json_extract_string(record, $key_path)
                    from raw.json_api_records
                    where source_id = $source_id and run_id = $run_id
                )
            """,
            {"source_id": landing.source_id, "run_id": landing.run_id, "key_path": key_path},
        )
        count = _renumber_json_records(connection, landing.source_id)
        if check is not None:
            check(connection, count)
    logger.info("Merged %d pages of source %s, run %s (updated since %s): %d records now",
                len(landing.pages), landing.source_id, landing.run_id, landing.updated_since, count)
    return count


def _landing_rows(landing: Landing, pages: list[Any], page_offset: int = 0) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "run_id": landing.run_id,
                "source_id": landing.source_id,
                "source_format": landing.source_format,
                "landing_file": str(page.body_path),
                "request_url": page.request_url,
                "status_code": page.status_code,
                "fetched_at": page.fetched_at,
                "sha256": page.sha256,
                "byte_count": page.byte_count,
                "encoding": page.encoding,
                "page_number": page.page_number + page_offset,
            }
            for page in pages
        ],
        schema=pa.schema([
            ("run_id", pa.string()), ("source_id", pa.string()), ("source_format", pa.string()),
            ("landing_file", pa.string()), ("request_url", pa.string()), ("status_code", pa.int64()),
            ("fetched_at", pa.string()), ("sha256", pa.string()), ("byte_count", pa.int64()),
            ("encoding", pa.string()), ("page_number", pa.int64()),
        ]),
    )


def _insert_landing_rows(connection: duckdb.DuckDBPyConnection, landing_rows: pa.Table) -> None:
    connection.register("landing_rows", landing_rows)
    try:
        connection.execute(
            """
            insert into raw.landing_files
            select run_id, source_id, source_format, landing_file, request_url, status_code,
                   fetched_at::timestamptz, sha256, byte_count, encoding, page_number
            from landing_rows
            """
        )
    finally:
        connection.unregister("landing_rows")


def _renumber_json_records(connection: duckdb.DuckDBPyConnection, source_id: str) -> int:
    """Number a source's JSON records 1..n in page order again after some pages were replaced."""
    connection.execute(
        """
        update raw.json_api_records
        set record_position = numbered.new_position
        from (
            select rowid as row_key, row_number() over (order by page_number, record_position) as new_position
            from raw.json_api_records
            where source_id = ?
        ) as numbered
        where raw.json_api_records.rowid = numbered.row_key
        """,
        [source_id],
    )
    return connection.execute("select count(*) from raw.json_api_records where source_id = ?", [source_id]).fetchone()[0]
