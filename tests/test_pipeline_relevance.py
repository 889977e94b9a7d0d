"""digest draft end to end on a real store: past decisions reach relevance, near misses
reach the draft."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from support.repo import REPO

from digest import pipeline
from digest.config import load_config
from digest.editorial import draft
from digest.ingest.store import Store, store_path
from digest.models import Item

NOW = datetime(2026, 11, 14, 12, tzinfo=UTC)


def item(n: int, title: str, published: datetime) -> Item:
    return Item(
        id=f"i{n}",
        feed="Kyodo News",
        url=f"https://news.example/{n}",
        title=title,
        summary="",
        published=published,
        lang="en",
    )


def test_draft_learns_from_the_previous_drafts_picks_and_lists_near_misses(
    tmp_path: Path,
) -> None:
    # The project's own feeds.yaml: its rules, the shipped knowledge, learning switched on.
    (tmp_path / "feeds.yaml").write_text((REPO / "feeds.yaml").read_text(encoding="utf-8"))
    config = load_config(tmp_path)
    first_issue, second_issue = date(2026, 11, 1), date(2026, 11, 15)
    first_window = draft.issue_window(config, first_issue)
    second_window = draft.issue_window(config, second_issue)
    with Store.open(store_path(config)) as store:
        store.upsert_items(
            [
                item(1, "Japan, US agree to co-produce interceptor missiles", first_window.start),
                item(
                    2,
                    "US and Japan agree to expand co-production of interceptor missiles",
                    second_window.start,
                ),
                item(3, "Prices climb in Japan as U.S. markets stay calm", second_window.start),
            ],
            NOW,
        )
    pipeline.run_draft(config, first_issue, now=first_window.end)
    [picked] = [c.id for c in draft.read_draft(draft.draft_path(config, first_issue)).candidates]
    draft.set_status(config, first_issue, {picked: "picked"}, now=first_window.end)

    pipeline.run_draft(config, second_issue, now=NOW)
    current = draft.read_draft(draft.draft_path(config, second_issue))
    [candidate] = current.candidates
    assert candidate.title == "US and Japan agree to expand co-production of interceptor missiles"
    assert any(w.startswith("like 1 story you picked") for w in candidate.why), candidate.why
    assert [c.title for c in current.program.near_misses] == [
        "Prices climb in Japan as U.S. markets stay calm"
    ]
