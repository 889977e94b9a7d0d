"""Operations that fail safely, tried as an operator would: real `digest` processes killed at
seeded random moments, the scheduler killed and restarted in a row, a full disk, a read-only
project and a damaged store. Feeds come from a real local FeedServer.

The first three moments of each kill test run by default; all ten (and the 20 restarts)
with `-m slow`.
"""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.project import (
    Project,
    configure,
    digest,
    file_hashes,
    item_ids,
    leftovers,
    one_line_error,
    served_project,
    start_digest,
    store_rows,
)

from digest.config import load_config
from digest.editorial import draft
from digest.editorial.draftfile import read_draft

NOW = datetime.now(UTC)  # the CLI runs on the real clock; the sample feeds follow it
DEFAULT_MOMENTS = 3


def moments(count: int = 10) -> list[object]:
    return [
        pytest.param(seed, marks=() if seed < DEFAULT_MOMENTS else pytest.mark.slow)
        for seed in range(count)
    ]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A project on a live feed server, and the items a clean fetch stores in it."""
    with served_project(tmp_path_factory.mktemp("ops") / "project", now=NOW) as project:
        result = digest("fetch", project=project.root)
        assert result.returncode == 0, result.stderr
        yield project


@pytest.fixture(scope="module")
def expected(served: Project) -> set[str]:
    ids = item_ids(served.store)
    assert len(ids) > 50
    return ids


def fresh_copy(
    served: Project, folder: Path, settings: dict[str, dict[str, object]] | None = None
) -> Path:
    """A new project with the same feeds.yaml and nothing fetched yet."""
    folder.mkdir(parents=True)
    shutil.copy2(served.root / "feeds.yaml", folder / "feeds.yaml")
    configure(folder, settings or {})
    return folder


def slow_feeds(served: Project, latency_s: float) -> None:
    for route in served.server.routes.values():
        route.latency_s = latency_s


def kill_after(process: subprocess.Popen[str], seconds: float) -> None:
    time.sleep(seconds)
    kill(process)


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(30)


def wait_for_line(log: Path, text: str, *, start: int = 0, timeout: float = 60.0) -> str:
    """The first line of `log` from byte `start` on that holds `text`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists():
            for line in log.read_bytes()[start:].decode("utf-8", "replace").splitlines():
                if text in line:
                    return line
        time.sleep(0.05)
    shown = log.read_text("utf-8", "replace")[start:] if log.exists() else "(no log)"
    raise AssertionError(f"no line with {text!r} in {log}: {shown}")


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# -- SIGKILL at random moments, then a re-run --------------------------------------------------


@pytest.mark.parametrize("seed", moments())
def test_a_fetch_killed_at_any_moment_loses_nothing(
    seed: int, served: Project, expected: set[str], tmp_path: Path
) -> None:
    slow_feeds(served, 0.15)
    project = fresh_copy(served, tmp_path / "p")
    store = project / "state" / "digest.sqlite"
    kill_after(start_digest("fetch", project=project), random.Random(seed).uniform(0.3, 2.5))
    if store.exists():  # whatever was stored at the kill is whole, and only real items
        assert item_ids(store) <= expected
    rerun = digest("fetch", project=project)
    assert rerun.returncode == 0, rerun.stderr
    assert item_ids(store) == expected
    assert leftovers(project) == []


@pytest.fixture(scope="module")
def drafted(served: Project, expected: set[str]) -> tuple[Path, str, set[str]]:
    """The served project with a draft on which the editor picked three candidates."""
    config = load_config(served.root)
    today = NOW.astimezone(config.tz).date()
    issue = draft.next_issue_date(config, today)
    since = (today - timedelta(days=config.cadence.window_days)).isoformat()
    made = digest("draft", "--date", issue.isoformat(), "--since", since, project=served.root)
    assert made.returncode == 0, made.stderr
    path = draft.draft_path(config, issue)
    picks = {c.id for c in read_draft(path).candidates[:3]}
    draft.set_status(config, issue, dict.fromkeys(picks, "picked"), now=NOW)
    return path, issue.isoformat(), picks


def picked(path: Path) -> set[str]:
    current = read_draft(path)
    return {c.id for c in current.candidates if current.status(c) == "picked"}


@pytest.mark.parametrize("seed", moments())
def test_a_draft_killed_at_any_moment_keeps_the_editors_picks(
    seed: int, served: Project, drafted: tuple[Path, str, set[str]]
) -> None:
    path, issue, picks = drafted
    rng = random.Random(seed)
    # A different window each time, so each run really rewrites the draft.
    since = (NOW - timedelta(days=rng.randint(3, 14))).date().isoformat()
    args = ("draft", "--date", issue, "--since", since)
    kill_after(start_digest(*args, project=served.root), rng.uniform(0.3, 2.5))
    assert picks <= picked(path)  # the file on disk is whole at any moment of the kill
    rerun = digest(*args, project=served.root)
    assert rerun.returncode == 0, rerun.stderr
    assert picks <= picked(path)
    assert leftovers(path.parent) == []


