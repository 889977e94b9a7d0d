"""`digest publish` killed with SIGKILL at seeded random moments, then run again: the re-run
finishes the publish without --force and nothing is lost or left half-done.

Before the re-run, `digest status` names any half-done publish and the command that
finishes it. After it: the draft is byte-identical, published.json is valid, the issue's
email files and PDF exist, the site holds the page, the PDF and the feed's enclosure, no
staging folder or intent is left, and a rebuild of the site finds nothing to write.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.publish_project import ISSUE_DATE, write_project

from digest._util.fs import TMP_SUFFIX
from digest.config import load_config
from digest.publish.site import archive
from digest.publish.site.archive import INTENT_NAME, STAGING_NAME

MOMENTS = 10
SEED = 16
DAY = ISSUE_DATE.isoformat()


def command(project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "digest", *args, "--project", str(project)]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("crash-template")
    write_project(project)
    return project


def killed_at(project: Path, delay: float) -> bool:
    """Start a publish and SIGKILL it after `delay` seconds; True if it was still running."""
    process = subprocess.Popen(
        command(project, "publish", "--date", DAY),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        process.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        return True


def assert_completely_published(project: Path, draft_bytes: bytes) -> None:
    issue_dir = project / "issues" / DAY
    assert (issue_dir / "draft.yaml").read_bytes() == draft_bytes
    config = load_config(project)
    frozen = archive.read_published(issue_dir / "published.json")  # valid, hash matches
    assert frozen.issue.date == ISSUE_DATE
    pdf_name = f"alliance-digest-{DAY}.pdf"
    for name in ("email.html", "email.txt", "email.eml", pdf_name):
        assert (issue_dir / name).stat().st_size > 0, name
    assert not (issue_dir / INTENT_NAME).exists()
    assert not (issue_dir / STAGING_NAME).exists()
    site = project / "site"
    page = (site / DAY / "index.html").read_text(encoding="utf-8")
    for story in frozen.issue.stories:
        assert story.headline.replace("'", "&#39;") in page, story.headline
    assert (site / DAY / pdf_name).read_bytes() == (issue_dir / pdf_name).read_bytes()
    assert 'rel="enclosure" type="application/pdf"' in (site / "feed.xml").read_text("utf-8")
    assert not any(p.name.startswith(".digest-staging") for p in site.iterdir())
    leftovers = [
        *project.rglob("*.tmp"),
        *project.rglob(".*.tmp"),
        *project.rglob(f"*{TMP_SUFFIX}"),
    ]
    assert not leftovers, leftovers
    report = archive.build_site(config, now=frozen.published_at)
    assert report.written == () and report.removed == (), report


def test_publish_killed_at_random_moments_is_finished_by_a_rerun(
    template: Path, tmp_path: Path
) -> None:
    draft_bytes = (template / "issues" / DAY / "draft.yaml").read_bytes()
    rng = random.Random(SEED)
    moments = sorted(rng.uniform(0.3, 3.2) for _ in range(MOMENTS))
    outcomes = []
    for number, moment in enumerate(moments):
        project = tmp_path / f"run-{number}"
        shutil.copytree(template, project)
        interrupted = killed_at(project, moment)
        half_done = (project / "issues" / DAY / INTENT_NAME).exists()
        if half_done and not any(half for *_, half in outcomes):  # status: once is enough
            status = subprocess.run(
                command(project, "status", "--json"), capture_output=True, text=True, timeout=60
            )
            assert status.returncode == 0, status.stderr
            pending = json.loads(status.stdout)["half_done_publishes"]
            assert [p["command"] for p in pending] == [f"digest publish --date {DAY}"]
        rerun = subprocess.run(
            command(project, "publish", "--date", DAY), capture_output=True, text=True, timeout=120
        )
        assert rerun.returncode == 0, (moment, rerun.stderr)
        assert "Traceback" not in rerun.stderr
        assert_completely_published(project, draft_bytes)
        outcomes.append((round(moment, 2), interrupted, half_done))
        shutil.rmtree(project)
    # The seeded moments must have cut some publishes short, or the test proves nothing.
    assert any(interrupted for _, interrupted, _ in outcomes), outcomes
    assert any(half for _, _, half in outcomes), outcomes
    print("moment s, killed, half-done:", outcomes)


def _intent(project: Path, **fields: object) -> None:
    (project / "issues" / DAY / INTENT_NAME).write_text(json.dumps(fields), encoding="utf-8")


def test_a_publish_killed_after_writing_published_json_is_finished(
    template: Path, tmp_path: Path
) -> None:
    """The last moment of a publish: published.json is written, the intent not yet removed."""
    project = tmp_path / "last-moment"
    shutil.copytree(template, project)
    draft_bytes = (project / "issues" / DAY / "draft.yaml").read_bytes()
    first = subprocess.run(command(project, "publish", "--date", DAY), capture_output=True)
    assert first.returncode == 0, first.stderr
    started = archive.read_published(project / "issues" / DAY / "published.json").published_at
    _intent(project, force=False, note=None, started_at=started.isoformat())

    rerun = subprocess.run(
        command(project, "publish", "--date", DAY), capture_output=True, text=True, timeout=120
    )

    assert rerun.returncode == 0, rerun.stderr
    assert_completely_published(project, draft_bytes)


def test_a_correction_killed_before_writing_published_json_is_still_made(
    template: Path, tmp_path: Path
) -> None:
    project = tmp_path / "correction"
    shutil.copytree(template, project)
    assert subprocess.run(command(project, "publish", "--date", DAY)).returncode == 0
    published = archive.read_published(project / "issues" / DAY / "published.json")
    later = published.updated_at.replace(year=published.updated_at.year + 1)
    _intent(project, force=True, note="Corrected a name.", started_at=later.isoformat())

    rerun = subprocess.run(
        command(project, "publish", "--date", DAY), capture_output=True, text=True, timeout=120
    )

    assert rerun.returncode == 0, rerun.stderr
    corrected = archive.read_published(project / "issues" / DAY / "published.json")
    assert [c.note for c in corrected.corrections] == ["Corrected a name."]
    assert not (project / "issues" / DAY / INTENT_NAME).exists()
