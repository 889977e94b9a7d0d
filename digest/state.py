"""The project's irreplaceable state, kept apart from what can be rebuilt.

    state/      the item store (items, feed health, send log, unsubscribes) and the
                unsubscribe key: back them up (`digest backup`), never delete them
    .digest/    the cache: the scheduler's job store and the locks; safe to delete
                while nothing runs

Projects made before the split kept everything in `.digest/`. `migrate_legacy_state`
moves the store and the key into `state/` the first time a newer version loads the
project: the store is copied with SQLite's online backup API (so a copy is consistent even
with the WAL beside it), checked, and only then is the old file renamed
`digest.sqlite.moved-to-state` (kept, never deleted). It is idempotent and cheap when
there is nothing to move.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from digest._util.fs import TMP_SUFFIX, atomic_write, exclusive_lock
from digest.paths import CACHE_DIR, KEY_NAME, LEGACY_STATE_DIR, STATE_DIR, STORE_NAME

MOVED_SUFFIX = ".moved-to-state"


def migrate_legacy_state(project_dir: Path) -> list[Path]:
    """Move the store and the key of a pre-split project into state/; return what moved."""
    legacy = Path(project_dir) / LEGACY_STATE_DIR
    state = Path(project_dir) / STATE_DIR
    if not _has_legacy(legacy, state):
        return []
    moved = []
    with exclusive_lock(Path(project_dir) / CACHE_DIR / "migrate.lock", wait_s=60.0):
        if (legacy / KEY_NAME).is_file() and not (state / KEY_NAME).exists():
            atomic_write(state / KEY_NAME, (legacy / KEY_NAME).read_bytes())
            os.replace(legacy / KEY_NAME, legacy / (KEY_NAME + MOVED_SUFFIX))
            moved.append(state / KEY_NAME)
        if (legacy / STORE_NAME).is_file() and not (state / STORE_NAME).exists():
            copy_database(legacy / STORE_NAME, state / STORE_NAME)
            os.replace(legacy / STORE_NAME, legacy / (STORE_NAME + MOVED_SUFFIX))
            for side in ("-wal", "-shm"):  # folded into the copy by the backup API
                if (legacy / (STORE_NAME + side)).exists():
                    os.replace(
                        legacy / (STORE_NAME + side), legacy / (STORE_NAME + side + MOVED_SUFFIX)
                    )
            moved.append(state / STORE_NAME)
    return moved


def _has_legacy(legacy: Path, state: Path) -> bool:
    return any(
        (legacy / name).is_file() and not (state / name).exists() for name in (STORE_NAME, KEY_NAME)
    )


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database, put in place atomically.

    SQLite's online backup API reads a snapshot while other processes keep writing; the
    copy is written beside `target`, checked, then renamed over it.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.copy{TMP_SUFFIX}")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30.0)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                if (ok := dst.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
                    raise sqlite3.DatabaseError(f"the copy fails its check: {ok}")
            finally:
                dst.close()
        finally:
            src.close()
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
            # The copy's disk is full, not the store's: say so, naming the copy.
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)) from exc
        raise
