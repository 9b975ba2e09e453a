"""Open exchange formats of a published version: CPSV-AP 3.2 (Turtle and JSON-LD) and schema.org JSON-LD.

``write_exchange_files`` reads the version's Parquet marts and writes::

    exchange/cpsv-ap.ttl                 CPSV-AP 3.2 graph of the published service items
    exchange/cpsv-ap.jsonld              the same graph as JSON-LD, one node object per line
    exchange/schema-org/services.jsonld  one schema.org GovernmentService per service item

IRIs are built only from mart ids, so the same service keeps its IRI in every version. Things get
``<base>id/<kind>/<id>`` and Huiju's own code lists get ``<base>def/<list>/<code>``. The base comes
from ``Settings.exchange_base_iri`` (``HUIJU_EXCHANGE_BASE_IRI``). Its default,
``https://data.huiju.example/``, uses the top-level domain ``.example`` that RFC 2606 reserves, so
it never resolves to a real host. A deployment sets the base to the host that will dereference these IRIs.

CPSV-AP mapping, one node per:

- service item: ``cpsv:PublicService`` with ``dct:identifier`` (service_item_id), ``dct:title`` and a
  generated ``dct:description``, ``cv:hasCompetentAuthority``, ``dct:type`` (事项类型),
  ``cv:thematicArea`` (themes per audience), ``dct:audience``, ``dct:spatial`` (GB/T 2260 region),
  ``cv:isClassifiedBy`` (the eight dimensions and the twelve national business systems),
  ``cv:isGroupedBy`` (editorial themes), ``cv:hasChannel`` and ``adms:identifier`` (实施编码, 基本编码);
- department: ``cv:PublicOrganisation`` with ``skos:prefLabel``, ``dct:identifier`` and
  ``dct:spatial`` (every region of its items), and its validated code as an ``adms:identifier``;
- region: ``dct:Location`` with its GB/T 2260 name;
- online link: ``cv:Channel`` with ``vcard:hasURL``;
- active editorial theme: ``cv:LifeEvent`` (natural persons) or ``cv:BusinessEvent`` (legal persons),
  with ``cv:hasRelatedService`` and ``foaf:page`` to each notice or policy document (``foaf:Document``)
  linked to the theme;
- code list entry: ``skos:Concept`` in a ``skos:ConceptScheme``.

Chinese text carries the language tag ``zh-Hans``: the department systems publish Simplified
Chinese, and SPARQL ``langMatches(lang(?label), "zh")`` still matches the tag.

Both CPSV-AP files and the schema.org file are written node by node while the service rows stream
out of DuckDB in batches. Python keeps the shared nodes (departments, regions, code lists) and one
batch of rows in memory, while DuckDB sorts and stores the service rows. Every list is ordered, so the same marts
always give byte-identical files.
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import duckdb
import pyshacl
from rdflib import Graph
from rdflib.namespace import SH

from huiju.composition_report import AUDIENCE_LABELS
from huiju.settings import Settings

logger = logging.getLogger(__name__)

EXCHANGE_DIR = "exchange"
CPSV_TURTLE = "cpsv-ap.ttl"
CPSV_JSONLD = "cpsv-ap.jsonld"
SCHEMA_ORG_SERVICES = Path("schema-org") / "services.jsonld"

LANGUAGE = "zh-Hans"
FETCH_ROWS = 2000
# Writing the service nodes is Python work: one process took 235 s for 1M synthetic services
# (2-core AMD EPYC, CPython 3.11). A large export is therefore split by service_item_id over
# worker processes. Below this many services per worker, starting a process costs more than it saves.
MIN_SERVICES_PER_WORKER = 50_000
# Marts whose rows each belong to one service item. A worker reads only its range of them.
SERVICE_KEYED_MARTS = ("fct_service_item", "mart_service_themes", "fct_service_item_dimension",
                       "bridge_service_business_system", "mart_theme_steps")

# Vocabularies of CPSV-AP 3.2 and the ones it reuses, bound to the same prefixes in both files.
PREFIXES = {
    "adms": "http://www.w3.org/ns/adms#",
    "cpsv": "http://purl.org/vocab/cpsv#",
    "cv": "http://data.europa.eu/m8g/",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "locn": "http://www.w3.org/ns/locn#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

# Chinese labels of Huiju's code lists, keyed by their path under <base>def/.
SCHEME_LABELS = {
    "item-type": "事项类型",
    "audience": "服务对象",
    "business-system": "十二金工程",
    "channel-type": "办理渠道类型",
    "content-kind": "内容类型",
}
# Chinese labels of the notation systems, keyed by their path under <base>def/notation/. A code in
# the exchange files is a skos:notation typed with its system's IRI.
NOTATION_LABELS = {
    "task-code": "实施编码",
    "catalog-code": "基本编码",
    "unified-social-credit-code": "统一社会信用代码",
    "organization-code": "组织机构代码",
}
# dim_department.dept_code_status values whose code passed its check-character test, with the
# notation system of the code. Codes with any other status are left out of the exchange files.
VALID_DEPARTMENT_CODES = {
    "valid_uscc": "unified-social-credit-code",
    "valid_org_code": "organization-code",
}
DIMENSION_VALUE_LABELS = {"primary": "为主", "secondary": "为辅"}
ONLINE_CHANNEL = ("online", "网上办理")
# Keys of the counts that write_exchange_files returns, with the class whose nodes each one counts.
COUNTED_CLASSES = {
    "services": "cpsv:PublicService",
    "organisations": "cv:PublicOrganisation",
    "locations": "dct:Location",
    "events": "cv:Event",
    "documents": "foaf:Document",
    "concepts": "skos:Concept",
}
EVENT_CLASSES = {"natural_person": "cv:LifeEvent", "legal_person": "cv:BusinessEvent"}
XSD_DATE = PREFIXES["xsd"] + "date"

# Characters that a Turtle IRIREF must not contain, and those that a Turtle string must escape.
_IRI_EXCLUDED = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_TURTLE_SPECIAL = re.compile(r'[\x00-\x1f"\\]')
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")
_LOCAL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_TURTLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}

@dataclass
class Node:
    """One subject and its statements, written as one Turtle block and one JSON-LD node object.

    Predicates and classes are compact IRIs with a prefix from PREFIXES, and linked resources are
    absolute IRIs. Each statement keeps the object's Turtle form and its JSON-LD value, both built
    once when the statement is added.
    """

    subject: str
    statements: list[tuple[str, str, Any]] = field(default_factory=list)

    def add_type(self, *classes: str) -> None:
        for class_name in classes:
            self.statements.append(("rdf:type", class_name, class_name))

    def add_link(self, predicate: str, iri: str | None) -> None:
        if iri is not None:
            self.statements.append((predicate, f"<{iri}>", {"@id": iri}))

    def add_text(self, predicate: str, text: str | None) -> None:
        """Add ``text`` as a Chinese string tagged with LANGUAGE."""
        if text is not None:
            self.statements.append(
                (predicate, f"{_turtle_string(text)}@{LANGUAGE}", {"@value": text, "@language": LANGUAGE})
            )

    def add_literal(self, predicate: str, value: str | None, datatype: str | None = None) -> None:
        """Add ``value`` as a plain string, or as a typed literal when ``datatype`` (an IRI) is given."""
        if value is None:
            return
        if datatype is None:
            self.statements.append((predicate, _turtle_string(value), value))
        else:
            self.statements.append((
                predicate,
                f"{_turtle_string(value)}^^{_compact(datatype) or f'<{datatype}>'}",
                {"@value": value, "@type": _compact(datatype) or datatype},
            ))


class IriMinter:
    """IRIs of things (``<base>id/...``) and of Huiju's code lists (``<base>def/...``)."""

    def __init__(self, base_iri: str) -> None:
        if not re.match(r"https?://[^/]+/", base_iri) or not base_iri.endswith("/"):
            raise ValueError(
                f"invalid exchange base IRI {base_iri!r}: expected an http or https IRI ending in '/', "
                "such as https://data.example.gov.cn/"
            )
        self.base = base_iri

    def _iri(self, *segments: str) -> str:
        return self.base + "/".join(_path_segment(segment) for segment in segments)

    def thing(self, kind: str, *segments: str) -> str:
        return self._iri("id", kind, *segments)

    def definition(self, *segments: str) -> str:
        return self._iri("def", *segments)


