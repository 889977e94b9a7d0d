"""The archive without a browser: freezing, the site's files, incremental rebuilds, the feed."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import pytest
from pypdf import PdfReader
from test_archive_samples import freeze_to_disk, generate, make_issue, project

from digest.config import Config, Identity
from digest.editorial import draft
from digest.errors import PublishError
from digest.models import Issue, IssueStory, SourceLink
from digest.publish.site import archive

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
PAGE_LIMIT = 60 * 1024


class _Links(HTMLParser):
    """Every URL a page refers to, by tag and attribute, and every id it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        for attr in ("href", "src", "action"):
            if values.get(attr) is not None:
                self.refs.append((tag, attr, values[attr] or ""))


def links_of(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return project(tmp_path)


def three_issues(config: Config) -> list[Issue]:
    days = [date(2026, 10, 15), date(2026, 11, 1), date(2026, 11, 15)]
    issues = [make_issue(d, volume=4, number=20 + i, seed=i) for i, d in enumerate(days)]
    for issue in issues:
        freeze_to_disk(config, issue)
    return issues


# --- freezing --------------------------------------------------------------------------------


def test_published_json_round_trips_and_keeps_the_simple_story_format(config: Config) -> None:
    issue = make_issue(date(2026, 11, 15), volume=4, number=22, seed=1)
    frozen = archive.freeze(issue, now=NOW, today=NOW.date())
    text = archive.published_to_json(frozen)
    data = json.loads(text)
    assert set(data["stories"][0]) == {"headline", "body", "section", "anchor", "sources"}
    assert set(data["stories"][0]["sources"][0]) == {"name", "url"}
    assert data["published_at"] == NOW.isoformat()
    assert data["content_hash"].startswith("sha256:")
    back = archive.published_from_json(text, Path("published.json"))
    assert back == frozen
    assert back.issue.stories == issue.stories


def test_content_hash_follows_content_not_publication_details() -> None:
    issue = make_issue(date(2026, 11, 15), volume=4, number=22, seed=1)
    later = replace(issue, published_at=NOW, corrections=(("2026-12-02", "fixed"),))
    edited = replace(
        issue, stories=(replace(issue.stories[0], body="Another text."), *issue.stories[1:])
    )
    assert archive.content_hash(issue) == archive.content_hash(later)
    assert archive.content_hash(issue) != archive.content_hash(edited)


def test_a_correction_keeps_the_first_publication_time() -> None:
    issue = make_issue(date(2026, 11, 15), volume=4, number=22, seed=1)
    first = archive.freeze(issue, now=NOW, today=NOW.date())
    later = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    fixed = archive.freeze(
        issue,
        now=later,
        today=later.date(),
        previous=first,
        note="Corrected the date of the 2+2 meeting.",
    )
    assert fixed.published_at == NOW
    assert fixed.updated_at == later
    assert fixed.issue.corrections == (("2026-12-03", "Corrected the date of the 2+2 meeting."),)


def test_a_broken_published_file_is_reported_with_its_path_and_line(config: Config) -> None:
    path = archive.published_path(config, date(2026, 11, 15))
    path.parent.mkdir(parents=True)
    path.write_text('{"date": "2026-11-15",\n  "stories": [,]}', encoding="utf-8")
    with pytest.raises(PublishError) as caught:
        archive.build_site(config, now=NOW)
    assert caught.value.path == path
    assert caught.value.line == 2
    assert "restore it" in str(caught.value)


# --- the site --------------------------------------------------------------------------------


def test_site_has_every_part_and_lists_issues_newest_first(config: Config) -> None:
    issues = three_issues(config)
    report = archive.build_site(config, now=NOW)
    site = config.site_dir
    assert report.issues == 3
    for name in (
        "index.html",
        "search.html",
        "search/2026.js",
        "feed.xml",
        "sitemap.xml",
        "topics/index.html",
        "archive/2026.html",
        "assets/site.css",
        "assets/print.css",
        "assets/search.js",
    ):
        assert (site / name).is_file(), name
    index = (site / "index.html").read_text(encoding="utf-8")
    positions = [index.index(f'href="{i.date.isoformat()}/index.html"') for i in issues]
    assert positions == sorted(positions, reverse=True)
    for issue in issues:
        assert issue.title in index
        for story in issue.stories:
            assert _escaped(story.headline) in index


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_issue_page_has_anchored_stories_sources_and_prev_next(config: Config) -> None:
    issues = three_issues(config)
    archive.build_site(config, now=NOW)
    middle = config.site_dir / "2026-11-01" / "index.html"
    page = middle.read_text(encoding="utf-8")
    links = links_of(middle)
    for story in issues[1].stories:
        anchor = re.sub(r"[^A-Za-z0-9_-]+", "-", story.anchor).strip("-")
        assert anchor in links.ids
        for source in story.sources:
            assert ("a", "href", source.url) in links.refs
    assert 'rel="prev" href="../2026-10-15/index.html"' in page
    assert 'rel="next" href="../2026-11-15/index.html"' in page
    first = (config.site_dir / "2026-10-15" / "index.html").read_text(encoding="utf-8")
    assert 'rel="prev"' not in first


def test_every_relative_link_of_the_site_resolves_to_a_file_and_anchor(config: Config) -> None:
    three_issues(config)
    archive.build_site(config, now=NOW)
    site = config.site_dir
    checked = 0
    for page in html_pages(site):
        for tag, attr, url in links_of(page).refs:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                # Other hosts may be linked to, never loaded from.
                assert (tag, attr) in {("a", "href"), ("link", "href")}, (page, url)
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            assert target.is_file(), f"{page.relative_to(site)} links to missing {url}"
            if parts.fragment and target.suffix == ".html":
                assert parts.fragment in links_of(target).ids, f"{page}: {url}"
            checked += 1
    assert checked > 100


def test_pages_stay_under_60_kb_with_500_issues(tmp_path: Path) -> None:
    config = project(tmp_path)
    generate(config, 500)
    archive.build_site(config, now=NOW)
    pages = html_pages(config.site_dir)
    sizes = {p.relative_to(config.site_dir).as_posix(): p.stat().st_size for p in pages}
    assert len([p for p in sizes if re.match(r"\d{4}-\d\d-\d\d/index.html", p)]) == 500
    too_big = {p: s for p, s in sizes.items() if s >= PAGE_LIMIT}
    assert not too_big
    index = (config.site_dir / "index.html").read_text(encoding="utf-8")
    # Every issue is reachable from the index: the newest with headlines, the rest by date.
    assert index.count('href="20') >= 500


def test_rebuilding_an_unchanged_archive_writes_nothing(config: Config) -> None:
    three_issues(config)
    first = archive.build_site(config, now=NOW)
    again = archive.build_site(config, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert first.written and not first.unchanged
    assert again.written == ()
    assert set(again.unchanged) == set(first.written)


def test_a_correction_rewrites_only_the_pages_that_show_that_issue(config: Config) -> None:
    issues = three_issues(config)
    archive.build_site(config, now=NOW)
    untouched = config.site_dir / "2026-10-15" / "index.html"
    before = untouched.stat().st_mtime_ns
    path = archive.published_path(config, issues[1].date)
    previous = archive.read_published(path)
    edited = replace(
        issues[1],
        stories=(replace(issues[1].stories[0], body="Fixed text."), *issues[1].stories[1:]),
    )
    fixed = archive.freeze(
        edited, now=NOW, today=NOW.date(), previous=previous, note="Fixed a figure."
    )
    path.write_text(archive.published_to_json(fixed), encoding="utf-8")
    report = archive.build_site(config, now=NOW)
    assert "2026-11-01/index.html" in report.written
    assert "2026-10-15/index.html" not in report.written
    assert "2026-11-15/index.html" not in report.written
    assert {"feed.xml", "search/2026.js", "index.html"} <= set(report.written)
    assert not any(p.startswith("assets/") for p in report.written)
    assert untouched.stat().st_mtime_ns == before
    page = (config.site_dir / "2026-11-01" / "index.html").read_text(encoding="utf-8")
    assert "Fixed a figure." in page and "Fixed text." in page
    assert f'datetime="{NOW.date().isoformat()}"' in page


def test_a_new_issue_rewrites_its_neighbour_but_not_older_issues(config: Config) -> None:
    three_issues(config)
    archive.build_site(config, now=NOW)
    freeze_to_disk(config, make_issue(date(2026, 12, 1), volume=4, number=23, seed=9))
    report = archive.build_site(config, now=NOW)
    assert "2026-12-01/index.html" in report.written
    assert "2026-11-15/index.html" in report.written  # its "next" link is new
    assert "2026-11-01/index.html" in report.unchanged
    assert "2026-10-15/index.html" in report.unchanged


def test_an_unpublished_issue_disappears_from_the_site(config: Config) -> None:
    three_issues(config)
    archive.build_site(config, now=NOW)
    archive.published_path(config, date(2026, 11, 1)).unlink()
    report = archive.build_site(config, now=NOW)
    assert "2026-11-01/index.html" in report.removed
    assert not (config.site_dir / "2026-11-01").exists()
    assert "2026-11-01" not in (config.site_dir / "index.html").read_text(encoding="utf-8")


def test_a_deleted_page_is_written_again(config: Config) -> None:
    three_issues(config)
    archive.build_site(config, now=NOW)
    (config.site_dir / "feed.xml").unlink()
    report = archive.build_site(config, now=NOW)
    assert report.written == ("feed.xml",)


def test_topic_pages_group_stories_by_section_newest_first(config: Config) -> None:
    issues = three_issues(config)
    archive.build_site(config, now=NOW)
    topics = config.site_dir / "topics"
    security = [s for i in reversed(issues) for s in i.stories if s.section == "Security"]
    page = (topics / "security" / "index.html").read_text(encoding="utf-8")
    positions = [page.index(_escaped(s.headline)) for s in security]
    assert positions == sorted(positions)
    other = [s for i in issues for s in i.stories if s.section != "Security"]
    assert not any(f">{_escaped(s.headline)}<" in page for s in other)
    assert "security/index.html" in (topics / "index.html").read_text(encoding="utf-8")


# --- feed, sitemap, search index -------------------------------------------------------------


def test_feed_parses_with_one_entry_per_issue_and_full_content(config: Config) -> None:
    issues = three_issues(config)
    archive.build_site(config, now=NOW)
    feed = feedparser.parse((config.site_dir / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == config.site.title
    assert len(feed.entries) == len(issues)
    for entry, issue in zip(feed.entries, reversed(issues), strict=True):
        assert entry.link == f"{config.site.base_url}{issue.date.isoformat()}/"
        assert issue.title in entry.title
        content = entry.content[0].value
        for story in issue.stories:
            assert story.body.split("\n\n")[0] in content
            assert story.sources[0].url in content
        # Links inside the content work from a feed reader: absolute.
        assert 'href="#' not in content
        links = _Links()
        links.feed(content)
        assert links.refs and all(urlsplit(ref).scheme == "https" for _, _, ref in links.refs)
        assert entry.id == entry.link and entry.published and entry.updated
        assert entry.content[0].type == "text/html"
    assert len({e.id for e in feed.entries}) == len(issues)
    root = ET.fromstring((config.site_dir / "feed.xml").read_bytes())
    atom = "{http://www.w3.org/2005/Atom}"
    assert [c.get("type") for c in root.iter(f"{atom}content")] == ["html"] * len(issues)
    assert root.findtext(f"{atom}updated") == max(e.updated for e in feed.entries)


def test_a_correction_updates_its_feed_entry_but_keeps_its_id(config: Config) -> None:
    issues = three_issues(config)
    archive.build_site(config, now=NOW)
    before = feedparser.parse((config.site_dir / "feed.xml").read_bytes()).entries
    path = archive.published_path(config, issues[0].date)
    fixed = archive.freeze(
        issues[0],
        now=NOW,
        today=NOW.date(),
        previous=archive.read_published(path),
        note="Fixed a <b>name</b>.",
    )
    path.write_text(archive.published_to_json(fixed), encoding="utf-8")
    archive.build_site(config, now=NOW)
    feed = feedparser.parse((config.site_dir / "feed.xml").read_bytes())
    assert not feed.bozo
    entry = feed.entries[-1]
    assert entry.id == before[-1].id and entry.published == before[-1].published
    assert entry.updated == "2026-12-01T15:00:00Z" != before[-1].updated
    assert feed.feed.updated == entry.updated
    assert "Fixed a &lt;b&gt;name&lt;/b&gt;." in entry.content[0].value


def test_feed_carries_the_newest_issues_only(tmp_path: Path) -> None:
    config = project(tmp_path)
    config = replace(config, site=replace(config.site, feed_entries=5))
    generate(config, 12)
    archive.build_site(config, now=NOW)
    feed = feedparser.parse((config.site_dir / "feed.xml").read_bytes())
    assert [e.link[-11:-1] for e in feed.entries] == [
        p.issue.date.isoformat() for p in archive.load_published(config)[::-1][:5]
    ]


def test_sitemap_lists_absolute_urls_of_real_pages(config: Config) -> None:
    three_issues(config)
    archive.build_site(config, now=NOW)
    tree = ET.parse(config.site_dir / "sitemap.xml")
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [e.text or "" for e in tree.findall("s:url/s:loc", ns)]
    assert len(locs) >= 3 + 1 + 1
    for loc in locs:
        assert loc.startswith(config.site.base_url)
        rest = loc[len(config.site.base_url) :]
        target = config.site_dir / rest
        assert (target / "index.html" if rest == "" or rest.endswith("/") else target).is_file()


def search_shard(site: Path, year: int) -> dict:
    """The JSON object inside search/YEAR.js (a call, so <script> can load it from disk)."""
    script = (site / "search" / f"{year}.js").read_text(encoding="utf-8")
    assert script.startswith("digestSearchShard({") and script.endswith("});\n")
    return json.loads(script.removeprefix("digestSearchShard(").removesuffix(");\n"))


def test_search_index_holds_every_story_with_its_text(config: Config) -> None:
    issues = three_issues(config)
    archive.build_site(config, now=NOW)
    data = search_shard(config.site_dir, 2026)
    rows = {(r[0], r[2]): r for r in data["stories"]}
    assert len(data["stories"]) == sum(len(i.stories) for i in issues)
    story = issues[0].stories[0]
    row = rows[(issues[0].date.isoformat(), story.headline)]
    assert " ".join(story.body.split()) == row[4]
    assert data["issues"][issues[0].date.isoformat()] == issues[0].title
    assert [r[0] for r in data["stories"]] == sorted((r[0] for r in data["stories"]), reverse=True)


def test_search_index_is_split_by_year_so_a_new_issue_rewrites_one_year(config: Config) -> None:
    three_issues(config)
    freeze_to_disk(config, make_issue(date(2025, 12, 15), volume=3, number=24, seed=11))
    archive.build_site(config, now=NOW)
    assert search_shard(config.site_dir, 2025)["issues"].keys() == {"2025-12-15"}
    search_page = (config.site_dir / "search.html").read_text(encoding="utf-8")
    assert 'data-shards="search/2026.js search/2025.js"' in search_page  # newest first
    freeze_to_disk(config, make_issue(date(2026, 12, 1), volume=4, number=23, seed=9))
    written = archive.build_site(config, now=NOW).written
    assert "search/2026.js" in written
    assert "search/2025.js" not in written and "search.html" not in written
    assert "2026-12-01" in search_shard(config.site_dir, 2026)["issues"]


# --- safety ----------------------------------------------------------------------------------


def test_hostile_text_is_escaped_and_unsafe_links_dropped(config: Config) -> None:
    story = IssueStory(
        headline='Tokyo <script>alert("x")</script> & "allies"',
        body="Line with a control char \x07 and <b>tags</b>.",
        sources=(
            SourceLink("Evil", "javascript:alert(1)"),
            SourceLink("Good", "https://example.com/a?b=1&c=2"),
        ),
        section="Security",
        anchor="tokyo <script>",
    )
    issue = Issue(
        date=date(2026, 11, 15),
        title="Vol 4.22",
        volume=4,
        number=22,
        stories=(story,),
        preheader="p",
    )
    freeze_to_disk(config, issue)
    archive.build_site(config, now=NOW)
    page = (config.site_dir / "2026-11-15" / "index.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "javascript:" not in page
    assert 'href="https://example.com/a?b=1&amp;c=2"' in page
    assert "\x07" not in page
    feed = feedparser.parse((config.site_dir / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")


def test_no_subscriber_data_or_unsubscribe_token_reaches_the_site(config: Config) -> None:
    config = replace(
        config,
        digest=Identity(
            unsubscribe_url="https://spfusa.org/alliance-digest/unsubscribe?token={token}"
        ),
    )
    three_issues(config)
    archive.build_site(config, now=NOW)
    for path in config.site_dir.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8").lower()
            assert "unsubscribe" not in text, path
            assert "token" not in text, path


# --- publish ---------------------------------------------------------------------------------


@pytest.fixture
def publishable(config: Config, monkeypatch: pytest.MonkeyPatch) -> tuple[Config, Issue]:
    """A project whose draft loads as a given issue."""
    issue = make_issue(date(2026, 12, 1), volume=4, number=23, seed=3)
    monkeypatch.setattr(draft, "load_issue", lambda cfg, day: issue)
    return config, issue


def test_publish_freezes_renders_mail_and_builds_the_page(
    publishable: tuple[Config, Issue],
) -> None:
    config, issue = publishable
    page = archive.publish(config, issue.date, now=NOW)
    assert page == config.site_dir / "2026-12-01" / "index.html"
    assert page.is_file()
    issue_dir = config.issues_dir / "2026-12-01"
    frozen = json.loads((issue_dir / "published.json").read_text(encoding="utf-8"))
    assert frozen["published_at"] == NOW.isoformat()
    assert frozen["content_hash"] == archive.content_hash(issue)
    assert (issue_dir / "email.html").is_file()
    assert issue.stories[0].sources[0].url in page.read_text(encoding="utf-8")


def test_republishing_needs_force_and_a_note_which_the_page_shows(
    publishable: tuple[Config, Issue], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, issue = publishable
    archive.publish(config, issue.date, now=NOW)
    later = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    frozen_path = archive.published_path(config, issue.date)
    before = frozen_path.read_bytes()
    # Publishing an unchanged draft again does nothing (so a re-run after a crash is safe).
    archive.publish(config, issue.date, now=later)
    assert frozen_path.read_bytes() == before
    edited = replace(issue, title=issue.title + " (corrected)")
    monkeypatch.setattr(draft, "load_issue", lambda cfg, day: edited)
    with pytest.raises(PublishError, match="--force"):
        archive.publish(config, issue.date, now=later)
    with pytest.raises(PublishError, match="--note"):
        archive.publish(config, issue.date, now=later, force=True)
    with pytest.raises(PublishError, match="--note"):
        archive.publish(config, issue.date, now=later, force=True, note="   ")
    archive.publish(config, issue.date, now=later, force=True, note="Corrected a name.")
    frozen = archive.read_published(archive.published_path(config, issue.date))
    assert frozen.published_at == NOW
    assert [(c.date, c.note) for c in frozen.corrections] == [
        (date(2026, 12, 2), "Corrected a name.")
    ]
    page = (config.site_dir / "2026-12-01" / "index.html").read_text(encoding="utf-8")
    assert "Corrected a name." in page and "December 2, 2026" in page


def test_publishing_keeps_the_unsubscribe_link_of_the_mail_out_of_the_site(
    publishable: tuple[Config, Issue],
) -> None:
    config, issue = publishable
    config = replace(
        config,
        digest=replace(
            config.digest,
            unsubscribe_url="https://spfusa.org/alliance-digest/unsubscribe?token={token}",
        ),
    )
    archive.publish(config, issue.date, now=NOW)
    mail = (config.issues_dir / "2026-12-01" / "email.eml").read_bytes().lower()
    assert b"unsubscribe" in mail  # the mail has it: the site must not
    for path in config.site_dir.rglob("*"):
        if path.suffix == ".pdf":  # compressed: its words are read out of it
            text = " ".join(page.extract_text() for page in PdfReader(path).pages).lower()
        elif path.is_file():
            text = path.read_text(encoding="utf-8").lower()
        else:
            continue
        assert "unsubscribe" not in text and "token" not in text, path


def test_a_note_on_a_first_publication_is_refused(publishable: tuple[Config, Issue]) -> None:
    config, issue = publishable
    with pytest.raises(PublishError, match="not published yet"):
        archive.publish(config, issue.date, now=NOW, note="why?")
    assert not archive.published_path(config, issue.date).exists()


def test_a_published_issue_edited_by_hand_stops_the_build_instead_of_changing_silently(
    publishable: tuple[Config, Issue],
) -> None:
    config, issue = publishable
    archive.publish(config, issue.date, now=NOW)
    path = archive.published_path(config, issue.date)
    page = config.site_dir / "2026-12-01" / "index.html"
    before = page.read_bytes()
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(issue.stories[0].headline, "A quietly changed headline"), encoding="utf-8"
    )
    with pytest.raises(PublishError, match="edited after the issue was published") as caught:
        archive.build_site(config, now=NOW)
    assert caught.value.path == path and "--force --note" in str(caught.value)
    assert page.read_bytes() == before
    path.write_text(text, encoding="utf-8")  # undone: the site builds again
    assert archive.build_site(config, now=NOW).written == ()


def test_rendering_a_published_issue_again_is_refused(publishable: tuple[Config, Issue]) -> None:
    from digest import pipeline

    config, issue = publishable
    # before publication: fine (forced: this fixture has no draft file for `digest check`)
    pipeline.run_render(config, issue.date, now=NOW, force=True)
    archive.publish(config, issue.date, now=NOW)
    mail = (config.issues_dir / "2026-12-01" / "email.html").read_bytes()
    with pytest.raises(PublishError, match="email files are final"):
        pipeline.run_render(config, issue.date, now=NOW)
    assert (config.issues_dir / "2026-12-01" / "email.html").read_bytes() == mail


# --- the lead image --------------------------------------------------------------------------


def _with_image(config: Config, image: str) -> Path:
    issue = replace(
        make_issue(date(2026, 11, 15), volume=4, number=22, seed=5),
        image=image,
        image_alt="Destroyers in Tokyo Bay",
        image_credit="Photo: U.S. Navy",
    )
    freeze_to_disk(config, issue)
    archive.build_site(config, now=NOW)
    return config.site_dir / "2026-11-15" / "index.html"


def test_a_lead_image_beside_the_issue_is_copied_into_the_site(config: Config) -> None:
    folder = config.issues_dir / "2026-11-15"
    folder.mkdir(parents=True)
    (folder / "lead.jpg").write_bytes(b"\xff\xd8\xff fake jpeg")
    page = _with_image(config, "lead.jpg")
    assert (page.parent / "lead.jpg").read_bytes() == b"\xff\xd8\xff fake jpeg"
    text = page.read_text(encoding="utf-8")
    assert '<img src="lead.jpg" alt="Destroyers in Tokyo Bay"' in text
    assert "<figcaption>Photo: U.S. Navy</figcaption>" in text


def test_a_lead_image_on_another_host_is_linked_not_loaded(config: Config) -> None:
    page = _with_image(config, "https://images.example.com/lead.jpg")
    text = page.read_text(encoding="utf-8")
    assert "<img" not in text
    assert 'href="https://images.example.com/lead.jpg"' in text
    assert "Photo: U.S. Navy" in text


def test_a_lead_image_on_the_sites_own_host_is_shown(config: Config) -> None:
    url = f"{config.site.base_url}images/lead.jpg"
    text = _with_image(config, url).read_text(encoding="utf-8")
    assert f'<img src="{url}"' in text


def test_a_lead_image_path_cannot_leave_the_issue_folder(config: Config) -> None:
    (config.issues_dir / "secret.txt").parent.mkdir(parents=True, exist_ok=True)
    (config.issues_dir / "secret.txt").write_text("subscriber list")
    page = _with_image(config, "../secret.txt")
    assert "<img" not in page.read_text(encoding="utf-8")
    assert not (page.parent / "secret.txt").exists()


def test_publication_date_is_shown_in_the_editors_time_zone(config: Config) -> None:
    # 02:30 UTC on 16 November is still the evening of 15 November in New York.
    late = datetime(2026, 11, 16, 2, 30, tzinfo=UTC)
    freeze_to_disk(config, make_issue(date(2026, 11, 15), volume=4, number=22, seed=5), now=late)
    archive.build_site(config, now=NOW)
    page = (config.site_dir / "2026-11-15" / "index.html").read_text(encoding="utf-8")
    assert "published <time" in page and ">November 15, 2026</time></p>" in page


def test_japanese_stories_are_marked_as_japanese_in_an_english_site(config: Config) -> None:
    story = IssueStory(
        headline="日米首脳が電話会談",
        body="両首脳は同盟の強化を確認した。",
        sources=(SourceLink("NHK", "https://www3.nhk.or.jp/news/"),),
        section="Diplomacy",
        anchor="call",
    )
    english = make_issue(date(2026, 11, 15), volume=4, number=22, seed=5)
    freeze_to_disk(config, replace(english, stories=(story, *english.stories)))
    archive.build_site(config, now=NOW)
    page = (config.site_dir / "2026-11-15" / "index.html").read_text(encoding="utf-8")
    assert '<article class="story" id="call" lang="ja">' in page
    assert '<li lang="ja"><a href="#call">' in page
    plain = next(s for s in english.stories if s.headline.isascii())
    anchor = re.sub(r"[^A-Za-z0-9_-]+", "-", plain.anchor).strip("-")
    assert f'<article class="story" id="{anchor}">' in page
    topic = (config.site_dir / "topics" / "diplomacy" / "index.html").read_text(encoding="utf-8")
    assert '<h3 lang="ja"><a href="../../2026-11-15/index.html#call">' in topic


def test_an_empty_archive_still_builds_a_valid_site(config: Config) -> None:
    report = archive.build_site(config, now=NOW)
    assert report.issues == 0
    index = (config.site_dir / "index.html").read_text(encoding="utf-8")
    assert "No issue has been published yet." in index
    feed = feedparser.parse((config.site_dir / "feed.xml").read_bytes())
    assert not feed.bozo and feed.entries == []


def test_odd_issues_build_japanese_sections_empty_issues_and_sourceless_stories(
    config: Config,
) -> None:
    story = IssueStory(
        headline="防衛費の増額",
        body="政府は防衛費を増やす方針を示した。",
        sources=(),
        section="安全保障",
        anchor="",
    )
    freeze_to_disk(
        config,
        Issue(
            date=date(2026, 11, 1),
            title="Vol 4.21",
            volume=4,
            number=21,
            stories=(story,),
            preheader="",
        ),
    )
    freeze_to_disk(
        config,
        Issue(
            date=date(2026, 11, 15), title="Vol 4.22", volume=4, number=22, stories=(), preheader=""
        ),
    )
    archive.build_site(config, now=NOW)
    page = (config.site_dir / "2026-11-01" / "index.html").read_text(encoding="utf-8")
    assert 'id="story-1"' in page and "Sources:" not in page
    topic = archive.slugify("安全保障")
    assert topic.startswith("topic-")
    assert (config.site_dir / "topics" / topic / "index.html").is_file()
    assert (config.site_dir / "2026-11-15" / "index.html").is_file()
    feed = feedparser.parse((config.site_dir / "feed.xml").read_bytes())
    assert not feed.bozo and len(feed.entries) == 2


def test_an_imported_issue_keeps_its_own_publication_date(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An issue of the earlier series, imported with `published: 2024-05-01` in its draft.
    then = datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    issue = replace(make_issue(date(2024, 5, 1), volume=2, number=9, seed=8), published_at=then)
    monkeypatch.setattr(draft, "load_issue", lambda cfg, day: issue)
    archive.publish(config, issue.date, now=NOW)
    frozen = archive.read_published(archive.published_path(config, issue.date))
    assert frozen.published_at == then
    page = (config.site_dir / "2024-05-01" / "index.html").read_text(encoding="utf-8")
    assert ">May 1, 2024</time></p>" in page and "published <time" in page
    assert NOW.strftime("%B %-d, %Y") not in page


def test_the_draft_key_published_is_read_as_the_issue_date_of_an_import(tmp_path: Path) -> None:
    from support.publish_project import write_project

    from digest.config import load_config

    path = write_project(tmp_path, image=False)
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "layout: standard", "layout: standard\npublished: 2024-05-01"
        ),
        encoding="utf-8",
    )
    config = load_config(tmp_path)
    issue = draft.load_issue(config, date(2026, 12, 1))
    assert issue.published_at is not None and issue.published_at.date() == date(2024, 5, 1)
