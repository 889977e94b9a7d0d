"""`digest backup` and `digest restore`: a consistent copy of what cannot be rebuilt.

    backup   state/digest.sqlite   copied with SQLite's online backup API: a snapshot that
                                   is consistent while a fetch or a send keeps writing
             state/ (the unsubscribe key ...), issues/, feeds.yaml   copied as files
             manifest.json         every file's size and SHA-256, the store's item count
             written as a hidden folder, then renamed: a backup folder is whole or absent
    restore  checks every file against the manifest, refuses while the scheduler runs,
             refuses to replace anything that differs unless confirmed, saves the current
             state as a backup first, then copies the store back with the same API and
             the other files with atomic writes. Files the backup does not hold are kept.

A backup is a plain folder `digest-backup-YYYYMMDDTHHMMSSZ/` shaped like the project.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digest._util.fs import TMP_SUFFIX, atomic_write, exclusive_lock
from digest.errors import DigestError, LockBusy, UsageError
from digest.paths import (
    CACHE_DIR,
    CONFIG_NAME,
    ISSUES_DIR,
    SCHEDULE_LOCK,
    STATE_DIR,
    STORE_NAME,
)
from digest.state import copy_database

PREFIX = "digest-backup-"
MANIFEST = "manifest.json"
# Files that are never worth keeping: SQLite's side files (folded into the copy), locks,
# temporary files, and the outbox of dry runs (made again by `digest send --dry-run`).
_SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".lock", TMP_SUFFIX)
_SKIPPED_DIRS = {"outbox"}


@dataclass(frozen=True)
class BackupReport:
    path: Path
    files: int
    bytes: int
    items: int | None  # items in the store copy; None without a store

    def __str__(self) -> str:
        items = f", {self.items} stored items" if self.items is not None else ""
        return f"backup {self.path}: {self.files} files, {self.bytes / 1e6:.1f} MB{items}"


@dataclass(frozen=True)
class RestoreReport:
    restored: tuple[str, ...]
    saved_as: Path | None  # the backup of what was there before

    def __str__(self) -> str:
        saved = f"; the previous state is kept as {self.saved_as}" if self.saved_as else ""
        return f"restored {len(self.restored)} file(s){saved}"


# -- backup ----------------------------------------------------------------------------------


def make_backup(project_dir: Path, target_dir: Path, *, now: datetime) -> BackupReport:
    """Copy the project's irreplaceable files into a new folder of `target_dir`."""
    project_dir, target_dir = Path(project_dir), Path(target_dir)
    name = f"{PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    final = _unused(target_dir / name)
    partial = target_dir / f".{final.name}{TMP_SUFFIX}"
    with exclusive_lock(project_dir / CACHE_DIR / "backup.lock", wait_s=600.0):
        _remove_partial_backups(target_dir)
        partial.mkdir(parents=True)
        try:
            items = _copy_store(project_dir, partial)
            for relative in _irreplaceable_files(project_dir):
                if relative != f"{STATE_DIR}/{STORE_NAME}":
                    _copy_file(project_dir / relative, partial / relative)
            files = _checksums(partial)
            manifest = {"format": 1, "created": now.astimezone(UTC).isoformat(), "items": items}
            text = json.dumps({**manifest, "files": files}, indent=2) + "\n"
            atomic_write(partial / MANIFEST, text)
            os.rename(partial, final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    total = sum(f["bytes"] for f in files.values())
    return BackupReport(final, len(files), total, items)


def _unused(path: Path) -> Path:
    # Two backups in the same second (a test, a script) get distinct names.
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _remove_partial_backups(target_dir: Path) -> None:
    # Under the backup lock, so these are the leftovers of a backup that was killed.
    if target_dir.is_dir():
        for entry in target_dir.iterdir():
            if entry.name.startswith(f".{PREFIX}") and entry.name.endswith(TMP_SUFFIX):
                shutil.rmtree(entry, ignore_errors=True)


def _copy_store(project_dir: Path, folder: Path) -> int | None:
    store = project_dir / STATE_DIR / STORE_NAME
    if not store.is_file():
        return None
    copy = folder / STATE_DIR / STORE_NAME
    copy_database(store, copy)
    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])
    except sqlite3.OperationalError:  # a store that has never fetched
        return 0
    finally:
        conn.close()


