"""The ``huiju`` command's offline subcommands and the Prefect deployment file."""

from __future__ import annotations

import importlib
import json

import yaml
from prefect import Flow

from huiju.cli import format_department_summary, main
from huiju.settings import PROJECT_ROOT


def test_sources_list_prints_every_department(monkeypatch, capsys):
    monkeypatch.setenv("HUIJU_DEPT_BASE_URL", "http://127.0.0.1:8000")
    assert main(["sources", "list", "--json"]) == 0
    sources = json.loads(capsys.readouterr().out)

    assert len(sources) == 38
    assert {source["format"] for source in sources} == {"json_api", "csv_export", "rss_feed", "atom_feed"}
    assert all(source["base_url"].startswith("http://127.0.0.1:8000/") for source in sources)


def test_sources_list_names_unset_variable(monkeypatch, capsys):
    monkeypatch.delenv("HUIJU_DEPT_BASE_URL", raising=False)
    assert main(["sources", "list"]) == 2
    error = capsys.readouterr().err
    assert "HUIJU_DEPT_BASE_URL" in error
    assert "sources.yaml" in error
    assert "base_url" in error
    assert "--placeholder-urls" in error
    assert len(error.splitlines()) <= 7


def test_sources_list_with_placeholder_urls(monkeypatch, capsys):
    monkeypatch.delenv("HUIJU_DEPT_BASE_URL", raising=False)
    assert main(["sources", "list", "--placeholder-urls"]) == 0
    assert "共 38 个来源" in capsys.readouterr().out


def test_run_rejects_registry_before_prefect(monkeypatch, capsys):
    monkeypatch.delenv("HUIJU_DEPT_BASE_URL", raising=False)
    assert main(["run"]) == 2
    assert "HUIJU_DEPT_BASE_URL" in capsys.readouterr().err


def test_invalid_registry_is_reported(tmp_path, capsys):
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        "version: 1\nsources:\n  - id: demo\n    name: 测试\n    format: soap\n"
        "    base_url: http://127.0.0.1:1/x\n    schedule: '0 2 * * *'\n"
        "    owner_department: 区测试局\n    contact: 信息化股\n",
        encoding="utf-8",
    )
    assert main(["--sources", str(registry), "sources", "list"]) == 2
    error = capsys.readouterr().err
    assert str(registry) in error
    assert "demo" in error
    assert "format" in error


def test_status_without_runs_explains(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "status", "--json"]) == 1
    assert "no run recorded" in capsys.readouterr().err


def test_replay_unknown_run_named(tmp_path, monkeypatch, capsys):
    # Set, then delete, so that the teardown also removes the placeholder that replay sets.
    monkeypatch.setenv("HUIJU_DEPT_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("HUIJU_DEPT_BASE_URL")

    assert main(["--home", str(tmp_path), "replay", "--run", "nosuchrun"]) == 2
    error = capsys.readouterr().err
    assert "run nosuchrun not found" in error
    assert "recent runs: none" in error


def test_department_summary_totals():
    run = {
        "sources": {
            "a": {"owner_department": "区人社局", "source_id": "a", "source_format": "json_api", "status": "landed",
                  "fetched": 3, "published": 2, "quarantined": 0, "merged": 1, "flagged": 1},
            "b": {"owner_department": "区残联", "source_id": "b", "source_format": "csv_export", "status": "landed",
                  "fetched": 2, "published": 1, "quarantined": 1, "merged": 0, "flagged": 0},
        }
    }
    table = format_department_summary(run)
    last = table.splitlines()[-1].split()

    assert table.splitlines()[0].split()[:2] == ["部门", "来源"]
    assert last[0] == "合计"
    assert last[-5:] == ["5", "3", "1", "1", "1"]


def test_department_summary_status_labels():
    run = {
        "sources": {
            "a": {"owner_department": "区人社局", "source_id": "a", "source_format": "json_api", "status": "landed",
                  "fetched": 3, "published": 3, "quarantined": 0, "merged": 0, "flagged": 0},
            "b": {"owner_department": "区残联", "source_id": "b", "source_format": "csv_export", "status": "failed",
                  "is_stale": True, "fetched": 2, "published": 2, "quarantined": 0, "merged": 0, "flagged": 0},
        }
    }
    rows = {line.split()[0]: line.split() for line in format_department_summary(run).splitlines()[1:3]}

    assert rows["区人社局"][3] == "已载入"
    assert rows["区残联"][3] == "失败（沿用上次数据）"


def test_deployments_point_at_flows():
    document = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    deployments = {deployment["name"]: deployment for deployment in document["deployments"]}

    assert set(deployments) == {"pipeline-daily", "harvest", "transform", "audit", "publish"}
    assert deployments["pipeline-daily"]["schedules"][0]["cron"] == "0 2 * * *"
    for deployment in deployments.values():
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert isinstance(getattr(module, name), Flow), deployment["entrypoint"]
