"""Fetching against a real local HTTP server (benchmarks/feedserver.py) into a real store."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.feedserver import FeedServer, Route, rss_feed

from digest.config import Config, FetchSettings, Identity
from digest.ingest.fetch import Fetcher, fetch_into_store, make_clients
from digest.ingest.polling import backoff_until, is_due, retry_after_seconds
from digest.ingest.store import FeedState, Store
from digest.models import FeedSource, RunReport, Validators

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
FAST = FetchSettings(timeout_s=10, connect_timeout_s=2, read_timeout_s=2, retries=2)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


class Project:
    """A config plus a store in a temporary folder; `run` is one `digest fetch`."""

    def __init__(self, root: Path, feeds: list[FeedSource], settings: FetchSettings = FAST):
        self.config = Config(
            feeds=tuple(feeds),
            fetch=settings,
            path=root / "feeds.yaml",
            digest=Identity(contact_url="https://spfusa.org/contact/"),
        )
        self.db = root / "state" / "digest.sqlite"

    def run(self, now: datetime = NOW, *, force: bool = False) -> RunReport:
        with Store.open(self.db) as store:
            return fetch_into_store(self.config, store, now=now, show_progress=False, force=force)

    def store(self) -> Store:
        return Store.open(self.db)

    def outcome(self, report: RunReport) -> dict[str, str]:
        return {f.feed: f.outcome for f in report.feeds}


def feed(server: FeedServer, name: str, route: Route, lang: str = "en") -> FeedSource:
    return FeedSource(name=name, url=server.add(f"/{name}.xml", route), lang=lang)  # type: ignore[arg-type]


# -- pure decisions ---------------------------------------------------------------------------


def test_backoff_grows_caps_and_respects_retry_after() -> None:
    delays = [backoff_until("f", n, NOW) - NOW for n in range(1, 8)]
    assert all(a < b for a, b in itertools.pairwise(delays[:5]))
    assert timedelta(minutes=54) <= delays[0] <= timedelta(minutes=66)
    assert max(delays) <= timedelta(hours=24) * 1.1
    later = NOW + timedelta(days=2)
    assert backoff_until("f", 1, NOW, retry_after=later) == later
    assert is_due(FeedState("f").next_attempt, NOW)
    assert not is_due(NOW + timedelta(seconds=1), NOW)


def test_retry_after_accepts_seconds_and_dates() -> None:
    assert retry_after_seconds("120", NOW) == 120
    assert retry_after_seconds("Tue, 24 Nov 2026 12:05:00 GMT", NOW) == 300
    assert retry_after_seconds("soon", NOW) is None


# -- incremental ------------------------------------------------------------------------------


def test_second_run_is_conditional_and_costs_almost_nothing(
    tmp_path: Path, server: FeedServer
) -> None:
    a = feed(server, "a", Route(body=rss_feed("a", 30)))
    b = feed(server, "b", Route(body=rss_feed("b", 30), etag=False))  # Last-Modified only
    project = Project(tmp_path, [a, b])
    first = project.run()
    assert project.outcome(first) == {"a": "fetched", "b": "fetched"}
    assert first.new_items == 60
    sent = server.stats.bytes_sent
    second = project.run(NOW + timedelta(hours=3), force=True)
    assert project.outcome(second) == {"a": "not_modified", "b": "not_modified"}
    assert server.stats.request_headers["/a.xml"]["if-none-match"].startswith('"')
    assert server.stats.request_headers["/b.xml"]["if-modified-since"].endswith("GMT")
    assert server.stats.bytes_sent - sent < 0.03 * sent
    with project.store() as store:
        assert store.count_items() == 60
        assert store.feed_state("a").last_success == NOW + timedelta(hours=3)


def test_a_server_ignoring_validators_is_not_parsed_again(
    tmp_path: Path, server: FeedServer
) -> None:
    route = Route(body=rss_feed("a", 10), conditional=False)
    project = Project(tmp_path, [feed(server, "a", route)])
    project.run()
    assert project.outcome(project.run(force=True)) == {"a": "unchanged"}
    route.body = rss_feed("a", 12)  # two more stories
    report = project.run(force=True)
    assert project.outcome(report) == {"a": "fetched"}
    assert (report.new_items, report.feeds[0].items) == (2, 12)
    with project.store() as store:
        assert store.count_items() == 12


# -- politeness and failures ------------------------------------------------------------------


def test_user_agent_names_the_project_and_contact_and_gzip_is_accepted(
    tmp_path: Path, server: FeedServer
) -> None:
    project = Project(tmp_path, [feed(server, "a", Route(body=rss_feed("a", 5), gzip=True))])
    assert project.run().new_items == 5
    headers = server.stats.request_headers["/a.xml"]
    assert "AllianceDigest/" in headers["user-agent"]
    assert "https://spfusa.org/contact/" in headers["user-agent"]
    assert {"gzip", "br"} <= {e.strip() for e in headers["accept-encoding"].split(",")}
    assert "Sasakawa Peace Foundation USA" in headers["user-agent"]  # who fetches


def test_the_user_agent_is_configurable() -> None:
    from digest.ingest.fetch import user_agent

    config = Config(fetch=replace(FAST, user_agent="AllianceBot/{version} (ops@example.org)"))
    agent = user_agent(config)
    assert agent.startswith("AllianceBot/") and "{version}" not in agent
    assert agent.endswith("(ops@example.org)")


@pytest.mark.parametrize(("per_host", "allowed"), [(2, 2), (6, 6)])
def test_requests_per_host_are_bounded(
    tmp_path: Path, server: FeedServer, per_host: int, allowed: int
) -> None:
    feeds = [
        feed(server, f"f{i}", Route(body=rss_feed(f"f{i}", 2), latency_s=0.3)) for i in range(8)
    ]
    Project(tmp_path, feeds, replace(FAST, per_host=per_host)).run()
    assert server.stats.max_inflight == allowed


def test_retry_after_is_honoured_within_the_run(server: FeedServer) -> None:
    url = server.add(
        "/busy.xml", Route(body=rss_feed("busy", 3), fail_times=1, fail_status=503, retry_after="1")
    )
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    async def go() -> object:
        clients = make_clients(FAST, "test")
        try:
            fetcher = Fetcher(FAST, "test", clients, sleep=record)
            return await fetcher.fetch(FeedSource("busy", url), Validators())
        finally:
            for client in clients:
                await client.aclose()

    attempt = asyncio.run(go())
    assert attempt.fetched.ok and attempt.fetched.body  # type: ignore[attr-defined]
    assert slept and slept[0] >= 1.0
    assert server.stats.statuses["/busy.xml"] == [503, 200]


def test_a_long_retry_after_defers_the_feed_to_a_later_run(
    tmp_path: Path, server: FeedServer
) -> None:
    route = Route(body=rss_feed("slow", 3), fail_times=10**6, fail_status=429, retry_after="7200")
    project = Project(tmp_path, [feed(server, "slow", route)])
    report = project.run()
    assert project.outcome(report) == {"slow": "failed"}
    assert "429" in report.feeds[0].detail
    assert server.requests("/slow.xml") == 1  # waiting 2 h inside the run makes no sense
    with project.store() as store:
        assert store.feed_state("slow").next_attempt >= NOW + timedelta(hours=2)


def test_the_size_cap_stops_reading_and_the_feed_backs_off(
    tmp_path: Path, server: FeedServer
) -> None:
    settings = replace(FAST, max_bytes=1_000_000)
    huge = feed(server, "huge", Route(mode="huge", huge_bytes=50_000_000))
    fine = feed(server, "fine", Route(body=rss_feed("fine", 5)))
    project = Project(tmp_path, [huge, fine], settings)
    report = project.run()
    assert project.outcome(report) == {"huge": "failed", "fine": "fetched"}
    assert "larger than 1,000,000 bytes" in report.feeds[0].detail
    assert server.stats.bytes_sent < 20_000_000  # the client hung up, not the server
    assert project.outcome(project.run()) == {"huge": "skipped", "fine": "not_due"}
    assert project.outcome(project.run(force=True)) == {"huge": "failed", "fine": "not_modified"}


def test_the_size_cap_counts_downloaded_bytes(server: FeedServer) -> None:
    url = server.add("/huge.xml", Route(mode="huge", huge_bytes=50_000_000))
    settings = replace(FAST, max_bytes=2_000_000)

    async def go() -> object:
        clients = make_clients(settings, "test")
        try:
            return await Fetcher(settings, "test", clients).fetch(
                FeedSource("h", url), Validators()
            )
        finally:
            for client in clients:
                await client.aclose()

    fetched = asyncio.run(go()).fetched  # type: ignore[attr-defined]
    assert not fetched.ok
    assert 2_000_000 < fetched.bytes_read <= 2_000_000 + 256 * 1024


def test_a_declared_oversize_body_is_refused_unread(tmp_path: Path, server: FeedServer) -> None:
    project = Project(
        tmp_path,
        [feed(server, "big", Route(body=rss_feed("big", 400)))],
        replace(FAST, max_bytes=50_000),
    )
    report = project.run()
    assert report.feeds[0].outcome == "failed" and "bytes)" in report.feeds[0].detail


def test_a_hanging_server_fails_alone(tmp_path: Path, server: FeedServer) -> None:
    hang = feed(server, "hang", Route(mode="hang"))
    fine = feed(server, "fine", Route(body=rss_feed("fine", 5)))
    project = Project(tmp_path, [hang, fine], replace(FAST, read_timeout_s=0.5))
    report = project.run()
    assert project.outcome(report) == {"hang": "failed", "fine": "fetched"}
    assert "timed out" in report.feeds[0].detail
    assert server.requests("/hang.xml") == 1  # a silent server is not retried at once


def test_redirects_loops_and_gone(tmp_path: Path, server: FeedServer) -> None:
    target = feed(server, "new-home", Route(body=rss_feed("moved", 3)))
    moved = feed(server, "moved", Route(mode="redirect", status=301, location=target.url))
    loop = feed(server, "loop", Route(mode="redirect_loop"))
    gone = feed(server, "gone", Route(status=410))
    missing = FeedSource("missing", server.url("/nothing-here.xml"))
    project = Project(tmp_path, [moved, loop, gone, missing])
    report = project.run()
    details = {f.feed: f.detail for f in report.feeds}
    assert project.outcome(report) == {
        "moved": "fetched",
        "loop": "failed",
        "gone": "gone",
        "missing": "failed",
    }
    assert f"moved permanently to {target.url}" in details["moved"]
    assert "redirect" in details["loop"]
    assert "410" in details["gone"] and "404" in details["missing"]
    with project.store() as store:
        health = {h.feed: h for h in store.feed_health(project.config.feeds, NOW)}
        assert health["gone"].gone and health["gone"].next_attempt >= NOW + timedelta(days=6)
        assert store.feed_state("moved").permanent_redirect == target.url
        assert health["moved"].moved_to == target.url  # shown by `digest status`


def test_failing_feeds_back_off_and_recover_by_themselves(
    tmp_path: Path, server: FeedServer
) -> None:
    route = Route(status=500)
    project = Project(tmp_path, [feed(server, "flaky", route)], replace(FAST, retries=0))
    assert project.outcome(project.run()) == {"flaky": "failed"}
    assert project.outcome(project.run(NOW + timedelta(minutes=30))) == {"flaky": "skipped"}
    assert server.requests("/flaky.xml") == 1
    assert project.outcome(project.run(NOW + timedelta(hours=2))) == {"flaky": "failed"}
    with project.store() as store:
        state = store.feed_state("flaky")
        assert state.consecutive_failures == 2
        assert state.next_attempt - (NOW + timedelta(hours=2)) > timedelta(hours=1, minutes=40)
    route.status, route.body = 200, rss_feed("flaky", 4)
    later = NOW + timedelta(hours=8)
    assert project.outcome(project.run(later)) == {"flaky": "fetched"}
    with project.store() as store:
        (health,) = store.feed_health(project.config.feeds, later)
        assert health.consecutive_failures == 0 and not health.failing
        assert health.last_success == later


# -- items ------------------------------------------------------------------------------------


def test_the_same_story_from_two_feeds_is_one_item_with_both_outlets(
    tmp_path: Path, server: FeedServer
) -> None:
    one = rss_feed("x", 3, link_base="https://wire.example")
    other = one.replace(b"utm_source=rss", b"utm_source=partner").replace(b"Feed x", b"Feed y")
    project = Project(
        tmp_path,
        [feed(server, "Kyodo", Route(body=one)), feed(server, "Nikkei", Route(body=other))],
    )
    assert project.run().new_items == 3
    with project.store() as store:
        items = store.items_between(NOW - timedelta(days=30), NOW)
    assert len(items) == 3
    assert all(set(i.outlets) == {"Kyodo", "Nikkei"} for i in items)
    assert all("utm_" not in i.url for i in items)


def test_a_feed_that_renumbers_its_guids_loses_no_story(tmp_path: Path, server: FeedServer) -> None:
    def build(first: int) -> bytes:
        # Position numbers as GUIDs: "1" is the newest story, whichever it is today.
        items = "".join(
            f"<item><title>Story {n}</title><link>https://wire.example/{n}</link>"
            f"<guid isPermaLink='false'>{pos}</guid></item>"
            for pos, n in enumerate(range(first, first - 3, -1), start=1)
        )
        return f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()

    route = Route(body=build(3), conditional=False)
    project = Project(tmp_path, [feed(server, "renumbers", route)])
    assert project.run().new_items == 3
    route.body = build(5)  # two new stories push the others down the numbering
    assert project.run(NOW + timedelta(hours=3)).new_items == 2
    with project.store() as store:  # undated: the first fetch's three are backlog, kept too
        stored = store.conn.execute("SELECT title, url FROM items").fetchall()
    assert sorted(stored) == [(f"Story {n}", f"https://wire.example/{n}") for n in range(1, 6)]


def test_undated_items_keep_their_first_seen_time(tmp_path: Path, server: FeedServer) -> None:
    route = Route(body=rss_feed("nodate", 3, dated=False), conditional=False)
    project = Project(tmp_path, [feed(server, "nodate", route)])
    project.run()
    route.body = rss_feed("nodate", 4, dated=False)
    later = NOW + timedelta(days=2)
    assert project.run(later).new_items == 1
    with project.store() as store:
        items = store.items_between(NOW - timedelta(days=1), later + timedelta(days=1))
    # The first fetch's undated items may be years old: kept, but not news of any window.
    assert [(i.published, i.dated) for i in items] == [(later, False)]
    with project.store() as store:
        rows = store.conn.execute("SELECT first_seen, backlog FROM items ORDER BY 1").fetchall()
    assert rows == [("2026-11-24T12:00:00Z", 1)] * 3 + [("2026-11-26T12:00:00Z", 0)]


def test_japanese_encodings_over_http(tmp_path: Path, server: FeedServer) -> None:
    feeds = []
    for encoding, header in [
        ("shift_jis", "text/xml"),
        ("euc-jp", "application/rss+xml"),
        ("iso-2022-jp", "text/xml; charset=iso-2022-jp"),
        ("shift_jis", "text/html; charset=ISO-8859-1"),
    ]:
        body = rss_feed("ja", 2, lang="ja", encoding=encoding)
        name = f"{encoding}-{len(feeds)}"
        feeds.append(feed(server, name, Route(body=body, content_type=header), lang="ja"))
    project = Project(tmp_path, feeds)
    report = project.run()
    assert {f.outcome for f in report.feeds} == {"fetched"}
    with project.store() as store:
        titles = {i.title for i in store.items_between(NOW - timedelta(days=30), NOW)}
    assert titles == {f"同盟ニュース ja 第{n}報: 日米首脳が会談" for n in (0, 1)}


def test_a_new_url_in_feeds_yaml_starts_the_feed_afresh(tmp_path: Path, server: FeedServer) -> None:
    broken = feed(server, "moved", Route(status=404))
    project = Project(tmp_path, [broken])
    assert project.outcome(project.run()) == {"moved": "failed"}
    assert project.outcome(project.run()) == {"moved": "skipped"}
    fixed = replace(broken, url=server.add("/new-address.xml", Route(body=rss_feed("m", 2))))
    project.config = replace(project.config, feeds=(fixed,))
    assert project.outcome(project.run()) == {"moved": "fetched"}
    with project.store() as store:
        state = store.feed_state("moved")
    assert state.url == fixed.url and state.consecutive_failures == 0


def test_unfetchable_urls_fail_alone(tmp_path: Path, server: FeedServer) -> None:
    fine = feed(server, "fine", Route(body=rss_feed("fine", 2)))
    closed = FeedSource("closed", "http://127.0.0.1:9/feed.xml")  # nothing listens on port 9
    malformed = FeedSource("malformed", "http://[::1/feed.xml")
    project = Project(tmp_path, [closed, malformed, fine], replace(FAST, retries=1))
    report = project.run()
    assert project.outcome(report) == {"closed": "failed", "malformed": "failed", "fine": "fetched"}
    assert "connection failed" in report.feeds[0].detail


def test_brotli_bodies_and_cut_connections_are_handled(tmp_path: Path, server: FeedServer) -> None:
    compressed = feed(server, "br", Route(body=rss_feed("br", 4), brotli=True))
    cut_once = feed(server, "cut", Route(body=rss_feed("cut", 3), fail_times=1, fail_status=0))
    project = Project(tmp_path, [compressed, cut_once])
    report = project.run()
    assert project.outcome(report) == {"br": "fetched", "cut": "fetched"}
    assert report.new_items == 7
    assert server.requests("/cut.xml") == 2  # a reset connection is worth one more try