@functools.lru_cache(maxsize=1 << 12)
def _path_segment(value: str) -> str:
    """Percent-encode ``value`` for use as one IRI path segment.

    Ids and codes made of unreserved characters stay as they are.
    """
    return value if _UNRESERVED.fullmatch(value) else quote(value, safe="")


def _web_iri(url: str) -> str:
    """Return ``url`` as an IRI, percent-encoding the characters that RDF syntaxes do not allow in IRIs."""
    return _IRI_EXCLUDED.sub(lambda match: quote(match[0], safe=""), url)


# --- serialisation ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 8)
def _compact(iri: str) -> str | None:
    """Return ``prefix:local`` when a bound prefix abbreviates ``iri`` to a plain local name, else None."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and _LOCAL_NAME.fullmatch(iri, len(namespace)):
            return f"{prefix}:{iri[len(namespace):]}"
    return None


def _turtle_string(text: str) -> str:
    escaped = _TURTLE_SPECIAL.sub(
        lambda match: _TURTLE_ESCAPES.get(match[0]) or f"\\u{ord(match[0]):04X}", text
    )
    return f'"{escaped}"'


class CpsvWriter:
    """Write nodes to the Turtle and the JSON-LD file at once and count the triples written.

    Within a node, rdf:type comes first, then the predicates in lexical order, each with its objects
    in lexical order of their Turtle form. A repeated statement is written once.
    """

    def __init__(self, turtle: TextIO, jsonld: TextIO, *, part: bool = False, first_node: bool = True) -> None:
        """Start both files, or with ``part`` write only nodes, for appending to a started file.

        ``first_node`` is False when nodes already precede this writer's in the JSON-LD graph.
        """
        self.turtle = turtle
        self.jsonld = jsonld
        self.triples = 0
        self.class_counts: Counter[str] = Counter()
        self._first_node = first_node
        if part:
            return
        turtle.writelines(f"@prefix {prefix}: <{namespace}> .\n" for prefix, namespace in PREFIXES.items())
        context = json.dumps(PREFIXES, ensure_ascii=False, sort_keys=True)
        jsonld.write(f'{{"@context": {context},\n"@graph": [\n')

    @property
    def wrote_nodes(self) -> bool:
        return not self._first_node

    def write(self, node: Node) -> None:
        grouped: dict[str, dict[str, Any]] = {}
        for predicate, turtle, jsonld in node.statements:
            grouped.setdefault(predicate, {})[turtle] = jsonld
        types = grouped.pop("rdf:type", {})
        predicates = sorted(grouped)
        self.triples += len(types) + sum(len(grouped[predicate]) for predicate in predicates)
        self.class_counts.update(types.keys())

        lines = [f"    a {', '.join(sorted(types))}"] if types else []
        lines += [f"    {predicate} " + ",\n        ".join(sorted(grouped[predicate])) for predicate in predicates]
        self.turtle.write(f"\n<{node.subject}>\n" + " ;\n".join(lines) + " .\n")

        document: dict[str, Any] = {"@id": node.subject}
        if types:
            document["@type"] = [types[turtle] for turtle in sorted(types)]
        for predicate in predicates:
            values = [grouped[predicate][turtle] for turtle in sorted(grouped[predicate])]
            document[predicate] = values[0] if len(values) == 1 else values
        separator = "" if self._first_node else ",\n"
        self.jsonld.write(separator + json.dumps(document, ensure_ascii=False))
        self._first_node = False

    def close(self) -> None:
        self.jsonld.write("\n]}\n")


# --- reading the marts -----------------------------------------------------------------------------


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _rows(connection: duckdb.DuckDBPyConnection, query: str) -> Iterator[dict[str, Any]]:
    """Yield the rows of ``query`` as dicts, fetching FETCH_ROWS at a time."""
    cursor = connection.execute(query)
    columns = [column[0] for column in cursor.description]
    while batch := cursor.fetchmany(FETCH_ROWS):
        for row in batch:
            yield dict(zip(columns, row))


def _register_views(connection: duckdb.DuckDBPyConnection, marts_dir: Path,
                    service_range: tuple[str, str] | None = None) -> None:
    """Create one view per mart that the export reads, plus the known regions and exported themes.

    With ``service_range`` (first and last service_item_id), the marts keyed by service_item_id
    keep only the rows in that range. Where a mart is sorted by service_item_id, DuckDB skips its
    Parquet row groups outside the range.
    """
    for mart in ("fct_service_item", "dim_department", "dim_region", "mart_service_themes",
                 "fct_service_item_dimension", "bridge_service_business_system", "dim_business_system",
                 "mart_theme_steps", "bridge_theme_content", "fct_content_item"):
        path = marts_dir / f"{mart}.parquet"
        if not path.exists():
            raise FileNotFoundError(
                f"mart {mart} not found at {path}: write_exchange_files needs the marts of a complete published version"
            )
        condition = ""
        if service_range is not None and mart in SERVICE_KEYED_MARTS:
            first, last = (_sql_string(value) for value in service_range)
            condition = f" where service_item_id between {first} and {last}"
        connection.execute(f"create view {mart} as select * from read_parquet({_sql_string(str(path))}){condition}")
    # Region codes that GB/T 2260 lists, in use or abolished. A code not in the standard gets no Location.
    connection.execute("create view known_region as select * from dim_region where status in ('valid', 'retired')")
    # Themes the portal currently shows; a theme outside its active period is left out.
    connection.execute(
        """
        create view exported_theme as
        select theme_id, any_value(theme_name) as theme_name, any_value(audience) as audience,
               list(distinct service_item_id order by service_item_id) as service_item_ids
        from mart_theme_steps
        where is_active and service_item_id in (select service_item_id from fct_service_item)
        group by theme_id
        """
    )


# --- shared nodes ----------------------------------------------------------------------------------


def _scheme(iris: IriMinter, scheme: tuple[str, ...], label: str | None) -> Node:
    node = Node(iris.definition(*scheme))
    node.add_type("skos:ConceptScheme")
    node.add_text("skos:prefLabel", label)
    return node


def _concept(iris: IriMinter, scheme: tuple[str, ...], code: str, label: str | None) -> Node:
    node = Node(iris.definition(*scheme, code))
    node.add_type("skos:Concept")
    node.add_link("skos:inScheme", iris.definition(*scheme))
    node.add_literal("skos:notation", code)
    node.add_text("skos:prefLabel", label)
    return node


def _code_list_nodes(connection: duckdb.DuckDBPyConnection, iris: IriMinter) -> Iterator[Node]:
    """Yield the notation datatypes and every concept scheme and concept that a service refers to."""
    for notation, label in NOTATION_LABELS.items():
        node = Node(iris.definition("notation", notation))
        node.add_type("rdfs:Datatype")
        node.add_text("rdfs:label", label)
        yield node

    for scheme, label in SCHEME_LABELS.items():
        yield _scheme(iris, (scheme,), label)
    yield _concept(iris, ("channel-type",), *ONLINE_CHANNEL)

    for row in _rows(connection, """
            select task_type_code, min(task_type_label) as label from fct_service_item
            where task_type_code is not null group by task_type_code order by task_type_code"""):
        yield _concept(iris, ("item-type",), row["task_type_code"], row["label"])

    audiences = [row["audience"] for row in _rows(connection, """
            select distinct audience from mart_service_themes
            where not coalesce(is_unassigned, false) and audience is not null order by audience""")]
    for audience in audiences:
        label = AUDIENCE_LABELS.get(audience, audience)
        yield _concept(iris, ("audience",), audience, label)
        yield _scheme(iris, ("theme", audience), f"{label}主题")
    for row in _rows(connection, """
            select audience, theme_code, min(theme_label) as label from mart_service_themes
            where not coalesce(is_unassigned, false) and audience is not null and theme_code is not null
            group by audience, theme_code order by audience, theme_code"""):
        yield _concept(iris, ("theme", row["audience"]), row["theme_code"], row["label"])

    for row in _rows(connection, """
            select dimension, min(dimension_label) as label from fct_service_item_dimension
            group by dimension order by dimension"""):
        yield _scheme(iris, ("dimension", row["dimension"]), row["label"])
        for value, value_label in DIMENSION_VALUE_LABELS.items():
            yield _concept(iris, ("dimension", row["dimension"]), value, f"{row['label']}：{value_label}")

    for row in _rows(connection, "select system_id, name, full_name from dim_business_system order by system_id"):
        node = _concept(iris, ("business-system",), row["system_id"], row["name"])
        node.add_text("skos:altLabel", row["full_name"])
        yield node

    for row in _rows(connection, """
            select content_kind, min(content_kind_label) as label from fct_content_item
            group by content_kind order by content_kind"""):
        yield _concept(iris, ("content-kind",), row["content_kind"], row["label"])


def _full_region_name(row: dict[str, Any]) -> str | None:
    """Join province, city and name, skipping repeats such as 四川省 for the province itself."""
    parts: list[str] = []
    for part in (row["province"], row["city"], row["name"]):
        if part and part not in parts:
            parts.append(part)
    return "".join(parts) or None


def _region_nodes(connection: duckdb.DuckDBPyConnection, iris: IriMinter) -> Iterator[Node]:
    for row in _rows(connection, """
            select region_code, name, province, city from known_region
            where region_code in (select region_code from fct_service_item) order by region_code"""):
        node = Node(iris.thing("region", row["region_code"]))
        node.add_type("dct:Location")
        node.add_literal("dct:identifier", row["region_code"])
        node.add_text("skos:prefLabel", row["name"])
        node.add_text("locn:geographicName", _full_region_name(row))
        yield node


def _organisation_nodes(connection: duckdb.DuckDBPyConnection, iris: IriMinter) -> Iterator[Node]:
    """Yield each department that implements a published item, with its validated code."""
    rows = _rows(connection, """
        select
            department.department_id,
            department.dept_name,
            department.dept_code,
            department.dept_code_status,
            list(distinct known_region.region_code order by known_region.region_code)
                filter (where known_region.region_code is not null) as region_codes
        from dim_department as department
        inner join fct_service_item as item using (department_id)
        left join known_region on item.region_code = known_region.region_code
        group by all
        order by department.department_id
        """)
    without_region = []
    for row in rows:
        organisation = Node(iris.thing("organisation", row["department_id"]))
        organisation.add_type("cv:PublicOrganisation")
        organisation.add_literal("dct:identifier", row["department_id"])
        organisation.add_text("skos:prefLabel", row["dept_name"])
        # NOTE: CPSV-AP requires dct:spatial on a PublicOrganisation. A department whose items all
        # lack a GB/T 2260 region code gets none, so validate_cpsv reports it as a violation.
        if not row["region_codes"]:
            without_region.append(row["department_id"])
        for region_code in row["region_codes"] or []:
            organisation.add_link("dct:spatial", iris.thing("region", region_code))

        notation = VALID_DEPARTMENT_CODES.get(row["dept_code_status"])
        if notation and row["dept_code"]:
            identifier = Node(f"{organisation.subject}/identifier/{notation}")
            identifier.add_type("adms:Identifier")
            identifier.add_literal("skos:notation", row["dept_code"], datatype=iris.definition("notation", notation))
            organisation.add_link("adms:identifier", identifier.subject)
            yield identifier
        yield organisation
    if without_region:
        logger.warning("Departments %s have no item with a GB/T 2260 region code, so their CPSV-AP "
                       "PublicOrganisation lacks the required dct:spatial", ", ".join(without_region))


def _event_nodes(connection: duckdb.DuckDBPyConnection, iris: IriMinter) -> Iterator[Node]:
    """Yield each active editorial theme as a life or business event, then the documents linked to them."""
    rows = _rows(connection, """
        select theme.*, list(distinct link.content_id order by link.content_id)
                filter (where link.content_id is not null) as content_ids
        from exported_theme as theme
        left join bridge_theme_content as link using (theme_id)
        group by all
        order by theme.theme_id
        """)
    for row in rows:
        event = Node(iris.thing("event", row["theme_id"]))
        event.add_type("cv:Event")
        if row["audience"] in EVENT_CLASSES:
            event.add_type(EVENT_CLASSES[row["audience"]])
        event.add_literal("dct:identifier", row["theme_id"])
        event.add_text("dct:title", row["theme_name"])
        for service_item_id in row["service_item_ids"]:
            event.add_link("cv:hasRelatedService", iris.thing("service", service_item_id))
        for content_id in row["content_ids"] or []:
            event.add_link("foaf:page", iris.thing("content", content_id))
        yield event

    for row in _rows(connection, """
            select content_id, content_kind, title, published_on, link_url from fct_content_item
            where content_id in (select content_id from bridge_theme_content
                                 where theme_id in (select theme_id from exported_theme))
            order by content_id"""):
        document = Node(iris.thing("content", row["content_id"]))
        document.add_type("foaf:Document")
        document.add_literal("dct:identifier", row["content_id"])
        document.add_text("dct:title", row["title"])
        document.add_link("dct:type", iris.definition("content-kind", row["content_kind"]))
        if row["published_on"] is not None:
            document.add_literal("dct:issued", row["published_on"].isoformat(), datatype=XSD_DATE)
        if row["link_url"]:
            document.add_link("foaf:page", _web_iri(row["link_url"]))
        yield document


# --- service items ---------------------------------------------------------------------------------

SERVICE_QUERY = """
with themes as (
    select
        service_item_id,
        list(distinct audience order by audience) as audiences,
        list(distinct {'audience': audience, 'code': theme_code, 'label': theme_label}
             order by {'audience': audience, 'code': theme_code, 'label': theme_label}) as themes
    from mart_service_themes
    where not coalesce(is_unassigned, false) and audience is not null and theme_code is not null
    group by service_item_id
),

