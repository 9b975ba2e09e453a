"""CPSV-AP and schema.org exchange files of the version that the pipeline published from the real catalog."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS

from huiju import exchange
from huiju.settings import Settings

SHAPES = Path(__file__).parent / "data" / "cpsv-ap-3.2.0-SHACL.ttl"
EXCHANGE_FILES = (exchange.CPSV_TURTLE, exchange.CPSV_JSONLD, str(exchange.SCHEMA_ORG_SERVICES))
IRIS = exchange.IriMinter(Settings().exchange_base_iri)
CV = Namespace(exchange.PREFIXES["cv"])
VCARD = Namespace(exchange.PREFIXES["vcard"])


def service_iri(service_item_id: str) -> str:
    return str(IRIS.thing("service", service_item_id))


@pytest.fixture(scope="module")
def version_dir(published_home: Path) -> Path:
    """The current version, whose exchange files ``write_version`` wrote during publication."""
    publish_dir = published_home / "published"
    return publish_dir / "versions" / Path(os.readlink(publish_dir / "current")).name


@pytest.fixture(scope="module")
def items(version_dir: Path) -> list[dict]:
    with duckdb.connect() as connection:
        cursor = connection.execute(
            f"""
            select service_item_id, task_name, has_usable_link, link_url, region_code
            from read_parquet('{version_dir / "marts" / "fct_service_item.parquet"}')
            order by service_item_id
            """
        )
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def rewritten(version_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A copy of the version's marts with its exchange files written again, and the returned counts."""
    copy = tmp_path_factory.mktemp("exchange-rewrite")
    shutil.copytree(version_dir / "marts", copy / "marts")
    return copy, exchange.write_exchange_files(copy)


@pytest.fixture(scope="module")
def shacl_result(version_dir: Path) -> tuple[bool, int, str]:
    return exchange.validate_cpsv(version_dir / "exchange" / exchange.CPSV_TURTLE, SHAPES)


@pytest.fixture(scope="module")
def cpsv_graph(version_dir: Path) -> Graph:
    return Graph().parse(version_dir / "exchange" / exchange.CPSV_TURTLE, format="turtle")


@pytest.fixture(scope="module")
def schema_org_services(version_dir: Path) -> list[dict]:
    document = json.loads((version_dir / "exchange" / exchange.SCHEMA_ORG_SERVICES).read_text(encoding="utf-8"))
    assert document["@context"] == "https://schema.org"
    return document["@graph"]


def test_manifest_lists_exchange_files(version_dir):
    manifest = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    for name in EXCHANGE_FILES:
        assert f"exchange/{name}" in manifest["files"]


def test_cpsv_turtle_has_no_violations(shacl_result):
    conforms, violations, report = shacl_result
    assert violations == 0, report
    assert conforms, report


def test_jsonld_parses_to_turtle_graph(version_dir, cpsv_graph, rewritten):
    jsonld_graph = Graph().parse(version_dir / "exchange" / exchange.CPSV_JSONLD, format="json-ld")
    _, counts = rewritten
    assert len(cpsv_graph) == counts["triples"]
    # The export has no blank nodes, so equal triple sets mean the two graphs are the same.
    assert set(jsonld_graph) == set(cpsv_graph)


def test_every_service_appears_once(version_dir, items, schema_org_services, rewritten):
    expected = [service_iri(item["service_item_id"]) for item in items]
    lines = (version_dir / "exchange" / exchange.CPSV_JSONLD).read_text(encoding="utf-8").splitlines()
    nodes = [json.loads(line.rstrip(",")) for line in lines[2:-1]]
    services = [node["@id"] for node in nodes if "cpsv:PublicService" in node.get("@type", [])]
    assert sorted(services) == expected
    assert [service["@id"] for service in schema_org_services] == expected
    _, counts = rewritten
    assert counts["services"] == len(items)


def test_services_have_authority_and_channel(cpsv_graph, items):
    for item in items:
        service = URIRef(service_iri(item["service_item_id"]))
        authorities = list(cpsv_graph.objects(service, CV.hasCompetentAuthority))
        assert len(authorities) == 1, item["service_item_id"]
        assert (authorities[0], RDF.type, CV.PublicOrganisation) in cpsv_graph
        channels = list(cpsv_graph.objects(service, CV.hasChannel))
        assert len(channels) == (1 if item["has_usable_link"] else 0), item["service_item_id"]
        for channel in channels:
            assert (channel, VCARD.hasURL, URIRef(item["link_url"])) in cpsv_graph


