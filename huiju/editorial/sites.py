"""Registry of the websites that service links point to, for the link-mode dimension.

``editorial/sites.yaml`` lists one entry per host: ``host`` (lower-case, without scheme or
port), ``网站名称`` and ``kind``, the site's place in the portal's link hierarchy. The portal
links directly to the national platform, State Council department sites and provincial or
sub-provincial city sites, and indirectly to affiliated institutions and provincial department
sites. Table: ``sites``.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from huiju.editorial import EditorialError, read_yaml, string_table, validate_entries

FILE_NAME = "sites.yaml"

# Site kind -> Chinese label.
SITE_KINDS = {
    "national_portal": "国家政务服务平台、中国政府网",
    "state_council_department": "国务院部门网站",
    "provincial_portal": "省级政府门户网站、政务服务网",
    "sub_provincial_city": "副省级城市网站",
    "provincial_department": "省级政府部门网站",
    "affiliated_institution": "国务院部门直属事业单位网站",
    "city_county": "市县网站",
}

HOST_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class Site(BaseModel):
    """One website of the registry."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(pattern=HOST_PATTERN, max_length=253)
    site_name: str = Field(alias="网站名称", min_length=1)
    kind: str

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in SITE_KINDS:
            raise ValueError(f"unknown site kind {kind!r}; use one of {', '.join(SITE_KINDS)}")
        return kind


def load_sites(path: Path) -> list[Site]:
    """Read and validate ``sites.yaml``; raise :class:`EditorialError` naming file, entry and field."""
    document = read_yaml(path)
    if not isinstance(document, dict) or "sites" not in document:
        raise EditorialError(f"{path}: missing the top-level key 'sites'")
    sites = validate_entries(path, document["sites"], Site, key="sites", label="host")

    seen: set[str] = set()
    problems = []
    for index, site in enumerate(sites):
        if site.host in seen:
            problems.append(f"{path}: sites[{index}] (host {site.host!r}): field 'host': duplicate host")
        seen.add(site.host)
    if problems:
        raise EditorialError("\n".join(problems))
    return sites


def tables(directory: Path) -> dict[str, pa.Table]:
    """Build the ``sites`` table from ``directory / sites.yaml``."""
    rows = [
        {"host": site.host, "site_name": site.site_name, "site_kind": site.kind, "site_kind_label": SITE_KINDS[site.kind]}
        for site in load_sites(directory / FILE_NAME)
    ]
    return {
        "sites": string_table(rows, {
            "host": pa.string(),
            "site_name": pa.string(),
            "site_kind": pa.string(),
            "site_kind_label": pa.string(),
        })
    }