@pytest.mark.parametrize("seed", moments())
def test_a_scheduler_killed_at_any_moment_restarts_and_loses_nothing(
    seed: int, served: Project, expected: set[str], tmp_path: Path
) -> None:
    slow_feeds(served, 0.15)
    project = fresh_copy(served, tmp_path / "p")
    store = project / "state" / "digest.sqlite"
    kill_after(start_digest("schedule", project=project), random.Random(seed).uniform(0.3, 3.5))
    before = item_ids(store) if store.exists() else set()

    log = tmp_path / "schedule.log"
    again = start_digest("schedule", project=project, log=log)
    try:
        wait_for_line(log, "scheduler started")  # no stale lock, no damaged job store
        again.send_signal(signal.SIGTERM)
        assert again.wait(60) == 0
    finally:
        if again.poll() is None:
            again.kill()
    # The cut-off fetch is made up at once by hand, as cron users do.
    once = digest("schedule", "--once", "fetch", project=project)
    assert once.returncode == 0, once.stderr
    assert before <= item_ids(store) == expected
    assert leftovers(project) == []


@pytest.mark.parametrize("restarts", [3, pytest.param(20, marks=pytest.mark.slow)])
def test_the_scheduler_killed_and_restarted_in_a_row_with_fetches_running(
    restarts: int, served: Project, expected: set[str], tmp_path: Path
) -> None:
    slow_feeds(served, 0.3)
    # A fetch every 2 seconds: whenever the scheduler is killed, a fetch is running or due.
    project = fresh_copy(
        served,
        tmp_path / "p",
        {
            "schedule": {"fetch_every_hours": 0.0005},
            # Every feed is due again within two seconds (polling is per feed since 5 min).
            "fetch": {"min_poll_minutes": 0.01, "max_poll_hours": 0.0005},
            "backup": {"keep": 2},
        },
    )
    rng = random.Random(20)
    log = tmp_path / "schedule.log"
    for attempt in range(restarts):
        requests = sum(served.server.stats.requests.values())

        def fetching(before: int = requests) -> bool:
            return sum(served.server.stats.requests.values()) > before

        start = log.stat().st_size if log.exists() else 0
        process = start_digest("schedule", project=project, log=log)
        try:
            wait_for_line(log, "scheduler started", start=start)
            assert b"already running" not in log.read_bytes()[start:]
            wait_until(fetching, f"a fetch in restart {attempt + 1}")
            time.sleep(rng.uniform(0.0, 0.4))
        finally:
            kill(process)
    start = log.stat().st_size
    last = start_digest("schedule", project=project, log=log)
    try:
        wait_for_line(log, "digest.schedule: fetch: ", start=start)  # a whole run after the kills
        last.send_signal(signal.SIGTERM)
        assert last.wait(60) == 0
    finally:
        if last.poll() is None:
            last.kill()
    assert item_ids(project / "state" / "digest.sqlite") == expected
    assert leftovers(project) == []
    # What can be rebuilt is in the cache, what cannot in state/.
    assert sorted(p.name for p in (project / ".digest").glob("*.sqlite")) == ["schedule.sqlite"]
    kept = [p.name for p in (project / "state").iterdir() if not p.name.endswith(("-wal", "-shm"))]
    assert kept == ["digest.sqlite"]


# -- a full disk, a read-only project, a damaged store ------------------------------------------


