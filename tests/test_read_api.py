"""The static portal feed and the read API, over copies of the demo home's published version."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import duckdb
import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from web_server import serve_in_thread

from huiju.editorial.dimensions import DIMENSION_IDS
from huiju.portal_feed import CONTENT_COLLECTIONS, PAGE_SIZE, write_portal_feed
from huiju.publish import switch_current
from huiju.serve.app import create_app
from huiju.settings import Settings

API = "/api/v1"
MARKER = "（乙）"
MARKED_MARTS = ("dim_department", "fct_service_item", "mart_theme_steps")


# ---- fixtures and helpers -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def version_dir(published_home) -> Path:
    publish_dir = published_home / "published"
    return publish_dir / "versions" / os.readlink(publish_dir / "current").split("/")[-1]


@pytest.fixture(scope="module")
def feed(version_dir) -> Path:
    return version_dir / "feed"


@pytest.fixture(scope="module")
def marts(version_dir) -> dict[str, pd.DataFrame]:
    names = ("fct_service_item", "fct_service_item_dimension", "mart_service_themes", "fct_content_item",
             "dim_department", "mart_theme_composition", "dim_region")
    return {name: pd.read_parquet(version_dir / "marts" / f"{name}.parquet") for name in names}


@pytest.fixture(scope="module")
def client(published_home) -> TestClient:
    return TestClient(create_app(Settings(home=published_home)))


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _copy_home(published_home: Path, target: Path) -> Path:
    """Copy the published versions into ``target``; return its publish directory."""
    shutil.copytree(published_home / "published", target / "published", symlinks=True)
    return target / "published"


def _add_marked_version(publish_dir: Path, source_id: str, version_id: str) -> None:
    """Copy version ``source_id`` as ``version_id`` with MARKER after every department name."""
    source = publish_dir / "versions" / source_id
    target = publish_dir / "versions" / version_id
    shutil.copytree(source, target)
    with duckdb.connect() as connection:
        for mart in MARKED_MARTS:
            path = target / "marts" / f"{mart}.parquet"
            rewritten = path.with_suffix(".rewritten")
            connection.execute(
                f"copy (select * replace (dept_name || '{MARKER}' as dept_name) from read_parquet('{path}')) "
                f"to '{rewritten}' (format parquet)"
            )
            rewritten.replace(path)
    shutil.rmtree(target / "feed")
    write_portal_feed(target)
    manifest = _read_json(target / "manifest.json")
    manifest.update(version=version_id, created_at="2026-12-31T00:00:00+00:00", content_sha256="0" * 64)
    (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def _page_ids(response: httpx.Response) -> list[str]:
    return [item["id"] for item in response.json()["items"]]


# ---- static feed ----------------------------------------------------------------------------------

def test_feed_counts_match_marts(feed, marts):
    index = _read_json(feed / "index.json")
    content_kinds = marts["fct_content_item"]["content_kind"]

    assert index["counts"]["services"] == len(marts["fct_service_item"])
    assert index["counts"]["themes"] == marts["mart_theme_composition"]["theme_id"].nunique()
    assert index["counts"]["departments"] == len(marts["dim_department"])
    assert index["counts"]["notices"] == (content_kinds == "notice").sum()
    assert index["counts"]["policies"] == content_kinds.isin(CONTENT_COLLECTIONS["policies"]).sum()
    assert index["labels"]["fields"]["task_code"] == "实施编码"
    assert index["labels"]["content_kinds"]["policy_interpretation"] == "政策解读"
    assert "version" not in index


def test_feed_service_pages_cover_catalog(feed, marts):
    collection = _read_json(feed / "services.json")
    ids = []
    for entry in collection["pages"]:
        page = _read_json(feed / entry["path"])
        page_ids = [item["id"] for item in page["items"]]
        assert len(page_ids) == entry["count"] <= PAGE_SIZE
        assert (page_ids[0], page_ids[-1]) == (entry["first_id"], entry["last_id"])
        ids += page_ids

    assert collection["page_count"] == math.ceil(len(marts["fct_service_item"]) / PAGE_SIZE)
    assert ids == sorted(marts["fct_service_item"]["service_item_id"])
    assert _read_json(feed / collection["pages"][0]["path"])["next"] == collection["pages"][1]["path"]


def test_feed_service_has_eight_dimensions(feed, marts):
    first_page = _read_json(feed / "services" / "page-0001.json")
    service = first_page["items"][0]
    dimension_rows = marts["fct_service_item_dimension"]
    rows = dimension_rows[dimension_rows["service_item_id"] == service["id"]].set_index("dimension")

    assert list(service["dimensions"]) == list(DIMENSION_IDS)
    assert set(dimension_rows["dimension"]) == set(DIMENSION_IDS)
    for dimension, entry in service["dimensions"].items():
        assert entry["value"] == rows.loc[dimension, "value"]
        assert entry["label"] == rows.loc[dimension, "dimension_label"]
    assert service["department"]["name"]
    assert service["evidence_source_ids"]


def test_feed_theme_document_contents(feed):
    themes = _read_json(feed / "themes.json")
    startup = _read_json(feed / "themes" / "enterprise_startup.json")
    forms = {form["form"]: form for form in startup["content_forms"]}

    assert [theme["path"] for theme in themes["themes"]] == _read_json(feed / "index.json")["files"]["theme_documents"]
    assert startup["name"] == "企业开办"
    assert [step["position"] for step in startup["steps"]] == sorted(step["position"] for step in startup["steps"])
    assert {"seal_engraving", "housing_provident_fund"} <= {gap["step_id"] for gap in startup["gaps"]["steps"]}
    assert forms["service_guide"]["count"] == startup["service_count"]
    assert forms["policy_document"]["label"] == "政策文件"
    assert forms["notice"]["is_gap"]
    assert {"golden_tax", "golden_security"} <= {system["id"] for system in startup["business_systems"]}
    assert len(startup["composition"]) == len(DIMENSION_IDS)


def test_feed_content_pages_split_by_kind(feed, marts):
    notices = _read_json(feed / "notices" / "page-0001.json")["items"]
    policies = _read_json(feed / "policies" / "page-0001.json")["items"]
    published = [item["published_at"] for item in notices]

    assert {item["kind"] for item in notices} == {"notice"}
    assert {item["kind_label"] for item in policies} == {"政策文件", "政策解读"}
    assert published == sorted(published, reverse=True)
    assert len(notices) + len(policies) == len(marts["fct_content_item"])


def test_feed_rewrite_is_byte_identical(version_dir, feed, tmp_path):
    copies = []
    for name in ("first", "second"):
        copy = tmp_path / name
        shutil.copytree(version_dir / "marts", copy / "marts")
        write_portal_feed(copy)
        copies.append(copy / "feed")
    files = sorted(path.relative_to(feed) for path in feed.rglob("*") if path.is_file())

    assert files == sorted(path.relative_to(copies[0]) for path in copies[0].rglob("*") if path.is_file())
    for relative in files:
        assert (copies[0] / relative).read_bytes() == (copies[1] / relative).read_bytes(), relative
        assert (copies[0] / relative).read_bytes() == (feed / relative).read_bytes(), relative


def test_feed_files_are_in_manifest(version_dir, feed):
    manifest = _read_json(version_dir / "manifest.json")
    written = {str(path.relative_to(version_dir)) for path in feed.rglob("*") if path.is_file()}

    assert written <= set(manifest["files"])
    assert "feed/index.json" in written


# ---- endpoints ------------------------------------------------------------------------------------

def test_version_endpoint(client, version_dir, marts):
    response = client.get(f"{API}/version")
    body = response.json()
    manifest = _read_json(version_dir / "manifest.json")

    assert response.status_code == 200
    assert body["version"] == version_dir.name == response.headers["X-Huiju-Version"]
    assert body["created_at"] == manifest["created_at"]
    assert body["content_sha256"] == manifest["content_sha256"]
    assert body["counts"]["services"] == len(marts["fct_service_item"])
    assert response.headers["Cache-Control"] == "no-cache"


def test_themes_list_matches_feed(client, feed):
    response = client.get(f"{API}/themes")
    static = _read_json(feed / "themes.json")["themes"]

    assert response.status_code == 200
    assert response.json()["version"] == response.headers["X-Huiju-Version"]
    assert [item["id"] for item in response.json()["items"]] == [theme["id"] for theme in static]
    assert response.json()["items"][0]["href"] == f"{API}/themes/{static[0]['id']}"


def test_theme_detail_equals_static_file(client, feed):
    for path in sorted((feed / "themes").glob("*.json")):
        response = client.get(f"{API}/themes/{path.stem}")
        assert response.status_code == 200
        assert response.content == path.read_bytes(), path.name
        assert response.headers["content-type"] == "application/json"


def test_service_detail_equals_feed_item(client, feed):
    items = _read_json(feed / "services" / "page-0002.json")["items"]
    for item in (items[0], items[-1]):
        response = client.get(f"{API}/services/{item['id']}")
        assert response.status_code == 200
        assert response.json() == item


def test_services_pagination(client, marts):
    all_ids = sorted(marts["fct_service_item"]["service_item_id"])
    last_page = math.ceil(len(all_ids) / 100)

    first = client.get(f"{API}/services", params={"page_size": 100}).json()
    last = client.get(f"{API}/services", params={"page_size": 100, "page": last_page}).json()
    beyond = client.get(f"{API}/services", params={"page_size": 100, "page": last_page + 1}).json()
    default = client.get(f"{API}/services").json()

    assert first["total"] == len(all_ids)
    assert first["page_count"] == last_page
    assert [item["id"] for item in first["items"]] == all_ids[:100]
    assert first["links"]["prev"] is None
    assert first["links"]["next"] == f"{API}/services?page=2&page_size=100"
    assert [item["id"] for item in last["items"]] == all_ids[(last_page - 1) * 100:]
    assert last["links"]["next"] is None
    assert last["links"]["prev"] == f"{API}/services?page={last_page - 1}&page_size=100"
    assert beyond["items"] == []
    assert beyond["links"]["prev"] == f"{API}/services?page={last_page}&page_size=100"
    assert len(default["items"]) == default["page_size"] == 20
    assert client.get(f"{API}/services", params={"page_size": 100, "page": 2}).json()["items"][0]["id"] == all_ids[100]


def test_services_links_keep_filters(client):
    body = client.get(f"{API}/services", params={"audience": "legal_person", "page_size": 5, "q": "登记"}).json()
    following = client.get(body["links"]["next"]).json()

    assert body["links"]["next"].startswith(f"{API}/services?")
    assert following["page"] == 2
    assert following["total"] == body["total"]


def _expected_services(marts: dict[str, pd.DataFrame], case: dict[str, str]) -> list[str]:
    """Return the service ids that ``case`` selects, computed with pandas from the marts."""
    items = marts["fct_service_item"]
    region_names = items["region_code"].fillna("")
    selected = pd.Series(True, index=items.index)
    themes = marts["mart_service_themes"]
    dimensions = marts["fct_service_item_dimension"]
    audience_codes = {"面向自然人": "natural_person", "面向法人": "legal_person"}
    value_codes = {"为主": "primary", "为辅": "secondary", "未知": "unknown"}
    for name, value in case.items():
        if name == "q":
            selected &= items["task_name"].str.lower().str.contains(value.lower(), regex=False) | \
                items["task_code"].str.lower().str.contains(value.lower(), regex=False)
        elif name == "department":
            selected &= (items["department_id"] == value) | (items["dept_name"] == value)
        elif name == "region":
            selected &= (region_names == value) | (region_names.str[:6] == value)
        elif name == "audience":
            members = set(themes.loc[themes["audience"] == audience_codes.get(value, value), "service_item_id"])
            selected &= items["service_item_id"].isin(members)
        elif name == "item_type":
            selected &= (items["task_type_code"] == value) | (items["task_type_label"] == value)
        else:
            code = value_codes.get(value, value)
            members = set(dimensions.loc[(dimensions["dimension"] == name) & (dimensions["value"] == code),
                                         "service_item_id"])
            selected &= items["service_item_id"].isin(members)
    return sorted(items.loc[selected, "service_item_id"])


def test_services_filters(client, marts):
    items = marts["fct_service_item"]
    department = items.iloc[0]
    task_code_part = items["task_code"].iloc[5][:14].lower()
    cases = [
        {"q": "证照"},
        {"q": task_code_part},
        {"department": department["department_id"]},
        {"department": department["dept_name"]},
        {"region": "511602000000"},
        {"region": "511602"},
        {"region": "510000000000"},
        {"audience": "natural_person"},
        {"audience": "面向法人"},
        {"item_type": "01"},
        {"item_type": "公共服务"},
        {"resource_kind": "为主"},
        {"audience": "legal_person", "duration": "primary", "q": "登记"},
    ]
    dimensions = marts["fct_service_item_dimension"]
    for dimension in DIMENSION_IDS:
        values = dimensions.loc[dimensions["dimension"] == dimension, "value"]
        cases.append({dimension: Counter(values).most_common()[-1][0]})

    for case in cases:
        expected = _expected_services(marts, case)
        body = client.get(f"{API}/services", params={**case, "page_size": 100}).json()
        assert expected, case
        assert body["total"] == len(expected), case
        assert [item["id"] for item in body["items"]] == expected[:100], case


def test_services_filter_without_match(client):
    body = client.get(f"{API}/services", params={"item_type": "不存在的类型"}).json()

    assert body["total"] == 0
    assert body["items"] == []
    assert body["page_count"] == 0
    assert body["links"]["next"] is None


@pytest.mark.parametrize("params", [
    {"page": 0},
    {"page_size": 0},
    {"page_size": 101},
    {"page": "x"},
    {"region": "51160"},
    {"audience": "everyone"},
    {"resource_kind": "major"},
    {"dimension": "resource_kind"},
    {"q": " "},
])
def test_services_rejects_invalid_parameters(client, params):
    response = client.get(f"{API}/services", params=params)
    body = response.json()

    assert response.status_code == 422
    assert body["code"] == "invalid_request"
    assert body["errors"][0]["location"][0] == "query"
    assert body["message_zh"].startswith("请求参数无效")
    assert response.headers["Cache-Control"] == "no-store"


def test_notices_filter_by_kind(client, marts):
    kinds = Counter(marts["fct_content_item"]["content_kind"])
    everything = client.get(f"{API}/notices", params={"page_size": 100}).json()
    notices = client.get(f"{API}/notices", params={"kind": "notice", "page_size": 100}).json()
    documents = client.get(f"{API}/notices", params={"kind": "政策文件", "page_size": 5, "page": 2}).json()
    published = [item["published_at"] for item in everything["items"]]
    title_word = notices["items"][0]["title"][:4]
    by_title = client.get(f"{API}/notices", params={"q": title_word}).json()

    assert everything["total"] == sum(kinds.values())
    assert published == sorted(published, reverse=True)
    assert notices["total"] == kinds["notice"]
    assert {item["kind"] for item in notices["items"]} == {"notice"}
    assert documents["total"] == kinds["policy_document"]
    assert len(documents["items"]) == 5
    assert {item["kind_label"] for item in documents["items"]} == {"政策文件"}
    assert by_title["total"] >= 1
    assert all(title_word in item["title"] for item in by_title["items"])
    assert client.get(f"{API}/notices", params={"kind": "news"}).status_code == 422


def test_departments_list(client, marts, feed):
    body = client.get(f"{API}/departments").json()
    static = _read_json(feed / "departments.json")

    assert body["total"] == len(marts["dim_department"])
    assert body["items"] == static["departments"]


def test_repeat_with_etag_gives_304(client):
    url = f"{API}/services?page=2&audience=legal_person"
    first = client.get(url)
    etag = first.headers["ETag"]
    repeat = client.get(url, headers={"If-None-Match": etag})
    weak = client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
    other_query = client.get(f"{API}/services?page=3&audience=legal_person", headers={"If-None-Match": etag})
    head = client.head(url)

    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert repeat.status_code == 304
    assert repeat.content == b""
    assert repeat.headers["ETag"] == etag
    assert repeat.headers["X-Huiju-Version"] == first.headers["X-Huiju-Version"]
    assert weak.status_code == 304
    assert other_query.status_code == 200
    assert head.status_code == 200
    assert head.headers["ETag"] == etag


def test_etag_on_every_endpoint(client):
    urls = [f"{API}/version", f"{API}/themes", f"{API}/themes/newborn_birth", f"{API}/services",
            f"{API}/notices", f"{API}/departments"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["ETag"].startswith(f'"{response.headers["X-Huiju-Version"]}.'), url
        assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304, url


def test_unknown_ids_give_404(client, version_dir):
    theme = client.get(f"{API}/themes/no_such_theme")
    service = client.get(f"{API}/services/{'0' * 32}")

    assert theme.status_code == 404
    assert theme.json()["code"] == "theme_not_found"
    assert "no_such_theme" in theme.json()["message"]
    assert "no_such_theme" in theme.json()["message_zh"]
    assert theme.json()["version"] == version_dir.name
    assert service.status_code == 404
    assert service.json()["code"] == "service_not_found"
    assert "服务事项" in service.json()["message_zh"]
    assert service.headers["X-Huiju-Version"] == version_dir.name
    assert client.get(f"{API}/services/not..an-id").status_code == 422


def test_writes_are_rejected(client):
    assert client.post(f"{API}/services").status_code == 405


def test_no_version_gives_503(tmp_path, published_home):
    empty = TestClient(create_app(Settings(home=tmp_path / "empty")))
    response = empty.get(f"{API}/themes")
    broken_home = tmp_path / "broken"
    (broken_home / "published").mkdir(parents=True)
    os.symlink("versions/v-missing", broken_home / "published" / "current")
    broken = TestClient(create_app(Settings(home=broken_home))).get(f"{API}/services")

    assert response.status_code == 503
    assert response.json()["code"] == "no_published_version"
    assert response.json()["message_zh"].startswith("尚无已发布的版本")
    assert response.headers["Retry-After"] == "60"
    assert response.headers["Cache-Control"] == "no-store"
    assert broken.status_code == 503


def test_docs_page_loads_local_assets(client):
    response = client.get("/api/docs")
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    openapi = client.get("/api/openapi.json").json()
    parameters = {parameter["name"] for parameter in openapi["paths"][f"{API}/services"]["get"]["parameters"]}

    assert response.status_code == 200
    assert not re.search(r"https?://", response.text)
    assert len(assets) == 3
    for asset in assets:
        assert asset.startswith("/api/docs/assets/"), asset
        asset_response = client.get(asset)
        assert asset_response.status_code == 200, asset
        assert asset_response.content, asset
    assert set(DIMENSION_IDS) <= parameters
    assert {"q", "department", "region", "audience", "item_type", "page", "page_size"} <= parameters


# ---- version switches -----------------------------------------------------------------------------

def test_etag_changes_after_switch(published_home, version_dir, tmp_path):
    publish_dir = _copy_home(published_home, tmp_path)
    _add_marked_version(publish_dir, version_dir.name, "v-marked")
    switched = TestClient(create_app(Settings(home=tmp_path)))

    before = switched.get(f"{API}/departments")
    switch_current(publish_dir, "v-marked")
    after = switched.get(f"{API}/departments", headers={"If-None-Match": before.headers["ETag"]})

    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.json()["version"] == "v-marked"
    assert all(item["name"].endswith(MARKER) for item in after.json()["items"])
    assert not any(item["name"].endswith(MARKER) for item in before.json()["items"])


def _consistency_problems(url: str, response: httpx.Response, versions: dict[str, dict]) -> list[str]:
    """Return what in ``response`` mixes versions; MARKER follows department names only in the marked one."""
    version_id = response.headers.get("X-Huiju-Version")
    if response.status_code != 200 or version_id not in versions:
        return [f"{url}: status {response.status_code}, version {version_id}"]
    body = response.json()
    marked = versions[version_id]["marked"]
    problems = []
    if "version" in body and body["version"] != version_id:
        problems.append(f"{url}: body version {body['version']} under header {version_id}")
    if url.endswith("/version") and body["created_at"] != versions[version_id]["created_at"]:
        problems.append(f"{url}: created_at {body['created_at']} is not that of {version_id}")
    names = []
    if url.endswith("/departments"):
        names = [item["name"] for item in body["items"]]
    elif "/services" in url:
        names = [item["department"]["name"] for item in body["items"]]
    elif "/themes/" in url:
        names = [service["department"]["name"] for step in body["steps"] for service in step["services"]]
    if any(name.endswith(MARKER) != marked for name in names):
        problems.append(f"{url}: department names of the wrong version under {version_id}")
    return problems


def test_switch_under_load_stays_consistent(published_home, version_dir, tmp_path):
    publish_dir = _copy_home(published_home, tmp_path)
    _add_marked_version(publish_dir, version_dir.name, "v-marked")
    versions = {
        version_dir.name: {"marked": False, "created_at": _read_json(version_dir / "manifest.json")["created_at"]},
        "v-marked": {"marked": True, "created_at": "2026-12-31T00:00:00+00:00"},
    }
    urls = [f"{API}/version", f"{API}/departments", f"{API}/services?page_size=50&page=3",
            f"{API}/themes/employment_entrepreneurship", f"{API}/services?audience=natural_person"]
    problems: list[str] = []
    seen: Counter = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def issue_requests(base_url: str) -> None:
        with httpx.Client(base_url=base_url, trust_env=False, timeout=30) as http:
            while not stop.is_set():
                for url in urls:
                    try:
                        response = http.get(url)
                    except httpx.HTTPError as error:
                        with lock:
                            problems.append(f"{url}: {error!r}")
                        continue
                    with lock:
                        seen[response.headers.get("X-Huiju-Version")] += 1
                        problems.extend(_consistency_problems(url, response, versions))

    with serve_in_thread(create_app(Settings(home=tmp_path))) as base_url:
        workers = [threading.Thread(target=issue_requests, args=(base_url,)) for _ in range(4)]
        for worker in workers:
            worker.start()
        # Switch at least 120 times, and on until each version has served 20 responses, because a
        # busy machine serves fewer requests per switch. The deadline bounds a server that hangs.
        switches = 0
        deadline = time.monotonic() + 60
        try:
            while switches < 120 or min(seen[version_dir.name], seen["v-marked"]) < 20:
                if time.monotonic() > deadline:
                    break
                switch_current(publish_dir, "v-marked" if switches % 2 == 0 else version_dir.name)
                switches += 1
                time.sleep(0.02)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=30)

    assert problems == []
    assert switches >= 120
    assert seen[version_dir.name] >= 20
    assert seen["v-marked"] >= 20


def test_serves_while_version_is_written(published_home, version_dir, tmp_path):
    publish_dir = _copy_home(published_home, tmp_path)
    staging = publish_dir / "versions" / ".staging-next"
    shutil.copytree(version_dir / "marts", staging / "marts")
    served = TestClient(create_app(Settings(home=tmp_path)))
    versions = {version_dir.name: {"marked": False,
                                   "created_at": _read_json(version_dir / "manifest.json")["created_at"]}}
    writer = threading.Thread(target=write_portal_feed, args=(staging,))

    statuses = []
    writer.start()
    while writer.is_alive() or not statuses:
        for url in (f"{API}/version", f"{API}/services?page_size=5", f"{API}/departments"):
            response = served.get(url)
            statuses.append(response.status_code)
            assert _consistency_problems(url, response, versions) == []
    writer.join()

    shutil.copy(version_dir / "manifest.json", staging / "manifest.json")
    staging.rename(publish_dir / "versions" / "v-next")
    switch_current(publish_dir, "v-next")
    after = served.get(f"{API}/themes")

    assert set(statuses) == {200}
    assert after.headers["X-Huiju-Version"] == "v-next"
    assert after.json()["version"] == "v-next"