def _irreplaceable_files(project_dir: Path) -> Iterator[str]:
    """Paths relative to the project, with forward slashes, of every file worth keeping."""
    if (project_dir / CONFIG_NAME).is_file():
        yield CONFIG_NAME
    for top in (STATE_DIR, ISSUES_DIR):
        root = project_dir / top
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
            for name in sorted(names):
                if not name.endswith(_SKIPPED_SUFFIXES):
                    yield Path(folder, name).relative_to(project_dir).as_posix()


def _copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    with open(target, "rb") as handle:
        os.fsync(handle.fileno())


def _checksums(folder: Path) -> dict[str, dict[str, Any]]:
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        files[relative] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prune_backups(target_dir: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups of `target_dir`; return the removed ones."""
    backups = sorted(p for p in Path(target_dir).glob(f"{PREFIX}*") if (p / MANIFEST).is_file())
    doomed = backups[: max(len(backups) - keep, 0)]
    for path in doomed:
        shutil.rmtree(path)
    return doomed


# -- restore ---------------------------------------------------------------------------------


def read_manifest(backup: Path) -> dict[str, dict[str, Any]]:
    """The files of a backup, each checked against its size and SHA-256."""
    path = Path(backup) / MANIFEST
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except FileNotFoundError:
        raise DigestError(
            f"not a backup made by `digest backup` (no {MANIFEST}); give the backup's folder",
            path=backup,
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DigestError(f"the backup's manifest is unreadable ({exc})", path=path) from exc
    for relative, meta in files.items():
        copy = Path(backup) / relative
        if not copy.is_file() or _sha256(copy) != meta["sha256"]:
            raise DigestError(
                f"{relative} is missing or differs from when it was backed up; "
                "restore another backup",
                path=backup,
            )
    return dict(files)


def changes(project_dir: Path, backup: Path, files: dict[str, dict[str, Any]]) -> list[str]:
    """The project files that exist and would be replaced by different content."""
    changed = []
    for relative, meta in files.items():
        if relative == MANIFEST:
            continue
        current = Path(project_dir) / relative
        if current.is_file() and _sha256(current) != meta["sha256"]:
            changed.append(relative)
    return changed


def restore_backup(
    project_dir: Path, backup: Path, *, confirmed: bool, saves_dir: Path, now: datetime
) -> RestoreReport:
    """Bring a backup back into the project (see the module docstring)."""
    project_dir, backup = Path(project_dir), Path(backup)
    files = read_manifest(backup)
    replaced = changes(project_dir, backup, files)
    if replaced and not confirmed:
        shown = ", ".join(replaced[:4]) + (
            f" and {len(replaced) - 4} more" if len(replaced) > 4 else ""
        )
        raise UsageError(
            f"restoring would replace {len(replaced)} file(s) that differ ({shown}); "
            "run again with --yes to replace them (the current ones are saved as a backup first)",
            path=project_dir,
        )
    lock = project_dir / CACHE_DIR / SCHEDULE_LOCK
    try:
        with exclusive_lock(lock, holder="digest restore"):
            saved = make_backup(project_dir, saves_dir, now=now).path if replaced else None
            restored = [_restore_one(project_dir, backup, r) for r in files if r != MANIFEST]
    except BlockingIOError:
        raise LockBusy(
            "the scheduler (or a `digest schedule --once` job) is running on this project; "
            "stop it, then restore",
            path=lock,
        ) from None
    return RestoreReport(tuple(restored), saved)


def _restore_one(project_dir: Path, backup: Path, relative: str) -> str:
    source, target = backup / relative, project_dir / relative
    if relative == f"{STATE_DIR}/{STORE_NAME}":
        _restore_store(source, target)
    else:
        atomic_write(target, source.read_bytes())
    return relative


def _restore_store(source: Path, target: Path) -> None:
    # Into the live file with the backup API, in one transaction: readers of the store see
    # the old content or the restored one, and its WAL and shared memory stay coherent.
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target, timeout=60.0)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
