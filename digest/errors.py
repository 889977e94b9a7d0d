"""The exceptions of Alliance Digest.

Every error a user can cause or meet is a DigestError. It carries where it happened
(`path`, `line`, `column`, `url`) and knows its exit status, so the CLI can print one
clear line and exit without a traceback::

    DigestError                 exit 1 unless said otherwise
     +-- ConfigError            exit 2: feeds.yaml is wrong (file:line: key: what to do)
     +-- UsageError             exit 2: bad command-line arguments
     +-- FeedError              one feed failed; reported, never fatal to a run
     |    +-- FetchError
     |    +-- ParseError
     +-- StoreError             the SQLite store is unreadable or locked
     |    +-- StoreDamaged      its pages are damaged: restore a backup or .recover
     +-- FileSystemError        the operating system refused (disk full, read-only, denied)
     +-- DraftError             a draft does not parse or cannot be written
     |    +-- DraftInvalid      exit 2: what the editor wrote breaks the draft's schema
     |    +-- DraftConflict     the draft changed on disk while we worked
     |    +-- LockBusy          another run holds the lock
     +-- RenderError
     +-- PublishError
     +-- SendError
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path


class DigestError(Exception):
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        column: int | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.column = column
        self.url = url

    def location(self) -> str:
        if self.path is None:
            return self.url or ""
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class ConfigError(DigestError):
    exit_code = 2


class UsageError(DigestError):
    exit_code = 2


class FeedError(DigestError):
    pass


class FetchError(FeedError):
    pass


class ParseError(FeedError):
    pass


class StoreError(DigestError):
    pass


class StoreDamaged(StoreError):
    pass


class FileSystemError(DigestError):
    pass


class DraftError(DigestError):
    pass


class DraftInvalid(DraftError):
    """The draft holds something the program cannot use; the file is left as it is."""

    exit_code = 2


class DraftConflict(DraftError):
    pass


class LockBusy(DraftError):
    pass


class RenderError(DigestError):
    pass


class PublishError(DigestError):
    pass


class SendError(DigestError):
    pass


# -- operating-system and database errors, as one line saying what to do ---------------------

_OS_ADVICE = {
    errno.ENOSPC: "no space left on the disk; free some space and run the command again",
    errno.EDQUOT: "disk quota exceeded; free some space and run the command again",
    errno.EROFS: "the file system is read-only; remount it read-write, or run digest on a "
    "copy of the project where it can write",
    errno.EACCES: "permission denied; give the user running digest read and write access",
    errno.EPERM: "operation not permitted; give the user running digest read and write access",
    errno.EAGAIN: "locked by another program; wait for it to finish (or close it) and run again",
    errno.EBUSY: "busy: another program is using it; close it and run the command again",
    errno.ETXTBSY: "busy: another program is using it; close it and run the command again",
    errno.EIO: "input/output error: the disk may be failing; check it, and restore damaged "
    "files with `digest restore BACKUP`",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n) and run again",
    errno.ENFILE: "too many open files on the system; run again when fewer are open",
}
_UNCHANGED = " (files being written were left as they were)"


def os_error(exc: OSError) -> FileSystemError:
    """An OSError as one line: the path, what happened and what to do."""
    advice = _OS_ADVICE.get(exc.errno or 0)
    if advice is None:
        advice = f"{exc.strerror or exc}; check the path and its folder, then run again"
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        advice += _UNCHANGED
    path = exc.filename if isinstance(exc.filename, (str, Path)) else None
    return FileSystemError(advice, path=path)


def store_error(exc: sqlite3.Error, path: Path | str) -> StoreError:
    """A SQLite error on the store as one line; never advises deleting or moving the store."""
    text = str(exc)
    lowered = text.lower()
    folder = Path(path).parent
    if "full" in lowered:
        return StoreError(
            "the disk holding the store is full; free some space and run the command again "
            "(SQLite rolled the unfinished change back: nothing is half-written)",
            path=path,
        )
    if "disk i/o error" in lowered:
        return StoreError(
            f"the store could not be read or written ({text}); check that the disk holding "
            "it is not full (df) and is healthy, then run the command again",
            path=path,
        )
    if "readonly" in lowered or "read-only" in lowered:
        return StoreError(
            f"the store cannot be written ({text}): its folder or file system is read-only; "
            f"make {folder} and its files writable by the user running digest (or remount "
            "the file system read-write)",
            path=path,
        )
    if "locked" in lowered or "busy" in lowered:
        return StoreError(
            f"the store is locked by another program ({text}); wait for the other `digest` "
            "run or sqlite3 shell to finish, then run again",
            path=path,
        )
    if "unable to open" in lowered:
        return StoreError(
            f"cannot open the store ({text}); check that {folder} exists and that the user "
            "running digest may read and write it",
            path=path,
        )
    damaged = ("malformed", "corrupt", "not a database")
    if type(exc) is sqlite3.DatabaseError or any(word in lowered for word in damaged):
        return damaged_store(text, path)
    return StoreError(f"the store failed ({text}); run the command again", path=path)


def damaged_store(why: str, path: Path | str) -> StoreDamaged:
    name = os.fspath(path)
    return StoreDamaged(
        f"the store is damaged ({why}); keep this file as it is and restore the newest backup "
        f"with `digest restore BACKUP`, or save what it still holds with SQLite's "
        f"`sqlite3 {name} .recover | sqlite3 recovered.sqlite` (README: Operating it)",
        path=path,
    )
