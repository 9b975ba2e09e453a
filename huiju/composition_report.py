"""Per-theme publication results and the Chinese composition report of a version.

Both read the candidate theme marts, so a theme that a ``block`` breach keeps out of the
published marts still appears in ``audit.json`` and in ``composition_report.md``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb

logger = logging.getLogger(__name__)

REPORT_NAME = "composition_report.md"
RESULT_LABELS = {"pass": "通过", "warn": "警告（照常发布）", "block": "拦截（不发布）"}
ACTION_LABELS = {"warn": "警告", "block": "拦截"}
AUDIENCE_LABELS = {"natural_person": "面向自然人", "legal_person": "面向法人"}
# Forms of theme content in the order the report lists them, and the titles shown per form.
CONTENT_FORM_ORDER = ("notice", "policy_document", "policy_interpretation", "service_guide", "business_system")
CONTENT_EXAMPLES = 3
OVERRIDE_STATUS_LABELS = {
    "applied": "已生效",
    "already_matched": "未改变（规则已匹配该事项）",
    "not_matched": "未改变（规则未匹配该事项）",
    "service_not_found": "未生效（目录中没有该事项）",
}


def _rows(connection: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    cursor = connection.execute(query)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _read(candidate_dir: Path, mart: str) -> str:
    return f"read_parquet('{candidate_dir / f'{mart}.parquet'}')"


def theme_results(candidate_dir: Path) -> dict[str, dict[str, Any]]:
    """Return each theme's result (pass, warn or block) with its breaches, gaps and service counts."""
    with duckdb.connect() as connection:
        themes = _rows(
            connection,
            f"""
            select theme_id, any_value(theme_name) as theme_name, any_value(theme_result) as result,
                   any_value(is_active) as is_active, any_value(theme_position) as theme_position,
                   max(service_count) as service_count
            from {_read(candidate_dir, 'mart_theme_composition')}
            group by theme_id order by theme_position
            """,
        )
        breaches = _rows(
            connection,
            f"""
            select theme_id, dimension, breach.principle_id, breach.action, breach.message_zh
            from (select theme_id, dimension, dimension_position, unnest(breaches) as breach
                  from {_read(candidate_dir, 'mart_theme_composition')})
            order by theme_id, dimension_position, breach.principle_id
            """,
        )
        gaps = _rows(
            connection,
            f"select theme_id, step_id, gap_reason from {_read(candidate_dir, 'mart_theme_gaps')} order by theme_id, step_position",
        )

    results: dict[str, dict[str, Any]] = {}
    for theme in themes:
        theme_id = theme["theme_id"]
        results[theme_id] = {
            "name": theme["theme_name"],
            "result": theme["result"],
            "is_published": theme["result"] != "block",
            "is_active": bool(theme["is_active"]),
            "service_count": theme["service_count"],
            "breaches": [
                {key: breach[key] for key in ("dimension", "principle_id", "action", "message_zh")}
                for breach in breaches if breach["theme_id"] == theme_id
            ],
            "gaps": [{"step_id": gap["step_id"], "reason_zh": gap["gap_reason"]} for gap in gaps if gap["theme_id"] == theme_id],
        }
    blocked = sorted(theme_id for theme_id, result in results.items() if result["result"] == "block")
    if blocked:
        logger.warning("Composition principles block themes %s from publication", ", ".join(blocked))
    return results


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def _theme_section(theme: dict[str, Any], result: dict[str, Any], shares: list[dict], steps: list[dict],
                   overrides: list[dict], content: list[dict]) -> list[str]:
    lines = [
        f"## {theme['theme_name']}（{theme['theme_id']}）",
        "",
        f"- 服务对象：{AUDIENCE_LABELS.get(theme['audience'], theme['audience'])}",
        f"- 发布结论：{RESULT_LABELS[result['result']]}",
        f"- 有效期：{'有效' if result['is_active'] else '不在有效期内（标记为停用）'}",
        f"- 事项数：{result['service_count']}",
        "",
        "### 步骤与事项",
        "",
        "| 序号 | 步骤 | 事项数 | 事项（为主事项在前） |",
        "|---|---|---|---|",
    ]
    for step in steps:
        names = "、".join(step["task_names"] or []) or "（无，见缺口）"
        lines.append(f"| {step['step_position']} | {step['step_name']} | {step['service_count']} | {names} |")

    lines += ["", "### 分类维度占比", "", "| 维度 | 为主 | 为辅 | 未知 |", "|---|---|---|---|"]
    for share in shares:
        lines.append(
            f"| {share['dimension_label']} | {_percent(share['primary_share'])}（{share['primary_count']}） "
            f"| {_percent(share['secondary_share'])}（{share['secondary_count']}） "
            f"| {_percent(share['unknown_share'])}（{share['unknown_count']}） |"
        )

    lines += ["", "### 服务内容", "", "| 形式 | 条数 | 示例 |", "|---|---|---|"]
    for form in content:
        example = "（缺少，需补充）" if form["is_gap"] else "、".join(form["examples"] or [])
        lines.append(f"| {form['content_kind_label']} | {form['content_count']} | {example} |")

    lines += ["", "### 违反构成原则", ""]
    lines += [f"- 【{ACTION_LABELS[breach['action']]}】{breach['message_zh']}" for breach in result["breaches"]] or ["- 无"]
    lines += ["", "### 缺口", ""]
    lines += [f"- {gap['reason_zh']}" for gap in result["gaps"]] or ["- 无"]
    lines += ["", "### 人工修订", ""]
    lines += [
        f"- {'加入' if override['action'] == 'add' else '移出'}步骤“{override['step_name']}”："
        f"{override['task_name'] or override['task_code'] or override['service_item_id'] or '（未找到事项）'}；"
        f"理由：{override['reason']}；审核人：{override['reviewer']}；审核日期：{override['reviewed_on']}；"
        f"状态：{OVERRIDE_STATUS_LABELS[override['application_status']]}"
        for override in overrides
    ] or ["- 无"]
    return lines + [""]


