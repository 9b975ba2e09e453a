"""Audit of candidate marts: Great Expectations suites, domain checks and batch gates.

Each published mart has a suite ``expectations/<mart>.json`` in the GX 1.x format. An
expectation whose ``meta`` carries a ``severity`` is a row-level rule: rows it rejects become
decisions (``block`` quarantines the record, ``warn`` publishes it with a quality flag). Every
other expectation is dataset-level, and its failure blocks the whole batch. Candidates are
validated as pandas DataFrames read from Parquet, because GX SQL datasources on DuckDB fail
with ``MetricResolutionError``.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

logger = logging.getLogger(__name__)

SEVERITIES = ("block", "warn")

# The key that identifies rows of each mart in row-level results.
MART_KEYS = {
    "fct_service_item": "service_item_id",
    "dim_department": "department_id",
    "dim_region": "region_code",
    "mart_service_themes": "service_item_id",
    "fct_service_item_status": "service_item_id",
    "fct_content_item": "content_id",
    "dim_business_system": "system_id",
    "fct_service_item_dimension": "service_item_id",
    "mart_region_variance": "region_variance_id",
    "fct_service_item_evidence": "source_record_id",
    "fct_service_item_history": "history_row_id",
}


class AuditConfigError(ValueError):
    """An expectation suite or the gate file is invalid."""


@dataclass(frozen=True)
class Decision:
    """One row-level rule that rejected one record."""

    mart: str
    row_key: str
    rule_id: str
    severity: str
    field: str
    value: str | None
    reason_zh: str
    reason_en: str


@dataclass
class GateResult:
    gate: str
    passed: bool
    observed: Any = None
    threshold: Any = None
    message_zh: str = ""
    message_en: str = ""


@dataclass
class AuditResult:
    passed: bool
    gates: list[GateResult]
    decisions: list[Decision]
    expectation_results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocked_keys(self) -> set[str]:
        return {d.row_key for d in self.decisions if d.severity == "block" and d.mart == "fct_service_item"}

    def failed_gates(self) -> list[GateResult]:
        return [gate for gate in self.gates if not gate.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "gates": [asdict(gate) for gate in self.gates],
            "expectation_results": self.expectation_results,
            "rule_counts": rule_counts(self.decisions),
        }


def rule_counts(decisions: list[Decision]) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for decision in decisions:
        entry = counts.setdefault(
            decision.rule_id,
            {"severity": decision.severity, "records": 0, "reason_zh": decision.reason_zh, "reason_en": decision.reason_en},
        )
        entry["records"] += 1
    return dict(sorted(counts.items()))


@dataclass(frozen=True)
class GateThresholds:
    max_block_share: float
    max_warn_share: float


def load_thresholds(path: Path) -> GateThresholds:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise AuditConfigError(f"{path}: cannot read the gate thresholds: {error}") from error
    thresholds = data.get("thresholds", {})
    values = {}
    for name in ("max_block_share", "max_warn_share"):
        value = thresholds.get(name)
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise AuditConfigError(f"{path}: thresholds.{name} must be a share between 0 and 1, got {value!r}")
        values[name] = float(value)
    return GateThresholds(**values)


def load_suite_definitions(expectations_dir: Path) -> dict[str, dict[str, Any]]:
    """Read and check every ``<mart>.json`` suite; return them keyed by mart name."""
    suites = {}
    for mart in MART_KEYS:
        path = expectations_dir / f"{mart}.json"
        if not path.exists():
            raise AuditConfigError(f"expectation suite {path} not found; every published mart needs one")
        try:
            definition = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise AuditConfigError(f"{path}: invalid JSON: {error}") from error
        if definition.get("name") != mart:
            raise AuditConfigError(f"{path}: suite name must be {mart!r}, got {definition.get('name')!r}")
        for index, expectation in enumerate(definition.get("expectations", [])):
            meta = expectation.get("meta") or {}
            severity = meta.get("severity")
            if severity is None:
                continue
            where = f"{path}: expectation {index} ({expectation.get('type')})"
            if severity not in SEVERITIES:
                raise AuditConfigError(f"{where}: meta.severity must be one of {SEVERITIES}, got {severity!r}")
            for key in ("rule_id", "field", "reason_zh", "reason_en"):
                if not meta.get(key):
                    raise AuditConfigError(f"{where}: a row-level rule needs meta.{key}")
            if "column" not in expectation.get("kwargs", {}):
                raise AuditConfigError(f"{where}: a row-level rule must test one column")
        suites[mart] = definition
    return suites


# Columns that the cross-mart checks in ``check_domain`` read, per table. The two lineage tables
# have no suite, so only these columns of theirs are read.
DOMAIN_COLUMNS = {
    "fct_service_item": ("service_item_id", "department_id"),
    "fct_source_record": ("service_item_id", "disposition", "merged_into_service_item_id"),
    "fct_content_item": ("content_id",),
    "fct_content_record": (
        "source_record_id", "content_id", "disposition", "merged_into_content_id", "quarantine_rule_id",
    ),
    "mart_service_themes": ("service_item_id",),
    "dim_department": ("department_id",),
}

# Expectation types that read no column and therefore add none to a suite's projection.
ROW_COUNT_EXPECTATIONS = {"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"}


def suite_columns(mart: str, definition: dict[str, Any]) -> set[str] | None:
    """Return the columns that the suite of ``mart`` reads, or None when it may read any column.

    The projection contains the mart's key, every column an expectation names in its kwargs and
    every rule's ``meta.field``. An expectation that names no column and does not count rows
    (a table-schema check, say) or that has a ``row_condition`` needs the whole table.
    """
    columns = {MART_KEYS[mart]}
    for expectation in definition.get("expectations", []):
        kwargs = expectation.get("kwargs", {})
        if kwargs.get("row_condition"):
            return None
        named = [kwargs[name] for name in ("column", "column_A", "column_B") if name in kwargs]
        named += list(kwargs.get("column_list") or [])
        if not named and expectation.get("type") not in ROW_COUNT_EXPECTATIONS:
            return None
        columns.update(named)
        field_name = (expectation.get("meta") or {}).get("field")
        if field_name:
            columns.add(field_name)
    return columns


def read_mart(candidate_dir: Path, name: str, columns: Iterable[str] | None) -> pd.DataFrame:
    """Read the columns of ``name`` that are in ``columns``, in file order; all of them when None.

    A requested column that the file lacks is left out, so an expectation on it reports the
    missing column as it would on the full table. String columns with many repeated values are
    read as categoricals, and tests check that the suites return the same results on them.
    """
    path = candidate_dir / f"{name}.parquet"
    names = pq.read_schema(path).names
    if columns is not None:
        requested = set(columns)
        names = [column for column in names if column in requested]
    return pd.read_parquet(path, columns=names, read_dictionary=dictionary_columns(path, names))


def dictionary_columns(path: Path, names: list[str]) -> list[str]:
    """Return the string columns in ``names`` that Parquet statistics show to repeat values.

    A column qualifies when it has at most one distinct value per two rows. The check relies on
    the per-row-group distinct counts that DuckDB writes, and their sum can only overstate the
    distinct values of the file. A column without them is read as plain strings, so files from
    other writers are read as before.
    """
    metadata = pq.read_metadata(path)
    if metadata.num_rows == 0:
        return []
    schema = metadata.schema.to_arrow_schema()
    candidates = {
        name for name in names
        if pa.types.is_string(schema.field(name).type) or pa.types.is_large_string(schema.field(name).type)
    }
    distinct = dict.fromkeys(candidates, 0)
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            name = chunk.path_in_schema
            if name not in candidates:
                continue
            statistics = chunk.statistics
            if statistics is None or not statistics.has_distinct_count:
                candidates.discard(name)
            else:
                distinct[name] += statistics.distinct_count
    return [name for name in names if name in candidates and distinct[name] <= metadata.num_rows / 2]


def _gx_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _raised(exception_info: Any) -> str | None:
    """Return the exception message when a GX result reports that its computation raised."""
    if not exception_info:
        return None
    if "raised_exception" in exception_info:
        infos = [exception_info]
    else:
        infos = [value for value in exception_info.values() if isinstance(value, dict)]
    for info in infos:
        if info.get("raised_exception"):
            return info.get("exception_message") or "unknown exception"
    return None


def _as_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return str(value)


def validate_marts(
    candidate_dir: Path, suites: dict[str, dict[str, Any]]
) -> tuple[list[Decision], list[GateResult], list[dict[str, Any]]]:
    """Validate each mart with its suite; return row decisions, suite gates and result summaries.

    Marts are read one at a time, with only the columns their suite reads, and each frame is
    dropped before the next one is read, so the peak memory follows the largest mart.
    """
    from great_expectations.core.expectation_suite import ExpectationSuite

    context = _gx_context()
    decisions: list[Decision] = []
    gates: list[GateResult] = []
    summaries: list[dict[str, Any]] = []

    for mart, definition in suites.items():
        frame = read_mart(candidate_dir, mart, suite_columns(mart, definition))
        # The datasource's execution engine caches every batch it loaded, with its DataFrame,
        # so each mart gets its own datasource, deleted once the mart is validated.
        datasource = context.data_sources.add_pandas(f"candidates-{mart}")
        try:
            batch_definition = datasource.add_dataframe_asset(mart).add_batch_definition_whole_dataframe(mart)
            suite = context.suites.add(ExpectationSuite(**definition))
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
            result = batch.validate(
                suite,
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [MART_KEYS[mart]]},
            )
        finally:
            context.data_sources.delete(datasource.name)
        mart_decisions, gate, mart_summaries = _summarize(mart, result)
        if mart == "fct_service_item":
            mart_decisions = _attach_values(mart_decisions, {mart: frame})
        decisions += mart_decisions
        gates.append(gate)
        summaries += mart_summaries
        del frame, batch, result
    return decisions, gates, summaries


def _summarize(mart: str, result: Any) -> tuple[list[Decision], GateResult, list[dict[str, Any]]]:
    """Turn one mart's GX validation result into row decisions, its suite gate and result summaries."""
    key = MART_KEYS[mart]
    decisions: list[Decision] = []
    summaries: list[dict[str, Any]] = []
    dataset_failures = []
    for expectation_result in result.results:
        config = expectation_result.expectation_config
        meta = config.meta or {}
        column = config.kwargs.get("column")
        error = _raised(expectation_result.exception_info)
        unexpected = expectation_result.result.get("unexpected_index_list") or []
        summaries.append(
            {
                "mart": mart,
                "expectation": config.type,
                "column": column,
                "rule_id": meta.get("rule_id"),
                "severity": meta.get("severity", "dataset"),
                "success": bool(expectation_result.success),
                "unexpected_count": expectation_result.result.get("unexpected_count"),
                "exception": error,
            }
        )
        if error is not None:
            dataset_failures.append(f"{config.type}({column}) raised: {error}")
            continue
        if "severity" not in meta:
            if not expectation_result.success:
                dataset_failures.append(f"{config.type}({column or ''}) failed")
            continue
        for row in unexpected:
            decisions.append(
                Decision(
                    mart=mart,
                    row_key=str(row[key]),
                    rule_id=meta["rule_id"],
                    severity=meta["severity"],
                    field=meta["field"],
                    value=_as_text(row.get(meta["field"], row.get(column))),
                    reason_zh=meta["reason_zh"],
                    reason_en=meta["reason_en"],
                )
            )

    gate = GateResult(
        gate=f"suite:{mart}",
        passed=not dataset_failures,
        observed=dataset_failures or "all dataset-level expectations met",
        message_zh="数据集级校验全部通过" if not dataset_failures else "数据集级校验未通过：" + "；".join(dataset_failures),
        message_en="all dataset-level expectations met" if not dataset_failures else "; ".join(dataset_failures),
    )
    return decisions, gate, summaries


