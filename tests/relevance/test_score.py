"""Alliance relevance: matching in both languages, scores with reasons, sections, candidates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from support.repo import REPO

from digest.config import Rules, Section, load_config
from digest.models import Item
from digest.relevance.candidates import select_candidates
from digest.relevance.score import compile_rules, explain, normalize, score_item

ROOT = REPO
NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)

# Small rules written here so the matching tests do not depend on the editors' feeds.yaml.
RULES = Rules(
    knowledge=False,  # the shipped entity and shape lists are tested in test_shapes.py
    alliance_phrases=("US-Japan | U.S.-Japan | 日米", "Futenma | 普天間", "SOFA"),
    us_terms=("United States | U.S. | US | 米国 | アメリカ | 米", "Pentagon", "米政府"),
    japan_terms=("Japan | Japanese | 日本", "Tokyo", "政府"),
    us_people=("Hegseth | ヘグセス",),
    japan_people=("Nakatani | 中谷",),
    exclusions=("World Baseball Classic | 大谷",),
    false_friends=("米価 | 南米 | 備蓄米",),
    sections=(
        Section("Defense & Security", ("missile | ミサイル", "co-production | 共同生産", "base")),
        Section("Trade & Investment", ("tariff | 関税", "investment")),
        Section("Diplomacy", ("summit | 首脳会談", "talks")),
    ),
)


def item(
    title: str,
    summary: str = "",
    *,
    id: str = "i1",
    feed: str = "Kyodo News",
    hours_ago: float = 5,
    lang: str = "en",
    kind: str = "press",
) -> Item:
    return Item(
        id=id,
        feed=feed,
        url=f"https://news.example/{id}",
        title=title,
        summary=summary,
        published=NOW - timedelta(hours=hours_ago),
        lang=lang,
        kind=kind,
    )  # type: ignore[arg-type]


def words(title: str, summary: str = "", rules: Rules = RULES) -> dict[str, set[str]]:
    """Category -> words found, for asserting what matched."""
    found: dict[str, set[str]] = {}
    for hit in compile_rules(rules).find(title, summary):
        for category in hit.categories:
            found.setdefault(category, set()).add(hit.word)
    return found


# -- matching -----------------------------------------------------------------------------


def test_full_width_and_half_width_forms_are_normalised() -> None:
    assert normalize("ＵＳ－Ｊａｐａｎ") == "US-Japan"
    assert normalize("ｱﾒﾘｶ") == "アメリカ"
    assert words("ＵＳ－Ｊａｐａｎ ｓｕｍｍｉｔ") == {"phrase": {"US-Japan"}, "topic": {"summit"}}
    assert words("ｱﾒﾘｶと日本")["us"] == {"アメリカ"}


def test_a_letter_that_grows_when_lowercased_does_not_hide_words() -> None:
    assert words("İstanbul meeting: US-Japan talks")["phrase"] == {"US-Japan"}


def test_dashes_and_curly_quotes_are_folded() -> None:
    assert words("U.S.\u2013Japan talks")["phrase"] == {"U.S.-Japan"}
    assert words("Japan\u2019s view")["japan"] == {"Japan"}


def test_acronyms_are_case_sensitive_words_are_not() -> None:
    assert "us" not in words("Let us talk about Japan")
    assert words("US and Japan")["us"] == {"US"}
    assert words("JAPAN AND THE UNITED STATES")["japan"] == {"JAPAN"}
    assert "phrase" not in words("a new sofa for the office")
    assert words("SOFA review")["phrase"] == {"SOFA"}


def test_a_capitalised_word_is_a_proper_noun() -> None:
    rules = replace(
        RULES,
        alliance_phrases=(*RULES.alliance_phrases, "Quad"),
        us_terms=(*RULES.us_terms, "Marine"),
    )
    assert words("Quad leaders meet", rules=rules)["phrase"] == {"Quad"}
    assert words("QUAD LEADERS MEET", rules=rules)["phrase"] == {"QUAD"}
    assert "phrase" not in words("a quad-core chip", rules=rules)
    assert words("Marines land in Tokyo", rules=rules)["us"] == {"Marines"}
    assert "us" not in words("marine life off Tokyo", rules=rules)


def test_an_office_after_another_country_is_that_countrys() -> None:
    rules = replace(
        RULES,
        japan_terms=(*RULES.japan_terms, "外相", "首相", "尖閣"),
        other_countries=("中国 | 中 | ロシア | 露 | 韓",),
    )
    assert words("茂木外相、米国務長官と会談", rules=rules)["japan"] == {"外相"}  # bare: Japan's
    for foreign in ("露外相、米国を批判", "米韓外相会談", "中国の王毅外相、米国務長官と会談"):
        assert "japan" not in words(foreign, rules=rules), foreign
        assert not score_item(item(foreign, lang="ja"), rules, now=NOW).relevant
    # A one-letter short form counts only right before the office: 会談中 is not China.
    assert words("会談中の首相、米大統領と握手", rules=rules)["japan"] == {"首相"}
    # A place stays Japan's whoever is named before it.
    assert words("中国の尖閣侵入に米国が懸念", rules=rules)["japan"] == {"尖閣"}
    assert compile_rules(rules).words_found("露外相、米国を批判") == [
        ("US side", ("米国",)),
        ("another country's office", ("外相",)),
    ]


def test_english_words_need_word_boundaries_and_take_plurals() -> None:
    assert words("Japanese ships")["japan"] == {"Japanese"}
    assert "topic" not in words("databases in Tokyo")
    assert words("new bases in Tokyo")["topic"] == {"bases"}
    assert words("missiles and tariffs")["topic"] == {"missiles", "tariffs"}
    assert "us" not in words("USB cables from BUS makers")


def test_acronyms_take_a_plural_s() -> None:
    rules = replace(RULES, us_terms=(*RULES.us_terms, "F-35"))
    assert words("Japan buys more F-35s", rules=rules)["us"] == {"F-35s"}


def test_japanese_matches_as_substrings() -> None:
    found = words("中谷防衛相、ヘグセス国防長官と会談")
    assert found["us"] == {"ヘグセス"} and found["japan"] == {"中谷"}


def test_ambiguous_kome_means_us_only_outside_rice_words() -> None:
    assert words("米軍が訓練")["us"] == {"米"}
    assert "us" not in words("米価が高騰、備蓄米を放出")
    assert "us" not in words("南米の政府")
    # 米政府 is listed as a US word: its 政府 is not the Japanese government.
    assert words("米政府が発表") == {"us": {"米政府"}}


def test_contained_words_count_for_their_own_lists() -> None:
    rules = replace(RULES, sections=(Section("Defense & Security", ("米軍",)),))
    assert words("米軍が訓練", rules=rules) == {"topic": {"米軍"}, "us": {"米軍"}}


# -- scoring ------------------------------------------------------------------------------


def test_hard_case_without_country_names_is_relevant_with_reasons() -> None:
    scored = score_item(item("Hegseth and Nakatani discuss missile co-production"), RULES, now=NOW)
    assert scored.relevant
    why = [str(r) for r in scored.reasons]
    assert why[0] == "US + Japan together in title: Hegseth, Nakatani (+2.8)"
    assert any(w.startswith("topic in title+summary: missile, co-production") for w in why)
    assert scored.section == "Defense & Security"


def test_people_named_count_more_than_country_words() -> None:
    named = score_item(item("Hegseth says Japan must pay more"), RULES, now=NOW)
    plain = score_item(item("US says Japan must pay more"), RULES, now=NOW)
    assert "people named in title+summary: Hegseth (+0.5)" in map(str, named.reasons)
    assert named.score == plain.score + 0.5
    assert named.relevant and not plain.relevant


def test_both_sides_in_a_sports_story_are_excluded() -> None:
    scored = score_item(item("Japan beats US in World Baseball Classic"), RULES, now=NOW)
    assert not scored.relevant
    assert "exclusion in title: World Baseball Classic (-6.0)" in map(str, scored.reasons)


def test_co_occurrence_in_title_beats_sentence_beats_apart() -> None:
    def evidence(title: str, summary: str) -> float:
        scored = score_item(item(title, summary), RULES, now=NOW)
        return sum(r.points for r in scored.reasons if r.field not in ("feed", "published"))

    title = evidence("US and Japan talks on tariffs", "")
    sentence = evidence("Talks on tariffs", "The US and Japan met. Nothing else.")
    apart = evidence("Talks on tariffs", "The US delegation arrived. Japan said little.")
    assert title > sentence > apart > 0


def test_sides_far_apart_count_only_in_the_lead() -> None:
    lead = "The US team arrived. Japan hosted talks. Tariffs came up."
    deep = "The US team arrived. Rain fell. Roads closed. Schools shut. Japan hosted talks."
    rules = {r.rule for r in score_item(item("Talks", lead), RULES, now=NOW).reasons}
    assert "US and Japan apart" in rules
    rules = {r.rule for r in score_item(item("Talks", deep), RULES, now=NOW).reasons}
    assert "US and Japan apart" not in rules


def test_us_only_and_japan_only_news_are_not_candidates() -> None:
    assert not score_item(
        item("Pentagon announces drone program", "missile"), RULES, now=NOW
    ).relevant
    assert not score_item(
        item("Japan's cabinet approves budget", "tariff"), RULES, now=NOW
    ).relevant


def test_source_kind_and_freshness_rank_but_do_not_decide() -> None:
    text = "US-Japan summit"
    fresh_gov = score_item(item(text, kind="government", hours_ago=1), RULES, now=NOW)
    old_blog = score_item(item(text, kind="blog", hours_ago=300), RULES, now=NOW)
    assert fresh_gov.score > old_blog.score
    assert fresh_gov.relevant and old_blog.relevant
    assert not score_item(item("Japan", kind="government", hours_ago=0), RULES, now=NOW).relevant


def test_section_falls_back_to_the_default() -> None:
    assert score_item(item("US-Japan ties"), RULES, now=NOW).section == "Diplomacy"
    assert score_item(item("US-Japan tariff deal"), RULES, now=NOW).section == "Trade & Investment"


def test_explain_reads_the_first_sentence_as_the_title() -> None:
    scored = explain("Trade talks. The US and Japan met on tariffs.", RULES, now=NOW)
    assert scored.item.title == "Trade talks."
    assert [r.rule for r in scored.reasons][:1] == ["US + Japan in one sentence"]
    assert explain("日米首脳会談", RULES, now=NOW).item.lang == "ja"


def test_fast_path_agrees_with_full_scoring() -> None:
    rules = load_config(ROOT).rules
    matcher = compile_rules(rules)
    from support.relevance_sets import load_eval

    for row in load_eval():
        full = matcher.score(row.item, now=NOW).relevant
        assert (matcher.relevant_evidence(row.item, now=NOW) is not None) == full, row.item.title


# -- candidates ---------------------------------------------------------------------------


def copies() -> list[Item]:
    return [
        item(
            "Hegseth, Nakatani agree on missile co-production",
            "Talks in Tokyo.",
            id="a",
            feed="Kyodo News",
            hours_ago=10,
            kind="wire",
        ),
        item(
            "Hegseth and Nakatani agree to co-produce missiles",
            "The Pentagon said.",
            id="b",
            feed="The Japan Times",
            hours_ago=8,
        ),
        item(
            "中谷防衛相とヘグセス国防長官、ミサイル共同生産で合意",
            "両氏が会談した。",
            id="c",
            feed="NHK 政治",
            hours_ago=9,
            lang="ja",
        ),
        item(
            "US-Japan tariff talks resume",
            "Tariff negotiators met.",
            id="d",
            feed="Nikkei Asia",
            hours_ago=30,
        ),
        item("Japan beats US in World Baseball Classic", "", id="e", feed="Kyodo News"),
        item("Pentagon announces drone program", "", id="f", feed="Defense News"),
    ]


def test_copies_in_two_languages_become_one_candidate() -> None:
    candidates = select_candidates(copies(), RULES, now=NOW).candidates
    assert [len(c.also) for c in candidates] == [2, 0]
    top = candidates[0]
    assert top.source == "Kyodo News"  # the wire copy ranks best
    assert {o.name for o in top.also} == {"The Japan Times", "NHK 政治"}
    # Other outlets are listed earliest first.
    assert "other outlets in this story: NHK 政治, The Japan Times (+1.0)" in top.why
    assert candidates[1].title == "US-Japan tariff talks resume"


def test_candidate_ids_are_stable_across_runs_and_late_copies() -> None:
    first = select_candidates(copies()[:2], RULES, now=NOW).candidates
    later = select_candidates(
        list(reversed(copies())), RULES, now=NOW + timedelta(hours=6)
    ).candidates
    assert first[0].id == later[0].id
    assert len({c.id for c in later}) == len(later)


def test_same_headline_days_apart_is_two_stories() -> None:
    items = [
        item("US-Japan summit on tariffs", id="x", hours_ago=5),
        item("US-Japan summit on tariffs", id="y", hours_ago=5 + 24 * 6),
    ]
    assert len(select_candidates(items, RULES, now=NOW).candidates) == 2


def test_outlets_known_to_the_store_are_listed() -> None:
    shared = replace(copies()[3], outlets=("Nikkei Asia", "Reuters"))
    [candidate] = select_candidates([shared], RULES, now=NOW).candidates
    assert [o.name for o in candidate.also] == ["Reuters"]


@pytest.mark.parametrize(
    "name",
    [
        "relevance_eval.tsv",
        "relevance_holdout.tsv",
        "relevance_holdout2.tsv",
        "relevance_holdout3.tsv",
        "relevance_review_cases.tsv",
    ],
)
def test_project_rules_meet_the_quality_targets(name: str) -> None:
    from support.relevance_sets import load_eval, quality

    rows = load_eval(ROOT / "tests" / "data" / "relevance" / name)
    figures = quality(load_config(ROOT).rules, rows, show_errors=False)
    assert figures["recall"] >= 0.95
    assert figures["precision"] >= 0.85


def test_real_feeds_without_alliance_news_give_almost_no_candidates() -> None:
    from support.relevance_sets import REAL_FEEDS, real_feed_items

    if not REAL_FEEDS.is_dir():
        pytest.skip(f"{REAL_FEEDS} is not on this machine")
    items = real_feed_items()
    assert len(items) > 300
    candidates = select_candidates(items, load_config(ROOT).rules, now=NOW).candidates
    assert len(candidates) <= 3, [c.title for c in candidates]
