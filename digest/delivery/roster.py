"""The subscriber list and the unsubscribes, kept in the store (this module's SQL and schema).

    subscribers    one row per address, as `digest subscribers import` brought it in
    unsubscribes   one row per address that asked to leave (the endpoint of `digest serve`,
                   or an import marking it unsubscribed); never removed by an import

A list send skips every address of `unsubscribes`, whichever list it is given.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from digest.delivery.sendlog import db_time
from digest.delivery.subscribers import Recipient, SubscriberRow, address_key

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS subscribers (
        address TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        first_name TEXT NOT NULL DEFAULT '',
        last_name TEXT NOT NULL DEFAULT '',
        added TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS unsubscribes (
        address TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        via TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
)


@dataclass(frozen=True)
class ImportReport:
    """What `digest subscribers import` did."""

    added: int
    updated: int
    unsubscribed: int
    kept_unsubscribed: tuple[str, ...]

    def __str__(self) -> str:
        line = (
            f"{self.added} added, {self.updated} updated, "
            f"{self.unsubscribed} recorded as unsubscribed"
        )
        if self.kept_unsubscribed:
            line += (
                f"; {len(self.kept_unsubscribed)} listed as subscribed in the file had "
                "unsubscribed here and stay unsubscribed"
            )
        return line


def import_rows(
    conn: sqlite3.Connection, rows: Sequence[SubscriberRow], now: datetime
) -> ImportReport:
    """Bring a subscriber file in: one transaction; an unsubscribe is never undone."""
    gone = unsubscribed(conn)
    known = {r[0] for r in conn.execute("SELECT address FROM subscribers")}
    added = updated = left = 0
    kept: list[str] = []
    stamp = db_time(now)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for row in rows:
            key = address_key(row.address)
            if row.status == "unsubscribed":
                if key not in gone:
                    record_unsubscribe(conn, row.address, now, via="import", commit=False)
                    gone.add(key)
                    left += 1
            elif key in gone:
                kept.append(row.address)
            conn.execute(
                "INSERT INTO subscribers (address, email, first_name, last_name, added)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (address) DO UPDATE SET"
                " email = excluded.email, first_name = excluded.first_name,"
                " last_name = excluded.last_name",
                (key, row.address, row.first_name, row.last_name, stamp),
            )
            if key in known:
                updated += 1
            else:
                added += 1
                known.add(key)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return ImportReport(added, updated, left, tuple(kept))


def all_rows(conn: sqlite3.Connection) -> tuple[SubscriberRow, ...]:
    """Every subscriber with its status, then unsubscribed addresses not on the list."""
    gone = unsubscribed(conn)
    rows = [
        SubscriberRow(email, first, last, "unsubscribed" if key in gone else "subscribed")
        for key, email, first, last in conn.execute(
            "SELECT address, email, first_name, last_name FROM subscribers ORDER BY address"
        )
    ]
    listed = {address_key(r.address) for r in rows}
    rows += [SubscriberRow(a, status="unsubscribed") for a in sorted(gone - listed)]
    return tuple(rows)


def active_recipients(conn: sqlite3.Connection) -> tuple[Recipient, ...]:
    return tuple(Recipient(r.address, r.name) for r in all_rows(conn) if r.status == "subscribed")


def unsubscribed(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT address FROM unsubscribes")}


def record_unsubscribe(
    conn: sqlite3.Connection, address: str, now: datetime, *, via: str, commit: bool = True
) -> bool:
    """Record that an address left; False when it had already."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO unsubscribes (address, at, via) VALUES (?, ?, ?)",
        (address_key(address), db_time(now), via),
    )
    if commit and conn.in_transaction:
        conn.commit()
    return cursor.rowcount > 0
