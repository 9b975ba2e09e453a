"""Quality report of one department: its rejected and suspect records in one published version.

Rejected records (隔离) come from ``quarantine.parquet``: the audit blocked them, so the portal
does not publish them. Suspect records (存疑) come from ``quality_flags.parquet``: they are
published, but a warn rule found a defect. A department's report lists the records of the sources
it owns (``owner_department`` in the source registry), because its data steward can correct those.
Quarantined feed entries of notices and policy documents (``content_quarantine.parquet``) count
as rejected records of the feed's owner; they name no service item and no field. The files have
one row per record and rule, so one record can appear under several rules.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import duckdb

QUARANTINED = "quarantined"
SUSPECT = "suspect"

SEVERITY_LABELS = {
    QUARANTINED: {"zh": "隔离", "en": "quarantined"},
    SUSPECT: {"zh": "存疑", "en": "suspect"},
}

# Names of the fields that the audit rules of expectations/fct_service_item.json check.
FIELD_LABELS = {
    "task_name_raw": {"zh": "事项名称", "en": "service name"},
    "task_code": {"zh": "实施编码", "en": "implementation code"},
    "agency_code": {"zh": "实施编码中的实施主体代码", "en": "agency code inside the implementation code"},
    "dept_code": {"zh": "实施主体编码", "en": "implementing agency code"},
    "region_code": {"zh": "行政区划代码", "en": "region code"},
    "link_url": {"zh": "在线办理地址", "en": "online service address"},
    "task_type_code": {"zh": "事项类型", "en": "item type"},
}

# Columns of the CSV file, in order: attribute of ProblemRecord, Chinese and English heading.
CSV_COLUMNS = (
    ("record_id", "记录标识", "Record ID"),
    ("source_id", "来源", "Source"),
    ("rule_id", "规则", "Rule"),
    ("severity", "严重程度（隔离/存疑）", "Severity (quarantined/suspect)"),
    ("field", "字段", "Field"),
    ("reason", "原因", "Reason"),
    ("value", "原始值", "Original value"),
    ("task_name", "事项名称", "Service name"),
    ("service_item_id", "事项标识", "Service item ID"),
    ("source_record", "原始记录", "Source record"),
)


def field_label(field: str | None, lang: str) -> str:
    """Return a field's readable name followed by its column name, e.g. ``实施编码 (task_code)``."""
    if not field:
        return ""
    label = FIELD_LABELS.get(field)
    return f"{label[lang]} ({field})" if label else field


