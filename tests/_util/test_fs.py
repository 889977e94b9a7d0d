"""Atomic writes and the exclusive lock: nothing a user owns is half-written or interleaved."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from digest._util.fs import atomic_write, exclusive_lock


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