def _mount(*args: str) -> bool:
    if shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of 8 MB: only where this test may mount (root on Linux)."""
    point = tmp_path / "disk"
    point.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=8m", "tmpfs", str(point)):
        pytest.skip("cannot mount a tmpfs here (needs root); the injected ENOSPC test covers it")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture(scope="module")
def rendered(served: Project, drafted: tuple[Path, str, set[str]]) -> tuple[Project, str]:
    """The served project with a rendered, publishable (not yet published) issue."""
    _, issue, _ = drafted
    result = digest("render", "--date", issue, project=served.root)
    assert result.returncode == 0, result.stderr
    return served, issue


def commands(issue: str) -> list[tuple[str, ...]]:
    return [
        ("render", "--date", issue),
        ("publish", "--date", issue),
        ("site", "--full"),
        ("send", "--date", issue, "--to", "editor@example.org", "--dry-run"),
        ("draft", "--date", issue),
        ("fetch", "--force"),  # every feed, due or not: the store is written
        ("status",),
        ("backup",),
    ]


def _copy_project(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.lock", "backups"))
    # Fold the WAL into the store: a WAL that SQLite deletes on close would free space on
    # the "full" disk in the middle of a command.
    conn = sqlite3.connect(target / "state" / "digest.sqlite")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _fill(disk: Path) -> None:
    # Appends: called again before each command, since SQLite frees its WAL file on close.
    with open(disk / "filler", "ab", buffering=0) as handle:  # nothing left to flush
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass


def _snapshot_files(project: Path) -> dict[str, str]:
    files = file_hashes(project, skip=(".digest/", "state/"))
    return {name: h for name, h in files.items() if not name.endswith(".lock")}  # empty locks


def _snapshot(project: Path) -> tuple[dict[str, str], dict[str, list[tuple[object, ...]]]]:
    return _snapshot_files(project), store_rows(project / "state" / "digest.sqlite")


def test_a_full_disk_gives_one_line_and_changes_nothing(
    rendered: tuple[Project, str], small_disk: Path
) -> None:
    served, issue = rendered
    project = small_disk / "project"
    _copy_project(served.root, project)
    before = _snapshot(project)
    _fill(small_disk)
    errors = {}
    files = before[0]
    for args in commands(issue):
        _fill(small_disk)
        result = digest(*args, project=project)
        after = _snapshot_files(project)
        if result.returncode == 0:  # it found the room it needed (SQLite frees its WAL)
            files = after
            continue
        assert result.returncode == 1, (args, result.stderr)
        errors[args[0]] = one_line_error(result)
        assert after == files, f"{args[0]} failed on a full disk and changed files"
    for command in ("render", "publish", "send", "backup"):
        assert str(project) in errors[command], errors
        # SQLite reports a full disk as "full", or as a disk I/O error when it cannot even
        # make its shared-memory file; both lines say to look at the free space.
        said = (
            "no space left on the disk",
            "the disk holding the store is full",
            "not full (df)",
            "No space left on device",  # delivery's own line for the unsubscribe key
        )
        assert any(words in errors[command] for words in said), errors
    (small_disk / "filler").unlink()
    if "fetch" in errors:  # a fetch that failed for want of room stored nothing half-way
        assert store_rows(project / "state" / "digest.sqlite") == before[1]
    # With room again, the same commands work.
    assert digest("render", "--date", issue, project=project).returncode == 0


def test_a_read_only_project_gives_one_line_per_command(
    rendered: tuple[Project, str], small_disk: Path
) -> None:
    served, issue = rendered
    project = small_disk / "project"
    _copy_project(served.root, project)
    before = _snapshot(project)
    assert _mount("-o", "remount,ro", str(small_disk))
    errors = {}
    for args in commands(issue):
        result = digest(*args, project=project)
        if result.returncode != 0:
            assert result.returncode == 1, (args, result.stderr)
            errors[args[0]] = one_line_error(result)
    assert set(errors) >= {"render", "publish", "send", "draft", "fetch", "backup"}, errors
    assert "read-only" in errors["render"] and "read-only" in errors["fetch"]
    assert _mount("-o", "remount,rw", str(small_disk))
    assert _snapshot(project) == before


def test_damaged_store_pages_give_one_line_pointing_to_restore(
    served: Project, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    _copy_project(served.root, project)
    store = project / "state" / "digest.sqlite"
    with sqlite3.connect(store) as conn:  # fold the WAL in: the damage below hits real pages
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(store.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data), page):
        data[offset : offset + 64] = b"\xff" * 64  # every page header but the first two
    store.write_bytes(bytes(data))
    for args in (("status",), ("draft",)):
        result = digest(*args, project=project)
        assert result.returncode == 1, result.stderr
        line = one_line_error(result)
        assert "the store is damaged" in line and "digest restore" in line and ".recover" in line
        assert "aside" not in line and "delete" not in line


def test_an_injected_full_disk_is_one_line_where_no_tmpfs_can_be_mounted(
    rendered: tuple[Project, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    from click.testing import CliRunner

    from digest.cli import main

    served, issue = rendered
    project = tmp_path / "p"
    _copy_project(served.root, project)
    before = _snapshot(project)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = CliRunner().invoke(main, ["render", "--date", issue, "--project", str(project)])
    assert result.exit_code == 1 and result.exception is not None
    (line,) = result.output.splitlines()
    assert line.startswith(f"error: {project / 'issues' / issue / 'email.html'}: no space left")
    assert _snapshot(project) == before


def test_no_message_advises_moving_or_deleting_the_store() -> None:
    from support.repo import REPO

    for path in (REPO / "digest").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "move the file aside" not in text and "move it aside" not in text, path
