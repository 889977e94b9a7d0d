"""Each feed's own polling interval, gaps noticed, and the scheduler waking often.

Pure decisions first (digest.ingest.polling), then real fetches from a local server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.feedserver import FeedServer, Route, rss_feed

from digest.config import Config, FetchSettings, ScheduleSettings
from digest.ingest import polling
from digest.ingest.fetch import fetch_into_store
from digest.ingest.store import Store
from digest.models import FeedSource
from digest.schedule import plan_jobs

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
BOUNDS = polling.PollBounds()
FAST = FetchSettings(timeout_s=10, connect_timeout_s=2, read_timeout_s=2, retries=0)


def times(count: int, spacing: timedelta, newest: datetime = NOW) -> list[datetime]:
    return [newest - spacing * n for n in range(count)]


# -- pure ------------------------------------------------------------------------------------


def test_a_shallow_fast_feed_is_polled_before_its_oldest_item_scrolls_off() -> None:
    # NHK's main feed: about 7 items over 2.7 hours.
    every = polling.poll_interval(times(7, timedelta(minutes=27)), BOUNDS)
    assert timedelta(minutes=15) <= every < timedelta(minutes=7 * 27)
    assert every == timedelta(minutes=7 * 27 / 2)


def test_a_deep_slow_feed_is_polled_at_most_daily_and_a_busy_one_at_least_every_15_min() -> None:
    assert polling.poll_interval(times(50, timedelta(days=2)), BOUNDS) == timedelta(hours=24)
    assert polling.poll_interval(times(5, timedelta(seconds=30)), BOUNDS) == timedelta(minutes=15)


def test_one_pinned_old_item_does_not_stretch_the_interval() -> None:
    items = [*times(20, timedelta(minutes=30)), datetime(2009, 1, 1, tzinfo=UTC)]
    assert polling.poll_interval(items, BOUNDS) < timedelta(hours=6)


def test_undated_feeds_keep_their_interval_or_take_the_default() -> None:
    assert polling.poll_interval([], BOUNDS) == BOUNDS.fallback
    assert polling.poll_interval([NOW], BOUNDS, previous=timedelta(hours=5)) == timedelta(hours=5)


def test_a_gap_halves_the_interval_and_max_age_is_respected() -> None:
    items = times(10, timedelta(minutes=30))
    plain = polling.poll_interval(items, BOUNDS)
    assert polling.poll_interval(items, BOUNDS, previous=plain, gap=True) == plain / 2
    assert polling.poll_interval(items, BOUNDS, max_age_s=6 * 3600) == timedelta(hours=6)
    # A cache lifetime never stretches past the longest interval.
    assert polling.poll_interval(items, BOUNDS, max_age_s=9e6) == timedelta(hours=24)


def test_a_gap_is_when_nothing_overlaps_the_last_fetch() -> None:
    last_newest = NOW - timedelta(hours=3)
    assert polling.possible_gap(last_newest, times(5, timedelta(minutes=10)))
    assert not polling.possible_gap(last_newest, times(30, timedelta(minutes=10)))
    assert not polling.possible_gap(None, times(5, timedelta(minutes=10)))
    assert not polling.possible_gap(last_newest, [])


def test_cache_control_max_age() -> None:
    assert polling.max_age_seconds("public, max-age=600") == 600
    assert polling.max_age_seconds("max-age=60, s-maxage=900") == 900
    assert polling.max_age_seconds("no-cache, max-age=600") is None
    assert polling.max_age_seconds(None) is None


def test_the_scheduler_wakes_every_5_minutes_by_default() -> None:
    fetch = plan_jobs(Config())[0]
    assert fetch.trigger.interval == timedelta(minutes=5)
    older = Config(schedule=ScheduleSettings(fetch_every_hours=3))
    assert plan_jobs(older)[0].trigger.interval == timedelta(hours=3)


# -- against a real server ---------------------------------------------------------------------


def project(root: Path, feeds: list[FeedSource]) -> Config:
    return Config(feeds=tuple(feeds), fetch=FAST, path=root / "feeds.yaml")


def run(config: Config, now: datetime, *, force: bool = False) -> dict[str, str]:
    with Store.open(config.state_dir / "digest.sqlite") as store:
        report = fetch_into_store(config, store, now=now, force=force)
    return {f.feed: f.outcome for f in report.feeds}


def test_intervals_come_from_what_each_feed_shows(tmp_path: Path) -> None:
    with FeedServer() as server:
        shallow = server.add(
            "/shallow.xml",
            Route(body=rss_feed("s", 7, start=NOW, spacing=timedelta(minutes=25))),
        )
        deep = server.add(
            "/deep.xml", Route(body=rss_feed("d", 50, start=NOW, spacing=timedelta(days=1)))
        )
        cached = server.add(
            "/cached.xml",
            Route(
                body=rss_feed("c", 7, start=NOW, spacing=timedelta(minutes=25)),
                headers={"Cache-Control": "public, max-age=7200"},
            ),
        )
        config = project(
            tmp_path,
            [
                FeedSource("shallow", shallow),
                FeedSource("deep", deep),
                FeedSource("cached", cached),
            ],
        )
        assert set(run(config, NOW).values()) == {"fetched"}
        with Store.open(config.state_dir / "digest.sqlite") as store:
            health = {h.feed: h for h in store.feed_health(config.feeds, NOW)}
        assert health["shallow"].poll_every == timedelta(minutes=7 * 25 / 2)
        assert health["deep"].poll_every == timedelta(hours=24)
        assert health["cached"].poll_every == timedelta(hours=2)
        assert health["shallow"].next_fetch == NOW + timedelta(minutes=7 * 25 / 2)

        # An hour later only the shallow feed is due; the others are not asked at all.
        asked = dict(server.stats.requests)
        later = run(config, NOW + timedelta(hours=1, minutes=30))
        assert later == {"shallow": "not_modified", "deep": "not_due", "cached": "not_due"}
        assert server.stats.requests["/deep.xml"] == asked["/deep.xml"]


def test_a_gap_is_flagged_in_status_and_shortens_the_interval(tmp_path: Path) -> None:
    # `digest status` counts gaps of the last 14 days by the real clock.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    with FeedServer() as server:
        spacing = timedelta(minutes=20)
        route = Route(body=rss_feed("g", 6, start=start, spacing=spacing))
        url = server.add("/gappy.xml", route)
        (tmp_path / "feeds.yaml").write_text(
            f"fetch:\n  retries: 0\nfeeds:\n  - name: Gappy\n    url: {url}\n", encoding="utf-8"
        )
        config = project(tmp_path, [FeedSource("Gappy", url)])
        run(config, start)
        with Store.open(config.state_dir / "digest.sqlite") as store:
            before = store.feed_state("Gappy").poll_every
        # Six new items by the next fetch: the feed now starts after the newest seen before.
        later = start + timedelta(hours=3)
        route.body = rss_feed("g", 6, start=later, spacing=spacing, first=100)
        assert run(config, later) == {"Gappy": "fetched"}
        status = subprocess.run(
            [sys.executable, "-m", "digest", "status", "--json", "--project", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        table = subprocess.run(
            [sys.executable, "-m", "digest", "status", "--project", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert before is not None
    feed = json.loads(status.stdout)["feeds"][0]
    assert feed["possible_gaps"] == 1
    assert feed["poll_every_minutes"] == round(before.total_seconds() / 60 / 2)
    assert feed["next_fetch"] is not None
    assert "possible gap" in table.stdout
