"""Story clustering: copies across outlets and languages, blocked by time, without chaining."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from digest.cli import main
from digest.config import Rules, Section
from digest.models import Item
from digest.relevance.cluster import cluster_stories
from digest.relevance.score import Evidence, compile_rules

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
RULES = Rules(
    alliance_phrases=("US-Japan | 日米", "Futenma | 普天間"),
    us_terms=("US | 米", "Pentagon"),
    japan_terms=("Japan | 日本", "Okinawa | 沖縄"),
    us_people=("Hegseth | ヘグセス", "Trump | トランプ"),
    japan_people=("Koizumi | 小泉", "Takaichi | 高市"),
    sections=(
        Section(
            "Defense & Security",
            ("missile | ミサイル", "Osprey | オスプレイ", "co-production | 共同生産"),
        ),
        Section(
            "Trade & Investment", ("tariff | 関税", "investment | 投資", "shipbuilding | 造船")
        ),
        Section("Diplomacy", ("summit | 首脳会談",)),
    ),
)


def evidence(title: str, *, id: str, hours_ago: float, summary: str = "") -> Evidence:
    lang = "ja" if not title.isascii() else "en"
    item = Item(
        id=id,
        feed=f"outlet-{id}",
        url=f"https://news.example/{id}",
        title=title,
        summary=summary,
        published=NOW - timedelta(hours=hours_ago),
        lang=lang,
    )
    return compile_rules(RULES).evidence(item, now=NOW)


def groups(*stories: Evidence) -> list[set[str]]:
    return sorted(({e.scored.item.id for e in g} for g in cluster_stories(stories, RULES)), key=min)


def test_english_and_japanese_copies_meet_through_shared_concepts() -> None:
    assert groups(
        evidence("Hegseth, Koizumi agree on missile co-production", id="a", hours_ago=3),
        evidence("小泉防衛相とヘグセス長官、ミサイル共同生産で一致", id="b", hours_ago=2),
        evidence("Takaichi, Trump talk tariffs and shipbuilding", id="c", hours_ago=2),
    ) == [{"a", "b"}, {"c"}]


def test_the_same_story_a_week_later_is_another_story() -> None:
    assert groups(
        evidence("Osprey lands at Futenma after warning light", id="a", hours_ago=2),
        evidence("Osprey lands at Futenma after warning light", id="b", hours_ago=2 + 24 * 7),
    ) == [{"a"}, {"b"}]


def test_one_weak_link_does_not_chain_two_stories() -> None:
    # b shares concepts with a and with c, but a and c have nothing in common.
    assert groups(
        evidence("Hegseth, Koizumi agree on missile co-production", id="a", hours_ago=6),
        evidence(
            "Hegseth, Koizumi, Takaichi, Trump meet on missiles and tariffs", id="b", hours_ago=5
        ),
        evidence("Takaichi, Trump agree on tariff cuts", id="c", hours_ago=4),
    ) == [{"a", "b"}, {"c"}]


def test_every_item_lands_in_exactly_one_group() -> None:
    stories = [
        evidence(f"US-Japan summit on tariffs, day {n}", id=str(n), hours_ago=n * 7)
        for n in range(40)
    ]
    found = [i for g in groups(*stories) for i in g]
    assert sorted(found) == sorted(str(n) for n in range(40))


def test_match_command_prints_score_section_and_reasons(tmp_path) -> None:
    (tmp_path / "feeds.yaml").write_text(
        "feeds:\n"
        "  - name: Kyodo News\n"
        "    url: https://english.kyodonews.net/rss/all.xml\n"
        "rules:\n"
        "  us_people: [Hegseth | ヘグセス]\n"
        "  japan_people: [Nakatani | 中谷]\n"
        "  sections:\n"
        "    - name: Defense & Security\n"
        "      terms: [missile | ミサイル, co-production]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main,
        ["match", "--project", str(tmp_path), "Hegseth and Nakatani discuss missile co-production"],
    )
    assert result.exit_code == 0, result.output
    assert "(candidate); section: Defense & Security" in result.output
    assert "US + Japan together in title: Hegseth, Nakatani" in result.output
    result = CliRunner().invoke(main, ["match", "--project", str(tmp_path), "Snow in Hokkaido"])
    assert "(not a candidate)" in result.output and "no points" in result.output
    # A near miss names the words each list saw, so the editor knows which list lacks one.
    result = CliRunner().invoke(
        main, ["match", "--project", str(tmp_path), "Hegseth inspects missile co-production"]
    )
    assert "(not a candidate)" in result.output
    assert "words the rules saw, by list:" in result.output
    assert "  US side: Hegseth\n" in result.output
    assert "  topic: missile, co-production\n" in result.output
    assert "Japan side" not in result.output
    result = CliRunner().invoke(main, ["match", "--project", str(tmp_path), "Snow"])
    assert "  none: no word of any list is in this text" in result.output
    result = CliRunner().invoke(main, ["match", "--project", str(tmp_path), "  "])
    assert result.exit_code == 2 and "nothing to match" in result.output