def department_id(department_name: str) -> str:
    """Return the id that the marts give a department: the MD5 hex digest of its UTF-8 name."""
    return hashlib.md5(department_name.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ProblemRecord:
    """One rule that one source record broke; ``severity`` is ``quarantined`` or ``suspect``."""

    record_id: str
    service_item_id: str | None
    source_id: str
    rule_id: str
    severity: str
    field: str | None
    value: str | None
    reason_zh: str
    reason_en: str
    task_name: str | None
    source_record: str

    def field_label(self, lang: str) -> str:
        return field_label(self.field, lang)

    def reason(self, lang: str) -> str:
        return self.reason_en if lang == "en" else self.reason_zh

    def source_record_pretty(self) -> str:
        """Return the source record as indented JSON, or unchanged when it is not JSON."""
        try:
            return json.dumps(json.loads(self.source_record), ensure_ascii=False, indent=2)
        except (TypeError, ValueError):
            return self.source_record


@dataclass(frozen=True)
class RuleCount:
    rule_id: str
    severity: str
    field: str
    reason_zh: str
    reason_en: str
    records: int


@dataclass(frozen=True)
class QualityReport:
    """The problem records of one department's sources in one published version."""

    department_id: str
    department_name: str
    version_id: str
    version_created_at: str
    source_ids: tuple[str, ...]
    records: tuple[ProblemRecord, ...]

    def record_count(self, severity: str) -> int:
        """Return how many distinct source records have at least one problem of ``severity``."""
        return len({record.record_id for record in self.records if record.severity == severity})

    @property
    def rule_counts(self) -> list[RuleCount]:
        """Return the records per rule, rejected rules first, then by descending count."""
        groups: dict[tuple[str, str], list[ProblemRecord]] = {}
        for record in self.records:
            groups.setdefault((record.severity, record.rule_id), []).append(record)
        counts = [
            RuleCount(rule_id=rule_id, severity=severity, field=group[0].field or "", reason_zh=group[0].reason_zh,
                      reason_en=group[0].reason_en, records=len({record.record_id for record in group}))
            for (severity, rule_id), group in groups.items()
        ]
        return sorted(counts, key=lambda count: (count.severity != QUARANTINED, -count.records, count.rule_id))


def load_problem_records(version_dir: Path, source_ids: Iterable[str]) -> list[ProblemRecord]:
    """Read the rejected and suspect records of ``source_ids`` from a version directory.

    Rejected records come first, then suspect ones, each ordered by record and rule. A version
    without one of the two files contributes no rows of that kind.
    """
    requested = sorted(set(source_ids))
    if not requested:
        return []
    item_names = version_dir / "marts" / "fct_service_item.parquet"
    parts = []
    for severity, file_name in ((QUARANTINED, "quarantine.parquet"), (SUSPECT, "quality_flags.parquet"),
                                (QUARANTINED, "content_quarantine.parquet")):
        path = version_dir / file_name
        if path.exists():
            parts.append(
                f"select '{severity}' as severity, * from read_parquet('{_sql_path(path)}') where list_contains($sources, source_id)"
            )
    if not parts:
        return []
    name_join = ""
    name_column = "null::varchar"
    if item_names.exists():
        name_join = (f"left join (select service_item_id, task_name from read_parquet('{_sql_path(item_names)}')) "
                     "as item using (service_item_id)")
        name_column = "item.task_name"
    query = f"""
        select
            problems.source_record_id,
            problems.service_item_id,
            problems.source_id,
            problems.rule_id,
            problems.severity,
            problems.field,
            problems.value,
            problems.reason_zh,
            problems.reason_en,
            {name_column} as task_name,
            problems.source_record
        from ({' union all by name '.join(parts)}) as problems
        {name_join}
        -- Record ids are "<source_id>#<position>"; ordering by the position keeps #2 before #10.
        order by
            problems.severity = '{SUSPECT}',
            problems.source_id,
            try_cast(regexp_extract(problems.source_record_id, '#([0-9]+)$', 1) as bigint) nulls last,
            problems.source_record_id,
            problems.rule_id
    """
    with duckdb.connect() as connection:
        rows = connection.execute(query, {"sources": requested}).fetchall()
    return [ProblemRecord(*row) for row in rows]


def build_report(
    version_dir: Path,
    *,
    version_id: str,
    version_created_at: str,
    department_name: str,
    source_ids: Iterable[str],
) -> QualityReport:
    """Collect the quality report of the department named ``department_name``."""
    sources = tuple(sorted(set(source_ids)))
    return QualityReport(
        department_id=department_id(department_name),
        department_name=department_name,
        version_id=version_id,
        version_created_at=version_created_at,
        source_ids=sources,
        records=tuple(load_problem_records(version_dir, sources)),
    )


def render_csv(report: QualityReport, lang: str = "zh") -> bytes:
    """Render the report's records as CSV: UTF-8 with a byte order mark, CRLF line ends.

    Excel on Chinese Windows reads a CSV file without the byte order mark as GBK, so the mark is
    what makes it show the Chinese text.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([english if lang == "en" else chinese for _, chinese, english in CSV_COLUMNS])
    for record in report.records:
        cells = {
            "record_id": record.record_id,
            "source_id": record.source_id,
            "rule_id": record.rule_id,
            "severity": SEVERITY_LABELS[record.severity][lang],
            "field": record.field_label(lang),
            "reason": record.reason(lang),
            "value": record.value or "",
            "task_name": record.task_name or "",
            "service_item_id": record.service_item_id or "",
            "source_record": record.source_record,
        }
        writer.writerow([cells[key] for key, _, _ in CSV_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def download_filename(report: QualityReport, extension: str, lang: str = "zh") -> str:
    """Return the file name offered for download, e.g. ``区人社局-质量报告-v2026….csv``."""
    title = "quality-report" if lang == "en" else "质量报告"
    return f"{report.department_name}-{title}-{report.version_id}.{extension}"


def content_disposition(disposition: str, filename: str, fallback: str) -> str:
    """Return a Content-Disposition value with an ASCII ``filename`` and an RFC 5987 ``filename*``.

    Browsers that understand ``filename*`` (RFC 6266) use the UTF-8 name. Others fall back to
    ``fallback``, which must be ASCII without quotes or backslashes.
    """
    if not fallback.isascii() or any(character in fallback for character in '"\\'):
        raise ValueError(f"fallback file name {fallback!r} must be ASCII without quotes or backslashes")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
