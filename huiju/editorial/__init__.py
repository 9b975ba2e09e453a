"""Editorial configuration: the YAML files under ``editorial/`` that editors maintain and review.

Each module of this package reads one concern (themes, dimension rules, the site registry, …)
and exposes ``tables(directory) -> dict[str, pyarrow.Table]``. :func:`write_editorial_tables`
validates every file and replaces the tables in the warehouse schema ``editorial`` before dbt
runs, so the models read editors' configuration as ordinary sources. A file that is invalid
fails the transform with an :class:`EditorialError` naming the file, the entry and the field.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml
from pydantic import BaseModel, ValidationError

logger = logging.getLogger(__name__)

SCHEMA = "editorial"
TABLE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class EditorialError(ValueError):
    """An editorial file is unreadable or invalid; the message names the file, the entry and the field."""


def read_yaml(path: Path) -> Any:
    """Read one YAML file, raising :class:`EditorialError` if it is missing or not valid YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise EditorialError(f"{path}: cannot read the file ({error})") from error
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise EditorialError(f"{path}: invalid YAML ({error})") from error


def read_versioned_document(path: Path, key: str) -> dict[str, Any]:
    """Read a YAML file of the form ``{version: 1, <key>: [...]}``, raising on any other shape."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise EditorialError(f"{path}: expected a mapping with the key {key!r}")
    unknown = sorted(set(data) - {"version", key})
    if unknown:
        raise EditorialError(f"{path}: unknown top-level keys {unknown}; expected 'version' and {key!r}")
    if data.get("version") != 1:
        raise EditorialError(f"{path}: field 'version' must be 1, got {data.get('version')!r}")
    return data


def validate_entries(path: Path, entries: Any, model: type[BaseModel], *, key: str, label: str = "id") -> list[Any]:
    """Validate the list ``entries`` found under ``key`` of ``path`` as instances of ``model``.

    Every problem of every entry is collected, and one :class:`EditorialError` lists them all,
    each as ``file: <key>[index] (<label> value): field: message``.
    """
    if not isinstance(entries, list):
        raise EditorialError(f"{path}: '{key}' must be a list")
    problems: list[str] = []
    validated: list[Any] = []
    for index, entry in enumerate(entries):
        name = entry.get(label) if isinstance(entry, Mapping) else None
        where = f"{path}: {key}[{index}]" + (f" ({label} {name!r})" if name is not None else "")
        try:
            validated.append(model.model_validate(entry))
        except ValidationError as error:
            for detail in error.errors():
                field = ".".join(str(part) for part in detail["loc"]) or "entry"
                message = str(detail["msg"]).removeprefix("Value error, ")
                problems.append(f"{where}: field {field!r}: {message}")
    if problems:
        raise EditorialError("\n".join(problems))
    return validated


def unique_non_blank(values: list[str]) -> list[str]:
    """Strip each value; raise ValueError (for a pydantic validator) on a blank or repeated one."""
    stripped = [value.strip() for value in values]
    if any(not value for value in stripped):
        raise ValueError("must not contain blank values")
    if len(set(stripped)) != len(stripped):
        raise ValueError("must not repeat a value")
    return stripped


def string_table(rows: list[Mapping[str, Any]], columns: Mapping[str, pa.DataType]) -> pa.Table:
    """Build a table with exactly ``columns``, in order, from ``rows``; missing values are null."""
    schema = pa.schema(list(columns.items()))
    return pa.Table.from_pylist([{name: row.get(name) for name in columns} for row in rows], schema=schema)


def table_builders() -> list[Callable[[Path], dict[str, pa.Table]]]:
    """Return the ``tables`` function of every module of this package, in module-name order."""
    builders = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        builder = getattr(module, "tables", None)
        if callable(builder):
            builders.append(builder)
    return builders


def load_editorial_tables(directory: Path) -> dict[str, pa.Table]:
    """Read and validate every editorial file under ``directory`` and return its tables by name."""
    tables: dict[str, pa.Table] = {}
    for builder in table_builders():
        for name, table in builder(directory).items():
            if not TABLE_NAME_PATTERN.match(name):
                raise EditorialError(f"editorial table name {name!r} must be lower-case letters, digits and '_'")
            if name in tables:
                raise EditorialError(f"two editorial modules build the table {name!r}")
            tables[name] = table
    return tables


def write_editorial_tables(connection: duckdb.DuckDBPyConnection, directory: Path) -> dict[str, int]:
    """Replace the ``editorial`` schema's tables with the files under ``directory``; return row counts.

    Every file is validated before the first table is written, and the tables are replaced in
    one transaction.
    """
    tables = load_editorial_tables(directory)
    connection.execute(f"create schema if not exists {SCHEMA}")
    connection.execute("begin transaction")
    try:
        for name, table in tables.items():
            connection.register("editorial_rows", table)
            connection.execute(f"create or replace table {SCHEMA}.{name} as select * from editorial_rows")
            connection.unregister("editorial_rows")
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise
    counts = {name: table.num_rows for name, table in tables.items()}
    logger.info("Loaded editorial configuration from %s: %s", directory, counts)
    return counts
