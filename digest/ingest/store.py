"""The SQLite store: every item ever seen, and each feed's fetch state and health.

    feeds         one row per feed name: validators (ETag, Last-Modified, body hash), last
                  success, last error, consecutive failures, next attempt, gone, redirect
    items         one row per story, keyed by `Item.id`; the canonical URL is unique, so the
                  same story from two feeds is one row ...
    item_outlets  ... with one row per feed that carried it

Items are upserted and never deleted by a fetch; `prune(before)` is the only way out.
A feed's items and its new validators are written in one transaction, so a crash can
never leave validators that would make the next run skip items it has not stored.

The schema is versioned with `PRAGMA user_version`: MIGRATIONS[i] takes the database from
version i to i + 1. Append new migrations; never edit a released one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from digest.config import Config
from digest.errors import StoreError, store_error
from digest.models import FeedHealth, FeedSource, Item, Validators
from digest.paths import STORE_NAME

MIGRATIONS: list[str] = [
    # 1: feeds, items and the outlets that carried each item.
    """
    CREATE TABLE feeds (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        last_attempt TEXT,
        last_success TEXT,
        last_error TEXT,
        last_error_at TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT,
        gone INTEGER NOT NULL DEFAULT 0,
        permanent_redirect TEXT
    );
    CREATE TABLE items (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        feed TEXT NOT NULL,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        published TEXT NOT NULL,
        lang TEXT NOT NULL,
        kind TEXT NOT NULL,
        dated INTEGER NOT NULL,
        first_seen TEXT NOT NULL
    );
    CREATE INDEX items_published ON items (published);
    CREATE TABLE item_outlets (
        item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
        feed TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        PRIMARY KEY (item_id, feed)
    ) WITHOUT ROWID;
    CREATE INDEX item_outlets_feed ON item_outlets (feed);
    """,
    # 2: was the send log; its schema now lives with its SQL in digest/delivery/sendlog.py
    # (stores made before keep the table; delivery creates it where it is missing).
    "SELECT 1;",
    # 3: per-feed polling (digest/ingest/polling.py): the interval, the next fetch, the
    # newest item date seen (to notice items that scrolled off unseen) and those gaps;
    # `backlog` marks undated items first seen in their feed's first fetch (age unknown).
    """
    ALTER TABLE feeds ADD COLUMN poll_every_s INTEGER;
    ALTER TABLE feeds ADD COLUMN next_fetch TEXT;
    ALTER TABLE feeds ADD COLUMN newest_seen TEXT;
    CREATE TABLE feed_gaps (
        feed TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX feed_gaps_feed ON feed_gaps (feed, at);
    ALTER TABLE items ADD COLUMN backlog INTEGER NOT NULL DEFAULT 0;
    """,
]

HEALTH_WINDOW = timedelta(days=14)


def to_db_time(value: datetime) -> str:
    """A fixed-width UTC text timestamp, so text order is time order."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}; pass an aware UTC time")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_db_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class FeedState:
    """What the store remembers about one feed between runs."""

    name: str
    url: str = ""
    validators: Validators = field(default_factory=Validators)
    last_success: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_attempt: datetime | None = None
    gone: bool = False
    permanent_redirect: str | None = None
    poll_every: timedelta | None = None
    next_fetch: datetime | None = None
    newest_seen: datetime | None = None


@dataclass(frozen=True)
class FeedOutcome:
    """What one fetch of one feed did, as the store records it."""

    url: str
    ok: bool
    validators: Validators | None = None  # None: keep the stored ones
    error: str | None = None
    next_attempt: datetime | None = None
    gone: bool = False
    permanent_redirect: str | None = None
    # Polling, on success: when to come back, and what this fetch showed.
    poll_every: timedelta | None = None
    next_fetch: datetime | None = None
    newest_seen: datetime | None = None
    possible_gap: bool = False


def store_path(config: Config) -> Path:
    """Where a project's store lives: state/digest.sqlite (irreplaceable: back it up)."""
    return config.state_dir / STORE_NAME


