"""Undated items: first-seen time, never news of the window from a feed's first fetch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from digest.config import Rules
from digest.ingest.store import Store
from digest.models import Item
from digest.relevance.candidates import select_candidates

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TITLES = {
    1: "US-Japan alliance managers meet in Tokyo",
    2: "Shipbuilding talks test the US-Japan alliance",
    3: "US-Japan alliance: a blog post from years ago",
    4: "Semiconductor export rules and the US-Japan alliance",
}
RULES = Rules(alliance_phrases=("US-Japan alliance",), min_score=3.0)


def item(n: int, *, dated: bool) -> Item:
    return Item(
        id=f"https://blog.example/{n}",
        feed="Blog",
        url=f"https://blog.example/{n}",
        title=TITLES[n],
        summary="",
        published=NOW,
        lang="en",
        dated=dated,
    )


def test_undated_items_of_a_first_fetch_are_kept_but_not_news_of_the_window(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "digest.sqlite") as store:
        store.upsert_items([item(1, dated=False), item(2, dated=True)], NOW, backlog=True)
        store.upsert_items([item(3, dated=False)], NOW + timedelta(hours=1))
        window = store.items_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
        assert store.count_items() == 3
    assert sorted(i.url[-1] for i in window) == ["2", "3"]


def test_candidates_carry_the_dated_flag_the_draft_marks() -> None:
    # The draft writes `undated: true` for these (digest/editorial/draftfile.py).
    chosen = select_candidates([item(3, dated=False), item(4, dated=True)], RULES, now=NOW)
    assert {c.url[-1]: c.dated for c in chosen.candidates} == {"3": False, "4": True}