def _attach_values(decisions: list[Decision], frames: dict[str, pd.DataFrame]) -> list[Decision]:
    """Fill each decision's value from the rule's field, which may differ from the tested column."""
    fct = frames["fct_service_item"].set_index("service_item_id", drop=False)
    completed = []
    for decision in decisions:
        value = decision.value
        if decision.mart == "fct_service_item" and decision.field in fct.columns and decision.row_key in fct.index:
            value = _as_text(fct.at[decision.row_key, decision.field])
        completed.append(
            Decision(**{**asdict(decision), "value": value})
        )
    return completed


def check_domain(frames: dict[str, pd.DataFrame], blocked: set[str]) -> list[GateResult]:
    """Checks across marts that no single-table expectation can express."""
    fct = frames["fct_service_item"]
    records = frames["fct_source_record"]
    themes = frames["mart_service_themes"]
    departments = frames["dim_department"]
    gates = []

    item_ids = set(fct["service_item_id"])
    survivors = records[records["disposition"] == "survivor"]
    merged = records[records["disposition"] == "merged"]
    orphans = sorted(set(survivors["service_item_id"]) ^ item_ids)
    dangling = sorted(set(merged["merged_into_service_item_id"]) - item_ids)
    conserved = len(records) == len(survivors) + len(merged) and not orphans and not dangling
    gates.append(
        GateResult(
            gate="conservation",
            passed=conserved,
            observed={"fetched": len(records), "survivors": len(survivors), "merged": len(merged),
                      "unmatched_service_item_ids": orphans[:20], "dangling_merges": dangling[:20]},
            message_zh="每条抓取记录都有唯一去向" if conserved else "存在去向不明的抓取记录",
            message_en="every fetched record has exactly one disposition" if conserved
            else "some fetched records have no disposition or point at a missing service item",
        )
    )

    gates.append(check_content_conservation(frames["fct_content_item"], frames["fct_content_record"]))

    themed = set(themes["service_item_id"])
    missing_from_themes = sorted(item_ids - themed)
    unknown_in_themes = sorted(themed - item_ids)
    gates.append(
        GateResult(
            gate="theme_coverage",
            passed=not missing_from_themes and not unknown_in_themes,
            observed={"missing": missing_from_themes[:20], "unknown": unknown_in_themes[:20]},
            message_zh="每个事项都已分配主题或列为未分配" if not missing_from_themes and not unknown_in_themes
            else "主题集市遗漏事项或含有未知事项",
            message_en="every service item is assigned to a theme or listed as unassigned"
            if not missing_from_themes and not unknown_in_themes
            else "the theme mart misses service items or lists unknown ones",
        )
    )

    unknown_departments = sorted(set(fct["department_id"].dropna()) - set(departments["department_id"]))
    gates.append(
        GateResult(
            gate="department_reference",
            passed=not unknown_departments,
            observed=unknown_departments[:20],
            message_zh="事项的部门均在部门维表中" if not unknown_departments else "事项引用了部门维表中不存在的部门",
            message_en="every item's department is in dim_department" if not unknown_departments
            else "items reference departments missing from dim_department",
        )
    )
    return gates


