"""Runtime settings, read from ``HUIJU_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Locations of Huiju's configuration and data, overridable by ``HUIJU_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="HUIJU_")

    home: Path = Field(
        default=PROJECT_ROOT / "var",
        description="Root of landing, warehouse, published versions and run records.",
    )
    sources_file: Path = Field(default=PROJECT_ROOT / "sources.yaml")
    dbt_project_dir: Path = Field(default=PROJECT_ROOT / "dbt_project")
    expectations_dir: Path = Field(default=PROJECT_ROOT / "expectations")
    editorial_dir: Path = Field(
        default=PROJECT_ROOT / "editorial",
        description="Editors' configuration: themes, dimension rules, site registry, business systems, overrides.",
    )
    exchange_base_iri: str = Field(
        default="https://data.huiju.example/",
        description="Base of the IRIs in the CPSV-AP and schema.org exchange files, an http or https IRI ending in '/'.",
    )

    @classmethod
    def with_overrides(cls, home: str | Path | None = None, sources_file: str | Path | None = None) -> Settings:
        """Build settings from the environment, replacing the home and registry where given."""
        overrides = {key: Path(value) for key, value in {"home": home, "sources_file": sources_file}.items() if value}
        return cls(**overrides)

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse_path(self) -> Path:
        """DuckDB file that the loader and dbt write; readers never open it."""
        return self.home / "warehouse" / "huiju.duckdb"

    @property
    def publish_dir(self) -> Path:
        return self.home / "published"

    @property
    def state_dir(self) -> Path:
        """Per-source harvest state, advanced only after a load commits."""
        return self.home / "state"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

