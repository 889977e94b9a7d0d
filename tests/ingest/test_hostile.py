"""Hostile feeds on 127.0.0.x: each is reported for itself, and the healthy feed's items
are stored in the same run.

    decompression bombs (gzip, brotli)   the decoded size counts against fetch.max_bytes
    redirects to another loopback host or port, by address or by name   refused, with the address
    rich markup and control characters in the status line   printed as text
    javascript:, vbscript:, data: links   dropped when the item is parsed
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.feedserver import FeedServer, Route, hostile_route, rss_feed

from digest.config import Config, FetchSettings
from digest.ingest.fetch import fetch_into_store
from digest.ingest.limits import BodyRefused, BoundedDecoder, redirect_refusal
from digest.ingest.store import Store
from digest.models import FeedSource, RunReport

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SETTINGS = FetchSettings(
    timeout_s=20, connect_timeout_s=2, read_timeout_s=5, retries=0, max_bytes=2_000_000
)
HEALTHY_ITEMS = 8


def fetch(root: Path, feeds: list[FeedSource]) -> tuple[RunReport, Store]:
    config = Config(feeds=tuple(feeds), fetch=SETTINGS, path=root / "feeds.yaml")
    store = Store.open(config.state_dir / "digest.sqlite")
    return fetch_into_store(config, store, now=NOW, force=True), store


def healthy(server: FeedServer) -> FeedSource:
    return FeedSource("Healthy", server.add("/healthy.xml", Route(body=rss_feed("h", 8))))


def outcomes(report: RunReport) -> dict[str, tuple[str, str]]:
    return {f.feed: (f.outcome, f.detail) for f in report.feeds}


@pytest.mark.parametrize(
    ("kind", "expanded"), [("gzip_bomb", 200_000_000), ("brotli_bomb", 1_000_000_000)]
)
def test_a_decompression_bomb_is_stopped_and_the_healthy_feed_is_stored(
    tmp_path: Path, kind: str, expanded: int
) -> None:
    with FeedServer() as server:
        bomb = server.add("/bomb.xml", hostile_route(kind, expanded=expanded))
        report, store = fetch(tmp_path, [FeedSource("Bomb", bomb), healthy(server)])
    with store:
        assert store.count_items() == HEALTHY_ITEMS
    result = outcomes(report)
    assert result["Healthy"][0] == "fetched"
    assert result["Bomb"][0] == "failed"
    assert "decompression bomb" in result["Bomb"][1]
    assert "fetch.max_bytes (2,000,000 bytes)" in result["Bomb"][1]


def test_the_decoder_never_hands_on_more_than_the_cap() -> None:
    import zlib

    packed = zlib.compress(b"\0" * 50_000_000)
    decoder = BoundedDecoder("deflate", 1_000_000)
    with pytest.raises(BodyRefused, match="decompression bomb"):
        decoder.feed(packed)
    assert decoder.decoded <= 1_000_001
    plain = BoundedDecoder(None, 10)
    assert plain.feed(b"12345") == b"12345"
    with pytest.raises(BodyRefused, match="larger than 10 bytes"):
        plain.feed(b"1234567")


@pytest.mark.parametrize("target", ["other port", "other host", "by name"])
def test_a_redirect_inside_is_refused_and_the_target_never_asked(
    tmp_path: Path, target: str
) -> None:
    with (
        FeedServer(hosts=("127.0.0.1", "127.0.0.2")) as server,
        FeedServer() as admin,
    ):
        admin.add("/admin", Route(body=rss_feed("secret", 3)))
        server.add("/admin", Route(body=rss_feed("secret", 3)))
        location = {
            "other port": admin.url("/admin"),
            "other host": server.url("/admin", host="127.0.0.2"),
            "by name": f"http://localhost:{admin.port}/admin",
        }[target]
        feed = server.add("/feed.xml", hostile_route("redirect_inside", location))
        report, store = fetch(tmp_path, [FeedSource("Sneaky", feed), healthy(server)])
        asked = admin.requests("/admin") + server.requests("/admin")
    with store:
        assert store.count_items() == HEALTHY_ITEMS
    result = outcomes(report)
    assert result["Healthy"][0] == "fetched"
    assert result["Sneaky"][0] == "failed"
    assert "refused a redirect to" in result["Sneaky"][1]
    assert "127.0.0." in result["Sneaky"][1]  # the address it resolved to
    assert asked == 0


def test_a_redirect_within_the_feeds_own_host_and_port_is_followed(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.add("/new.xml", Route(body=rss_feed("moved", 4)))
        old = server.add(
            "/old.xml", Route(mode="redirect", status=301, location=server.url("/new.xml"))
        )
        report, store = fetch(tmp_path, [FeedSource("Moved", old)])
    with store:
        assert store.count_items() == 4
    assert report.feeds[0].outcome == "fetched"


def test_redirect_refusal_rules() -> None:
    feed = "https://news.example.org/feed"
    assert redirect_refusal(feed, "https://cdn.example.net/f", ["93.184.216.34"]) is None
    for inside in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "fd00::1"):
        assert redirect_refusal(feed, "http://x.example/admin", [inside]) is not None
    # An intranet feed may move within its own host and port, and nowhere else.
    intranet = "http://10.0.0.5:8080/feed"
    assert redirect_refusal(intranet, "http://10.0.0.5:8080/new", ["10.0.0.5"]) is None
    assert redirect_refusal(intranet, "http://10.0.0.5:9090/admin", ["10.0.0.5"]) is not None


def test_markup_and_control_characters_from_a_server_are_printed_as_text(tmp_path: Path) -> None:
    with FeedServer() as server:
        bad = server.add("/bad.xml", hostile_route("markup_status"))
        good = server.add("/good.xml", Route(body=rss_feed("g", 3)))
        (tmp_path / "feeds.yaml").write_text(
            "fetch:\n  retries: 0\n  read_timeout_s: 5\n"
            f"feeds:\n  - name: '[bold]Evil[/bold] Feed'\n    url: {bad}\n"
            f"  - name: Good\n    url: {good}\n",
            encoding="utf-8",
        )
        fetched = digest("fetch", "--project", str(tmp_path))
    status = digest("status", "--project", str(tmp_path))
    listed = digest("feeds", "list", "--project", str(tmp_path))
    for run in (fetched, status, listed):
        assert run.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr
        assert "\x1b" not in run.stdout  # no terminal escape reaches the screen
    assert "[/bold][red]\\x1b[2Jboom" in fetched.stdout
    assert "[bold]Evil[/bold] Feed" in fetched.stdout
    assert "[bold]Evil[/bold]" in status.stdout.replace("\n", "")
    assert "[bold]Evil[/bold] Feed" in listed.stdout
    data = json.loads(digest("status", "--json", "--project", str(tmp_path)).stdout)
    assert data["totals"]["items"] == 3


def digest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args], capture_output=True, text=True, timeout=60
    )


def test_script_links_are_dropped_when_items_are_parsed(tmp_path: Path) -> None:
    items = "".join(
        f"<item><title>Story {n}</title><link>{link}</link><guid>g{n}</guid></item>"
        for n, link in enumerate(
            [
                "javascript:alert(document.cookie)",
                "JaVaScRiPt:alert(1)",
                "vbscript:msgbox(1)",
                "data:text/html;base64,PHNjcmlwdD4=",
                "https://news.example.org/real",
            ]
        )
    )
    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    with FeedServer() as server:
        scripted = server.add("/scripted.xml", Route(body=body))
        report, store = fetch(tmp_path, [FeedSource("Scripted", scripted), healthy(server)])
    with store:
        urls = [row[0] for row in store.conn.execute("SELECT url FROM items")]
    assert {f.outcome for f in report.feeds} == {"fetched"}
    assert len(urls) == HEALTHY_ITEMS + 5
    schemes = {url.split(":", 1)[0].lower() for url in urls}
    assert not schemes & {"javascript", "vbscript", "data"}
    assert "https://news.example.org/real" in urls
