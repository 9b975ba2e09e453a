"""Static portal feed: JSON files under ``feed/`` in each published version, served as they are.

Layout, with every path relative to ``feed/``::

    index.json                  schema version, counts, the collections and files, Chinese labels
    themes.json                 one summary per cross-department service theme (跨部门综合服务主题)
    themes/<theme_id>.json      a theme: steps with their services, content forms, business systems, gaps
    departments.json            every implementing department (实施主体)
    services.json               the pages of the services collection
    services/page-0001.json     PAGE_SIZE services per page, ordered by service_item_id
    notices.json                the pages of 通知公告
    notices/page-0001.json      ordered by publication time, newest first, then content_id
    policies.json               the pages of 政策文件 and 政策解读
    policies/page-0001.json

Every document is built from the version's marts with SQL and written in a fixed key and row
order, so identical marts give byte-identical files. No document contains the version id or the
time of writing, because the manifest hashes these files to decide whether a run changed anything.
Pages keep every file bounded: a collection file lists its pages, and a page contains at most
``page_size`` items. The read API builds its documents with the same queries.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from huiju.composition_report import AUDIENCE_LABELS, CONTENT_FORM_ORDER
from huiju.editorial.dimensions import DIMENSION_IDS

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FEED_DIR = "feed"
PAGE_SIZE = 1000
PAGES_PER_QUERY = 10
# Rows fetched from DuckDB at a time where a writer streams a query's result.
FETCH_ROWS = 1000

# The columns that the feed reads from each mart, with their types. Published marts have more.
# A mart or column that a version lacks, as an older version or a hand-made test batch may, reads
# as empty or as null, and a warning names it.
FEED_COLUMNS: dict[str, dict[str, str]] = {
    "fct_service_item": {
        "service_item_id": "varchar", "task_name": "varchar", "task_code": "varchar", "catalog_code": "varchar",
        "task_type_code": "varchar", "task_type_label": "varchar", "department_id": "varchar",
        "dept_name": "varchar", "dept_code": "varchar", "region_code": "varchar", "link_url": "varchar",
        "has_usable_link": "boolean", "evidence_source_ids": "varchar[]", "quality_flags": "varchar[]",
    },
    "fct_service_item_dimension": {
        "service_item_id": "varchar", "dimension": "varchar", "dimension_label": "varchar", "value": "varchar",
        "rule_id": "varchar", "rule_description": "varchar", "evidence": "varchar", "decided_by": "varchar",
    },
    "fct_service_item_status": {"service_item_id": "varchar", "is_withdrawn": "boolean"},
    "mart_service_themes": {
        "service_item_id": "varchar", "audience": "varchar", "theme_code": "varchar", "theme_label": "varchar",
        "rule_id": "varchar", "is_unassigned": "boolean",
    },
    "mart_theme_steps": {
        "theme_id": "varchar", "theme_name": "varchar", "theme_position": "integer", "step_id": "varchar",
        "step_position": "integer", "step_name": "varchar", "service_item_id": "varchar", "task_name": "varchar",
        "task_code": "varchar", "catalog_code": "varchar", "department_id": "varchar", "dept_name": "varchar",
        "link_url": "varchar", "service_rank": "bigint", "resource_kind": "varchar",
        "primary_dimension_count": "bigint", "matched_by": "varchar", "evidence": "varchar",
        "override_id": "varchar",
    },
    "mart_theme_gaps": {
        "theme_id": "varchar", "step_id": "varchar", "step_position": "integer", "step_name": "varchar",
        "matcher_text": "varchar", "removed_count": "bigint", "gap_reason": "varchar",
    },
    "mart_theme_composition": {
        "theme_id": "varchar", "theme_name": "varchar", "theme_position": "integer", "audience": "varchar",
        "is_active": "boolean", "dimension_position": "integer", "dimension": "varchar",
        "dimension_label": "varchar", "service_count": "bigint", "primary_count": "bigint",
        "secondary_count": "bigint", "unknown_count": "bigint", "primary_share": "double",
        "secondary_share": "double", "unknown_share": "double",
        "breaches": "struct(principle_id varchar, principle_name varchar, action varchar, message_zh varchar)[]",
        "theme_result": "varchar",
    },
    "mart_theme_content": {
        "theme_id": "varchar", "content_form": "varchar", "content_form_label": "varchar", "step_id": "varchar",
        "item_id": "varchar", "title": "varchar", "url": "varchar", "provider": "varchar",
        "published_on": "date", "evidence": "varchar", "item_rank": "bigint",
    },
    "mart_theme_content_gaps": {
        "theme_id": "varchar", "content_kind": "varchar", "content_kind_label": "varchar", "is_gap": "boolean",
    },
    "fct_content_item": {
        "content_id": "varchar", "content_kind": "varchar", "content_kind_label": "varchar", "title": "varchar",
        "publisher": "varchar", "published_at": "timestamptz", "published_on": "date", "link_url": "varchar",
        "category": "varchar", "source_id": "varchar",
    },
    "bridge_theme_content": {"theme_id": "varchar", "theme_name": "varchar", "content_id": "varchar"},
    "bridge_service_business_system": {
        "service_item_id": "varchar", "system_id": "varchar", "rule_id": "varchar", "evidence": "varchar",
    },
    "dim_business_system": {
        "system_id": "varchar", "system_order": "integer", "name": "varchar", "full_name": "varchar",
        "description": "varchar", "current_departments": "varchar[]",
        "applications": "struct(name varchar, url varchar, note varchar)[]",
    },
    "dim_department": {
        "department_id": "varchar", "dept_name": "varchar", "dept_code": "varchar",
        "dept_code_status": "varchar", "dept_codes": "varchar[]", "source_ids": "varchar[]",
        "service_item_count": "bigint",
    },
    "dim_region": {"region_code": "varchar", "name": "varchar"},
}

# Content collections and the content kinds that each contains.
# NOTE: a content kind that no collection lists is counted in index.json but written to no page.
CONTENT_COLLECTIONS = {
    "notices": ("notice",),
    "policies": ("policy_document", "policy_interpretation"),
}
SERVICE_ORDER = "item.service_item_id"
CONTENT_ORDER = "content.published_at desc nulls last, content.content_id"

DIMENSION_VALUE_LABELS = {"primary": "为主", "secondary": "为辅", "unknown": "未知"}
COMPOSITION_RESULT_LABELS = {"pass": "通过", "warn": "警告", "block": "拦截"}

FIELD_LABELS = {
    "id": "标识",
    "name": "名称",
    "task_code": "实施编码",
    "catalog_code": "基本编码",
    "task_type": "事项类型",
    "department": "实施主体",
    "region": "行政区划",
    "link": "在线办理地址",
    "has_usable_link": "有可用的在线办理地址",
    "audiences": "服务对象",
    "themes": "事项主题",
    "theme_steps": "所属服务主题步骤",
    "dimensions": "八项原则分类维度",
    "business_systems": "业务应用系统",
    "evidence_source_ids": "数据来源",
    "quality_flags": "质量提示",
    "is_withdrawn": "已撤销",
    "position": "序号",
    "audience": "服务对象",
    "is_active": "当前有效",
    "composition_result": "主题构成检查结果",
    "steps": "办事步骤",
    "services": "服务事项",
    "service_count": "事项数",
    "content_forms": "服务内容形式",
    "gaps": "缺口",
    "composition": "主题构成",
    "kind": "内容类别",
    "title": "标题",
    "publisher": "发布机构",
    "published_at": "发布时间",
    "published_on": "发布日期",
    "category": "栏目",
    "source_id": "数据来源",
    "code": "代码",
    "code_status": "代码校验结果",
    "service_item_count": "事项数",
}


class FeedError(RuntimeError):
    """The portal feed could not be built from a version's marts."""


