"""A run killed half-way loses nothing it stored, and the next run completes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from support.repo import REPO

from digest.config import Config, FetchSettings
from digest.ingest.fetch import fetch_into_store
from digest.ingest.store import Store
from digest.models import FeedSource

ROOT = REPO
from support.feedserver import FeedServer, Route, rss_feed  # noqa: E402

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SETTINGS = FetchSettings(timeout_s=60, read_timeout_s=60, retries=0)

CHILD = """
import json, sys
from datetime import datetime
from pathlib import Path
from digest.config import Config, FetchSettings
from digest.ingest.fetch import fetch_into_store
from digest.models import FeedSource
from digest.ingest.store import Store
spec = json.loads(sys.argv[1])
feeds = tuple(FeedSource(name, url) for name, url in spec["feeds"])
config = Config(feeds=feeds, fetch=FetchSettings(**spec["settings"]),
                path=Path(spec["root"]) / "feeds.yaml")
with Store.open(Path(spec["db"])) as store:
    fetch_into_store(config, store, now=datetime.fromisoformat(spec["now"]))
"""


def stored(db: Path) -> tuple[int, int]:
    """(items, feeds that succeeded), read the way a second process would."""
    if not db.exists():
        return 0, 0
    conn = sqlite3.connect(db, timeout=5)
    try:
        items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        ok = conn.execute("SELECT count(*) FROM feeds WHERE last_success IS NOT NULL").fetchone()[0]
        return items, ok
    except sqlite3.OperationalError:  # tables not created yet
        return 0, 0
    finally:
        conn.close()


def test_a_run_killed_half_way_keeps_what_it_stored(tmp_path: Path) -> None:
    db = tmp_path / ".digest" / "digest.sqlite"
    with FeedServer() as server:
        fast = [
            (f"fast{i}", server.add(f"/fast{i}.xml", Route(body=rss_feed(f"fast{i}", 10))))
            for i in range(5)
        ]
        stuck = Route(mode="hang")
        feeds = [*fast, ("stuck", server.add("/stuck.xml", stuck))]
        spec = {
            "feeds": feeds,
            "root": str(tmp_path),
            "db": str(db),
            "now": NOW.isoformat(),
            "settings": {"timeout_s": 60, "read_timeout_s": 60, "retries": 0},
        }
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps(spec)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            deadline = time.monotonic() + 60
            while stored(db) != (50, 5) and time.monotonic() < deadline:
                assert child.poll() is None, "the run ended although one feed hangs"
                time.sleep(0.05)
            assert stored(db) == (50, 5)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        assert server.requests("/stuck.xml") == 1  # it was killed while waiting on this one

        stuck.mode, stuck.body = "normal", rss_feed("stuck", 4)
        config = Config(
            feeds=tuple(FeedSource(n, u) for n, u in feeds),
            fetch=SETTINGS,
            path=tmp_path / "feeds.yaml",
        )
        with Store.open(db) as store:
            report = fetch_into_store(config, store, now=NOW)
            assert store.count_items() == 54
    outcomes = {f.feed: f.outcome for f in report.feeds}
    # The killed run stored each finished feed's items with its next poll time, so those
    # feeds are not due yet, and the one it never finished is fetched.
    assert outcomes == {**{n: "not_due" for n, _ in fast}, "stuck": "fetched"}
