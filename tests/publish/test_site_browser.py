"""The archive site in headless Chromium, opened from disk and served over HTTP from a sub-path.

Checks: the index lists the issues; every internal link resolves (pages, files and anchors);
nothing is requested from another host; search finds a story by a word of its paragraph;
axe-core finds no accessibility violation; a 375 px wide phone has no horizontal overflow.
Screenshots go to tests/artifacts/site-*.png.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from support.repo import REPO
from test_archive_samples import SECTIONS, freeze_to_disk, make_issue, project

from digest.config import Config, SiteSettings
from digest.models import Issue, IssueStory, SourceLink
from digest.publish.site import archive

pytestmark = pytest.mark.browser

AXE = REPO / "tests" / "vendor" / "axe-core" / "axe.min.js"
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
RARE_WORD = "Kagoshima"  # only in the body of one story, never in a headline
JAPANESE_WORD = "護衛艦"

FOUND = IssueStory(
    headline="Coast guards agree on joint patrol rules",
    body=(
        "The two coast guards signed new rules for joint patrols near the southern islands. "
        f"Officials met at the port of {RARE_WORD} to settle the details. They dined at "
        "the Hôtel Ōsaka-ya.\n\n"
        "A second paragraph names "
        "https://www.example.gov/a/very/long/address/that/should/wrap/on/a/phone/screen/ok."
    ),
    sources=(SourceLink("Japan Coast Guard", "https://www.kaiho.mlit.go.jp/e/"),),
    section="Security",
    anchor="coast-guards-agree",
)
JAPANESE = IssueStory(
    headline="海上自衛隊と米海軍が共同訓練",
    body=f"海上自衛隊の{JAPANESE_WORD}と米海軍の駆逐艦が太平洋で共同訓練を実施した。"
    "訓練は三日間続き、両国の部隊の相互運用性を高めることが目的とされる。" * 3,
    sources=(SourceLink("NHK", "https://www3.nhk.or.jp/news/"),),
    section="Security",
    anchor="jmsdf-usn-drill",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Five published issues (one corrected) built into www/digest, and a server for www/."""
    root = tmp_path_factory.mktemp("archive")
    config = project(root, base_url="https://archive.example.org/digest/")
    config: Config = replace(config, site=replace(config.site, dir="www/digest"))
    assert isinstance(config.site, SiteSettings)
    days = [
        date(2026, 9, 15),
        date(2026, 10, 1),
        date(2026, 10, 15),
        date(2026, 11, 1),
        date(2026, 11, 15),
    ]
    issues: list[Issue] = []
    for n, day in enumerate(days):
        first = {2: FOUND, 3: JAPANESE}.get(n)
        issues.append(make_issue(day, volume=4, number=18 + n, seed=40 + n, first=first))
    for issue in issues:
        freeze_to_disk(config, issue)
    corrected = archive.published_path(config, days[2])
    fixed = archive.freeze(
        issues[2],
        now=NOW,
        today=NOW.date(),
        previous=archive.read_published(corrected),
        note="Corrected the name of the port.",
    )
    corrected.write_text(archive.published_to_json(fixed), encoding="utf-8")
    archive.build_site(config, now=NOW)

    handler = functools.partial(_QuietHandler, directory=str(config.site_dir.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {
            "config": config,
            "issues": issues,
            "dir": config.site_dir,
            "http": f"http://127.0.0.1:{server.server_address[1]}/digest/",
            "file": config.site_dir.as_uri() + "/",
        }
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    page.set_viewport_size({"width": 1200, "height": 900})
    try:
        yield page
    finally:
        page.close()


def _foreign_requests(page: Any, allowed: str) -> list[str]:
    """Collect every request the page makes outside the site (none is allowed)."""
    foreign: list[str] = []

    def check(request: Any) -> None:
        if not request.url.startswith(allowed):
            foreign.append(request.url)

    page.on("request", check)
    return foreign


def test_index_lists_the_published_issues_newest_first(site: dict[str, Any], page: Any) -> None:
    page.goto(site["http"] + "index.html")
    titles = page.locator(".issue-card h2 a").all_inner_texts()
    assert titles == [i.title for i in reversed(site["issues"])]
    headlines = page.locator(".issue-card .headlines a").all_inner_texts()
    assert FOUND.headline in headlines and JAPANESE.headline in headlines


@pytest.mark.parametrize("mode", ["file", "http"])
def test_every_internal_link_resolves_and_nothing_comes_from_other_hosts(
    site: dict[str, Any], page: Any, mode: str
) -> None:
    base = site[mode]
    foreign = _foreign_requests(page, base)
    queue = [base + "index.html"]
    ids: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []
    while queue:
        url = queue.pop()
        if url in ids:
            continue
        response = page.goto(url)
        assert response is None or response.ok, url
        ids[url] = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        refs = page.eval_on_selector_all(
            "a[href], link[href], script[src], img[src], form[action]",
            "els => els.map(e => e.href || e.src || e.action)",
        )
        for ref in refs:
            target, _ = urldefrag(ref)
            if not ref.startswith(base):
                assert urlsplit(ref).scheme in ("http", "https"), f"{url}: {ref}"
                continue
            links.append((url, ref))
            target = target.split("?")[0]
            if target.endswith(".html") and target not in ids:
                queue.append(target)
    assert len(ids) >= 5 + 1 + 1 + 1 + 2 * len(SECTIONS)
    for source, ref in links:
        target, fragment = urldefrag(ref)
        target = target.split("?")[0]
        if target.endswith(".html"):
            assert not fragment or fragment in ids[target], f"{source}: {ref}"
        else:
            path = site["dir"] / target[len(base) :]
            assert path.is_file(), f"{source}: {ref}"
    assert foreign == []


def test_search_finds_a_story_by_a_word_of_its_paragraph(site: dict[str, Any], page: Any) -> None:
    # From disk, where the index cannot be fetched and must come in by <script>.
    page.goto(site["file"] + "search.html")
    page.fill("#q", RARE_WORD.lower())
    page.press("#q", "Enter")
    first = page.locator("#search-results li a").first
    first.wait_for()
    assert page.locator("#search-results li").count() == 1
    assert first.inner_text() == FOUND.headline
    assert first.get_attribute("href") == "2026-10-15/index.html#coast-guards-agree"
    assert RARE_WORD in page.locator("#search-results li").first.inner_text()
    assert page.locator("#search-results mark").all_inner_texts() == [RARE_WORD]
    first.click()
    page.wait_for_url("**/2026-10-15/index.html#coast-guards-agree")
    assert page.locator(".story:target h3").inner_text() == FOUND.headline


def test_search_from_any_page_and_in_japanese(site: dict[str, Any], page: Any) -> None:
    page.goto(site["http"] + "2026-09-15/index.html")
    page.fill("#quick-q", JAPANESE_WORD)
    page.press("#quick-q", "Enter")
    page.wait_for_url("**/search.html?q=*")
    result = page.locator("#search-results li a").first
    result.wait_for()
    assert result.inner_text() == JAPANESE.headline
    assert page.locator("#search-results li").first.get_attribute("lang") == "ja"
    # A phrase typed without spaces is cut at its particles: 護衛艦 ... 駆逐艦 are both found.
    page.fill("#q", f"{JAPANESE_WORD}と駆逐艦")
    page.press("#q", "Enter")
    page.locator("#search-status", has_text="1 story matches").wait_for()
    assert page.locator("#search-results li a").first.inner_text() == JAPANESE.headline
    assert {JAPANESE_WORD, "駆逐艦"} <= set(page.locator("#search-results mark").all_inner_texts())
    page.fill("#q", "no-such-word-anywhere")
    page.press("#q", "Enter")
    page.locator("#search-status", has_text="No story matches").wait_for()
    assert page.locator("#search-results li").count() == 0


def test_search_ignores_case_and_accents_and_matches_at_the_start_of_words(
    site: dict[str, Any], page: Any
) -> None:
    page.goto(site["file"] + "search.html?q=OSAKA%20hotel")
    first = page.locator("#search-results li a").first
    first.wait_for()
    assert page.locator("#search-results li").count() == 1
    assert first.inner_text() == FOUND.headline
    # The words are marked as written in the story, accents and all.
    assert page.locator("#search-results mark").all_inner_texts() == ["Hôtel", "Ōsaka"]
    # "uard" is inside "guard" (a word of many stories) but starts no word.
    page.fill("#q", "uard")
    page.press("#q", "Enter")
    page.locator("#search-status", has_text="No story matches").wait_for()
    page.fill("#q", "guar")
    page.press("#q", "Enter")
    page.locator("#search-status", has_text="match “guar”").wait_for()
    assert page.locator("#search-results li").count() > 0
    assert set(page.locator("#search-results mark").all_inner_texts()) <= {"guar", "Guar"}


def test_search_by_keyboard_alone_with_more_results_than_a_page(tmp_path: Path, page: Any) -> None:
    config = project(tmp_path)
    stories = tuple(
        IssueStory(
            headline=f"Alliance story number {n}",
            body=f"Body {n}.",
            sources=(),
            section="Security",
            anchor=f"story-{n}",
        )
        for n in range(60)
    )
    freeze_to_disk(
        config, replace(make_issue(date(2026, 11, 1), volume=4, number=21, seed=1), stories=stories)
    )
    older = IssueStory(
        headline="Alliance story of an earlier year",
        body="Body.",
        sources=(),
        section="Security",
        anchor="earlier",
    )
    freeze_to_disk(
        config, replace(make_issue(date(2025, 6, 1), volume=3, number=11, seed=2), stories=(older,))
    )
    archive.build_site(config, now=NOW)
    page.goto(config.site_dir.as_uri() + "/search.html")
    page.focus("#q")
    page.keyboard.type("allian")  # no Enter: results follow typing
    page.locator("#search-status", has_text="61 stories match").wait_for()
    assert page.locator("#search-results li").count() == 50
    more = page.locator("#search-more")
    assert more.inner_text() == "Show 11 more of 11"
    more.focus()
    page.keyboard.press("Enter")
    assert page.locator("#search-results li").count() == 61
    # Both years' index files were searched; equal matches come newest first.
    assert page.locator("#search-results li h2").last.inner_text() == older.headline
    assert not more.is_visible()
    # Focus lands on the first new result, so the reader goes on from there.
    assert page.evaluate("document.activeElement.textContent") == "Alliance story number 50"
    page.focus("#q")
    page.keyboard.press("Escape")
    assert page.input_value("#q") == ""
    assert page.locator("#search-results li").count() == 0


PAGES = {
    "index": "index.html",
    "issue": "2026-10-15/index.html",
    "issue-ja": "2026-11-01/index.html",
    "year": "archive/2026.html",
    "topics": "topics/index.html",
    "topic": "topics/security/index.html",
    "topic-year": "topics/security/2026.html",
    "search": "search.html?q=coast",
}


@pytest.mark.skipif(not AXE.is_file(), reason=f"axe-core missing at {AXE} (npm pack axe-core)")
def test_pages_pass_the_axe_core_accessibility_check(site: dict[str, Any], page: Any) -> None:
    failures = []
    for name, path in PAGES.items():
        page.goto(site["http"] + path)
        if name == "search":
            page.locator("#search-results li").first.wait_for()
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values:
                ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
            return {violations: r.violations.map(v => ({id: v.id, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})),
                    passes: r.passes.length};
        }""")
        assert result["passes"] > 10, name  # axe really ran
        failures += [
            f"{name}: {v['id']} ({v['help']}) at {v['nodes']}" for v in result["violations"]
        ]
    assert failures == []


def test_phone_width_has_no_horizontal_overflow(
    site: dict[str, Any], page: Any, artifacts_dir: Path
) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    wide = {}
    for name, path in PAGES.items():
        page.goto(site["file"] + path)
        if name == "search":
            page.locator("#search-results li").first.wait_for()
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 375:
            wide[name] = width
        page.screenshot(path=str(artifacts_dir / f"site-375-{name}.png"), full_page=True)
    assert wide == {}


def test_screenshots_for_desktop_and_print(
    site: dict[str, Any], page: Any, artifacts_dir: Path
) -> None:
    page.goto(site["http"] + "index.html")
    page.screenshot(path=str(artifacts_dir / "site-desktop-index.png"), full_page=True)
    page.goto(site["http"] + "2026-10-15/index.html")
    page.screenshot(path=str(artifacts_dir / "site-desktop-issue.png"), full_page=True)
    page.emulate_media(media="print")
    # The print stylesheet drops the site's chrome and keeps the issue.
    assert not page.locator(".masthead").is_visible()
    assert not page.locator(".pager").is_visible()
    assert page.locator(".story").first.is_visible()
    # The PDF still says whose it is and where the web page is.
    credit = page.locator(".print-only")
    assert "archive.example.org/digest/2026-10-15/" in credit.inner_text()
    page.emulate_media(media="screen")
    assert not credit.is_visible()
    page.emulate_media(media="print")
    page.screenshot(path=str(artifacts_dir / "site-print-issue.png"), full_page=True)
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    (artifacts_dir / "site-print-issue.pdf").write_bytes(pdf)


def test_search_snippets_start_at_a_word_and_dates_read_as_everywhere(
    site: dict[str, Any], page: Any
) -> None:
    page.goto(site["file"] + "search.html")
    page.fill("#q", RARE_WORD.lower())
    page.press("#q", "Enter")
    page.locator("#search-results li a").first.wait_for()
    meta, snippet = page.locator("#search-results li p").all_inner_texts()[:2]
    assert "October 15, 2026" in meta  # digest.date_format, as in the email and the pages
    body = " ".join(FOUND.body.split())
    assert snippet.startswith("…") and RARE_WORD in snippet
    opening = snippet[1:].split()[0]
    assert f" {opening} " in f" {body} ", snippet  # a whole word, not the tail of one


def test_the_issue_page_follows_dark_mode_and_stays_readable(
    site: dict[str, Any], page: Any, artifacts_dir: Path
) -> None:
    page.emulate_media(color_scheme="dark")
    page.goto(site["http"] + PAGES["issue"])
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(20, 23, 27)"
    page.screenshot(path=str(artifacts_dir / "site-issue-dark.png"))
    if not AXE.is_file():
        pytest.skip(f"axe-core missing at {AXE}")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'rule', values: ['color-contrast']}});
        return r.violations.map(v => v.nodes.map(n => n.target.join(' ')));
    }""")
    assert violations == []