def connect_marts(marts_dir: Path, *, in_memory: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection with one relation per mart of :data:`FEED_COLUMNS`, read from ``marts_dir``.

    With ``in_memory`` the marts are copied into tables once; otherwise they are views over the
    Parquet files. The files are only read.
    """
    connection = duckdb.connect()
    # Timestamps are written in UTC whatever the machine's time zone is.
    connection.execute("set TimeZone = 'UTC'")
    relation = "table" if in_memory else "view"
    for mart, columns in FEED_COLUMNS.items():
        path = marts_dir / f"{mart}.parquet"
        if path.exists():
            source = "read_parquet('{}')".format(str(path).replace("'", "''"))
            present = {row[0] for row in connection.execute(f"describe select * from {source}").fetchall()}
        else:
            logger.warning("Mart %s is missing in %s; the portal feed reads it as empty", mart, marts_dir)
            source = "(select 1) as no_rows where false"
            present = set()
        missing = [name for name in columns if name not in present]
        if present and missing:
            logger.warning("Mart %s in %s lacks columns %s; the portal feed reads them as null",
                           mart, marts_dir, ", ".join(missing))
        selection = ", ".join(_typed_column(name, kind, present) for name, kind in columns.items())
        connection.execute(f"create {relation} {mart} as select {selection} from {source}")
    return connection


def _typed_column(name: str, kind: str, present: set[str]) -> str:
    # The cast also types a column that its writer left untyped, such as one with only nulls.
    value = f'"{name}"' if name in present else "null"
    return f'cast({value} as {kind}) as "{name}"'


def _values_table(name: str, values: tuple[str, ...]) -> str:
    """Return a CTE that numbers ``values`` from 1 in the given order, as ``(key, position)``."""
    rows = ", ".join(f"('{value}', {position})" for position, value in enumerate(values, start=1))
    return f"{name}(key, position) as (select * from (values {rows}))"


def _label_case(column: str, labels: dict[str, str]) -> str:
    cases = " ".join(f"when '{key}' then '{label}'" for key, label in labels.items())
    return f"case {column} {cases} end"


def service_documents(connection: duckdb.DuckDBPyConnection, service_ids: list[str]) -> list[tuple[str, str]]:
    """Return ``(service_item_id, JSON document)`` for each of ``service_ids`` found, ordered by service_item_id."""
    if not service_ids:
        return []
    # Every mart is also filtered to the range of the ids, so that DuckDB skips the row groups
    # outside the range in the marts that are sorted by service_item_id. The bounds are SQL literals,
    # not parameters, because a 10,000-id batch of the 1M benchmark's marts took 0.78 s with
    # literals and 1.08 s with parameters (DuckDB 1.5.6).
    low, high = ("'{}'".format(value.replace("'", "''")) for value in (min(service_ids), max(service_ids)))
    in_range = f"service_item_id between {low} and {high}"
    return connection.execute(
        f"""
        with

        selected as (
            select unnest($ids::varchar[]) as service_item_id
        ),

        {_values_table("dimension_positions", DIMENSION_IDS)},

        dimensions as (
            select
                dimension.service_item_id,
                map_from_entries(list(
                    (dimension.dimension, {{
                        'label': dimension.dimension_label,
                        'value': dimension.value,
                        'value_label': {_label_case("dimension.value", DIMENSION_VALUE_LABELS)},
                        'rule_id': dimension.rule_id,
                        'rule_description': dimension.rule_description,
                        'evidence': dimension.evidence,
                        'decided_by': dimension.decided_by
                    }})
                    order by positions.position nulls last, dimension.dimension
                )) as dimensions
            from fct_service_item_dimension as dimension
            left join dimension_positions as positions on positions.key = dimension.dimension
            where dimension.{in_range} and dimension.service_item_id in (select service_item_id from selected)
            group by dimension.service_item_id
        ),

        themes as (
            select
                service_item_id,
                list(distinct audience order by audience) filter (where audience is not null) as audiences,
                list(
                    {{'audience': audience, 'audience_label': {_label_case("audience", AUDIENCE_LABELS)},
                      'code': theme_code, 'label': theme_label, 'rule_id': rule_id}}
                    order by audience, theme_code
                ) filter (where not coalesce(is_unassigned, false)) as themes
            from mart_service_themes
            where {in_range} and service_item_id in (select service_item_id from selected)
            group by service_item_id
        ),

        theme_steps as (
            select
                service_item_id,
                list(
                    {{'theme_id': theme_id, 'theme_name': theme_name, 'step_id': step_id, 'step_name': step_name,
                      'rank': service_rank}}
                    order by theme_position, theme_id, step_position, step_id
                ) as theme_steps
            from mart_theme_steps
            where {in_range} and service_item_id in (select service_item_id from selected)
            group by service_item_id
        ),

        systems as (
            select
                link.service_item_id,
                list(
                    {{'id': system.system_id, 'name': system.name, 'rule_id': link.rule_id, 'evidence': link.evidence}}
                    order by system.system_order, system.system_id
                ) as business_systems
            from bridge_service_business_system as link
            inner join dim_business_system as system using (system_id)
            where link.{in_range} and link.service_item_id in (select service_item_id from selected)
            group by link.service_item_id
        )

        select
            item.service_item_id,
            to_json({{
                'id': item.service_item_id,
                'name': item.task_name,
                'task_code': item.task_code,
                'catalog_code': item.catalog_code,
                'task_type': {{'code': item.task_type_code, 'label': item.task_type_label}},
                'department': {{'id': item.department_id, 'name': item.dept_name, 'code': item.dept_code}},
                'region': {{'code': item.region_code, 'name': region.name}},
                'link': item.link_url,
                'has_usable_link': item.has_usable_link,
                'audiences': coalesce(themes.audiences, []),
                'themes': coalesce(themes.themes, []),
                'theme_steps': coalesce(theme_steps.theme_steps, []),
                'dimensions': dimensions.dimensions,
                'business_systems': coalesce(systems.business_systems, []),
                'evidence_source_ids': item.evidence_source_ids,
                'quality_flags': item.quality_flags,
                'is_withdrawn': coalesce(status.is_withdrawn, false)
            }})::varchar as document
        from fct_service_item as item
        left join dim_region as region using (region_code)
        left join fct_service_item_status as status using (service_item_id)
        left join dimensions using (service_item_id)
        left join themes using (service_item_id)
        left join theme_steps using (service_item_id)
        left join systems using (service_item_id)
        where item.{in_range} and item.service_item_id in (select service_item_id from selected)
        order by {SERVICE_ORDER}
        """,
        {"ids": service_ids},
    ).fetchall()


def content_documents(connection: duckdb.DuckDBPyConnection, content_ids: list[str]) -> list[tuple[str, str]]:
    """Return ``(content_id, JSON document)`` for each of ``content_ids`` found, newest first."""
    if not content_ids:
        return []
    return connection.execute(
        f"""
        with

        selected as (
            select unnest($ids::varchar[]) as content_id
        ),

        themes as (
            select
                content_id,
                list({{'theme_id': theme_id, 'theme_name': theme_name}} order by theme_id) as themes
            from bridge_theme_content
            where content_id in (select content_id from selected)
            group by content_id
        )

        select
            content.content_id,
            to_json({{
                'id': content.content_id,
                'kind': content.content_kind,
                'kind_label': content.content_kind_label,
                'title': content.title,
                'publisher': content.publisher,
                'published_at': strftime(content.published_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
                'published_on': content.published_on,
                'link': content.link_url,
                'category': content.category,
                'source_id': content.source_id,
                'themes': coalesce(themes.themes, [])
            }})::varchar as document
        from fct_content_item as content
        left join themes using (content_id)
        where content.content_id in (select content_id from selected)
        order by {CONTENT_ORDER}
        """,
        {"ids": content_ids},
    ).fetchall()


def theme_documents(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Return ``(theme_id, JSON document)`` per theme, in the editors' theme order.

    A step lists its services primary first. A step without services comes from
    ``mart_theme_gaps`` and carries the gap's reason.
    """
    return connection.execute(_theme_documents_query()).fetchall()


def _fetch_batches(cursor: duckdb.DuckDBPyConnection, size: int) -> Iterator[list[tuple[Any, ...]]]:
    """Yield the rows of the query that ``cursor`` executed, at most ``size`` at a time."""
    while batch := cursor.fetchmany(size):
        yield batch


def _theme_documents_query() -> str:
    # NOTE: a step whose every service the audit blocked is in neither mart_theme_steps nor
    # mart_theme_gaps of the published version, so its theme document leaves the step out.
    return f"""
        with

        {_values_table("form_positions", CONTENT_FORM_ORDER)},

        themes as (
            select
                theme_id,
                theme_name,
                theme_position,
                audience,
                is_active,
                theme_result,
                list(
                    {{'dimension': dimension, 'label': dimension_label, 'service_count': service_count,
                      'primary_count': primary_count, 'secondary_count': secondary_count,
                      'unknown_count': unknown_count, 'primary_share': primary_share,
                      'secondary_share': secondary_share, 'unknown_share': unknown_share,
                      'breaches': coalesce(breaches, [])}}
                    order by dimension_position, dimension
                ) as composition
            from mart_theme_composition
            group by theme_id, theme_name, theme_position, audience, is_active, theme_result
        ),

        step_services as (
            select
                theme_id,
                step_id,
                list(
                    {{'id': service_item_id, 'name': task_name, 'task_code': task_code, 'catalog_code': catalog_code,
                      'department': {{'id': department_id, 'name': dept_name}}, 'link': link_url,
                      'rank': service_rank, 'resource_kind': resource_kind,
                      'primary_dimension_count': primary_dimension_count, 'matched_by': matched_by,
                      'evidence': evidence, 'override_id': override_id}}
                    order by service_rank, service_item_id
                ) as services
            from mart_theme_steps
            group by theme_id, step_id
        ),

        step_names as (
            select distinct theme_id, step_id, step_position, step_name from mart_theme_steps
            union
            select theme_id, step_id, step_position, step_name from mart_theme_gaps
        ),

        steps as (
            select
                step.theme_id,
                list(
                    {{'id': step.step_id, 'position': step.step_position, 'name': step.step_name,
                      'service_count': coalesce(len(step_services.services), 0),
                      'services': coalesce(step_services.services, []),
                      'gap': case when gap.step_id is not null then
                          {{'reason': gap.gap_reason, 'matcher_text': gap.matcher_text,
                            'removed_count': gap.removed_count}} end}}
                    order by step.step_position, step.step_id
                ) as steps,
                list(
                    {{'step_id': step.step_id, 'step_name': step.step_name, 'reason': gap.gap_reason}}
                    order by step.step_position, step.step_id
                ) filter (where gap.step_id is not null) as step_gaps
            from step_names as step
            left join step_services using (theme_id, step_id)
            left join mart_theme_gaps as gap using (theme_id, step_id)
            group by step.theme_id
        ),

        theme_services as (
            select theme_id, count(distinct service_item_id) as service_count
            from mart_theme_steps
            group by theme_id
        ),

        form_items as (
            select
                theme_id,
                content_form,
                any_value(content_form_label) as content_form_label,
                list(
                    {{'id': item_id, 'title': title, 'url': url, 'provider': provider, 'published_on': published_on,
                      'step_id': step_id, 'evidence': evidence, 'rank': item_rank}}
                    order by item_rank, item_id
                ) as items
            from mart_theme_content
            group by theme_id, content_form
        ),

        forms as (
            select
                coalesce(gaps.theme_id, form_items.theme_id) as theme_id,
                coalesce(gaps.content_kind, form_items.content_form) as form,
                coalesce(gaps.content_kind_label, form_items.content_form_label) as label,
                coalesce(form_items.items, []) as items,
                coalesce(gaps.is_gap, form_items.items is null) as is_gap
            from mart_theme_content_gaps as gaps
            full join form_items
                on form_items.theme_id = gaps.theme_id and form_items.content_form = gaps.content_kind
        ),

        content_forms as (
            select
                forms.theme_id,
                list(
                    {{'form': forms.form, 'label': forms.label, 'count': len(forms.items), 'is_gap': forms.is_gap,
                      'items': forms.items}}
                    order by positions.position nulls last, forms.form
                ) as content_forms,
                list(forms.form order by positions.position nulls last, forms.form)
                    filter (where forms.is_gap) as form_gaps
            from forms
            left join form_positions as positions on positions.key = forms.form
            group by forms.theme_id
        ),

        theme_system_links as (
            select
                step.theme_id,
                link.system_id,
                list(distinct step.service_item_id order by step.service_item_id) as service_ids,
                list(distinct step.step_id order by step.step_id) as step_ids
            from mart_theme_steps as step
            inner join bridge_service_business_system as link using (service_item_id)
            group by step.theme_id, link.system_id
        ),

        systems as (
            select
                links.theme_id,
                list(
                    {{'id': system.system_id, 'name': system.name, 'full_name': system.full_name,
                      'description': system.description, 'departments': system.current_departments,
                      'applications': system.applications, 'service_count': len(links.service_ids),
                      'service_ids': links.service_ids, 'step_ids': links.step_ids}}
                    order by system.system_order, system.system_id
                ) as business_systems
            from theme_system_links as links
            inner join dim_business_system as system using (system_id)
            group by links.theme_id
        )

        select
            themes.theme_id,
            to_json({{
                'schema_version': {SCHEMA_VERSION},
                'id': themes.theme_id,
                'name': themes.theme_name,
                'position': themes.theme_position,
                'audience': themes.audience,
                'audience_label': {_label_case("themes.audience", AUDIENCE_LABELS)},
                'is_active': themes.is_active,
                'composition_result': themes.theme_result,
                'composition_result_label': {_label_case("themes.theme_result", COMPOSITION_RESULT_LABELS)},
                'step_count': coalesce(len(steps.steps), 0),
                'service_count': coalesce(theme_services.service_count, 0),
                'steps': coalesce(steps.steps, []),
                'content_forms': coalesce(content_forms.content_forms, []),
                'business_systems': coalesce(systems.business_systems, []),
                'gaps': {{
                    'steps': coalesce(steps.step_gaps, []),
                    'content_forms': coalesce(content_forms.form_gaps, [])
                }},
                'composition': themes.composition
            }})::varchar as document
        from themes
        left join steps using (theme_id)
        left join theme_services using (theme_id)
        left join content_forms using (theme_id)
        left join systems using (theme_id)
        order by themes.theme_position, themes.theme_id
        """


def theme_summary(document: dict[str, Any]) -> dict[str, Any]:
    """Return the entry of ``themes.json`` for one parsed theme document."""
    return {
        "id": document["id"],
        "name": document["name"],
        "position": document["position"],
        "audience": document["audience"],
        "audience_label": document["audience_label"],
        "is_active": document["is_active"],
        "composition_result": document["composition_result"],
        "composition_result_label": document["composition_result_label"],
        "step_count": document["step_count"],
        "gap_step_count": len(document["gaps"]["steps"]),
        "service_count": document["service_count"],
        "business_system_count": len(document["business_systems"]),
        "content_counts": {form["form"]: form["count"] for form in document["content_forms"]},
        "path": theme_path(document["id"]),
    }


def theme_path(theme_id: str) -> str:
    return f"themes/{theme_id}.json"


def page_path(collection: str, page: int) -> str:
    return f"{collection}/page-{page:04d}.json"


def department_documents(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Return one JSON document per department, ordered by department_id."""
    return [row[0] for row in connection.execute(DEPARTMENT_DOCUMENTS_QUERY).fetchall()]


DEPARTMENT_DOCUMENTS_QUERY = """
        select to_json({
            'id': department_id,
            'name': dept_name,
            'code': dept_code,
            'code_status': dept_code_status,
            'codes': dept_codes,
            'source_ids': source_ids,
            'service_item_count': service_item_count
        })::varchar
        from dim_department
        order by department_id
        """


def value_labels(connection: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Return the Chinese labels of the coded values that the documents use."""

    def pairs(query: str) -> dict[str, str]:
        return {key: label for key, label in connection.execute(query).fetchall() if key is not None}

    dimension_labels = pairs("select distinct dimension, dimension_label from fct_service_item_dimension")
    content_labels = pairs(
        """
        select distinct content_kind, content_kind_label from fct_content_item
        union
        select distinct content_kind, content_kind_label from mart_theme_content_gaps
        """
    )
    dimension_order = {dimension: position for position, dimension in enumerate(DIMENSION_IDS)}
    form_order = {form: position for position, form in enumerate(CONTENT_FORM_ORDER)}
    return {
        "audiences": dict(AUDIENCE_LABELS),
        "dimensions": dict(sorted(dimension_labels.items(),
                                  key=lambda pair: (dimension_order.get(pair[0], len(DIMENSION_IDS)), pair[0]))),
        "dimension_values": dict(DIMENSION_VALUE_LABELS),
        "content_kinds": dict(sorted(content_labels.items(),
                                     key=lambda pair: (form_order.get(pair[0], len(CONTENT_FORM_ORDER)), pair[0]))),
        "task_types": pairs("select distinct task_type_code, task_type_label from fct_service_item order by 1"),
        "composition_results": dict(COMPOSITION_RESULT_LABELS),
    }


def content_kind_counts(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(connection.execute(
        "select content_kind, count(*) from fct_content_item group by content_kind order by content_kind"
    ).fetchall())


def _dumps(payload: Any, *, indent: int | None = None) -> str:
    separators = None if indent else (",", ":")
    return json.dumps(payload, ensure_ascii=False, indent=indent, separators=separators)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def _write_pages(connection: duckdb.DuckDBPyConnection, feed_dir: Path, collection: str, ids_query: str,
                 parameters: list[Any], documents: Callable[[list[str]], list[tuple[str, str]]], page_size: int,
                 order: str) -> dict[str, Any]:
    """Write ``<collection>/page-NNNN.json`` and ``<collection>.json``; return the collection's index entry.

    ``ids_query`` selects the collection's ids in page order. ``documents`` returns ``(id, JSON
    document)`` for a list of ids, in the same order. The ids stream through a second cursor in
    batches of PAGES_PER_QUERY pages, so Python keeps one batch of ids and documents in memory at a time.
    """
    total = connection.execute(f"select count(*) from ({ids_query})", parameters).fetchone()[0]
    page_count = math.ceil(total / page_size)
    pages = []
    number = 0
    with connection.cursor() as id_cursor:
        id_cursor.execute(ids_query, parameters)
        # One query builds several pages, because each query costs a fixed time besides its rows.
        for batch_ids in _fetch_batches(id_cursor, page_size * PAGES_PER_QUERY):
            batch_ids = [row[0] for row in batch_ids]
            rows = documents(batch_ids)
            if [row[0] for row in rows] != batch_ids:
                raise FeedError(f"the documents of {collection} from page {number + 1} on do not match its ids")
            for offset in range(0, len(rows), page_size):
                number += 1
                page_rows = rows[offset:offset + page_size]
                _write_page(feed_dir, collection, number, page_count, page_size, total, page_rows)
                pages.append({"page": number, "path": page_path(collection, number), "count": len(page_rows),
                              "first_id": page_rows[0][0], "last_id": page_rows[-1][0]})
    if number != page_count:
        raise FeedError(f"{collection} has {number} pages, but its count of {total} items needs {page_count}")

    descriptor = {"schema_version": SCHEMA_VERSION, "collection": collection, "order": order, "total": total,
                  "page_size": page_size, "page_count": page_count, "pages": pages}
    _write(feed_dir / f"{collection}.json", _dumps(descriptor, indent=1) + "\n")
    return {"path": f"{collection}.json", "total": total, "page_count": page_count,
            "first_page": page_path(collection, 1) if pages else None}


def _write_page(feed_dir: Path, collection: str, number: int, page_count: int, page_size: int, total: int,
                rows: list[tuple[str, str]]) -> None:
    header = {
        "schema_version": SCHEMA_VERSION,
        "collection": collection,
        "page": number,
        "page_count": page_count,
        "page_size": page_size,
        "total": total,
        "prev": page_path(collection, number - 1) if number > 1 else None,
        "next": page_path(collection, number + 1) if number < page_count else None,
    }
    items = ",\n".join(document for _, document in rows)
    _write(feed_dir / page_path(collection, number), _dumps(header)[:-1] + ',"items":[\n' + items + "\n]}\n")


def _write_themes(connection: duckdb.DuckDBPyConnection, feed_dir: Path) -> list[str]:
    """Write ``themes/<theme_id>.json`` and ``themes.json``; return the paths of the theme documents."""
    summaries = []
    with connection.cursor() as cursor:
        cursor.execute(_theme_documents_query())
        for batch in _fetch_batches(cursor, FETCH_ROWS):
            for theme_id, document in batch:
                _write(feed_dir / theme_path(theme_id), document + "\n")
                summaries.append(theme_summary(json.loads(document)))
    themes = {"schema_version": SCHEMA_VERSION, "total": len(summaries), "themes": summaries}
    _write(feed_dir / "themes.json", _dumps(themes, indent=1) + "\n")
    return [summary["path"] for summary in summaries]


def _write_departments(connection: duckdb.DuckDBPyConnection, feed_dir: Path) -> int:
    """Write ``departments.json``, one department per line; return the number of departments."""
    total = connection.execute("select count(*) from dim_department").fetchone()[0]
    header = _dumps({"schema_version": SCHEMA_VERSION, "total": total})[:-1]
    path = feed_dir / "departments.json"
    with open(path, "w", encoding="utf-8", newline="\n") as handle, connection.cursor() as cursor:
        handle.write(header + ',"departments":[\n')
        cursor.execute(DEPARTMENT_DOCUMENTS_QUERY)
        written = 0
        for batch in _fetch_batches(cursor, FETCH_ROWS):
            handle.write((",\n" if written else "") + ",\n".join(row[0] for row in batch))
            written += len(batch)
        handle.write("\n]}\n")
    if written != total:
        raise FeedError(f"departments.json lists {written} departments, but dim_department has {total}")
    return total


def _write_collections(connection: duckdb.DuckDBPyConnection, feed_dir: Path, page_size: int) -> dict[str, Any]:
    """Write the paged collections of services and content items; return their index entries."""
    collections = {
        "services": _write_pages(
            connection, feed_dir, "services",
            f"select service_item_id from fct_service_item as item order by {SERVICE_ORDER}", [],
            partial(service_documents, connection), page_size, "service_item_id",
        ),
    }
    for collection, kinds in CONTENT_COLLECTIONS.items():
        entry = _write_pages(
            connection, feed_dir, collection,
            f"select content_id from fct_content_item as content where list_contains(?, content_kind) "
            f"order by {CONTENT_ORDER}", [list(kinds)],
            partial(content_documents, connection), page_size, "published_at desc, content_id",
        )
        collections[collection] = {**entry, "kinds": list(kinds)}
    return collections


def write_portal_feed(version_dir: Path, *, page_size: int = PAGE_SIZE) -> dict[str, int]:
    """Write ``feed/`` into ``version_dir`` from its ``marts/``; return the number of items per collection."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, not {page_size}")
    feed_dir = version_dir / FEED_DIR
    if feed_dir.exists():
        raise FeedError(f"{feed_dir} already exists; a version's feed is written once")
    feed_dir.mkdir()

    with connect_marts(version_dir / "marts") as connection:
        theme_paths = _write_themes(connection, feed_dir)
        department_count = _write_departments(connection, feed_dir)
        collections = _write_collections(connection, feed_dir, page_size)
        counts = {
            "themes": len(theme_paths),
            "departments": department_count,
            **{name: entry["total"] for name, entry in collections.items()},
        }
        index = {
            "schema_version": SCHEMA_VERSION,
            "page_size": page_size,
            "counts": {
                **counts,
                "content_kinds": content_kind_counts(connection),
                "business_systems": connection.execute("select count(*) from dim_business_system").fetchone()[0],
            },
            "files": {"themes": "themes.json", "theme_documents": theme_paths, "departments": "departments.json"},
            "collections": collections,
            "labels": {"fields": FIELD_LABELS, **value_labels(connection)},
        }
    _write(feed_dir / "index.json", _dumps(index, indent=1) + "\n")

    logger.info("Wrote the portal feed in %s: %s", feed_dir,
                ", ".join(f"{count} {name}" for name, count in counts.items()))
    return counts
