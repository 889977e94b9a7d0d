"""The SQLite store: migrations, upserts across outlets, windows, pruning, feed health."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.ingest import store as store_module
from digest.ingest.store import FeedOutcome, Store
from digest.models import FeedSource, Item, Validators

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def item(
    n: int,
    feed: str = "A",
    *,
    url: str | None = None,
    published: datetime | None = None,
    dated: bool = True,
    id: str | None = None,
) -> Item:
    link = url or f"https://example.com/{n}"
    return Item(
        id=id or link,
        feed=feed,
        url=link,
        title=f"Title {n}",
        summary=f"Summary {n}",
        published=published or NOW - timedelta(hours=n),
        lang="en",
        dated=dated,
        outlets=(feed,),
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "state" / "digest.sqlite") as opened:
        yield opened


def test_open_creates_folder_wal_and_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "digest.sqlite"
    with Store.open(path) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.schema_version == len(store_module.MIGRATIONS)
    with Store.open(path) as again:  # reopening migrates nothing and loses nothing
        assert again.schema_version == len(store_module.MIGRATIONS)


def test_an_appended_migration_is_applied_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "digest.sqlite"
    with Store.open(path) as store:
        store.upsert_items([item(1)], NOW)
    extra = "CREATE TABLE later_table (id INTEGER PRIMARY KEY, sent TEXT NOT NULL);"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, extra])
    with Store.open(path) as store:
        assert store.schema_version == len(store_module.MIGRATIONS)
        store.conn.execute("INSERT INTO later_table (sent) VALUES ('x')")
        assert store.count_items() == 1
    with Store.open(path) as store:  # not re-run: the table still has its row
        assert store.conn.execute("SELECT count(*) FROM later_table").fetchone()[0] == 1


def test_a_newer_schema_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "digest.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(store_module.StoreError, match="upgrade"):
        Store.open(path)


def test_upsert_counts_only_new_items_and_never_moves_first_dates(store: Store) -> None:
    assert store.upsert_items([item(1), item(2)], NOW) == 2
    later = item(1, published=NOW + timedelta(days=3))
    assert store.upsert_items([later, item(3)], NOW + timedelta(days=3)) == 1
    (stored,) = [
        i
        for i in store.items_between(NOW - timedelta(days=1), NOW + timedelta(days=9))
        if i.id == "https://example.com/1"
    ]
    assert stored.published == NOW - timedelta(hours=1)


def test_same_url_from_two_feeds_is_one_item_with_both_outlets(store: Store) -> None:
    store.upsert_items([item(1, "A", id="A#guid-1")], NOW)
    # Another feed, its own GUID, but the same canonical URL: the same story.
    assert store.upsert_items([item(1, "B", id="B#other")], NOW) == 0
    (only,) = store.items_between(NOW - timedelta(days=1), NOW)
    assert only.feed == "A"
    assert only.outlets == ("A", "B")
    assert store.count_items() == store.count_items(since=NOW - timedelta(days=1)) == 1
    assert store.count_items(since=NOW) == 0


def test_a_reused_guid_never_overwrites_the_article_it_named_before(store: Store) -> None:
    # Entries numbered afresh on every build: "A#1" is a different article each time.
    store.upsert_items([item(1, id="A#1")], NOW)
    assert store.upsert_items([item(2, id="A#1")], NOW + timedelta(hours=3)) == 1
    stored = store.items_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert {(i.title, i.url) for i in stored} == {
        ("Title 1", "https://example.com/1"),
        ("Title 2", "https://example.com/2"),
    }
    # The same article seen again under its URL is not stored twice.
    assert store.upsert_items([item(2, id="A#1")], NOW + timedelta(hours=6)) == 0


def test_a_stable_guid_takes_a_corrected_headline_or_a_moved_url(store: Store) -> None:
    store.upsert_items([item(1, id="A#1")], NOW)
    corrected = replace(item(1, id="A#1"), title="Title 1, corrected")
    moved = replace(corrected, url="https://example.com/1-new-slug")
    assert store.upsert_items([corrected], NOW) == 0
    assert store.upsert_items([moved], NOW) == 0
    (only,) = store.items_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert only.title == "Title 1, corrected"


def test_items_between_is_start_inclusive_end_exclusive(store: Store) -> None:
    start, end = NOW - timedelta(days=14), NOW
    store.upsert_items(
        [
            item(1, published=start),
            item(2, published=end - timedelta(seconds=1)),
            item(3, published=end),
            item(4, published=start - timedelta(seconds=1)),
        ],
        NOW,
    )
    urls = [i.url for i in store.items_between(start, end)]
    assert urls == ["https://example.com/1", "https://example.com/2"]


def test_items_between_converts_other_time_zones(store: Store) -> None:
    from zoneinfo import ZoneInfo

    store.upsert_items([item(1, published=datetime(2026, 11, 1, 4, 30, tzinfo=UTC))], NOW)
    tokyo = ZoneInfo("Asia/Tokyo")
    assert (
        len(
            store.items_between(
                datetime(2026, 11, 1, 13, 30, tzinfo=tokyo),
                datetime(2026, 11, 1, 13, 31, tzinfo=tokyo),
            )
        )
        == 1
    )


def test_prune_is_the_only_way_out(store: Store) -> None:
    store.upsert_items([item(1, published=NOW - timedelta(days=400)), item(2)], NOW)
    assert store.prune(NOW - timedelta(days=365)) == 1
    assert [i.url for i in store.items_between(NOW - timedelta(days=999), NOW)] == [
        "https://example.com/2"
    ]
    outlets = store.conn.execute("SELECT count(*) FROM item_outlets").fetchone()[0]
    assert outlets == 1  # the pruned item's outlet rows went with it


def test_feed_health_reports_success_failures_and_quiet_days(store: Store) -> None:
    a, b, c = (FeedSource(n, f"https://example.com/{n}.xml") for n in "ABC")
    store.record_fetch(
        "A",
        FeedOutcome(url=a.url, ok=True, validators=Validators(etag='"1"')),
        [item(1, published=NOW - timedelta(days=3)), item(2, published=NOW - timedelta(days=20))],
        NOW,
    )
    failing = FeedOutcome(
        url=b.url, ok=False, error="HTTP 500", next_attempt=NOW + timedelta(hours=1)
    )
    store.record_fetch("B", failing, [], NOW)
    store.record_fetch("B", failing, [], NOW)
    health = {h.feed: h for h in store.feed_health([a, b, c], NOW)}
    assert health["A"].items_14d == 1
    assert health["A"].quiet_days == 3
    assert health["A"].last_success == NOW and not health["A"].failing
    assert health["B"].consecutive_failures == 2 and health["B"].last_error == "HTTP 500"
    assert health["B"].next_attempt == NOW + timedelta(hours=1)
    assert health["C"].last_success is None and health["C"].quiet_days is None
    # Success resets the count and the next attempt, but keeps the validators intact.
    store.record_fetch("B", FeedOutcome(url=b.url, ok=True), [], NOW)
    state = store.feed_state("B")
    assert state.consecutive_failures == 0 and state.next_attempt is None
    assert store.feed_state("A").validators.etag == '"1"'


def test_a_failed_transaction_stores_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    class Boom(Exception):
        pass

    def fail(*args: object) -> None:
        raise Boom  # after the items were inserted, before the feed's state is

    monkeypatch.setattr(store, "_record", fail)
    with pytest.raises(Boom):
        store.record_fetch(
            "A",
            FeedOutcome(url="u", ok=True, validators=Validators(body_hash="h")),
            [item(1), item(2)],
            NOW,
        )
    assert store.count_items() == 0
    assert store.feed_state("A").validators.body_hash is None
