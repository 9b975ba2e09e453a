"""Tests of the source registry: the real sources.yaml and the kinds of invalid file it rejects."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from connectors.cron import validate_cron
from connectors.registry import (
    CsvExportSource,
    JsonApiSource,
    RegistryError,
    UnknownSourceError,
    load_registry,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCES_FILE = REPO_ROOT / "sources.yaml"
DEPARTMENTS_FILE = REPO_ROOT / "department_systems" / "departments.csv"
CATALOG_FILE = REPO_ROOT / "department_systems" / "data" / "guangan_service_guides.json"
BASE_URL = "http://127.0.0.1:8765"
ENVIRON = {"HUIJU_DEPT_BASE_URL": BASE_URL}

VALID_SOURCE = {
    "id": "guangan_xzspj",
    "name": "广安区行政审批局政务服务事项接口",
    "format": "json_api",
    "base_url": "${HUIJU_DEPT_BASE_URL}/xzspj",
    "owner_department": "区行政审批局",
    "contact": "区行政审批局信息化股",
}


def write_registry(tmp_path: Path, sources: list, **top_level) -> Path:
    document = {"version": 1, **top_level, "sources": sources}
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def load_error(path: Path, environ=ENVIRON) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        load_registry(path, environ)
    return caught.value


def catalog_item_counts() -> dict[str, int]:
    catalog = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    return {
        entry["department"]: sum(len(main_item["sub_items"]) for main_item in entry["items"]) for entry in catalog
    }


# The real registry


def test_real_registry_loads():
    registry = load_registry(SOURCES_FILE, ENVIRON)

    assert len(registry.sources) == 38
    assert registry.allowed_hosts == frozenset({"127.0.0.1"})
    assert registry.get("guangan_xzspj").base_url == BASE_URL + "/xzspj"
    assert registry.get("guangan_xzspj").url == BASE_URL + "/xzspj/api/tasks"


# The provincial portal's republication of three departments; every other source is a department.
PORTAL_SOURCE_ID = "sczwfw_portal_republished"


def _department_sources(registry):
    """Return the department systems: every source but the portal's republication and feeds."""
    return [
        source for source in registry.sources
        if source.id != PORTAL_SOURCE_ID and source.format not in ("rss_feed", "atom_feed")
    ]


def test_real_registry_covers_every_department():
    registry = load_registry(SOURCES_FILE, ENVIRON)
    with DEPARTMENTS_FILE.open(encoding="utf-8", newline="") as handle:
        slug_of = {row["department"]: row["slug"] for row in csv.DictReader(handle)}

    owners = [source.owner_department for source in _department_sources(registry)]
    assert sorted(owners) == sorted(slug_of)
    assert registry.get(PORTAL_SOURCE_ID).base_url == f"{BASE_URL}/portal"
    for source in _department_sources(registry):
        assert source.base_url == f"{BASE_URL}/{slug_of[source.owner_department]}", source.id
        assert source.contact.startswith(source.owner_department), source.id


def test_real_registry_format_split():
    registry = load_registry(SOURCES_FILE, ENVIRON)
    counts = catalog_item_counts()
    department_sources = _department_sources(registry)
    json_sources = [source for source in department_sources if isinstance(source, JsonApiSource)]
    csv_sources = [source for source in department_sources if isinstance(source, CsvExportSource)]
    multi_page = [source.id for source in json_sources if counts[source.owner_department] > source.page_size]
    large_formats = {source.format for source in department_sources if counts[source.owner_department] >= 50}

    assert 15 <= len(json_sources) <= 19
    assert len(json_sources) + len(csv_sources) == 34
    assert len(multi_page) >= 3
    assert isinstance(registry.get("guangan_xzspj"), JsonApiSource)
    assert large_formats == {"json_api", "csv_export"}


def test_registry_get_unknown_id():
    registry = load_registry(SOURCES_FILE, ENVIRON)

    with pytest.raises(UnknownSourceError, match="no_such_source"):
        registry.get("no_such_source")


def test_defaults_and_overrides(tmp_path):
    csv_entry = VALID_SOURCE | {"id": "guangan_tjj", "format": "csv_export", "base_url": "https://gov.example/tjj",
                                "max_retries": 0, "encoding": "gb18030"}
    path = write_registry(
        tmp_path,
        [VALID_SOURCE, csv_entry],
        defaults={"timeout_seconds": 5, "schedule": "15 3 * * 1-5"},
        allowed_hosts=["cdn.gov.example"],
    )

    registry = load_registry(path, ENVIRON)
    json_api, csv_export = registry.sources

    assert json_api.timeout_seconds == 5
    assert json_api.max_retries == 3
    assert json_api.schedule == "15 3 * * 1-5"
    assert json_api.page_size == 100
    assert json_api.records_path == "data.records"
    assert csv_export.max_retries == 0
    assert csv_export.encoding == "gb18030"
    assert csv_export.url == "https://gov.example/tjj/export/tasks.csv"
    assert registry.allowed_hosts == frozenset({"127.0.0.1", "gov.example", "cdn.gov.example"})