def check_content_conservation(items: pd.DataFrame, records: pd.DataFrame) -> GateResult:
    """Check that every feed entry is published, quarantined with a reason or merged into an item."""
    item_ids = set(items["content_id"])
    survivors = records[records["disposition"] == "survivor"]
    merged = records[records["disposition"] == "merged"]
    quarantined = records[records["disposition"] == "quarantined"]
    orphans = sorted(set(survivors["content_id"]) ^ item_ids)
    dangling = sorted(set(merged["merged_into_content_id"]) - item_ids)
    unexplained = sorted(quarantined.loc[quarantined["quarantine_rule_id"].isna(), "source_record_id"])
    conserved = (
        len(records) == len(survivors) + len(merged) + len(quarantined)
        and len(survivors) == len(items)
        and not orphans and not dangling and not unexplained
    )
    return GateResult(
        gate="content_conservation",
        passed=conserved,
        observed={"fetched": len(records), "published": len(survivors), "merged": len(merged),
                  "quarantined": len(quarantined), "unmatched_content_ids": orphans[:20],
                  "dangling_merges": dangling[:20], "quarantined_without_reason": unexplained[:20]},
        message_zh="每条内容条目都已发布、隔离（附原因）或合并" if conserved else "存在去向不明或隔离原因缺失的内容条目",
        message_en="every feed entry is published, quarantined with a reason or merged" if conserved
        else "some feed entries have no disposition, no quarantine reason or point at a missing content item",
    )


