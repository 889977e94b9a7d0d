"""The editorial scope's shapes and venues: which words together make an item alliance news
without a US-Japan pair, and when a place is only where something happened. Pure.

A shape is a named reason (shown to the editor with its scope number) that needs words of
some lists (knowledge/shapes.yaml, and the companies of knowledge/entities.yaml) in the
title and lead, and sometimes a Japan-side actor. The first shape that fits is the reason:

    Japan-South Korea summit or thaw (6)     Japan actor + South Korea + meeting words
    trilateral with South Korea (5)          Japan actor + South Korea + trilateral words
    Japan and a US treaty ally (7)           Japan actor + Australia/Philippines/UK + security
    third country reacts (8)                 China/Russia/North Korea + reaction + joint act
    Japanese deal for a US company (4)       companies of both sides + a deal
    big Japanese acquisition (4)             Japan actor + a deal in billions + a US place
    case of a US service member (3)          a member of US forces + a case + a Japanese place
    accident of a US aircraft in Japan (3)   an aircraft type based in Japan + an accident,
                                             no other country named as the place

Venue is not actor: a place written as where ("in Hiroshima", "arrives in Tokyo",
"Hiroshima summit", 広島で) is not a side when the item is about a multilateral meeting or
US-domestic politics (score.py decides when; `is_venue` says how a place is written).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# The lists of knowledge/shapes.yaml, and the company lists of knowledge/entities.yaml.
KOREA, ALLY, RIVAL, DIPLOMACY = "korea", "ally", "rival", "diplomacy"
SECURITY, JOINT, REACTION, DEAL = "security", "joint", "reaction", "deal"
ACCIDENT, BASED_AIRCRAFT, MULTILATERAL = "accident", "based_aircraft", "multilateral"
US_DOMESTIC, NOT_SHAPE, VENUE, CHINA = "us_domestic", "not_shape", "venue", "china"
US_COMPANY, JAPAN_COMPANY = "us_company", "japan_company"
BIG_MONEY, US_PLACE, SERVICE_MEMBER = "big_money", "us_place", "us_service_member"
CASE, JAPAN_PLACE = "case", "japan_place"
SHAPE_LISTS = frozenset(
    {KOREA, ALLY, RIVAL, DIPLOMACY, SECURITY, JOINT, REACTION, DEAL, ACCIDENT, BASED_AIRCRAFT}
    | {MULTILATERAL, US_DOMESTIC, NOT_SHAPE, VENUE, CHINA, BIG_MONEY, US_PLACE, SERVICE_MEMBER}
    | {CASE, JAPAN_PLACE}
)
SHAPE_UNITS = 2  # shapes are read from the title and the first two sentences of the summary

# Side words that are only nationalities: "U.S. book finds Japanese publisher" is a
# co-mention unless the title names an alliance topic. Capitals stand for governments.
NATIONALITY = frozenset(
    {"U.S.", "US", "USA", "America", "American", "Americans", "United States"}
    | {"Japan", "Japanese", "米国", "アメリカ", "米", "日本", "日本人"}
)

# A place name is only where something happened after these ("in Tokyo", "arrives in
# Hiroshima") or before these ("Hiroshima summit", 東京で).
_VENUE_BEFORE = re.compile(
    r"(?:\b(?:in|at|from|visits?|visiting|arrives? in|arrived in|hosted by|trip to|travels? to)"
    r"\s+(?:the\s+)?)$",
    re.IGNORECASE,
)
_VENUE_AFTER = re.compile(r"^(?:で|に到着|入り|-hosted|\s+(?:summit|G7|G-7|G20|meeting)\b)")

Words = Mapping[str, None]


def is_venue(text: str, start: int, word: str) -> bool:
    """Is the place at `start` of `text` written as where something happened?"""
    end = start + len(word)
    return bool(
        _VENUE_BEFORE.search(text, max(0, start - 20), start)
        or _VENUE_AFTER.match(text[end : end + 12])
    )


def shape_possible(categories: frozenset[str], *, japan: bool) -> bool:
    """Could a shape fit words of these lists (a cheap test before any tally)?"""
    if japan and (KOREA in categories or ALLY in categories):
        return True
    return (
        (BASED_AIRCRAFT in categories and ACCIDENT in categories)
        or (SERVICE_MEMBER in categories and CASE in categories)
        or (japan and DEAL in categories and BIG_MONEY in categories)
        or (JAPAN_COMPANY in categories and US_COMPANY in categories)
        or (RIVAL in categories and REACTION in categories and JOINT in categories)
    )


def find_shape(
    lead: Mapping[str, Words], japan: Words, us: Words, *, china_in_title: bool
) -> tuple[str, tuple[str, ...]] | None:
    """The first shape the title and lead fit, with the words that made it; None if none.

    `lead` maps a list name to the words of it found; `japan` and `us` are the side words
    that are actors (venues already settled)."""
    shapes: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
        ("Japan-South Korea summit or thaw (scope 6)", bool(japan), (KOREA, DIPLOMACY)),
        ("trilateral with South Korea (scope 5)", bool(japan), (KOREA, JOINT)),
        ("Japan and a US treaty ally on security (scope 7)", bool(japan), (ALLY, SECURITY)),
        (
            "third country reacts to a joint action (scope 8)",
            bool(japan or us or KOREA in lead),
            (RIVAL, REACTION, JOINT),
        ),
        ("Japanese deal for a US company (scope 4)", True, (JAPAN_COMPANY, US_COMPANY, DEAL)),
        (
            "big Japanese acquisition of an American company (scope 4)",
            bool(japan) and (bool(us) or US_PLACE in lead),
            (DEAL, BIG_MONEY),
        ),
        (
            "case of a US service member in Japan (scope 3)",
            bool(japan) or JAPAN_PLACE in lead,
            (SERVICE_MEMBER, CASE),
        ),
        (
            "accident of a US aircraft type based in Japan (scope 3)",
            not (ALLY in lead or RIVAL in lead or KOREA in lead),  # not a crash elsewhere
            (BASED_AIRCRAFT, ACCIDENT),
        ),
    )
    for name, actor, needed in shapes:
        if needed[0] == KOREA and china_in_title:
            continue  # Japan, China and South Korea: their own format, not the thaw
        if actor and all(c in lead for c in needed):
            words = dict(japan) if needed[0] in (KOREA, ALLY) else {}
            for c in needed:
                words.update(lead[c])
            return name, tuple(words)
    return None