# Invalid files: each error names the file, the source and the field


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"format": "xml_feed"}, "format", "unknown format 'xml_feed'"),
        ({"format": None}, "format", "missing"),
        ({"owner_department": None}, "owner_department", "missing"),
        ({"base_url": "ftp://gov.example/x"}, "base_url", "http:// or https://"),
        ({"base_url": "${HUIJU_NOT_SET}/xzspj"}, "base_url", "HUIJU_NOT_SET is not set"),
        ({"schedule": "0 2 * *"}, "schedule", "has 4 fields"),
        ({"schedule": "0 25 * * *"}, "schedule", "invalid hour"),
        ({"page_size": 0}, "page_size", "greater than 0"),
        ({"pagesize": 50}, "pagesize", "unknown field"),
        ({"encoding": "utf-8"}, "encoding", "applies only to sources of format csv_export"),
    ],
)
def test_invalid_source_field(tmp_path, change, field, reason):
    entry = {key: value for key, value in (VALID_SOURCE | change).items() if value is not None}
    path = write_registry(tmp_path, [entry])

    error = load_error(path)

    message = str(error)
    assert str(path) in message
    assert "'guangan_xzspj'" in message
    assert f"field '{field}'" in message
    assert reason in message
    assert error.source_id == "guangan_xzspj"
    assert error.field == field


def test_missing_id_named_by_index(tmp_path):
    entry = {key: value for key, value in VALID_SOURCE.items() if key != "id"}
    path = write_registry(tmp_path, [VALID_SOURCE, entry])

    error = load_error(path)

    assert "source at index 1" in str(error)
    assert "field 'id'" in str(error)
    assert error.source_index == 1
    assert error.source_id is None


@pytest.mark.parametrize("bad_id", ["Guangan", "1source", "guangan-xzspj", "广安"])
def test_bad_id_pattern(tmp_path, bad_id):
    path = write_registry(tmp_path, [VALID_SOURCE | {"id": bad_id}])

    error = load_error(path)

    assert f"invalid id {bad_id!r}" in str(error)
    assert error.field == "id"
    assert error.source_index == 0


def test_duplicate_id(tmp_path):
    path = write_registry(tmp_path, [VALID_SOURCE, VALID_SOURCE | {"base_url": "https://gov.example/b"}])

    error = load_error(path)

    assert "duplicate id" in str(error)
    assert "index 0" in str(error)
    assert error.source_id == "guangan_xzspj"
    assert error.source_index == 1


def test_every_problem_reported(tmp_path):
    second = VALID_SOURCE | {"id": "guangan_tjj", "format": "csv_export", "schedule": "never"}
    path = write_registry(tmp_path, [VALID_SOURCE | {"contact": ""}, second])

    error = load_error(path)

    lines = str(error).splitlines()
    assert len(lines) == 2
    assert "'guangan_xzspj'" in lines[0]
    assert "field 'contact'" in lines[0]
    assert "'guangan_tjj'" in lines[1]
    assert "field 'schedule'" in lines[1]


def test_unset_variable_with_empty_environment():
    error = load_error(SOURCES_FILE, environ={})

    assert len(error.problems) == 38
    assert "HUIJU_DEPT_BASE_URL" in str(error)
    assert error.field == "base_url"


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("version: 2\nsources: []\n", "version", "unsupported version 2"),
        ("version: 1\n", "sources", "non-empty list"),
        ("version: 1\nsource: []\nsources: []\n", "source", "unknown top-level key"),
        ("version: 1\ndefaults: {page_size: 5}\nsources: []\n", "defaults.page_size", "unknown key"),
        ("version: 1\nallowed_hosts: ['https://x.example']\nsources: []\n", "allowed_hosts[0]", "not a host name"),
    ],
)
def test_invalid_top_level(tmp_path, text, field, reason):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")

    error = load_error(path)
    messages = [problem.message for problem in error.problems if problem.field == field]

    assert len(messages) == 1
    assert reason in messages[0]
    assert str(path) in str(error)


def test_invalid_yaml(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        sources:
          - id: a
           name: b
        """), encoding="utf-8")

    error = load_error(path)

    assert "invalid YAML" in str(error)
    assert str(path) in str(error)


def test_missing_file(tmp_path):
    error = load_error(tmp_path / "absent.yaml")

    assert "cannot read" in str(error)


# Cron schedules


@pytest.mark.parametrize(
    "expression", ["0 2 * * *", "*/15 * * * *", "0 8-18/2 * * MON-FRI", "30 2 1,15 JAN,jul 0", "0 0 * * 7"]
)
def test_valid_cron(expression):
    validate_cron(expression)


@pytest.mark.parametrize(
    "expression",
    ["@daily", "0 2 * * * *", "60 * * * *", "* * 0 * *", "* * * 13 *", "*/0 * * * *", "5-1 * * * *", "a b c d e", ""],
)
def test_invalid_cron(expression):
    with pytest.raises(ValueError):
        validate_cron(expression)