def test_schema_org_services_have_required_fields(schema_org_services, items):
    by_id = {service_iri(item["service_item_id"]): item for item in items}
    for service in schema_org_services:
        item = by_id[service["@id"]]
        assert service["@type"] == "GovernmentService"
        assert service["name"] == item["task_name"]
        assert service["provider"]["@type"] == "GovernmentOrganization"
        assert service["provider"]["name"]
        if item["region_code"]:
            assert service["areaServed"]["@type"] == "AdministrativeArea"
            assert service["areaServed"]["identifier"] == item["region_code"]
        else:
            assert "areaServed" not in service
        if item["has_usable_link"]:
            assert service["url"] == item["link_url"]
        else:
            assert "url" not in service


def test_chinese_name_kept_byte_exact(version_dir, items, cpsv_graph, schema_org_services):
    # Full-width and half-width brackets, an enumeration comma and digits in one real name.
    item = next(item for item in items if "（" in item["task_name"] and ")" in item["task_name"])
    name = item["task_name"]
    service = URIRef(service_iri(item["service_item_id"]))

    turtle_bytes = (version_dir / "exchange" / exchange.CPSV_TURTLE).read_bytes()
    assert f'dct:title "{name}"@zh-Hans'.encode() in turtle_bytes
    assert (service, DCTERMS.title, Literal(name, lang="zh-Hans")) in cpsv_graph
    schema_names = [entry["name"] for entry in schema_org_services if entry["@id"] == str(service)]
    assert schema_names == [name]


def test_identical_input_gives_identical_bytes(version_dir, rewritten, tmp_path):
    first, _ = rewritten
    second = tmp_path / "second"
    shutil.copytree(version_dir / "marts", second / "marts")
    exchange.write_exchange_files(second)
    for name in EXCHANGE_FILES:
        published = (version_dir / "exchange" / name).read_bytes()
        assert (first / "exchange" / name).read_bytes() == published, name
        assert (second / "exchange" / name).read_bytes() == published, name


@pytest.mark.parametrize("workers", [2, 3])
def test_worker_processes_write_identical_bytes(version_dir, rewritten, tmp_path, workers):
    _, counts = rewritten
    copy = tmp_path / "copy"
    shutil.copytree(version_dir / "marts", copy / "marts")
    assert exchange.write_exchange_files(copy, workers=workers) == counts
    for name in EXCHANGE_FILES:
        assert (copy / "exchange" / name).read_bytes() == (version_dir / "exchange" / name).read_bytes(), name
    assert sorted(path.name for path in (copy / "exchange").iterdir()) == sorted(
        [exchange.CPSV_TURTLE, exchange.CPSV_JSONLD, exchange.SCHEMA_ORG_SERVICES.parts[0]]
    )


def test_service_shards_cover_every_service(version_dir, items):
    with duckdb.connect() as connection:
        exchange._register_views(connection, version_dir / "marts")
        shards = exchange._service_shards(connection, workers=4)
    ids = [item["service_item_id"] for item in items]
    assert len(shards) == 4
    assert shards[0].first_id == ids[0]
    assert shards[-1].last_id == ids[-1]
    for shard in shards:
        assert ids[shard.first_position] == shard.first_id
    for previous, following in zip(shards, shards[1:]):
        assert ids.index(previous.last_id) + 1 == following.first_position


def test_small_export_stays_in_process(version_dir, items):
    with duckdb.connect() as connection:
        exchange._register_views(connection, version_dir / "marts")
        shards = exchange._service_shards(connection, workers=None)
    assert len(items) < exchange.MIN_SERVICES_PER_WORKER
    assert shards == [exchange.ServiceShard(items[0]["service_item_id"], items[-1]["service_item_id"], 0)]


def test_base_iri_must_end_with_slash(tmp_path):
    with pytest.raises(ValueError, match="ending in '/'"):
        exchange.write_exchange_files(tmp_path, base_iri="https://data.example.gov.cn/cpsv")


def test_validation_counts_violations(tmp_path):
    # A service without description and competent authority, and a channel without identifier.
    broken = tmp_path / "broken.ttl"
    broken.write_text(
        """
        @prefix cpsv: <http://purl.org/vocab/cpsv#> .
        @prefix cv: <http://data.europa.eu/m8g/> .
        @prefix dct: <http://purl.org/dc/terms/> .
        <https://data.huiju.example/id/service/s1> a cpsv:PublicService ;
            dct:identifier "s1" ;
            dct:title "居住证办理"@zh-Hans ;
            cv:hasChannel <https://data.huiju.example/id/service/s1/channel/online> .
        <https://data.huiju.example/id/service/s1/channel/online> a cv:Channel .
        """,
        encoding="utf-8",
    )
    conforms, violations, report = exchange.validate_cpsv(broken, SHAPES)
    assert not conforms
    assert violations == 3, report
