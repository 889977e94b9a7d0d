"""The send log: who has been sent which issue, kept twice so that no one gets two copies.

    store   table send_log (this module's SQL and schema), one row per issue and address
    issue   issues/DATE/sent.csv, append-only, one line per recipient and outcome,
            kept with the issue so that losing the store loses nothing

    pending  written just before DATA: the server may now have the message
    sent     the server said 250 after DATA
    failed   the server refused the recipient, or the address cannot be sent; retried
             by the next run

A list send reads both: per address, the latest record of each, and of the two the
furthest (sent > pending > failed): an address sent or pending in either is never sent
again.
Each mark is in both before the next SMTP step: committed to the store with SQLite's
synchronous=FULL (on disk, so a power cut loses none), and written to the file, which a
killed process cannot lose either (the operating system holds it); the file is synced to
disk every SYNC_EVERY lines and when the send ends, so only a power cut *and* a lost store
together could lose its latest lines.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from digest._util.fs import exclusive_lock
from digest.config import Config
from digest.delivery.subscribers import Recipient, address_key
from digest.errors import SendError

Status = Literal["pending", "sent", "failed"]
SENT_FILE = "sent.csv"
SENT_HEADER = ("time", "address", "status", "message_id", "reason")
_RANK = {"failed": 1, "pending": 2, "sent": 3}
SYNC_EVERY = 25  # sent.csv lines between two fsyncs (each costs a few ms on a disk)

# The schema of the store's send_log, one migration per version of this part (see
# digest.delivery.db). Stores made before the move already have the table (it was the
# store's own migration 2), hence IF NOT EXISTS.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS send_log (
        issue TEXT NOT NULL,
        address TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        message_id TEXT NOT NULL,
        token TEXT NOT NULL,
        updated TEXT NOT NULL,
        error TEXT,
        PRIMARY KEY (issue, address)
    ) WITHOUT ROWID;
    """,
)


def db_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sent_file(config: Config, issue_date: date) -> Path:
    return config.issue_dir(issue_date) / SENT_FILE


class SendLog:
    """One issue's send log, in the store and in issues/DATE/sent.csv."""

    def __init__(self, conn: sqlite3.Connection, issue_date: date, file: Path) -> None:
        self.conn = conn
        self.issue = issue_date.isoformat()
        self.file = file
        self._fd: int | None = None
        self._unsynced = 0
        # A mark must survive a power cut too, not only a crash of this process: WAL with
        # synchronous=NORMAL may lose the last commits; FULL syncs each one.
        conn.execute("PRAGMA synchronous=FULL")

    def statuses(self) -> dict[str, str]:
        """Per address (lower case), the furthest state the store or the file records.

        Within each, the latest record of an address is its state (a `pending` followed
        by `failed` is failed); between the two, the furthest wins, since the file is
        written first and is never behind the store.
        """
        stored = dict(
            self.conn.execute(
                "SELECT address, status FROM send_log WHERE issue = ?", (self.issue,)
            ).fetchall()
        )
        filed = {address_key(a): status for a, status in read_sent_file(self.file)}
        found: dict[str, str] = {}
        for key, status in [*stored.items(), *filed.items()]:
            if _RANK.get(status, 0) > _RANK.get(found.get(key, ""), 0):
                found[key] = status
        return found

    def mark(
        self,
        recipient: Recipient,
        status: Status,
        message_id: str,
        now: datetime,
        error: str | None = None,
    ) -> None:
        """Record an outcome in the file, then in the store (see the module's docstring)."""
        self._append((db_time(now), recipient.address, status, message_id, error or ""))
        try:
            self.conn.execute(
                "INSERT INTO send_log (issue, address, status, message_id, token, updated, error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (issue, address) DO UPDATE SET"
                " status = excluded.status, message_id = excluded.message_id,"
                " token = excluded.token, updated = excluded.updated, error = excluded.error",
                (
                    self.issue,
                    recipient.key,
                    status,
                    message_id,
                    recipient.token,
                    db_time(now),
                    error,
                ),
            )
            if self.conn.in_transaction:
                self.conn.commit()
        except sqlite3.Error as exc:
            # The line in sent.csv is written: nobody will get a second copy.
            raise SendError(
                f"cannot record the send in the store ({exc}); {self.file} has it; free "
                "space or fix the store, then run the same command again",
            ) from exc

    def _append(self, row: tuple[str, ...]) -> None:
        try:
            if self._fd is None:
                self._fd = open_sent_file(self.file)
            os.write(self._fd, _csv_line(row))
            self._unsynced += 1
            if self._unsynced >= SYNC_EVERY:
                self.sync()
        except OSError as exc:
            raise _write_error(self.file, exc) from None

    def sync(self) -> None:
        """Put the file's lines on disk."""
        if self._fd is not None and self._unsynced:
            os.fsync(self._fd)
            self._unsynced = 0

    def close(self) -> None:
        if self._fd is not None:
            try:
                self.sync()
            except OSError as exc:
                raise _write_error(self.file, exc) from None
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> SendLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_sent_file(path: Path) -> list[tuple[str, str]]:
    """(address, status) of every well-formed line of a sent.csv; none if it is absent."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SendError(
            f"cannot read the issue's send log ({exc}); it is what keeps subscribers from "
            "a second copy: restore it from a backup before sending",
            path=path,
        ) from exc
    return [
        (row[1], row[2]) for row in rows[1:] if len(row) == len(SENT_HEADER) and row[2] in _RANK
    ]


def open_sent_file(path: Path) -> int:
    """Open sent.csv for appending: with its header if new, on a fresh line if a killed
    process left the last one unfinished (that line then stays a line of its own)."""
    fresh = not path.exists() or path.stat().st_size == 0
    if fresh:
        path.parent.mkdir(parents=True, exist_ok=True)
    prefix = _csv_line(SENT_HEADER) if fresh else (b"" if _ends_with_newline(path) else b"\n")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    if prefix:
        os.write(fd, prefix)
        os.fsync(fd)
    return fd


def _csv_line(row: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    return out.getvalue().encode("utf-8")


def _write_error(path: Path, exc: OSError) -> SendError:
    return SendError(
        f"cannot write the issue's send log ({exc.strerror}); free space or fix the "
        "folder's permissions, then run the same command again (nobody gets a "
        "second copy)",
        path=path,
    )


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


@contextlib.contextmanager
def send_lock(config: Config, issue_date: date) -> Iterator[None]:
    """One list send per issue at a time: two at once would both see an address as unsent."""
    path = config.cache_dir / f"send-{issue_date.isoformat()}.lock"
    try:
        with exclusive_lock(path):
            yield
    except BlockingIOError:
        raise SendError(
            f"another `digest send --list` is sending the {issue_date.isoformat()} "
            "issue; wait for it to finish (it resumes where it stopped if run "
            "again)",
            path=path,
        ) from None
    except PermissionError as exc:
        raise SendError(f"cannot take the send lock ({exc.strerror})", path=path) from None
