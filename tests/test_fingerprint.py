"""Inputs fingerprint and the record of which version a set of inputs published."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from huiju import publish
from huiju.fingerprint import code_fingerprint, inputs_fingerprint
from huiju.settings import PROJECT_ROOT, Settings


@pytest.fixture()
def settings(tmp_path) -> Settings:
    """Settings whose dbt project, editorial files and expectations are copies that a test may edit."""
    for name in ("editorial", "expectations"):
        shutil.copytree(PROJECT_ROOT / name, tmp_path / name)
    (tmp_path / "dbt_project" / "models").mkdir(parents=True)
    (tmp_path / "dbt_project" / "models" / "one.sql").write_text("select 1 as one\n", encoding="utf-8")
    return Settings(home=tmp_path / "home", dbt_project_dir=tmp_path / "dbt_project",
                    editorial_dir=tmp_path / "editorial", expectations_dir=tmp_path / "expectations")


SOURCES = {"a": {"snapshot_id": "s1"}, "b": {"snapshot_id": "s2"}}


def test_fingerprint_stable_for_same_inputs(settings):
    assert inputs_fingerprint(settings, SOURCES) == inputs_fingerprint(settings, dict(reversed(SOURCES.items())))


def test_fingerprint_changes_with_snapshot(settings):
    changed = {**SOURCES, "b": {"snapshot_id": "s3"}}
    assert inputs_fingerprint(settings, changed) != inputs_fingerprint(settings, SOURCES)


@pytest.mark.parametrize("relative", ["editorial/themes.yaml", "expectations/gate.yaml", "dbt_project/models/one.sql"])
def test_fingerprint_changes_with_edited_file(settings, relative):
    before = code_fingerprint(settings)
    path = Path(settings.home).parent / relative
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert code_fingerprint(settings) != before


def test_dbt_output_folders_do_not_count(settings):
    before = code_fingerprint(settings)
    for folder in ("target", "logs"):
        (settings.dbt_project_dir / folder).mkdir()
        (settings.dbt_project_dir / folder / "run_results.json").write_text("{}", encoding="utf-8")
    assert code_fingerprint(settings) == before


def _publish(publish_dir: Path, version: str) -> None:
    (publish_dir / "versions" / version).mkdir(parents=True)
    (publish_dir / "versions" / version / "manifest.json").write_text("{}", encoding="utf-8")
    publish.switch_current(publish_dir, version, run_id="run")


def test_recorded_inputs_name_the_current_version(tmp_path):
    _publish(tmp_path, "v1")
    publish.record_inputs(tmp_path, "v1", "abc")
    assert publish.version_for_inputs(tmp_path, "abc") == "v1"
    assert publish.version_for_inputs(tmp_path, "other") is None


def test_nothing_is_reused_after_a_rollback(tmp_path):
    _publish(tmp_path, "v1")
    _publish(tmp_path, "v2")
    publish.record_inputs(tmp_path, "v2", "abc")
    publish.switch_current(tmp_path, "v1", action="rollback")
    assert publish.version_for_inputs(tmp_path, "abc") is None


def test_nothing_is_reused_before_the_first_publish(tmp_path):
    assert publish.version_for_inputs(tmp_path, "abc") is None
