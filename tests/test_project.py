"""`digest init`, and commands finding their project like git: real processes, real files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.feedserver import FeedServer, Route, rss_feed

from digest.paths import default_config, find_project


def digest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def local_feeds(config: Path, url: str) -> None:
    """Point the new project's feed list at the local server (no test reaches the internet)."""
    text = config.read_text(encoding="utf-8")
    feeds = f"feeds:\n  - name: Local Wire\n    url: {url}\n    kind: wire\n"
    text, count = re.subn(r"(?ms)^feeds:\n.*?(?=^\S)", feeds, text, count=1)
    assert count == 1
    config.write_text(text, encoding="utf-8")


def test_init_then_fetch_and_draft_from_a_subfolder(tmp_path: Path) -> None:
    project = tmp_path / "alliance"
    made = digest(tmp_path, "init", "alliance")
    assert made.returncode == 0, made.stderr
    config = project / "feeds.yaml"
    assert config.read_text(encoding="utf-8") == default_config().read_text(encoding="utf-8")
    assert (project / "issues").is_dir()
    assert (
        ".digest/" in (project / ".gitignore").read_text()
        and "site/" in (project / ".gitignore").read_text()
    )
    # A second init leaves the edited feeds.yaml alone.
    config.write_text(config.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")
    again = digest(tmp_path, "init", "alliance")
    assert again.returncode == 2 and "never overwrites" in again.stderr
    assert config.read_text(encoding="utf-8").endswith("# mine\n")

    inside = project / "issues"
    with FeedServer() as server:
        server.add("/wire.xml", Route(body=rss_feed("wire", 10)))
        local_feeds(config, server.url("/wire.xml"))
        fetched = digest(inside, "fetch", "--no-progress")
        assert fetched.returncode == 0, fetched.stderr
    assert (project / "state").is_dir() and not (inside / "state").exists()
    drafted = digest(inside, "draft", "--date", "2026-12-01")
    assert drafted.returncode == 0, drafted.stderr
    assert (project / "issues" / "2026-12-01" / "draft.yaml").is_file()
    # --project before or after the command name.
    for args in (("--project", str(project), "status"), ("status", "--project", str(project))):
        status = digest(tmp_path, *args)
        assert status.returncode == 0, status.stderr
        assert "Local Wire" in status.stdout


def test_without_a_project_the_error_names_the_folder_and_suggests_init(tmp_path: Path) -> None:
    empty = tmp_path / "nowhere"
    empty.mkdir()
    if find_project(empty) is not None:  # a feeds.yaml above the temporary folder
        pytest.skip(f"{find_project(empty)} holds a feeds.yaml above the test's folder")
    result = digest(empty, "status")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"no feeds.yaml in {empty}" in result.stderr and "digest init" in result.stderr