dimensions as (
    select service_item_id, list(distinct {'dimension': dimension, 'value': value}
                                 order by {'dimension': dimension, 'value': value}) as dimensions
    from fct_service_item_dimension
    where value in ('primary', 'secondary')
    group by service_item_id
),

systems as (
    select service_item_id, list(distinct system_id order by system_id) as system_ids
    from bridge_service_business_system
    group by service_item_id
),

events as (
    select unnest(service_item_ids) as service_item_id, theme_id from exported_theme
),

grouped_events as (
    select service_item_id, list(distinct theme_id order by theme_id) as theme_ids from events group by service_item_id
),

final as (
    select
        item.service_item_id,
        item.task_name,
        item.task_code,
        item.catalog_code,
        item.task_type_code,
        item.task_type_label,
        item.department_id,
        item.dept_name,
        department.dept_code,
        department.dept_code_status,
        known_region.region_code,
        known_region.name as region_name,
        known_region.province as region_province,
        known_region.city as region_city,
        case when item.has_usable_link then item.link_url end as link_url,
        coalesce(themes.audiences, []) as audiences,
        coalesce(themes.themes, []) as themes,
        coalesce(dimensions.dimensions, []) as dimensions,
        coalesce(systems.system_ids, []) as system_ids,
        coalesce(grouped_events.theme_ids, []) as theme_ids
    from fct_service_item as item
    left join dim_department as department using (department_id)
    left join known_region on item.region_code = known_region.region_code
    left join themes using (service_item_id)
    left join dimensions using (service_item_id)
    left join systems using (service_item_id)
    left join grouped_events using (service_item_id)
)

