"""What the draft gets from relevance: every copy in `also`, near misses, and learning from
the editor's past decisions, in English and Japanese."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from support.repo import REPO

from digest.config import load_config
from digest.models import EditorDecision, Item
from digest.relevance.candidates import select_candidates

RULES = load_config(REPO).rules
NOW = datetime(2024, 3, 15, tzinfo=UTC)


def item(
    id: str, title: str, summary: str = "", *, feed: str = "Kyodo News", hours: float = 5
) -> Item:
    lang = "en" if title.isascii() else "ja"
    return Item(
        id=id,
        feed=feed,
        url=f"https://{feed.replace(' ', '').lower()}.example/{id}",
        title=title,
        summary=summary,
        published=NOW - timedelta(hours=hours),
        lang=lang,  # type: ignore[arg-type]
    )


def test_copies_from_the_same_outlet_are_listed_in_also_with_their_links() -> None:
    items = [
        item("a", "U.S., Japan forces to resume Osprey flights in Japan", hours=30),
        item("b", "U.S., Japanese forces resume Osprey flights in Japan", hours=20),
        item("c", "米軍と自衛隊、オスプレイの飛行再開", feed="NHK 政治", hours=25),
    ]
    [story] = select_candidates(items, RULES, now=NOW).candidates
    listed = {(story.source, story.url), *((o.name, o.url) for o in story.also)}
    assert listed == {(i.feed, i.url) for i in items}
    assert len(story.also) == 2
    # the same outlet's other copy is there, not only other outlets
    assert [name for name, _ in listed].count("Kyodo News") == 2


def test_near_misses_follow_the_candidates_with_their_reasons() -> None:
    items = [
        item("a", "U.S. and Japan agree on missile co-production"),
        # both sides named far apart, no topic: just below the threshold
        item("b", "Prices climb", "Japan reported data. Separately, U.S. markets were calm."),
        item("c", "米国の景気 日本でも注目"),
        item("d", "Weather: snow expected in the north"),
    ]
    selection = select_candidates(items, RULES, now=NOW)
    assert [c.title for c in selection.candidates] == [
        "U.S. and Japan agree on missile co-production"
    ]
    near = {c.title: c for c in selection.near_misses}
    assert set(near) == {"Prices climb", "米国の景気 日本でも注目"}
    assert all(c.why for c in near.values())
    assert all(c.score < RULES.min_score + 2 for c in near.values())
    assert [
        c.title
        for c in select_candidates(items, replace(RULES, near_misses=1), now=NOW).near_misses
    ] == [selection.near_misses[0].title]
    assert select_candidates(items, replace(RULES, near_misses=0), now=NOW).near_misses == ()


def test_a_near_miss_that_is_a_shape_look_alike_says_why_it_was_left_out() -> None:
    [near] = select_candidates(
        [item("v", "Biden arrives in Hiroshima for G7 summit")], RULES, now=NOW
    ).near_misses
    assert any(w.startswith("venue, not actor") for w in near.why)


def decision(title: str, status: str, summary: str = "") -> EditorDecision:
    return EditorDecision(date(2024, 3, 1), title, summary, "Kyodo News", status)  # type: ignore[arg-type]


PICKED = [
    decision("Japan, US agree to co-produce interceptor missiles for Aegis ships", "picked"),
    decision("US and Japan expand co-production of interceptor missiles", "picked"),
    decision("日米、迎撃ミサイルの共同生産拡大で合意", "picked"),
]
REJECTED = [
    decision("Japan and US stocks rise as yen weakens against dollar", "rejected"),
    decision("US stocks rise, Japan stocks follow as yen weakens", "rejected"),
]
ITEMS = [
    item("m", "Japan and US stocks rise as yen weakens further", hours=3),
    item("p", "US, Japan talk co-production of interceptor missiles", hours=4),
    item("j", "日米、迎撃ミサイルの共同生産で協議", feed="NHK 政治", hours=4),
]


def test_stories_like_past_picks_rise_and_like_past_rejections_fall() -> None:
    plain_selection = select_candidates(ITEMS, RULES, now=NOW)
    learned_selection = select_candidates(ITEMS, RULES, now=NOW, decisions=PICKED + REJECTED)
    plain = plain_selection.candidates + plain_selection.near_misses
    learned = learned_selection.candidates + learned_selection.near_misses
    score = {c.title: c.score for c in plain}
    assert len(score) == 2  # the English and Japanese copies are one story
    for c in learned:
        if "interceptor" in c.title or "迎撃" in c.title:
            assert c.score > score[c.title]
            assert any(w.startswith("like ") and "you picked" in w for w in c.why), c.why
        if "stocks" in c.title:
            assert c.score < score[c.title]
            assert any("you rejected" in w for w in c.why), c.why
    # Learning ranks; it never decides: the same stories are candidates either way.
    assert [c.id for c in plain_selection.candidates] == [
        c.id for c in learned_selection.candidates
    ]
    assert [c.id for c in plain_selection.near_misses] == [
        c.id for c in learned_selection.near_misses
    ]


def test_held_decisions_teach_nothing_and_learning_can_be_turned_off() -> None:
    held = [replace(d, status="held") for d in PICKED]
    plain = select_candidates(ITEMS, RULES, now=NOW).candidates
    assert select_candidates(ITEMS, RULES, now=NOW, decisions=held).candidates == plain
    off = replace(RULES, learn_from_editor=False)
    assert select_candidates(ITEMS, off, now=NOW, decisions=PICKED + REJECTED).candidates == plain
