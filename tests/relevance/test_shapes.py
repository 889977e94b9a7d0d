"""The scope's shapes, venue-not-actor and the shipped knowledge, in English and Japanese.

The headlines are written for these tests (none is copied from a feed); each case names
the scope rule it stands for (shared/EDITORIAL_SCOPE.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from support.repo import REPO

from digest.config import load_config
from digest.models import Item, Scored
from digest.relevance.knowledge import load_knowledge
from digest.relevance.score import compile_rules

RULES = load_config(REPO).rules
NOW = datetime(2024, 3, 1, tzinfo=UTC)


def scored(title: str, summary: str = "", rules=RULES) -> Scored:  # type: ignore[no-untyped-def]
    lang = "en" if title.isascii() else "ja"
    item = Item("i", "Outlet", "https://news.example/i", title, summary, NOW, lang)  # type: ignore[arg-type]
    return compile_rules(rules).score(item)


def rules_named(s: Scored) -> list[str]:
    return [r.rule for r in s.reasons]


SHAPES = [
    # scope 6: the Japan-South Korea thaw, no US named
    ("Kishida to visit Seoul for talks with Yoon next month", "summit or thaw (scope 6)"),
    ("South Korean president to visit Japan for summit with prime minister Kishida", "thaw"),
    ("岸田首相、来月訪韓へ 尹大統領と首脳会談で調整", "summit or thaw (scope 6)"),
    # scope 5: trilateral with South Korea, US implied
    ("Japan, South Korea hold trilateral missile defense drill", "trilateral"),
    ("日韓防衛相、3カ国の共同訓練の定例化で一致", "trilateral"),
    # scope 7: Japan and a US treaty ally on security
    ("Philippines, Japan near deal on reciprocal access for troops", "treaty ally"),
    ("Japan and Australia to expand joint exercises in the north", "treaty ally"),
    ("日比、円滑化協定に署名 自衛隊の派遣容易に", "treaty ally"),
    # scope 8: a third country reacts to a joint action
    ("China protests trilateral drills of South Korea and allies", "reacts"),
    # scope 4: a Japanese deal for an American company, neither country named
    ("Nippon Steel sweetens bid for U.S. Steel", "US + Japan together"),
    ("Mitsubishi Heavy Industries agrees acquisition of Lockheed Martin unit", "US + Japan"),
    # scope 3: what follows an accident of a US aircraft based in Japan, Japan not named
    ("Navy grounds Osprey fleet after fatal crash, investigation under way", "aircraft"),
    ("オスプレイの飛行停止、墜落事故の調査続く", "aircraft"),
]


@pytest.mark.parametrize(("title", "reason"), SHAPES)
def test_each_shape_makes_a_candidate_with_a_named_reason(title: str, reason: str) -> None:
    s = scored(title)
    assert s.relevant, [str(r) for r in s.reasons]
    assert any(reason in rule for rule in rules_named(s)), rules_named(s)


NOT_SHAPES = [
    # out 6: the Japan-China-South Korea format and history rulings are not the thaw
    "Japan, China, South Korea foreign ministers to meet in Busan",
    "日中韓首脳会談、5月にソウルで開催へ",
    "South Korea court orders Japanese firm to pay wartime labor compensation, Tokyo protests",
    # out 6: the Japan-UK-Italy fighter is not an alliance pact
    "Japan, UK and Italy sign GCAP fighter security pact",
    # an Osprey accident elsewhere is not about US forces in Japan
    "Osprey crash in Australia kills three Marines",
    # out 3: sports, even Japan against South Korea
    "Japan beats South Korea in baseball final",
]


@pytest.mark.parametrize("title", NOT_SHAPES)
def test_look_alikes_of_the_shapes_are_not_candidates(title: str) -> None:
    s = scored(title)
    assert not s.relevant, [str(r) for r in s.reasons]


VENUES = [
    # out 8 and out 2: Japan is the venue of others' summit, or of US-domestic politics
    "Biden arrives in Hiroshima for G7 summit",
    "Biden, in Hiroshima for the G7, says debt ceiling deal is close",
    "G7 leaders in Hiroshima pledge more Ukraine aid, Biden says",
    "バイデン大統領が広島に到着、G7サミットへ",
    "バイデン大統領、広島でウクライナ支援を表明 G7サミット",
    # a US venue of a multilateral meeting
    "Kishida in U.S. for UN General Assembly speech on Ukraine",
]


@pytest.mark.parametrize("title", VENUES)
def test_a_venue_is_not_an_actor(title: str) -> None:
    s = scored(title)
    assert not s.relevant, [str(r) for r in s.reasons]
    assert "venue, not actor" in rules_named(s)


ACTORS = [
    # a Japanese actor at the same venue is in scope: a bilateral meeting
    "Kishida meets Biden in Hiroshima ahead of G7 summit",
    "岸田首相、広島でバイデン大統領と会談 G7サミット前に",
    # no multilateral meeting: a visit to the other country is the news (scope 1)
    "Japanese prime minister gives speech in Washington",
    "岸田首相、ワシントンで演説",
    # US forces in Japan: the place is where the alliance is (scope 3)
    "U.S. Marine arrested for drunk driving in Okinawa",
]


@pytest.mark.parametrize("title", ACTORS)
def test_an_actor_of_either_side_still_counts(title: str) -> None:
    assert scored(title).relevant


def test_a_photo_caption_summary_does_not_decide() -> None:
    caption = (
        "Japan's Prime Minister speaks to the press after the summit with the United States "
        "in Tokyo on June 12, 2018. (Jane Doe/Reuters)"
    )
    assert not scored("Suspect in former prime minister's killing charged", caption).relevant
    assert scored("Suspect charged", "Japan and the United States agreed to talk.").relevant


def test_knowledge_is_dated_and_names_both_sides_in_both_languages() -> None:
    known = load_knowledge()
    assert known.reviewed.year >= 2026
    us = " | ".join(known.us)
    japan = " | ".join(known.japan)
    for name in ("Antony Blinken", "ブリンケン国務長官", "Lloyd Austin", "Rahm Emanuel", "CFIUS"):
        assert name in us
    for name in (
        "Fumio Kishida",
        "岸田文雄",
        "Yoko Kamikawa",
        "上川陽子",
        "Nippon Steel",
        "Kadena",
    ):
        assert name in japan
    assert "U.S. Steel" in " | ".join(known.us_companies)


def test_knowledge_names_a_recent_minister_the_feeds_yaml_lists_do_not() -> None:
    title = "Kamikawa and Blinken discuss extended deterrence"
    assert scored(title).relevant
    without = replace(RULES, knowledge=False, us_people=(), japan_people=())
    assert not scored(title, rules=without).relevant
