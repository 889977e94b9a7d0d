"""Publishing is final, so an issue that `digest check` finds errors in is not published."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from support.repo import REPO


def digest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args, "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_issue_without_stories_is_not_published(tmp_path: Path) -> None:
    shutil.copy(REPO / "feeds.yaml", tmp_path / "feeds.yaml")
    assert digest(tmp_path, "draft", "--date", "2026-12-01").returncode == 0

    result = digest(tmp_path, "publish", "--date", "2026-12-01")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "not published: `digest check` finds 1 error(s)" in result.stderr
    assert "the issue has no stories" in result.stderr
    assert not (tmp_path / "issues" / "2026-12-01" / "published.json").exists()
    assert not (tmp_path / "site").exists()
