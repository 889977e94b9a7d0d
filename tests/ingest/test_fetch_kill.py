"""A `digest fetch` SIGKILLed at random moments leaves no parse worker behind and loses nothing.

Real processes: the CLI in a subprocess, its fork server and workers, a local feed server.
Every process the run starts carries a marker in its environment, so the test finds them
wherever they were reparented.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

from support.feedserver import FeedServer, Route, rss_feed

FEEDS = 24
ITEMS = 30
KILLS = 10
SEED = 13


def marked_processes(marker: str) -> list[int]:
    """Live processes whose environment holds `marker` (zombies excluded)."""
    found = []
    needle = f"DIGEST_KILL_TEST={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


def wait_until_gone(marker: str, seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def stored_items(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])
        except sqlite3.OperationalError:  # killed before the schema was made
            return 0


def test_sigkill_at_random_moments_leaves_no_worker_and_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    marker = uuid.uuid4().hex
    env = {**os.environ, "DIGEST_KILL_TEST": marker}
    with FeedServer() as server:
        lines = ["fetch:\n  read_timeout_s: 10\n  retries: 0\nfeeds:\n"]
        for n in range(FEEDS):
            # Latency spreads the run over about a second, so kills land at every stage.
            route = Route(body=rss_feed(f"k{n}", ITEMS, words=400), latency_s=0.05 * (n % 12))
            url = server.add(f"/k{n}.xml", route)
            lines.append(f"  - name: Feed {n}\n    url: {url}\n")
        (tmp_path / "feeds.yaml").write_text("".join(lines), encoding="utf-8")
        command = [sys.executable, "-m", "digest", "fetch", "--force", "--project", str(tmp_path)]
        db = tmp_path / "state" / "digest.sqlite"
        for _ in range(KILLS):
            child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.3, 2.0))
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            assert wait_until_gone(marker) == [], "a parse worker outlived the killed fetch"
        before = stored_items(db)
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "failed 0" in done.stdout
    assert stored_items(db) == FEEDS * ITEMS >= before
    assert wait_until_gone(marker) == []


def test_the_parse_pool_never_forks_the_calling_process() -> None:
    # Forking a threaded process (the scheduler runs fetches in a thread) can deadlock the
    # child; Python 3.12 warns about it. Workers come from a fork server or are spawned.
    from digest.ingest.fetch import _pool_context

    assert _pool_context().get_start_method() in ("forkserver", "spawn")
