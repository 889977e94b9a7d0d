"""Safe file writing and locks: nothing a user owns is ever left half-written.

atomic_write   temporary file beside the target (locked while written), fsync, rename
sweep          a temporary file whose writer died (its lock is free) is removed by the
               next write into that folder
exclusive_lock an advisory lock held by the open file (flock): the kernel drops it when
               the holder dies, however it dies, so no killed process blocks a restart.
               Children forked while it is held close their copy at once, so a worker
               that outlives its parent never keeps the lock. The lock file holds a
               line naming its holder, for people to read; nothing relies on it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

TMP_SUFFIX = ".digest-tmp"
# Leftovers of earlier versions: mkstemp's eight random characters and ".tmp".
_LEGACY_TMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")

_swept: set[Path] = set()


def atomic_write(
    path: Path, data: bytes | str, *, backup: bool = False, durable: bool = True
) -> None:
    """Write `data` to `path` via a temporary file, fsync and rename.

    A reader sees the old file or the new one, never a mix. With `backup`, the previous
    version is kept beside it as `<name>.bak` (itself written atomically). `durable=False`
    skips the fsyncs, for files that can be rebuilt (site pages). An OSError always names
    `path`, even when it came from a write, which names no file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_leftovers(path.parent)
        payload = data.encode("utf-8") if isinstance(data, str) else data
        if backup and path.exists():
            _write_and_rename(path.with_name(path.name + ".bak"), path.read_bytes(), durable)
        _write_and_rename(path, payload, durable)
    except OSError as exc:
        if (named := _naming(exc, path)) is exc:
            raise
        raise named from exc
    if durable:
        _fsync_dir(path.parent)


def _write_and_rename(path: Path, payload: bytes, durable: bool) -> None:
    for attempt in (1, 2):
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                # Locked while alive, so another process's sweep leaves it alone.
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                handle.write(payload)
                handle.flush()
                if durable:
                    os.fsync(handle.fileno())
                os.replace(tmp_name, path)  # still open and locked: renaming is allowed
            return
        except FileNotFoundError:
            # Swept in the instant between its creation and its lock: write it again.
            if attempt == 2 or not path.parent.is_dir():
                raise
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise


def create_exclusively(path: Path, data: bytes | str, *, mode: int = 0o600) -> None:
    """Create `path` holding `data`, whole, unless it exists (FileExistsError).

    The content is written and synced under a temporary name, then hard-linked into place:
    a kill or a full disk leaves no file, never an empty or partial one, and of two
    processes racing, exactly one creates it.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            os.fchmod(handle.fileno(), mode)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
            os.link(tmp_name, path)
    except OSError as exc:
        if (named := _naming(exc, path)) is exc:
            raise
        raise named from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    _fsync_dir(path.parent)


def _naming(exc: OSError, path: Path) -> OSError:
    """The error with `path` as its file: a write names no file, a temporary one means
    nothing to the reader."""
    named = exc.filename
    if named is None or str(named).endswith(TMP_SUFFIX):
        return OSError(exc.errno, exc.strerror, str(path))
    return exc


def sweep_leftovers(folder: Path) -> list[Path]:
    """Remove the temporary files that interrupted writes left in `folder` (once per process).

    A temporary file is a leftover when nobody holds its lock: its writer is gone.
    """
    key = Path(folder).resolve()
    if key in _swept:
        return []
    _swept.add(key)
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(key):
            leftover = _is_temporary(entry.name) and entry.is_file(follow_symlinks=False)
            if leftover and _remove_if_unlocked(Path(entry.path)):
                removed.append(Path(entry.path))
    return removed


def _is_temporary(name: str) -> bool:
    return name.startswith(".") and (name.endswith(TMP_SUFFIX) or bool(_LEGACY_TMP.match(name)))


def _remove_if_unlocked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live writer holds it
    else:
        with contextlib.suppress(OSError):
            path.unlink()
            return True
        return False
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- locks -----------------------------------------------------------------------------------

# Lock file descriptors this process holds, by the pid that took them.
_held: dict[int, int] = {}


def _close_inherited_locks() -> None:
    # In a forked child: close the inherited copies (never unlock: the lock is shared with the
    # parent's open file), so the lock dies with the parent even if this child lives on.
    for fd in list(_held):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, *, wait_s: float = 0.0, holder: str = "") -> Iterator[None]:
    """Hold an exclusive advisory lock on `lock_path` (created if needed, never deleted).

    Raises BlockingIOError when another process holds it for longer than `wait_s`. The
    file's content is replaced by a line naming the holder (pid, `holder`, since when).
    """
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        _acquire(fd, wait_s)
    except BaseException:
        os.close(fd)
        raise
    owner = os.getpid()
    _held[fd] = owner
    try:
        _write_holder(fd, holder)
        yield
    finally:
        if _held.pop(fd, None) == owner and os.getpid() == owner:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _acquire(fd: int, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _write_holder(fd: int, holder: str) -> None:
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    line = f"pid {os.getpid()}{' ' + holder if holder else ''} since {since}\n"
    with contextlib.suppress(OSError):  # information only: a full disk must not stop the run
        os.ftruncate(fd, 0)
        os.pwrite(fd, line.encode("utf-8"), 0)


def lock_holder(lock_path: Path) -> str:
    """The holder line a lock file carries ("" if none): for messages, never for decisions."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return Path(lock_path).read_text(encoding="utf-8").strip()
    return ""
