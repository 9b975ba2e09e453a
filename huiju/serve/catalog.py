"""One published version held in memory for the read API.

A :class:`Catalog` copies the marts of one version into an in-memory DuckDB database when the
version is first requested, and builds the documents that never change (themes, departments)
right away. Services and content items are selected and built per request with the queries of
:mod:`huiju.portal_feed`, so each response matches the static feed of the same version.

NOTE: memory grows with the catalog. One version of 113,300 services (the demo catalog copied 100
times) took about 640 MB, and :class:`~huiju.serve.versions.VersionCache` keeps up to three versions.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from huiju import portal_feed
from huiju.editorial.dimensions import DIMENSION_IDS
from huiju.serve.versions import PublishedVersion

logger = logging.getLogger(__name__)

# One row per service with the columns that the filters of GET /services compare.
_SERVICE_SEARCH = f"""
create table service_search as
with

audiences as (
    select service_item_id, list(distinct audience order by audience) as audiences
    from mart_service_themes
    where audience is not null
    group by service_item_id
),

dimensions as (
    select
        service_item_id,
        {", ".join(f"max(value) filter (where dimension = '{dimension}') as dimension_{dimension}"
                   for dimension in DIMENSION_IDS)}
    from fct_service_item_dimension
    group by service_item_id
)

select
    item.service_item_id,
    lower(item.task_name) as name_key,
    lower(item.task_code) as task_code_key,
    item.department_id,
    item.dept_name,
    item.region_code,
    left(item.region_code, 6) as county_code,
    item.task_type_code,
    item.task_type_label,
    coalesce(audiences.audiences, []) as audiences,
    dimensions.* exclude (service_item_id)
from fct_service_item as item
left join audiences using (service_item_id)
left join dimensions using (service_item_id)
order by item.service_item_id
"""


@dataclass(frozen=True)
class ServiceFilters:
    """Conditions on services; each one set must hold. Values are codes, not labels."""

    q: str | None = None
    department: str | None = None
    region: str | None = None
    audience: str | None = None
    item_type: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()


class Catalog:
    """The data of one published version, loaded once; safe to share between request threads."""

    def __init__(self, version: PublishedVersion) -> None:
        started = time.monotonic()
        self.version = version
        self._database = portal_feed.connect_marts(version.path / "marts", in_memory=True)
        self._database.execute(_SERVICE_SEARCH)

        themes = portal_feed.theme_documents(self._database)
        # Bytes as the static feed stores them in themes/<theme_id>.json.
        self.theme_documents = {theme_id: (document + "\n").encode("utf-8") for theme_id, document in themes}
        self.theme_summaries = [portal_feed.theme_summary(json.loads(document)) for _, document in themes]
        self.departments = [json.loads(document) for document in portal_feed.department_documents(self._database)]
        self.labels = portal_feed.value_labels(self._database)
        self.content_kinds = portal_feed.content_kind_counts(self._database)
        self.service_count = self._database.execute("select count(*) from fct_service_item").fetchone()[0]
        logger.info("Loaded version %s for the read API in %.2f s: %d services, %d themes",
                    version.version_id, time.monotonic() - started, self.service_count, len(self.theme_documents))

    def counts(self) -> dict[str, Any]:
        return {
            "services": self.service_count,
            "themes": len(self.theme_documents),
            "departments": len(self.departments),
            "content_kinds": dict(self.content_kinds),
        }

    def find_services(self, filters: ServiceFilters, offset: int, limit: int) -> tuple[int, list[str]]:
        """Return the number of services that match ``filters`` and the documents of one page of them."""
        conditions = ["true"]
        parameters: dict[str, Any] = {}
        if filters.q is not None:
            conditions.append("(contains(name_key, $q) or contains(task_code_key, $q))")
            parameters["q"] = filters.q.lower()
        if filters.department is not None:
            conditions.append("(department_id = $department or dept_name = $department)")
            parameters["department"] = filters.department
        if filters.region is not None:
            conditions.append("(region_code = $region or county_code = $region)")
            parameters["region"] = filters.region
        if filters.audience is not None:
            conditions.append("list_contains(audiences, $audience)")
            parameters["audience"] = filters.audience
        if filters.item_type is not None:
            conditions.append("(task_type_code = $item_type or task_type_label = $item_type)")
            parameters["item_type"] = filters.item_type
        for dimension, value in filters.dimensions:
            if dimension not in DIMENSION_IDS:
                raise ValueError(f"unknown dimension {dimension!r}; use one of {', '.join(DIMENSION_IDS)}")
            conditions.append(f"dimension_{dimension} = ${dimension}")
            parameters[dimension] = value
        where = " and ".join(conditions)

        return self._page(
            "select service_item_id from service_search as item", where, portal_feed.SERVICE_ORDER,
            parameters, offset, limit, portal_feed.service_documents,
        )

    def service(self, service_item_id: str) -> str | None:
        """Return the document of one service, or None when the version has no such service."""
        with self._database.cursor() as cursor:
            documents = portal_feed.service_documents(cursor, [service_item_id])
        return documents[0][1] if documents else None

    def find_content(self, kinds: tuple[str, ...], q: str | None, offset: int, limit: int) -> tuple[int, list[str]]:
        """Return the number of content items of ``kinds`` whose title contains ``q``, and one page of them."""
        where = "list_contains($kinds::varchar[], content.content_kind)"
        parameters: dict[str, Any] = {"kinds": list(kinds)}
        if q is not None:
            where += " and contains(lower(content.title), $q)"
            parameters["q"] = q.lower()

        return self._page(
            "select content.content_id from fct_content_item as content", where, portal_feed.CONTENT_ORDER,
            parameters, offset, limit, portal_feed.content_documents,
        )

    def _page(self, select_ids: str, where: str, order: str, parameters: dict[str, Any], offset: int, limit: int,
              documents_of: Callable[[duckdb.DuckDBPyConnection, list[str]], list[tuple[str, str]]],
              ) -> tuple[int, list[str]]:
        """Count the rows of ``select_ids`` that match ``where``; return the count and one page of documents."""
        with self._database.cursor() as cursor:
            total = cursor.execute(f"select count(*) from ({select_ids} where {where})", parameters).fetchone()[0]
            ids = [row[0] for row in cursor.execute(
                f"{select_ids} where {where} order by {order} limit {int(limit)} offset {int(offset)}", parameters,
            ).fetchall()]
            documents = [document for _, document in documents_of(cursor, ids)]
        return total, documents