def share_gates(total: int, decisions: list[Decision], thresholds: GateThresholds) -> list[GateResult]:
    blocked = {d.row_key for d in decisions if d.severity == "block" and d.mart == "fct_service_item"}
    warned = {d.row_key for d in decisions if d.severity == "warn" and d.mart == "fct_service_item"} - blocked
    gates = []
    for gate, keys, limit, label_zh in (
        ("block_share", blocked, thresholds.max_block_share, "拦截"),
        ("warn_share", warned, thresholds.max_warn_share, "警告"),
    ):
        share = len(keys) / total if total else 0.0
        passed = share <= limit
        gates.append(
            GateResult(
                gate=gate,
                passed=passed,
                observed=round(share, 6),
                threshold=limit,
                message_zh=f"{label_zh}记录占比 {share:.2%}，上限 {limit:.2%}",
                message_en=f"{gate.split('_')[0]} share {share:.2%}, limit {limit:.2%}",
            )
        )
    if total == 0:
        gates.append(GateResult(gate="non_empty", passed=False, observed=0,
                                message_zh="候选数据为空", message_en="the candidate batch has no service items"))
    return gates


# Batches up to this many service items are audited in the calling process. Starting a child
# and importing pandas and GX in it takes several seconds, more than a small batch's audit.
IN_PROCESS_MAX_ITEMS = 20_000


