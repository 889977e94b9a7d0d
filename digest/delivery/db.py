"""The store as delivery uses it: the ingest store, plus delivery's own tables brought up to date.

Delivery's tables (the send log, subscribers, unsubscribes) are defined beside the SQL that
uses them, in sendlog.py and roster.py. Each is a *part* with its own migrations, whose
version is kept in the table `schema_parts`, so the item store's `user_version` and these
parts evolve independently. Append new migrations to a part; never edit a released one.
"""

from __future__ import annotations

import sqlite3

from digest.config import Config
from digest.delivery import roster, sendlog
from digest.errors import StoreError
from digest.ingest.store import Store, store_path

PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("send_log", sendlog.MIGRATIONS),
    ("roster", roster.MIGRATIONS),
)


def open_store(config: Config) -> Store:
    """The project's store with delivery's tables ready; close it (or use `with`)."""
    store = Store.open(store_path(config))
    try:
        migrate_parts(store.conn)
    except sqlite3.Error as exc:
        store.close()
        raise StoreError(
            f"cannot prepare the store's delivery tables ({exc}); if another `digest` is "
            "running, wait for it; if the store is damaged, restore it from a backup",
            path=store.path,
        ) from exc
    return store


def migrate_parts(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_parts (part TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    for part, migrations in PARTS:
        row = conn.execute("SELECT version FROM schema_parts WHERE part = ?", (part,)).fetchone()
        version = row[0] if row else 0
        if version > len(migrations):
            raise StoreError(
                f"the store's {part} tables have version {version}, newer than this program "
                f"knows ({len(migrations)}); upgrade alliance-digest"
            )
        for number in range(version, len(migrations)):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(migrations[number]):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_parts (part, version) VALUES (?, ?)"
                    " ON CONFLICT (part) DO UPDATE SET version = excluded.version",
                    (part, number + 1),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise


def _statements(script: str) -> list[str]:
    out, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                out.append(buffer.strip())
            buffer = ""
    return out
