"""`digest publish` from the command line: the path printed, refusals with exit status 1."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_archive_samples import make_issue

from digest.cli import main
from digest.editorial import check, draft
from digest.publish.site import archive

FEEDS = """\
site:
  dir: site
  base_url: https://archive.example.org/digest/
feeds:
  - name: Example
    url: https://example.org/feed.xml
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "feeds.yaml").write_text(FEEDS, encoding="utf-8")
    issue = make_issue(date(2026, 12, 1), volume=4, number=23, seed=3)
    monkeypatch.setattr(draft, "load_issue", lambda config, day: issue)
    # The issue stands in for a draft file, so the pre-publish check has nothing to read.
    monkeypatch.setattr(check, "check_project", lambda config, day=None: [])
    return tmp_path


def publish(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["publish", "--project", str(project), "--date", "2026-12-01", *args]
    )
    return result.exit_code, result.output


def test_publish_prints_the_issue_page_and_refuses_a_silent_republish(project: Path) -> None:
    code, output = publish(project)
    page = project / "site" / "2026-12-01" / "index.html"
    assert code == 0, output
    assert output.strip() == str(page)
    # The same draft again: nothing to do (a re-run after a crash must be safe).
    before = (project / "issues" / "2026-12-01" / "published.json").read_bytes()
    code, output = publish(project)
    assert code == 0, output
    assert (project / "issues" / "2026-12-01" / "published.json").read_bytes() == before
    code, output = publish(project, "--force")
    assert code == 1 and "needs a correction note" in output
    code, output = publish(project, "--force", "--note", "Fixed a typo in a headline.")
    assert code == 0, output
    assert "Fixed a typo in a headline." in page.read_text(encoding="utf-8")
    frozen = archive.read_published(project / "issues" / "2026-12-01" / "published.json")
    assert len(frozen.corrections) == 1


def test_site_rebuilds_only_what_changed(project: Path) -> None:
    assert publish(project)[0] == 0
    result = CliRunner().invoke(main, ["site", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert "0 file(s) written" in result.output
    (project / "site" / "feed.xml").unlink()
    result = CliRunner().invoke(main, ["site", "--project", str(project)])
    assert "1 file(s) written" in result.output
    result = CliRunner().invoke(main, ["site", "--project", str(project), "--full"])
    assert "0 unchanged" in result.output