def audit_candidates(candidate_dir: Path, expectations_dir: Path, *, isolate: bool | None = None) -> AuditResult:
    """Validate the candidate Parquet files in ``candidate_dir`` and decide whether they may publish.

    A batch of more than ``IN_PROCESS_MAX_ITEMS`` service items, or any batch with ``isolate``
    set, is validated in a spawned child process. The pandas frames and GX objects of a large
    batch take hundreds of megabytes, and glibc keeps freed heap in the process, so running them
    here would leave the caller's resident set that large for the rest of the pipeline. Spawn,
    not fork, because the caller may be a Prefect task running in a thread.

    NOTE: the child imports the caller's ``__main__`` module, so a script that calls this at
    import time needs an ``if __name__ == "__main__":`` guard.
    """
    suites = load_suite_definitions(expectations_dir)
    thresholds = load_thresholds(expectations_dir / "gate.yaml")
    if isolate is None:
        items_path = Path(candidate_dir) / "fct_service_item.parquet"
        isolate = items_path.exists() and pq.ParquetFile(items_path).metadata.num_rows > IN_PROCESS_MAX_ITEMS
    if not isolate:
        result = audit_in_process(Path(candidate_dir), suites, thresholds)
        _log_gates(result)
        return result
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            result = pool.submit(audit_in_process, Path(candidate_dir), suites, thresholds).result()
    except BrokenProcessPool as error:
        raise RuntimeError(
            f"the audit child process for {candidate_dir} exited before returning a result, "
            "possibly killed by the out-of-memory killer; check the kernel log (dmesg)"
        ) from error

    _log_gates(result)
    return result


def _log_gates(result: AuditResult) -> None:
    for gate in result.gates:
        log = logger.info if gate.passed else logger.warning
        log("Gate %s %s: %s", gate.gate, "passed" if gate.passed else "failed", gate.message_en)


def audit_in_process(
    candidate_dir: Path, suites: dict[str, dict[str, Any]], thresholds: GateThresholds
) -> AuditResult:
    """Run the suites, the share gates and the domain checks on ``candidate_dir`` in this process."""
    decisions, gates, summaries = validate_marts(candidate_dir, suites)
    frames = {name: read_mart(candidate_dir, name, columns) for name, columns in DOMAIN_COLUMNS.items()}
    gates += share_gates(len(frames["fct_service_item"]), decisions, thresholds)
    blocked = {d.row_key for d in decisions if d.severity == "block" and d.mart == "fct_service_item"}
    gates += check_domain(frames, blocked)
    return AuditResult(passed=all(gate.passed for gate in gates), gates=gates, decisions=decisions,
                       expectation_results=summaries)