def write_composition_report(candidate_dir: Path, results: dict[str, dict[str, Any]], target: Path) -> Path:
    """Write the editors' composition report (Markdown, Chinese) for the themes in ``results``."""
    with duckdb.connect() as connection:
        audiences = dict(
            connection.execute(
                f"select distinct theme_id, audience from {_read(candidate_dir, 'mart_theme_composition')}"
            ).fetchall()
        )
        shares = _rows(connection, f"select * from {_read(candidate_dir, 'mart_theme_composition')} order by dimension_position")
        steps = _rows(
            connection,
            f"""
            with listed as (
                select theme_id, step_id, step_position, step_name,
                       count(*) as service_count, list(task_name order by service_rank) as task_names
                from {_read(candidate_dir, 'mart_theme_steps')} group by all
            ),
            empty as (
                select theme_id, step_id, step_position, step_name, 0 as service_count, null::varchar[] as task_names
                from {_read(candidate_dir, 'mart_theme_gaps')}
            )
            select * from listed union all select * from empty order by theme_id, step_position
            """,
        )
        overrides = _rows(
            connection,
            f"""
            select applications.*, items.task_name, gaps_and_steps.step_name
            from {_read(candidate_dir, 'int_theme_override_applications')} as applications
            left join {_read(candidate_dir, 'fct_service_item')} as items using (service_item_id)
            left join (
                select distinct theme_id, step_id, step_name from {_read(candidate_dir, 'mart_theme_steps')}
                union select theme_id, step_id, step_name from {_read(candidate_dir, 'mart_theme_gaps')}
            ) as gaps_and_steps using (theme_id, step_id)
            order by override_id, service_item_id
            """,
        )
        content = _rows(
            connection,
            f"""
            select gaps.theme_id, gaps.content_kind, gaps.content_kind_label, gaps.content_count, gaps.is_gap,
                   list(items.title order by items.item_rank)
                       filter (where items.item_rank <= {CONTENT_EXAMPLES}) as examples
            from {_read(candidate_dir, 'mart_theme_content_gaps')} as gaps
            left join {_read(candidate_dir, 'mart_theme_content')} as items
                on items.theme_id = gaps.theme_id and items.content_form = gaps.content_kind
            group by all
            order by gaps.theme_id, gaps.content_kind
            """,
        )
    for override in overrides:
        if override["application_status"] != "applied":
            logger.warning("Theme override %s of theme %s changed nothing: %s", override["override_id"],
                           override["theme_id"], override["application_status"])

    counts = {label: sum(1 for result in results.values() if result["result"] == key) for key, label in RESULT_LABELS.items()}
    lines = [
        "# 服务主题构成报告",
        "",
        "本报告按构成原则检查每个跨部门综合服务主题的事项构成。被拦截的主题不进入本版本发布的主题数据，"
        "其他主题照常发布。",
        "",
        "结论汇总：" + "，".join(f"{label} {count} 个" for label, count in counts.items()),
        "",
    ]
    for theme_id, result in results.items():
        theme = {"theme_id": theme_id, "theme_name": result["name"], "audience": audiences.get(theme_id)}
        lines += _theme_section(
            theme,
            result,
            [share for share in shares if share["theme_id"] == theme_id],
            [step for step in steps if step["theme_id"] == theme_id],
            [override for override in overrides if override["theme_id"] == theme_id],
            sorted((form for form in content if form["theme_id"] == theme_id),
                   key=lambda form: CONTENT_FORM_ORDER.index(form["content_kind"])),
        )
    path = target / REPORT_NAME
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
