"""Editorial configuration framework: validation messages and loading into the warehouse."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from pydantic import BaseModel, ConfigDict, Field

from huiju.editorial import EditorialError, read_yaml, string_table, validate_entries, write_editorial_tables


class _Theme(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str = Field(min_length=1)


def test_validate_entries_names_file_entry_field(tmp_path):
    path = tmp_path / "themes.yaml"

    with pytest.raises(EditorialError) as raised:
        validate_entries(path, [{"id": "startup", "name": ""}, {"id": "birth", "nmae": "新生儿出生"}], _Theme,
                         key="themes")

    lines = str(raised.value).splitlines()
    assert lines[0].startswith(f"{path}: themes[0] (id 'startup'): field 'name'")
    assert any(line.startswith(f"{path}: themes[1] (id 'birth'): field 'nmae'") for line in lines)
    assert any("field 'name'" in line and "themes[1]" in line for line in lines)


def test_validate_entries_requires_list(tmp_path):
    with pytest.raises(EditorialError, match="'themes' must be a list"):
        validate_entries(tmp_path / "themes.yaml", {"id": "startup"}, _Theme, key="themes")


def test_read_yaml_reports_invalid_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("themes: [unclosed", encoding="utf-8")

    with pytest.raises(EditorialError, match="invalid YAML"):
        read_yaml(path)
    with pytest.raises(EditorialError, match="cannot read"):
        read_yaml(tmp_path / "missing.yaml")


def test_string_table_keeps_column_order():
    table = string_table([{"b": "2", "a": "1"}, {"a": "3"}], {"a": pa.string(), "b": pa.string()})

    assert table.column_names == ["a", "b"]
    assert table.to_pylist() == [{"a": "1", "b": "2"}, {"a": "3", "b": None}]


def test_repository_files_load_into_warehouse():
    from huiju.settings import Settings

    connection = duckdb.connect()
    counts = write_editorial_tables(connection, Settings().editorial_dir)
    tables = {row[0] for row in connection.execute(
        "select table_name from information_schema.tables where table_schema = 'editorial'"
    ).fetchall()}

    assert set(counts) == tables
    for name, count in counts.items():
        assert connection.execute(f"select count(*) from editorial.{name}").fetchone()[0] == count
