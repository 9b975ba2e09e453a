"""Theme configuration loaders and the theme step and gap marts on the real 广安区 catalog."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from theme_warehouse import JOB_FAIR_NAME, REPO_ROOT

from huiju.editorial import EditorialError, composition, theme_overrides, themes


@pytest.fixture(scope="module")
def warehouse(theme_warehouse_path):
    connection = duckdb.connect(str(theme_warehouse_path), read_only=True)
    yield connection
    connection.close()


def _step_names(connection, theme_id: str, step_id: str) -> list[str]:
    return [row[0] for row in connection.execute(
        "select task_name from mart_theme_steps where theme_id = ? and step_id = ? order by service_rank",
        [theme_id, step_id],
    ).fetchall()]


def _edited_editorial(tmp_path: Path, file_name: str, edit) -> Path:
    directory = tmp_path / "editorial"
    shutil.copytree(REPO_ROOT / "editorial", directory)
    document = yaml.safe_load((directory / file_name).read_text(encoding="utf-8"))
    edit(document)
    (directory / file_name).write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return directory


def test_repository_themes_define_required_ids():
    ids = [theme.id for theme in themes.load_themes(REPO_ROOT / "editorial")]

    assert ids == ["enterprise_startup", "newborn_birth", "employment_entrepreneurship", "retirement",
                   "real_estate_registration"]


def test_themes_error_names_theme_step_field(tmp_path):
    def edit(document):
        document["themes"][1]["steps"][2]["matchers"] = [{}]

    directory = _edited_editorial(tmp_path, "themes.yaml", edit)

    with pytest.raises(EditorialError) as raised:
        themes.load_themes(directory)
    message = str(raised.value)
    assert "themes.yaml" in message
    assert "(id 'newborn_birth')" in message
    assert "(id 'household_registration')" in message
    assert "field 'matchers.0'" in message


def test_themes_reject_invalid_regex(tmp_path):
    def edit(document):
        document["themes"][0]["steps"][0]["matchers"][0]["name_pattern"] = "(?=设立)登记"

    with pytest.raises(EditorialError, match="invalid regular expression"):
        themes.load_themes(_edited_editorial(tmp_path, "themes.yaml", edit))


def test_themes_reject_unknown_business_system(tmp_path):
    def edit(document):
        document["themes"][0]["steps"][2]["business_systems"] = ["golden_tax_bureau"]

    with pytest.raises(EditorialError, match="field 'business_systems.0'"):
        themes.load_themes(_edited_editorial(tmp_path, "themes.yaml", edit))


def test_themes_reject_reversed_period(tmp_path):
    def edit(document):
        document["themes"][0]["active_from"] = "2025-06-01"
        document["themes"][0]["active_to"] = "2025-01-01"

    with pytest.raises(EditorialError, match="active_to 2025-01-01 is before active_from 2025-06-01"):
        themes.load_themes(_edited_editorial(tmp_path, "themes.yaml", edit))


def test_composition_rejects_share_above_one(tmp_path):
    def edit(document):
        document["principles"][1]["threshold"] = 50

    with pytest.raises(EditorialError, match=r"principles\[1\] \(id 'resource_kind_primary_share'\): .*threshold of a min_primary_share principle is a share between 0 and 1"):
        composition.load_principles(_edited_editorial(tmp_path, "composition.yaml", edit))


def test_composition_rejects_unknown_action(tmp_path):
    def edit(document):
        document["principles"][0]["action"] = "stop"

    with pytest.raises(EditorialError, match="field 'action'"):
        composition.load_principles(_edited_editorial(tmp_path, "composition.yaml", edit))


def test_overrides_reject_unknown_step(tmp_path):
    def edit(document):
        document["overrides"] = [{"theme": "retirement", "step": "funeral", "action": "add", "task_code": "X",
                                  "reason": "测试", "reviewer": "测试审核人", "reviewed_on": "2025-01-15"}]

    with pytest.raises(EditorialError, match="field 'step': step 'funeral' is not a step of theme 'retirement'"):
        theme_overrides.load_overrides(_edited_editorial(tmp_path, "theme_overrides.yaml", edit))


def test_overrides_require_reviewer(tmp_path):
    def edit(document):
        document["overrides"] = [{"theme": "retirement", "step": "pension_benefit", "action": "add",
                                  "task_code": "X", "reason": "测试", "reviewed_on": "2025-01-15"}]

    with pytest.raises(EditorialError, match=r"overrides\[0\] \(theme 'retirement'\): field 'reviewer'"):
        theme_overrides.load_overrides(_edited_editorial(tmp_path, "theme_overrides.yaml", edit))


def test_overrides_require_one_key(tmp_path):
    def edit(document):
        document["overrides"] = [{"theme": "retirement", "step": "pension_benefit", "action": "add",
                                  "reason": "测试", "reviewer": "测试审核人", "reviewed_on": "2025-01-15"}]

    with pytest.raises(EditorialError, match="set exactly one of task_code and service_item_id"):
        theme_overrides.load_overrides(_edited_editorial(tmp_path, "theme_overrides.yaml", edit))


def test_catalog_code_matcher(warehouse):
    assert _step_names(warehouse, "newborn_birth", "birth_certificate") == ["《出生医学证明》首次签发"]


def test_name_pattern_matcher(warehouse):
    assert _step_names(warehouse, "newborn_birth", "vaccination_certificate") == ["《预防接种证》办理"]


def test_department_matcher(warehouse):
    departments = warehouse.execute(
        "select distinct dept_name from mart_theme_steps where theme_id = 'flood_season_campaign' and step_id = 'water_affairs'"
    ).fetchall()
    count = warehouse.execute(
        "select count(*) from mart_theme_steps where theme_id = 'flood_season_campaign' and step_id = 'water_affairs'"
    ).fetchone()[0]

    assert departments == [("区水务局",)]
    assert count == 11


def test_combined_matcher_needs_all_conditions(warehouse):
    rows = warehouse.execute(
        "select dept_name, task_name, matcher_kinds from mart_theme_steps where theme_id = 'newborn_birth' and step_id = 'household_registration'"
    ).fetchall()

    assert rows == [("区公安分局", "户口登记", "name_pattern+department")]


def test_match_evidence_names_matched_text(warehouse):
    evidence = warehouse.execute(
        "select evidence from mart_theme_steps where theme_id = 'newborn_birth' and step_id = 'household_registration'"
    ).fetchone()[0]

    assert "事项名称含“户口登记”" in evidence
    assert "实施主体“区公安分局”" in evidence


def test_primary_services_rank_first(warehouse):
    rows = warehouse.execute(
        """
        select resource_kind, primary_dimension_count, task_name from mart_theme_steps
        where theme_id = 'flood_season_campaign' and step_id = 'water_affairs' order by service_rank
        """
    ).fetchall()
    order_keys = [({"primary": 0, "unknown": 1}.get(kind, 2), -count, name) for kind, count, name in rows]

    assert order_keys == sorted(order_keys)
    assert rows[0][0] == "primary"


def test_ranks_are_consecutive(warehouse):
    bad_steps = warehouse.execute(
        """
        select theme_id, step_id from mart_theme_steps group by all
        having min(service_rank) != 1 or max(service_rank) != count(*)
        """
    ).fetchall()

    assert bad_steps == []


def test_empty_step_is_gap(warehouse):
    reason = warehouse.execute(
        "select gap_reason from mart_theme_gaps where theme_id = 'real_estate_registration' and step_id = 'property_registration'"
    ).fetchone()[0]

    assert reason.startswith("步骤“不动产登记”在当前事项目录中没有符合规则")


def test_gaps_exclude_steps_with_services(warehouse):
    overlap = warehouse.execute(
        "select theme_id, step_id from mart_theme_gaps intersect select theme_id, step_id from mart_theme_steps"
    ).fetchall()

    assert overlap == []


def test_inactive_theme_marked(warehouse):
    activity = dict(warehouse.execute("select distinct theme_id, is_active from mart_theme_steps").fetchall())

    assert activity["flood_season_campaign"] is False
    assert activity["newborn_birth"] is True


def test_override_adds_service(warehouse):
    row = warehouse.execute(
        """
        select matched_by, evidence from mart_theme_steps
        where theme_id = 'retirement' and step_id = 'pension_benefit' and task_name = '城乡居民基本养老保险补助'
        """
    ).fetchone()

    assert row[0] == "override"
    assert row[1].startswith("人工修订：补助随养老待遇一并发放")


def test_override_removes_service(warehouse):
    assert JOB_FAIR_NAME not in _step_names(warehouse, "employment_entrepreneurship", "job_seeking")
    assert "职业介绍" in _step_names(warehouse, "employment_entrepreneurship", "job_seeking")


def test_override_applications_recorded(warehouse):
    statuses = dict(warehouse.execute("select action, application_status from int_theme_override_applications").fetchall())

    assert statuses == {"add": "applied", "remove": "applied"}
