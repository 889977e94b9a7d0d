"""The offline demo end to end: sample feeds served on 127.0.0.1 -> email and archive.

One demo run is shared by the tests of this module (it is the slowest thing in the suite).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from digest._util.urls import canonical_url
from digest.demo.samples import load_sample_labels


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("demo") / "project"
    result = subprocess.run(
        [sys.executable, "-m", "digest", "demo", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return folder, result.stdout


def draft_document(folder: Path) -> dict:
    (path,) = folder.glob("issues/*/draft.yaml")
    return YAML(typ="rt").load(path.read_text(encoding="utf-8"))


def test_the_demo_prints_where_the_email_and_the_archive_are(demo: tuple[Path, str]) -> None:
    folder, stdout = demo
    email = Path(stdout.split("email:")[1].split()[0])
    index = Path(stdout.split("archive:")[1].split()[0])
    assert email.is_file() and email.is_relative_to(folder)
    assert index == folder / "site" / "index.html" and index.is_file()
    assert (email.parent / "email.txt").is_file() and (email.parent / "email.eml").is_file()


def test_the_demo_fetched_every_sample_feed(demo: tuple[Path, str]) -> None:
    folder, _ = demo
    result = subprocess.run(
        [sys.executable, "-m", "digest", "status", "--json", "--project", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    import json

    data = json.loads(result.stdout)
    assert len(data["feeds"]) >= 8
    assert all(feed["last_success"] for feed in data["feeds"]), data["feeds"]
    assert data["totals"]["items_14d"] >= 200


def test_candidates_are_the_alliance_items(demo: tuple[Path, str]) -> None:
    folder, _ = demo
    labels = {canonical_url(url): alliance for url, alliance in load_sample_labels().items()}
    candidates = draft_document(folder)["candidates"]
    shown = {canonical_url(c["url"]) for c in candidates}
    for candidate in candidates:
        shown |= {canonical_url(other["url"]) for other in candidate.get("also") or []}
    alliance = {url for url, is_alliance in labels.items() if is_alliance}
    unrelated_shown = {url for url in shown if labels.get(url) is False}
    recall = len(alliance & shown) / len(alliance)
    assert recall >= 0.9, sorted(alliance - shown)
    assert len(unrelated_shown) <= 0.1 * len(shown), sorted(unrelated_shown)


def test_the_stand_in_editor_picked_stories_that_reached_the_email(
    demo: tuple[Path, str],
) -> None:
    folder, _ = demo
    document = draft_document(folder)  # the whole file is one YAML document
    decisions = document["decisions"] or {}
    picked = [c for c in document["candidates"] if decisions.get(c["id"]) == "picked"]
    assert picked
    html = next(folder.glob("issues/*/email.html")).read_text(encoding="utf-8")
    text = next(folder.glob("issues/*/email.txt")).read_text(encoding="utf-8")
    for candidate in picked:
        assert candidate["url"].split("?")[0] in html
        assert candidate["url"].split("?")[0] in text


@pytest.mark.browser
def test_the_email_and_the_archive_read_well_in_chromium(
    demo: tuple[Path, str], browser: object, artifacts_dir: Path
) -> None:
    folder, _ = demo
    email = next(folder.glob("issues/*/email.html"))
    pages = {"demo-email": email, "demo-archive-index": folder / "site" / "index.html"}
    for name, path in pages.items():
        for width in (600, 375):
            page = browser.new_page()  # type: ignore[attr-defined]
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(path.as_uri())
            page.screenshot(path=str(artifacts_dir / f"{name}-{width}.png"), full_page=True)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} overflows by {overflow}px at {width}px"
            assert "US-Japan Alliance Digest" in page.inner_text("body")
            page.close()
