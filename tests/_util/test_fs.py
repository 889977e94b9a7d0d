"""Atomic writes and the exclusive lock: nothing a user owns is half-written or interleaved."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from pathlib import Path

import pytest

from digest._util.fs import (
    TMP_SUFFIX,
    atomic_write,
    exclusive_lock,
    lock_holder,
    sweep_leftovers,
)


def test_atomic_write_replaces_and_keeps_a_backup(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "draft.yaml"
    atomic_write(target, "first\n")
    atomic_write(target, "second 日米\n", backup=True)
    assert target.read_text(encoding="utf-8") == "second 日米\n"
    assert (tmp_path / "sub" / "draft.yaml.bak").read_text() == "first\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["draft.yaml", "draft.yaml.bak"]


class Boom(Exception):
    pass


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "draft.yaml"
    target.write_text("editor's words\n")

    def failing_fsync(fd: int) -> None:
        raise Boom("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(Boom):
        atomic_write(target, "half")
    assert target.read_text() == "editor's words\n"
    assert [p.name for p in tmp_path.iterdir()] == ["draft.yaml"]


def _hold_lock(
    path: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event
) -> None:
    with exclusive_lock(Path(path)):
        ready.set()
        release.wait(10)


def test_a_second_process_cannot_take_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / ".digest" / "draft.lock"
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(lock), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(BlockingIOError), exclusive_lock(lock, wait_s=0.2):
            pass
    finally:
        release.set()
        holder.join(10)
    with exclusive_lock(lock):
        pass


# -- locks die with their process; leftovers are swept ----------------------------------------

HOLDER = """
import os, sys, time
from pathlib import Path
from digest._util.fs import exclusive_lock
with exclusive_lock(Path(sys.argv[1]), holder="test holder"):
    child = os.fork()
    if child == 0:  # an orphan-to-be, like a parse worker: it outlives its parent
        time.sleep(60)
        os._exit(0)
    print(child, flush=True)
    time.sleep(60)
"""


def test_a_lock_dies_with_its_holder_even_when_a_forked_child_lives_on(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    lock = tmp_path / "schedule.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock)], stdout=subprocess.PIPE)
    assert holder.stdout is not None
    orphan = int(holder.stdout.readline())
    try:
        assert lock_holder(lock).startswith(f"pid {holder.pid} test holder since 20")
        with pytest.raises(BlockingIOError), exclusive_lock(lock):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        os.kill(orphan, 0)  # the forked child is still alive ...
        with exclusive_lock(lock):  # ... and does not hold the lock
            pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(orphan, signal.SIGKILL)
        if holder.poll() is None:
            holder.kill()


def test_the_next_write_removes_what_a_killed_write_left_but_not_a_live_one(
    tmp_path: Path,
) -> None:
    import fcntl

    (tmp_path / "draft.yaml").write_text("editor's words\n")
    dead = tmp_path / f".draft.yaml.k1ll3d{TMP_SUFFIX}"
    dead.write_bytes(b"half a draft")
    legacy = tmp_path / ".email.html.a1b2c3d4.tmp"  # an earlier version's temporary name
    legacy.write_bytes(b"<html")
    live = tmp_path / f".email.txt.l1v3{TMP_SUFFIX}"
    live.write_bytes(b"being written")
    mine = tmp_path / "notes.tmp"  # not ours: never touched
    mine.write_bytes(b"x")
    with open(live, "rb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)  # a writer in another run, still alive
        assert sorted(p.name for p in sweep_leftovers(tmp_path)) == sorted([dead.name, legacy.name])
    assert live.exists() and mine.exists() and not dead.exists() and not legacy.exists()
    assert sweep_leftovers(tmp_path) == []  # once per folder and process


def test_atomic_write_sweeps_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "issues" / "2026-12-01"
    folder.mkdir(parents=True)
    (folder / f".draft.yaml.x{TMP_SUFFIX}").write_bytes(b"left by a kill")
    atomic_write(folder / "draft.yaml", "new\n", backup=True)
    assert sorted(p.name for p in folder.iterdir()) == ["draft.yaml"]
