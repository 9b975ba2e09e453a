"""dbt build runs of the pipeline's transform step, on copies of the demo warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from huiju.settings import Settings
from huiju.transform import MEMORY_LIMIT_VARIABLE, TransformError, run_dbt_build

PROJECT_DIR = Settings().dbt_project_dir


@pytest.fixture
def warehouse(demo_home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "warehouse" / "huiju.duckdb"
    copy.parent.mkdir()
    shutil.copy2(demo_home / "warehouse" / "huiju.duckdb", copy)
    return copy


def test_build_passes_under_memory_limit(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "512MB")
    outcomes = run_dbt_build(PROJECT_DIR, warehouse, tmp_path / "dbt" / "run", run_id="memory-limit")
    assert any(outcome.unique_id == "operation.huiju.huiju-on-run-start-0" for outcome in outcomes)
    assert any(outcome.unique_id == "model.huiju.fct_service_item_dimension" for outcome in outcomes)


def test_out_of_memory_names_limit_variable(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "20MB")
    with pytest.raises(TransformError) as raised:
        run_dbt_build(PROJECT_DIR, warehouse, tmp_path / "dbt" / "run", run_id="memory-limit")
    message = str(raised.value)
    assert "Out of Memory Error" in message
    assert f"at a limit of 20MB: set {MEMORY_LIMIT_VARIABLE} higher" in message


def test_relative_home_keeps_dbt_target_inside(warehouse, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative_work_dir = Path("home") / "dbt" / "run"
    outcomes = run_dbt_build(PROJECT_DIR, warehouse.relative_to(tmp_path), relative_work_dir, run_id="relative")
    assert len(outcomes) > 300
    assert (tmp_path / "home" / "dbt" / "target" / "run_results.json").exists()
    assert (tmp_path / relative_work_dir / "target" / "run_results.json").exists()
    assert not (PROJECT_DIR / "home").exists()
