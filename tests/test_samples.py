"""The bundled sample feeds: real documents that parse cleanly, served over real HTTP.

Expected values come from the data files themselves (digest/sample_data/*.yaml), so the
tests hold whatever items the data gains or loses.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest

from digest.config import load_config
from digest.demo.samples import (
    SampleDataError,
    SampleFeed,
    SampleSpec,
    _item,
    load_sample_labels,
    load_sample_stories,
    load_samples,
    render_feed,
    sample_feeds_yaml,
    serve_directory,
    strip_tracking,
    write_sample_feeds,
)

# Early January: the two weeks before it cross a year boundary.
NOW = datetime(2027, 1, 5, 3, 30, tzinfo=UTC)
WINDOW = timedelta(days=14)
SPECS = {spec.filename: spec for spec in load_samples()}
FEEDPARSER_VERSION = {"rss": "rss20", "atom": "atom10", "rdf": "rss10"}
KANJI_OR_KANA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SampleFeed]:
    feeds = write_sample_feeds(tmp_path_factory.mktemp("sample-feeds"), now=NOW)
    return {feed.filename: feed for feed in feeds}


@pytest.fixture(scope="module")
def feed_dir(written: dict[str, SampleFeed]) -> Path:
    return next(iter(written.values())).path.parent


def newest_first(spec: SampleSpec) -> list:
    return sorted(spec.items, key=lambda item: item.hours_ago)


def parse(body: bytes, content_type: str) -> feedparser.FeedParserDict:
    return feedparser.parse(body, response_headers={"content-type": content_type})


def entry_time(entry: feedparser.FeedParserDict) -> datetime | None:
    # RSS 1.0 carries dc:date, which feedparser files under `updated`.
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC) if parsed else None


# --- the data -----------------------------------------------------------------------------


def test_the_samples_are_many_and_varied() -> None:
    specs = list(SPECS.values())
    items = [item for spec in specs for item in spec.items]
    assert len(specs) >= 8
    assert len(items) >= 220
    assert {spec.format for spec in specs} == {"rss", "atom", "rdf"}
    assert {spec.lang for spec in specs} == {"en", "ja"}
    assert "shift_jis" in {spec.encoding.lower() for spec in specs}
    assert "euc-jp" in {spec.encoding.lower() for spec in specs}
    assert any(not spec.dated for spec in specs), "one feed must carry no item dates"
    share = sum(item.alliance for item in items) / len(items)
    assert 0.33 <= share <= 0.42, f"alliance share {share:.0%}"
    for lang in ("en", "ja"):
        assert any(i.alliance for s in specs if s.lang == lang for i in s.items), lang
    assert sum(item.summary is None for item in items) >= 5
    assert sum("utm_" in item.link for item in items) >= 10
    assert sum("<" in (item.summary or "") for item in items) >= 20, "HTML in summaries"


def test_links_are_unique_http_urls_on_example_hosts() -> None:
    links = [item.link for spec in SPECS.values() for item in spec.items]
    assert len(links) == len(set(links))
    for link in links:
        parts = urlsplit(link)
        assert parts.scheme in ("http", "https"), link
        assert re.search(r"\.example\.(com|jp|org)$", parts.hostname or ""), link


def test_several_alliance_stories_are_told_by_several_outlets_in_both_languages() -> None:
    members: dict[str, list[tuple[SampleSpec, object]]] = defaultdict(list)
    for spec in SPECS.values():
        for item in spec.items:
            if item.story:
                members[item.story].append((spec, item))
    bilingual = 0
    for story, pairs in members.items():
        outlets = [spec.name for spec, _ in pairs]
        assert 2 <= len(outlets) <= 4, f"{story}: {outlets}"
        assert len(set(outlets)) == len(outlets), f"{story} twice in one outlet"
        hours = [item.hours_ago for _, item in pairs]
        assert max(hours) - min(hours) <= 24, f"{story} spread over {hours}"
        assert len({item.alliance for _, item in pairs}) == 1, f"{story} labelled both ways"
        titles = {item.title for _, item in pairs}
        assert len(titles) == len(pairs), f"{story}: every outlet words it its own way"
        if pairs[0][1].alliance and {spec.lang for spec, _ in pairs} == {"en", "ja"}:
            bilingual += 1
    assert bilingual >= 8


def test_labels_cover_every_link_with_and_without_tracking() -> None:
    labels = load_sample_labels()
    stories = load_sample_stories()
    for spec in SPECS.values():
        for item in spec.items:
            assert labels[item.link] is item.alliance
            assert labels[strip_tracking(item.link)] is item.alliance
            if item.story:
                assert stories[strip_tracking(item.link)] == item.story
    tracked = next(link for link in labels if "utm_source" in link)
    assert "utm_" not in strip_tracking(tracked)
    assert strip_tracking("https://a.example.com/x?id=3&utm_medium=rss") == (
        "https://a.example.com/x?id=3"
    )


# --- the documents ------------------------------------------------------------------------


@pytest.mark.parametrize("filename", sorted(SPECS))
def test_document_parses_cleanly_with_every_item(
    filename: str, written: dict[str, SampleFeed]
) -> None:
    spec, feed = SPECS[filename], written[filename]
    parsed = parse(feed.path.read_bytes(), feed.content_type)

    assert not parsed.bozo, f"{filename}: {parsed.get('bozo_exception')!r}"
    assert parsed.version == FEEDPARSER_VERSION[spec.format]
    assert parsed.encoding.lower() == spec.encoding.lower()
    expected = newest_first(spec)
    assert [entry.title for entry in parsed.entries] == [item.title for item in expected]
    assert [entry.link for entry in parsed.entries] == [item.link for item in expected]
    for entry, item in zip(parsed.entries, expected, strict=True):
        assert bool(entry.get("summary")) is (item.summary is not None), item.link
    if spec.lang == "ja":
        assert all(KANJI_OR_KANA.search(entry.title) for entry in parsed.entries)


@pytest.mark.parametrize("filename", sorted(SPECS))
def test_items_are_dated_inside_the_two_weeks_before_now(
    filename: str, written: dict[str, SampleFeed]
) -> None:
    spec, feed = SPECS[filename], written[filename]
    parsed = parse(feed.path.read_bytes(), feed.content_type)
    times = [entry_time(entry) for entry in parsed.entries]
    if not spec.dated:
        assert times == [None] * len(times)
        return
    for moment, item in zip(times, newest_first(spec), strict=True):
        assert moment == NOW - timedelta(hours=item.hours_ago), item.link
        assert NOW - WINDOW <= moment <= NOW


def test_dates_follow_now(tmp_path: Path) -> None:
    later = NOW + timedelta(days=100, hours=5)
    feed = next(f for f in write_sample_feeds(tmp_path, now=later) if f.filename in SPECS)
    parsed = parse(feed.path.read_bytes(), feed.content_type)
    first = newest_first(SPECS[feed.filename])[0]
    assert entry_time(parsed.entries[0]) == later - timedelta(hours=first.hours_ago)


def test_japanese_feeds_are_really_encoded_as_declared(written: dict[str, SampleFeed]) -> None:
    for filename, spec in SPECS.items():
        body = written[filename].path.read_bytes()
        declared = re.match(rb'<\?xml version="1.0" encoding="([^"]+)"\?>', body)
        assert declared and declared.group(1).decode() == spec.encoding
        text = body.decode(spec.encoding)
        assert spec.items[0].title.replace("&", "&amp;") in text
        if spec.encoding.lower() != "utf-8":
            with pytest.raises(UnicodeDecodeError):
                body.decode("utf-8")


def test_the_same_now_gives_the_same_bytes(tmp_path: Path, written: dict[str, SampleFeed]) -> None:
    again = write_sample_feeds(tmp_path, now=NOW)
    for feed in again:
        assert feed.path.read_bytes() == written[feed.filename].path.read_bytes()


# --- serving ------------------------------------------------------------------------------


def test_served_feeds_carry_their_charset_and_parse_intact(
    written: dict[str, SampleFeed], feed_dir: Path
) -> None:
    types = {feed.filename: feed.content_type for feed in written.values()}
    with serve_directory(feed_dir, types) as base_url, httpx.Client(base_url=base_url) as client:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", base_url)
        for feed in written.values():
            response = client.get(feed.filename)
            assert response.status_code == 200
            assert response.headers["content-type"] == feed.content_type
            assert response.content == feed.path.read_bytes()
        assert client.get("no-such-feed.rss").status_code == 404

        sjis = next(f for f in written.values() if "Shift_JIS" in f.content_type)
        response = client.get(sjis.filename)
        parsed = feedparser.parse(response.content, response_headers=dict(response.headers))
    assert response.headers["content-type"].endswith("charset=Shift_JIS")
    assert not parsed.bozo, repr(parsed.get("bozo_exception"))
    titles = [entry.title for entry in parsed.entries]
    assert titles == [item.title for item in newest_first(SPECS[sjis.filename])]
    assert "日米防衛相が会談　ミサイル共同生産の加速で一致" in titles


def test_without_a_mapping_the_charset_comes_from_the_xml_declaration(
    written: dict[str, SampleFeed], feed_dir: Path
) -> None:
    with serve_directory(feed_dir) as base_url, httpx.Client(base_url=base_url) as client:
        for feed in written.values():
            assert client.get(feed.filename).headers["content-type"] == feed.content_type


def test_the_server_is_quiet_and_stops_on_exit(
    written: dict[str, SampleFeed], feed_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    filename = next(iter(written))
    with serve_directory(feed_dir) as base_url:
        assert httpx.get(base_url + filename).status_code == 200
        assert httpx.get(base_url + "missing.atom").status_code == 404
    out, err = capfd.readouterr()
    assert "GET" not in out + err
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + filename, timeout=2)


def test_feeds_yaml_snippet_loads_as_a_project_config(
    written: dict[str, SampleFeed], tmp_path: Path
) -> None:
    feeds = list(written.values())
    (tmp_path / "feeds.yaml").write_text(
        sample_feeds_yaml(feeds, "http://127.0.0.1:8123/"), encoding="utf-8"
    )
    config = load_config(tmp_path)
    assert [(f.name, f.url, f.lang, f.kind) for f in config.feeds] == [
        (f.name, f"http://127.0.0.1:8123/{f.filename}", f.lang, f.kind) for f in feeds
    ]
    assert "東都新聞" in {f.name for f in config.feeds}


# --- refusals -----------------------------------------------------------------------------


def test_an_item_outside_the_window_is_refused() -> None:
    raw = {"hours_ago": 400, "alliance": False, "title": "t", "link": "https://x.example.com/"}
    with pytest.raises(SampleDataError, match="hours_ago 400"):
        _item(raw, "sample.yaml: item 1")


def test_a_character_the_encoding_cannot_hold_is_named() -> None:
    spec = next(s for s in SPECS.values() if s.encoding == "Shift_JIS")
    bad = dataclasses.replace(spec.items[0], title="日米 🤝 会談")
    with pytest.raises(SampleDataError, match="🤝"):
        render_feed(dataclasses.replace(spec, items=(bad,)), now=NOW)


def test_naive_now_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        write_sample_feeds(tmp_path, now=datetime(2027, 1, 5))
