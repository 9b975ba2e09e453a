"""Rolling back to an earlier version, and the log of every switch of ``current``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huiju import publish
from huiju.cli import main


def _write_versions(publish_dir: Path, *version_ids: str) -> None:
    for position, version_id in enumerate(version_ids):
        target = publish_dir / "versions" / version_id
        target.mkdir(parents=True)
        manifest = {"version": version_id, "run_id": f"run-{position}", "content_sha256": f"sha-{position}",
                    "created_at": f"2026-12-0{position + 1}T02:00:00+00:00", "row_counts": {"feed_items": 10 + position}}
        (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.fixture
def three_versions(tmp_path) -> Path:
    publish_dir = tmp_path / "published"
    _write_versions(publish_dir, "v1", "v2", "v3")
    for position, version_id in enumerate(("v1", "v2", "v3")):
        publish.switch_current(publish_dir, version_id, run_id=f"run-{position}")
    return publish_dir


def test_every_switch_is_logged_in_order(three_versions):
    entries = publish.publications(three_versions)
    assert [(entry["action"], entry["previous"], entry["version"], entry["run_id"]) for entry in entries] == [
        ("publish", None, "v1", "run-0"), ("publish", "v1", "v2", "run-1"), ("publish", "v2", "v3", "run-2"),
    ]


def test_rollback_defaults_to_the_version_before_current(three_versions):
    assert publish.rollback(three_versions) == ("v3", "v2")
    assert publish.current_version(three_versions) == "v2"
    last = publish.publications(three_versions)[-1]
    assert (last["action"], last["previous"], last["version"], last["run_id"]) == ("rollback", "v3", "v2", None)
    # A second rollback steps back once more.
    assert publish.rollback(three_versions) == ("v2", "v1")


def test_rollback_to_a_named_version(three_versions):
    assert publish.rollback(three_versions, "v1") == ("v3", "v1")
    assert (three_versions / "current" / "manifest.json").exists()


def test_rollback_refusals_name_the_reason(three_versions):
    with pytest.raises(publish.PublishError, match="v9 not found.*recent versions: v1, v2, v3"):
        publish.rollback(three_versions, "v9")
    with pytest.raises(publish.PublishError, match="v3 is already current"):
        publish.rollback(three_versions, "v3")
    publish.rollback(three_versions, "v1")
    with pytest.raises(publish.PublishError, match="oldest"):
        publish.rollback(three_versions)


def test_rollback_without_any_version(tmp_path):
    with pytest.raises(publish.PublishError, match="no current version"):
        publish.rollback(tmp_path / "published")


def test_cli_rollback_and_list(three_versions, capsys):
    home = three_versions.parent
    assert main(["--home", str(home), "publish", "rollback"]) == 0
    assert "v3 → v2" in capsys.readouterr().out

    assert main(["--home", str(home), "publish", "list"]) == 0
    listing = capsys.readouterr().out
    assert "*     v2" in listing
    assert "回滚  v3 → v2" in listing

    assert main(["--home", str(home), "publish", "list", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["current"] == "v2"
    assert [version["version"] for version in document["versions"]] == ["v1", "v2", "v3"]
    assert document["publications"][-1]["action"] == "rollback"


def test_cli_rollback_unknown_version_fails(three_versions, capsys):
    assert main(["--home", str(three_versions.parent), "publish", "rollback", "v0"]) == 2
    assert "v0 not found" in capsys.readouterr().err
    assert publish.current_version(three_versions) == "v3"


def test_cli_list_without_versions(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "publish", "list"]) == 1
    assert "尚无已发布版本" in capsys.readouterr().out


def test_status_shows_rollback_after_run(three_versions, capsys):
    from huiju.runs import RunRecord, RunStore

    home = three_versions.parent
    RunStore(home / "runs").save(RunRecord(run_id="run-2", status="succeeded", published_version="v3",
                                           current_version="v3"), final=True)
    publish.rollback(three_versions)

    assert main(["--home", str(home), "status", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["published_version"] == "v3"
    assert document["current_version"] == "v2"
    assert main(["--home", str(home), "status"]) == 0
    assert "当前版本已在此次运行后切换为 v2" in capsys.readouterr().out


def test_serve_rejects_busy_port(tmp_path, capsys):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(["--home", str(tmp_path), "serve", "--port", str(port)]) == 2
    error = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in error
    assert "--port" in error
