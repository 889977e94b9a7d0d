"""`digest fetch`, `digest status [--json]` and `digest prune` on a real project folder."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.feedserver import FeedServer, Route, rss_feed


def digest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, FeedServer]]:
    with FeedServer() as server:
        recent = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        ok = server.add("/ok.xml", Route(body=rss_feed("ok", 6, start=recent)))
        old = server.add(
            "/old.xml", Route(body=rss_feed("old", 3, start=datetime(2020, 1, 5, tzinfo=UTC)))
        )
        missing = server.url("/missing.xml")
        (tmp_path / "feeds.yaml").write_text(
            "fetch:\n  read_timeout_s: 5\n  retries: 0\n"
            f"feeds:\n  - name: Good Wire\n    url: {ok}\n"
            f"  - name: Old Blog\n    url: {old}\n"
            f"  - name: Gone Away\n    url: {missing}\n",
            encoding="utf-8",
        )
        yield tmp_path, server


def test_fetch_status_and_prune(project: tuple[Path, FeedServer]) -> None:
    root, _ = project
    fetched = digest("fetch", "--project", str(root))
    assert fetched.returncode == 0, fetched.stderr
    summary = fetched.stdout.splitlines()
    assert summary[0].startswith(
        "fetched 2, not modified 0, unchanged 0, skipped 0, failed 1, not due 0; 9 new item(s)"
    )
    assert any(line.startswith("  Gone Away: failed: HTTP 404") for line in summary[1:])
    assert fetched.stderr == ""  # no progress bar and no log lines when not on a terminal

    status = digest("status", "--project", str(root), "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    feeds = {f["feed"]: f for f in data["feeds"]}
    assert feeds["Good Wire"]["items_14d"] == 6 and feeds["Good Wire"]["quiet_days"] <= 1
    assert feeds["Good Wire"]["last_success"] is not None
    assert feeds["Old Blog"]["items_14d"] == 0 and feeds["Old Blog"]["quiet_days"] > 365
    assert feeds["Gone Away"]["consecutive_failures"] == 1
    assert "404" in feeds["Gone Away"]["last_error"]
    assert data["totals"]["feeds"] == 3 and data["totals"]["failing"] == 1
    assert data["totals"]["items"] == 9 and data["totals"]["items_14d"] == 6

    table = digest("status", "--project", str(root))
    assert table.returncode == 0 and "Good Wire" in table.stdout

    again = digest("fetch", "--project", str(root))
    assert again.returncode == 0  # nothing was due, so nothing failed
    assert again.stdout.startswith(
        "fetched 0, not modified 0, unchanged 0, skipped 1, failed 0, not due 2"
    )
    forced = digest("fetch", "--project", str(root), "--force")
    assert forced.stdout.startswith(
        "fetched 0, not modified 2, unchanged 0, skipped 0, failed 1, not due 0"
    )

    pruned = digest("prune", "--project", str(root), "--before", "2021-01-01")
    assert pruned.returncode == 0 and pruned.stdout.startswith("removed 3 item(s)")
    data = json.loads(digest("status", "--project", str(root), "--json").stdout)
    assert data["totals"]["items_14d"] == 6


def on_a_terminal(*args: str) -> str:
    """Run digest with its stderr on a pseudo-terminal; return what the terminal showed."""
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "digest", *args], stdout=subprocess.DEVNULL, stderr=follower
    ) as proc:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        proc.wait(timeout=60)
    os.close(leader)
    return shown.decode("utf-8", "replace")


def test_a_terminal_shows_a_progress_bar_that_counts_every_feed(
    project: tuple[Path, FeedServer],
) -> None:
    root, _ = project
    shown = on_a_terminal("fetch", "--project", str(root))
    assert "fetching" in shown and "3/3" in shown
    # -v on a terminal: no per-request lines from the HTTP library mixed into the bar.
    shown = on_a_terminal("-v", "fetch", "--project", str(root))
    assert "HTTP Request" not in shown
    assert "fetching" not in on_a_terminal("fetch", "--no-progress", "--project", str(root))


def test_fetch_exits_1_when_every_due_feed_failed(tmp_path: Path) -> None:
    with FeedServer() as server:
        (tmp_path / "feeds.yaml").write_text(
            "fetch:\n  retries: 0\n"
            f"feeds:\n  - name: Gone\n    url: {server.url('/gone.xml')}\n"
            f"  - name: Broken\n    url: {server.add('/broken.xml', Route(status=500))}\n",
            encoding="utf-8",
        )
        failed = digest("fetch", "--project", str(tmp_path))
        waiting = digest("fetch", "--project", str(tmp_path))  # both back off: none due
        forced = digest("fetch", "--force", "--project", str(tmp_path))
    assert failed.returncode == 1
    assert failed.stderr.strip() == "error: every feed that was due failed; see the lines above"
    assert waiting.returncode == 0 and "skipped 2" in waiting.stdout
    assert forced.returncode == 1 and "failed 2" in forced.stdout