select * from final order by service_item_id
"""


def _service_description(row: dict[str, Any]) -> str:
    """Compose a Chinese description from the item's department, type and codes.

    The department systems publish no free-text description, and CPSV-AP requires one.
    """
    kind = f"{row['task_type_label']}事项" if row["task_type_label"] else "政务服务事项"
    text = f"{row['dept_name']}实施的{kind}" if row["dept_name"] else kind
    if row["task_code"]:
        text += f"，实施编码 {row['task_code']}"
    if row["catalog_code"]:
        text += f"，基本编码 {row['catalog_code']}"
    return text + "。"


def _service_nodes(row: dict[str, Any], iris: IriMinter) -> list[Node]:
    """Return the PublicService node of one item row, with its channel and identifier nodes."""
    service = Node(iris.thing("service", row["service_item_id"]))
    service.add_type("cpsv:PublicService")
    service.add_literal("dct:identifier", row["service_item_id"])
    service.add_text("dct:title", row["task_name"])
    service.add_text("dct:description", _service_description(row))
    service.add_link("cv:hasCompetentAuthority", iris.thing("organisation", row["department_id"]))
    if row["task_type_code"]:
        service.add_link("dct:type", iris.definition("item-type", row["task_type_code"]))
    if row["region_code"]:
        service.add_link("dct:spatial", iris.thing("region", row["region_code"]))
    for audience in row["audiences"]:
        service.add_link("dct:audience", iris.definition("audience", audience))
    for theme in row["themes"]:
        service.add_link("cv:thematicArea", iris.definition("theme", theme["audience"], theme["code"]))
    for dimension in row["dimensions"]:
        service.add_link("cv:isClassifiedBy", iris.definition("dimension", dimension["dimension"], dimension["value"]))
    for system_id in row["system_ids"]:
        service.add_link("cv:isClassifiedBy", iris.definition("business-system", system_id))
    for theme_id in row["theme_ids"]:
        service.add_link("cv:isGroupedBy", iris.thing("event", theme_id))
    nodes = [service]

    if row["link_url"]:
        channel = Node(f"{service.subject}/channel/{ONLINE_CHANNEL[0]}")
        channel.add_type("cv:Channel")
        channel.add_literal("dct:identifier", f"{row['service_item_id']}/channel/{ONLINE_CHANNEL[0]}")
        channel.add_link("dct:type", iris.definition("channel-type", ONLINE_CHANNEL[0]))
        channel.add_link("vcard:hasURL", _web_iri(row["link_url"]))
        service.add_link("cv:hasChannel", channel.subject)
        nodes.append(channel)

    for notation, code in (("task-code", row["task_code"]), ("catalog-code", row["catalog_code"])):
        if code:
            identifier = Node(f"{service.subject}/identifier/{notation}")
            identifier.add_type("adms:Identifier")
            identifier.add_literal("skos:notation", code, datatype=iris.definition("notation", notation))
            service.add_link("adms:identifier", identifier.subject)
            nodes.append(identifier)
    return nodes


def _schema_org_service(row: dict[str, Any], iris: IriMinter) -> dict[str, Any]:
    """Build the schema.org GovernmentService of one item row, leaving out the keys of absent values."""
    service: dict[str, Any] = {
        "@id": iris.thing("service", row["service_item_id"]),
        "@type": "GovernmentService",
        "name": row["task_name"],
        "description": _service_description(row),
        "identifier": [
            {"@type": "PropertyValue", "propertyID": NOTATION_LABELS[notation], "value": code}
            for notation, code in (("task-code", row["task_code"]), ("catalog-code", row["catalog_code"]))
            if code
        ],
        "serviceType": row["task_type_label"],
    }
    provider = {
        "@id": iris.thing("organisation", row["department_id"]),
        "@type": "GovernmentOrganization",
        "name": row["dept_name"],
    }
    if row["dept_code"] and row["dept_code_status"] in VALID_DEPARTMENT_CODES:
        provider["identifier"] = row["dept_code"]
    service["provider"] = provider
    if row["region_code"]:
        region_names = {"province": row["region_province"], "city": row["region_city"], "name": row["region_name"]}
        service["areaServed"] = {
            "@id": iris.thing("region", row["region_code"]),
            "@type": "AdministrativeArea",
            "name": _full_region_name(region_names),
            "identifier": row["region_code"],
        }
    service["audience"] = [
        {"@type": "Audience", "audienceType": AUDIENCE_LABELS.get(audience, audience)} for audience in row["audiences"]
    ]
    service["category"] = [theme["label"] for theme in row["themes"] if theme["label"]]
    if row["link_url"]:
        url = _web_iri(row["link_url"])
        service["url"] = url
        service["availableChannel"] = {"@type": "ServiceChannel", "name": ONLINE_CHANNEL[1], "serviceUrl": url}
    return {key: value for key, value in service.items() if value not in (None, [])}


# --- entry points ----------------------------------------------------------------------------------


def write_exchange_files(version_dir: Path, *, base_iri: str | None = None, workers: int | None = None) -> dict[str, int]:
    """Write the CPSV-AP and schema.org files of the version in ``version_dir`` and return node and triple counts.

    The schema.org services go into one JSON-LD document with a ``@graph``, one service per line,
    rather than one file per service. A version lists every file with its hash in its manifest, and
    a province publishes some hundred thousand items, so per-service files would multiply the
    manifest and the files to copy and hash by that number. A CDN serves the one file compressed
    (gzip turns the demo catalog's 1.7 MB into 137 KB), and a page that embeds one service's
    markup can take that service's line. ``base_iri`` defaults to ``Settings().exchange_base_iri``.

    The service nodes are written by ``workers`` processes, each taking one range of
    service_item_id, and appended in order, so the files are the same bytes for any number of
    workers. By default there is one worker per CPU and at least MIN_SERVICES_PER_WORKER
    services per worker; one worker writes in this process.
    """
    iris = IriMinter(base_iri or Settings().exchange_base_iri)
    marts_dir = version_dir / "marts"
    target = version_dir / EXCHANGE_DIR
    (target / SCHEMA_ORG_SERVICES).parent.mkdir(parents=True, exist_ok=True)

    with duckdb.connect() as connection, \
            open(target / CPSV_TURTLE, "w", encoding="utf-8", newline="\n") as turtle, \
            open(target / CPSV_JSONLD, "w", encoding="utf-8", newline="\n") as jsonld, \
            open(target / SCHEMA_ORG_SERVICES, "w", encoding="utf-8", newline="\n") as schema_org:
        connection.execute("set enable_progress_bar = false")
        _register_views(connection, marts_dir)
        writer = CpsvWriter(turtle, jsonld)
        schema_org.write('{"@context": "https://schema.org",\n"@graph": [\n')

        for nodes in (_code_list_nodes, _region_nodes, _organisation_nodes, _event_nodes):
            for node in nodes(connection, iris):
                writer.write(node)
        shards = _service_shards(connection, workers)
        if len(shards) == 1:
            _write_services(connection, iris, writer, schema_org, first_position=0)
        else:
            _write_services_in_workers(marts_dir, iris.base, shards, writer, schema_org, target)

        writer.close()
        schema_org.write("\n]}\n")

    counts = {name: writer.class_counts[class_name] for name, class_name in COUNTED_CLASSES.items()}
    counts["triples"] = writer.triples
    logger.info("Wrote CPSV-AP and schema.org files to %s with %d worker(s): %d services, %d organisations, "
                "%d triples", target, len(shards), counts["services"], counts["organisations"], counts["triples"])
    return counts


@dataclass(frozen=True)
class ServiceShard:
    """A range of service_item_id, both ends included, and the position of its first service.

    The ids are None when there are no services.
    """

    first_id: str | None
    last_id: str | None
    first_position: int


def _service_shards(connection: duckdb.DuckDBPyConnection, workers: int | None) -> list[ServiceShard]:
    """Split the services into ranges of nearly equal size, one per worker, in service_item_id order."""
    count = connection.execute("select count(*) from fct_service_item").fetchone()[0]
    if workers is None:
        workers = min(os.cpu_count() or 1, count // MIN_SERVICES_PER_WORKER)
    workers = max(1, min(workers, count))
    if workers == 1:
        first_id, last_id = connection.execute(
            "select min(service_item_id), max(service_item_id) from fct_service_item"
        ).fetchone()
        return [ServiceShard(first_id, last_id, 0)]
    rows = connection.execute(
        f"""
        select min(service_item_id), max(service_item_id), min(position) - 1
        from (
            select
                service_item_id,
                ntile({workers}) over (order by service_item_id) as shard,
                row_number() over (order by service_item_id) as position
            from fct_service_item
        )
        group by shard
        order by shard
        """
    ).fetchall()
    return [ServiceShard(first_id, last_id, position) for first_id, last_id, position in rows]


def _write_services(connection: duckdb.DuckDBPyConnection, iris: IriMinter, writer: CpsvWriter,
                    schema_org: TextIO, first_position: int) -> None:
    """Write the service nodes of every row of SERVICE_QUERY; ``first_position`` numbers the first row."""
    for position, row in enumerate(_rows(connection, SERVICE_QUERY), start=first_position):
        for node in _service_nodes(row, iris):
            writer.write(node)
        separator = ",\n" if position else ""
        schema_org.write(separator + json.dumps(_schema_org_service(row, iris), ensure_ascii=False))


def _write_service_part(marts_dir: Path, base_iri: str, shard: ServiceShard, first_node: bool,
                        part_prefix: Path) -> tuple[int, Counter[str]]:
    """Write one shard's services to ``<part_prefix>.ttl``, ``.jsonld`` and ``.schema.jsonld``.

    Runs in a worker process. Returns the triples written and the node count per class.
    """
    with duckdb.connect() as connection, \
            open(part_prefix.with_suffix(".ttl"), "w", encoding="utf-8", newline="\n") as turtle, \
            open(part_prefix.with_suffix(".jsonld"), "w", encoding="utf-8", newline="\n") as jsonld, \
            open(part_prefix.with_suffix(".schema.jsonld"), "w", encoding="utf-8", newline="\n") as schema_org:
        connection.execute("set enable_progress_bar = false")
        # The worker processes share the CPUs; each DuckDB gets one thread.
        connection.execute("set threads = 1")
        _register_views(connection, marts_dir, service_range=(shard.first_id, shard.last_id))
        writer = CpsvWriter(turtle, jsonld, part=True, first_node=first_node)
        _write_services(connection, IriMinter(base_iri), writer, schema_org, shard.first_position)
    return writer.triples, writer.class_counts


def _write_services_in_workers(marts_dir: Path, base_iri: str, shards: list[ServiceShard], writer: CpsvWriter,
                               schema_org: TextIO, target: Path) -> None:
    """Write the shards in worker processes and append their parts to the open files in shard order."""
    parts_dir = Path(tempfile.mkdtemp(prefix=".parts-", dir=target))
    try:
        # spawn, not fork: the pipeline process runs threads (Prefect's event loop and heartbeats),
        # and forking a process with threads can copy a held lock into the child.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=len(shards), mp_context=context) as pool:
            futures = [
                pool.submit(_write_service_part, marts_dir, base_iri, shard,
                            not writer.wrote_nodes and index == 0, parts_dir / f"part-{index:04d}")
                for index, shard in enumerate(shards)
            ]
            try:
                results = [future.result() for future in futures]
            except BrokenProcessPool as error:
                raise RuntimeError(
                    f"an exchange worker process for {marts_dir} exited without a result, possibly killed by "
                    "the out-of-memory killer; check the kernel log (dmesg) or pass workers=1"
                ) from error
        for index, (triples, class_counts) in enumerate(results):
            writer.triples += triples
            writer.class_counts.update(class_counts)
            prefix = parts_dir / f"part-{index:04d}"
            for handle, suffix in ((writer.turtle, ".ttl"), (writer.jsonld, ".jsonld"),
                                   (schema_org, ".schema.jsonld")):
                with open(prefix.with_suffix(suffix), encoding="utf-8", newline="\n") as part:
                    shutil.copyfileobj(part, handle, 1 << 20)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)


def validate_cpsv(path: Path, shapes_path: Path) -> tuple[bool, int, str]:
    """Validate a CPSV-AP Turtle or JSON-LD file with pySHACL and return conforms, violation count and report.

    Inference stays off: the CPSV-AP shapes graph carries no ontology, and the export states every
    class that a shape targets or checks with ``sh:class`` explicitly. Warnings and infos are only
    logged. The CPSV-AP 3.2.0 shapes declare no ``sh:severity``, so all their results are violations.

    NOTE: pySHACL keeps the whole data graph in memory and its time grows with the triple count.
    A 10,197-item export (272,215 triples) took about 90 s of CPU and 460 MB on a 2-vCPU AMD EPYC
    machine, so checking a province-size export needs minutes per ten thousand items. The publish
    step does not call this function.
    """
    data = Graph().parse(path, format="json-ld" if path.suffix == ".jsonld" else "turtle")
    shapes = Graph().parse(shapes_path, format="turtle")
    conforms, results, report_text = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    severities = [severity for _, _, severity in results.triples((None, SH.resultSeverity, None))]
    violations = severities.count(SH.Violation)
    logger.info("pySHACL checked %s (%d triples): conforms=%s, %d violations, %d warnings, %d infos",
                path, len(data), conforms, violations, severities.count(SH.Warning), severities.count(SH.Info))
    return bool(conforms), violations, report_text
