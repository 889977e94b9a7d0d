"""Third-party documents fetched over HTTP into the store: nothing raises, every title intact.

The corpora live beside the repository in ../shared/corpora (see its README files); these
tests skip with a message when it is absent.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.feedserver import FeedServer, Route
from support.repo import SHARED

from digest._util.urls import canonical_url
from digest.config import Config, FetchSettings
from digest.ingest.fetch import fetch_into_store
from digest.ingest.store import Store
from digest.models import FeedSource

CORPORA = SHARED / "corpora"
FEEDPARSER_TESTS = CORPORA / "feedparser-tests"
REAL_FEEDS = CORPORA / "real-feeds"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SETTINGS = FetchSettings(timeout_s=10, read_timeout_s=5, connect_timeout_s=2)


def need(folder: Path) -> None:
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent: these tests need the shared corpora beside the repo")


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def fetch_all(tmp_path: Path, feeds: list[FeedSource]) -> tuple[object, Path]:
    config = Config(feeds=tuple(feeds), fetch=SETTINGS, path=tmp_path / "feeds.yaml")
    db = tmp_path / ".digest" / "digest.sqlite"
    with Store.open(db) as store:
        return fetch_into_store(config, store, now=NOW), db


def test_every_feedparser_test_document_is_fetched_without_an_exception(
    tmp_path: Path, server: FeedServer
) -> None:
    need(FEEDPARSER_TESTS)
    feeds = []
    for path in sorted(FEEDPARSER_TESTS.rglob("*.xml")):
        body = path.read_bytes()
        # The upstream metadata names the Content-Type the document should be served with.
        header = re.search(rb"Header:\s*Content-type:\s*([^\r\n]*)", body, re.IGNORECASE)
        content_type = header.group(1).decode("latin-1").strip() if header else "application/xml"
        name = str(path.relative_to(FEEDPARSER_TESTS))
        url = server.add(f"/{len(feeds)}.xml", Route(body=body, content_type=content_type))
        feeds.append(FeedSource(name, url))
    assert len(feeds) >= 100
    report, _ = fetch_all(tmp_path, feeds)
    assert [f.feed for f in report.feeds] == [f.name for f in feeds]  # type: ignore[attr-defined]
    outcomes = {f.outcome for f in report.feeds}  # type: ignore[attr-defined]
    assert outcomes <= {"fetched", "failed"}
    failed = [f for f in report.feeds if f.outcome == "failed"]  # type: ignore[attr-defined]
    assert all("malformed" in f.detail or "not a feed" in f.detail for f in failed)


# -- the real feeds: what their documents say, read independently of digest.ingest.parse -------

_ITEM = re.compile(rb"<item\b.*?</item>", re.DOTALL)
_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
# FeedBurner keeps the article's own address aside from its redirect link.
_LINK = re.compile(
    r"<feedburner:origLink>(.*?)</feedburner:origLink>|<link>(.*?)</link>", re.DOTALL
)
_DECLARED = re.compile(rb"""<\?xml[^>]*encoding=["']([\w-]+)""")
_CODECS = {"shift_jis": "cp932", "euc-jp": "euc_jis_2004"}


def expected_items(path: Path) -> list[tuple[str, str]]:
    """(canonical link, title) of each item, decoded with the document's own declaration."""
    body = path.read_bytes()
    declared = _DECLARED.search(body)
    encoding = declared.group(1).decode().lower() if declared else "utf-8"
    out = []
    for raw in _ITEM.findall(body):
        text = raw.decode(_CODECS.get(encoding, encoding))
        title = _TITLE.search(text).group(1)  # type: ignore[union-attr]
        title = re.sub(r"^\s*<!\[CDATA\[(.*)\]\]>\s*$", r"\1", title, flags=re.DOTALL)
        title = " ".join(html.unescape(re.sub(r"<[^>]+>", "", title)).split())
        links = _LINK.findall(text)
        origin = [o for o, _ in links if o]
        link = html.unescape((origin or [plain for _, plain in links])[0].strip())
        out.append((canonical_url(link), title))
    return out


def test_every_real_feed_item_is_stored_with_its_title_intact(
    tmp_path: Path, server: FeedServer
) -> None:
    need(REAL_FEEDS)
    paths = sorted(p for p in REAL_FEEDS.iterdir() if p.suffix in (".xml", ".rdf"))
    assert len(paths) >= 15
    # Served as bare text/xml, the hardest case: no charset from the server at all.
    feeds = [
        FeedSource(
            p.stem,
            server.add(f"/{p.name}", Route(body=p.read_bytes(), content_type="text/xml")),
            lang="ja"
            if re.search(r"jp|japan|asahi|mainichi|2ch", p.stem) and "japantimes" not in p.stem
            else "en",
        )
        for p in paths
    ]
    report, db = fetch_all(tmp_path, feeds)
    assert {f.outcome for f in report.feeds} == {"fetched"}  # type: ignore[attr-defined]
    with Store.open(db) as store:
        stored = {
            i.url: i
            for i in store.items_between(
                datetime(1990, 1, 1, tzinfo=UTC), NOW + timedelta(days=1), with_backlog=True
            )
        }
    total = 0
    for path in paths:
        seen: set[str] = set()
        for link, title in expected_items(path):
            assert link in stored, f"{path.name}: {title!r} was not stored"
            item = stored[link]
            assert path.stem in item.outlets
            if link not in seen:  # a repeated link is the same story (2ch's thread link)
                assert item.title == title, f"{path.name}: {item.title!r} != {title!r}"
                assert "\ufffd" not in item.title
            seen.add(link)
            total += 1
    assert total == 374  # the count in real-feeds/SOURCES.md
    for item in stored.values():  # plain text: no markup, entities or stray whitespace
        for text in (item.title, item.summary):
            assert not re.search(
                r"<[a-zA-Z/][^>]*>|&(#\d+|#x[0-9a-f]+|[a-z]+);|\s\s|^\s|\s$", text, re.IGNORECASE
            ), f"{item.feed}: {text!r}"
    # A feed without dates: its items are flagged and take the time they were first seen.
    undated = [i for i in stored.values() if i.feed == "blog-artifact-jp-eucjp-2005"]
    assert len(undated) == 15
    assert all(not i.dated and i.published == NOW for i in undated)