class Store:
    """The SQLite store. Open it with `Store.open(path)`, preferably as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating the folder and database if needed) and migrate to the latest schema."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is crash-safe in WAL mode (a power cut may lose only the last commits).
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            store = cls(conn, path)
            store.migrate()
        except sqlite3.Error as exc:
            raise store_error(exc, path) from exc
        return store

    def migrate(self) -> int:
        """Apply the migrations this database lacks; return the schema version."""
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"the store has schema version {version}, newer than this program knows "
                f"({len(MIGRATIONS)}); upgrade alliance-digest",
                path=self.path,
            )
        for number in range(version, len(MIGRATIONS)):
            with self.transaction():
                for statement in _statements(MIGRATIONS[number]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number + 1}")
        return len(MIGRATIONS)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    # -- items -----------------------------------------------------------------------------

    def upsert_items(self, items: Iterable[Item], now: datetime, *, backlog: bool = False) -> int:
        """Store items (new ones inserted, known ones gain the outlet); return how many were new.

        `backlog`: the feed's first fetch, so an undated item's age is unknown; it is kept,
        but never taken for news of the current window.
        """
        with self.transaction():
            return self._upsert(items, now, backlog=backlog)

    def _upsert(self, items: Iterable[Item], now: datetime, *, backlog: bool = False) -> int:
        # One lookup per batch, not per item: a feed brings 20-50 items at a time.
        batch = list(items)
        if not batch:
            return 0
        seen = to_db_time(now)
        ids = [i.id for i in batch] + [i.url for i in batch]
        by_id = {
            row[0]: row
            for row in self._rows(
                "SELECT id, feed, title, summary, url FROM items WHERE id IN ({})", ids
            )
        }
        by_url = dict(
            self._rows("SELECT url, id FROM items WHERE url IN ({})", [i.url for i in batch])
        )
        inserts, edits, outlets = [], [], []
        for item in batch:
            if _reused_guid(item, by_id.get(item.id)):
                # Another article under a GUID seen before: it is known by its URL instead.
                item = replace(item, id=item.url)
            if item.id in by_id:
                known = item.id
                _, feed, title, summary, _url = by_id[known]
                # The outlet that first carried the item may correct its own headline; an
                # entry that only shares the URL is another feed's copy or a duplicate.
                if (
                    feed == item.feed
                    and item.title
                    and (title, summary) != (item.title, item.summary)
                ):
                    edits.append((item.title, item.summary, known))
            elif item.url in by_url:
                known = by_url[item.url]
            else:
                known = item.id
                inserts.append(
                    (
                        item.id,
                        item.url,
                        item.feed,
                        item.title,
                        item.summary,
                        to_db_time(item.published),
                        item.lang,
                        item.kind,
                        int(item.dated),
                        seen,
                        int(backlog and not item.dated),
                    )
                )
                by_id[item.id] = (item.id, item.feed, item.title, item.summary, item.url)
                by_url[item.url] = item.id
            outlets.append((known, item.feed, seen))
        self.conn.executemany(
            "INSERT INTO items (id, url, feed, title, summary, published, lang, kind, dated,"
            " first_seen, backlog) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            inserts,
        )
        self.conn.executemany("UPDATE items SET title = ?, summary = ? WHERE id = ?", edits)
        self.conn.executemany(
            "INSERT OR IGNORE INTO item_outlets (item_id, feed, first_seen) VALUES (?, ?, ?)",
            outlets,
        )
        return len(inserts)

    def _rows(self, sql: str, values: list[str]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        unique = list(dict.fromkeys(values))
        for start in range(0, len(unique), 500):  # stay under SQLite's parameter limit
            chunk = unique[start : start + 500]
            rows += self.conn.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
        return rows

    def items_between(
        self, start: datetime, end: datetime, *, with_backlog: bool = False
    ) -> list[Item]:
        """Items published in [start, end), oldest first, each with every outlet that carried it.

        Backlog items (undated, first seen in their feed's first fetch) belong to no issue
        window, so they are left out unless `with_backlog` asks for every stored item.
        """
        rows = self.conn.execute(
            "SELECT i.id, i.feed, i.url, i.title, i.summary, i.published, i.lang, i.kind,"
            " i.dated, group_concat(o.feed, char(31))"
            " FROM items i LEFT JOIN item_outlets o ON o.item_id = i.id"
            " WHERE i.published >= ? AND i.published < ? AND (? OR NOT i.backlog)"
            " GROUP BY i.id ORDER BY i.published, i.id",
            (to_db_time(start), to_db_time(end), with_backlog),
        )
        return [_item(row) for row in rows]

    def count_items(self, since: datetime | None = None) -> int:
        """Stored items (each story once, however many feeds carried it), optionally recent."""
        if since is None:
            return int(self.conn.execute("SELECT count(*) FROM items").fetchone()[0])
        return int(
            self.conn.execute(
                "SELECT count(*) FROM items WHERE published >= ?", (to_db_time(since),)
            ).fetchone()[0]
        )

    def prune(self, before: datetime) -> int:
        """Delete items published before `before`; return how many went."""
        with self.transaction():
            cursor = self.conn.execute(
                "DELETE FROM items WHERE published < ?", (to_db_time(before),)
            )
            return cursor.rowcount

    # -- feeds -----------------------------------------------------------------------------

    def feed_state(self, name: str) -> FeedState:
        row = self.conn.execute(
            "SELECT name, url, etag, last_modified, body_hash, last_success, last_error,"
            " consecutive_failures, next_attempt, gone, permanent_redirect,"
            " poll_every_s, next_fetch, newest_seen"
            " FROM feeds WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return FeedState(name=name)
        return FeedState(
            name=row[0],
            url=row[1],
            validators=Validators(etag=row[2], last_modified=row[3], body_hash=row[4]),
            last_success=from_db_time(row[5]),
            last_error=row[6],
            consecutive_failures=row[7],
            next_attempt=from_db_time(row[8]),
            gone=bool(row[9]),
            permanent_redirect=row[10],
            poll_every=timedelta(seconds=row[11]) if row[11] is not None else None,
            next_fetch=from_db_time(row[12]),
            newest_seen=from_db_time(row[13]),
        )

    def feed_states(self) -> dict[str, FeedState]:
        names = [r[0] for r in self.conn.execute("SELECT name FROM feeds")]
        return {name: self.feed_state(name) for name in names}

    def record_fetch(
        self,
        feed: str,
        outcome: FeedOutcome,
        items: Iterable[Item],
        now: datetime,
        *,
        backlog: bool = False,
    ) -> int:
        """Store one feed's items and its new state in one transaction; return new items."""
        with self.transaction():
            new = self._upsert(items, now, backlog=backlog)
            self._record(feed, outcome, now)
            return new

    def _record(self, feed: str, outcome: FeedOutcome, now: datetime) -> None:
        stamp = to_db_time(now)
        # A new address in feeds.yaml: the old one's validators and failures do not apply.
        self.conn.execute(
            "UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = NULL,"
            " consecutive_failures = 0, next_attempt = NULL, gone = 0, permanent_redirect = NULL,"
            " poll_every_s = NULL, next_fetch = NULL, newest_seen = NULL"
            " WHERE name = ? AND url != ?",
            (feed, outcome.url),
        )
        self.conn.execute(
            "INSERT INTO feeds (name, url) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET url = excluded.url",
            (feed, outcome.url),
        )
        next_attempt = to_db_time(outcome.next_attempt) if outcome.next_attempt else None
        if outcome.ok:
            self.conn.execute(
                "UPDATE feeds SET last_attempt = ?, last_success = ?, consecutive_failures = 0,"
                " next_attempt = ?, gone = 0, permanent_redirect = ? WHERE name = ?",
                (stamp, stamp, next_attempt, outcome.permanent_redirect, feed),
            )
            self._record_polling(feed, outcome, now)
            if outcome.validators is not None:
                v = outcome.validators
                self.conn.execute(
                    "UPDATE feeds SET etag = ?, last_modified = ?, body_hash = ? WHERE name = ?",
                    (v.etag, v.last_modified, v.body_hash, feed),
                )
        else:
            self.conn.execute(
                "UPDATE feeds SET last_attempt = ?, last_error = ?, last_error_at = ?,"
                " consecutive_failures = consecutive_failures + 1, next_attempt = ?,"
                " gone = ?, permanent_redirect = coalesce(?, permanent_redirect)"
                " WHERE name = ?",
                (
                    stamp,
                    outcome.error,
                    stamp,
                    next_attempt,
                    int(outcome.gone),
                    outcome.permanent_redirect,
                    feed,
                ),
            )

    def _record_polling(self, feed: str, outcome: FeedOutcome, now: datetime) -> None:
        if outcome.poll_every is not None:
            self.conn.execute(
                "UPDATE feeds SET poll_every_s = ? WHERE name = ?",
                (int(outcome.poll_every.total_seconds()), feed),
            )
        self.conn.execute(
            "UPDATE feeds SET next_fetch = ?, newest_seen = coalesce(?, newest_seen)"
            " WHERE name = ?",
            (
                to_db_time(outcome.next_fetch) if outcome.next_fetch else None,
                to_db_time(outcome.newest_seen) if outcome.newest_seen else None,
                feed,
            ),
        )
        if outcome.possible_gap:
            self.conn.execute(
                "INSERT INTO feed_gaps (feed, at) VALUES (?, ?)", (feed, to_db_time(now))
            )

    def gap_counts(self, since: datetime) -> dict[str, int]:
        """Possible gaps per feed noticed since `since`."""
        rows = self.conn.execute(
            "SELECT feed, count(*) FROM feed_gaps WHERE at >= ? GROUP BY feed",
            (to_db_time(since),),
        )
        return {str(feed): int(count) for feed, count in rows}

    def feed_health(self, sources: Sequence[FeedSource], now: datetime) -> list[FeedHealth]:
        """Each source's health, in the order given (feeds never fetched have empty history)."""
        since = to_db_time(now - HEALTH_WINDOW)
        counts = dict(
            self.conn.execute(
                "SELECT o.feed, count(*) FROM item_outlets o JOIN items i ON i.id = o.item_id"
                " WHERE i.published >= ? GROUP BY o.feed",
                (since,),
            ).fetchall()
        )
        latest = dict(
            self.conn.execute(
                "SELECT o.feed, max(i.published) FROM item_outlets o"
                " JOIN items i ON i.id = o.item_id GROUP BY o.feed"
            ).fetchall()
        )
        gaps = self.gap_counts(now - HEALTH_WINDOW)
        out = []
        for source in sources:
            state = self.feed_state(source.name)
            newest = from_db_time(latest.get(source.name))
            quiet = max(0, (now - newest).days) if newest is not None else None
            out.append(
                FeedHealth(
                    feed=source.name,
                    url=source.url,
                    last_success=state.last_success,
                    last_error=state.last_error
                    if state.consecutive_failures or state.gone
                    else None,
                    consecutive_failures=state.consecutive_failures,
                    items_14d=int(counts.get(source.name, 0)),
                    quiet_days=quiet,
                    gone=state.gone,
                    next_attempt=state.next_attempt,
                    moved_to=state.permanent_redirect,
                    poll_every=state.poll_every,
                    next_fetch=_next_fetch(state),
                    possible_gaps=gaps.get(source.name, 0),
                )
            )
        return out


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception; nests as a no-op."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outer = False

    def __enter__(self) -> None:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.outer = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (executescript would commit on its own)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()


def _next_fetch(state: FeedState) -> datetime | None:
    """When the feed is fetched next: the later of its poll time and any backoff."""
    times = [t for t in (state.next_fetch, state.next_attempt) if t is not None]
    return max(times) if times else None


def _reused_guid(item: Item, known: tuple[Any, ...] | None) -> bool:
    """True when a GUID stored before now names a different article of the same feed.

    Some feeds number their entries ("1", "2" ...) afresh on every build. A stable GUID
    may see its headline or its URL corrected, but not both at once: then it is another
    article, and overwriting the stored one would lose it.
    """
    if known is None or item.id == item.url:
        return False
    _, feed, title, _summary, url = known
    return bool(feed == item.feed and url != item.url and title != item.title)


def _item(row: tuple[Any, ...]) -> Item:
    others = set(row[9].split("\x1f")) if row[9] else set()
    outlets = (row[1], *sorted(others - {row[1]}))
    published = from_db_time(row[5])
    assert published is not None
    return Item(
        id=row[0],
        feed=row[1],
        url=row[2],
        title=row[3],
        summary=row[4],
        published=published,
        lang=row[6],
        kind=row[7],
        dated=bool(row[8]),
        outlets=outlets,
    )
