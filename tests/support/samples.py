"""Issues built straight from the dataclasses, for the render tests, golden files and benchmark.

Loaded by path (tests/ is not a package): see `load_samples` in tests/test_render.py.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from digest.config import Config, Identity, SiteSettings
from digest.models import Issue, IssueStory, SourceLink

NOW = datetime(2026, 11, 15, 11, 0, tzinfo=UTC)
UNSUBSCRIBE = "https://spfusa.org/alliance-digest/unsubscribe?token={token}"


def sample_config(**identity: object) -> Config:
    fields = {"unsubscribe_url": UNSUBSCRIBE, **identity}
    return Config(
        digest=Identity(**fields),  # type: ignore[arg-type]
        site=SiteSettings(base_url="https://spfusa.org/alliance-digest/"),
    )


def _story(
    n: int, headline: str, body: str, section: str | None, sources: tuple[tuple[str, str], ...]
) -> IssueStory:
    return IssueStory(
        headline=headline,
        body=body,
        sources=tuple(SourceLink(name, url) for name, url in sources),
        section=section,
        anchor=f"story-{n}",
    )


STORIES = (
    (
        "Defense ministers agree to expand co-production of air-defense interceptors",
        "Meeting in Tokyo, the two defense chiefs agreed to widen joint production of "
        "surface-to-air interceptors and to set up a standing working group on supply-chain "
        "resilience. Officials said the arrangement would ease pressure on U.S. stockpiles "
        "while giving Japanese industry a larger share of maintenance and repair work for "
        "forward-deployed forces. Both sides described the step as a test case for the "
        "defense-industrial forum launched last year.",
        "Defense",
        (
            ("Kyodo News", "https://english.kyodonews.net/news/2026/11/interceptors.html"),
            (
                "Defense News",
                "https://www.defensenews.com/global/asia-pacific/2026/11/12/"
                "us-japan-interceptor-co-production/",
            ),
        ),
    ),
    (
        "Joint force headquarters in Tokyo reaches initial operating capability",
        "The upgraded U.S. Forces Japan command and Japan's Joint Operations Command held "
        "their first combined planning exercise, a milestone toward closer command-and-control "
        "coordination. Analysts noted that questions about authorities in a crisis remain "
        "open and will shape the next round of 2+2 talks.",
        "Defense",
        (("NHK World", "https://www3.nhk.or.jp/nhkworld/en/news/20261110_12/"),),
    ),
    (
        "日米、経済安全保障で重要鉱物の共同備蓄を検討",
        "日米両政府は、重要鉱物の供給網を強化するため、共同備蓄の枠組みを検討していると発表した。"
        "半導体や電池に不可欠な資源の調達先を多様化し、特定国への依存を減らす狙いがある。"
        "関係者によると、年内にも作業部会を立ち上げる方向で調整している。",
        "Economy & Technology",
        (
            ("日本経済新聞", "https://www.nikkei.com/article/DGXZQOUA000000000000/"),
            ("外務省", "https://www.mofa.go.jp/mofaj/press/release/pressit_000001_00001.html"),
        ),
    ),
    (
        "Tariff talks: Washington and Tokyo narrow gaps on auto parts",
        "Trade negotiators reported progress on rules of origin for auto parts, though "
        "agricultural market access remains a sticking point. A senior official said a "
        "framework could be announced before the end of the year if ministers sign off.",
        "Economy & Technology",
        (
            ("Nikkei Asia", "https://asia.nikkei.com/Economy/Trade/US-Japan-auto-parts-talks"),
            ("Reuters", "https://www.reuters.com/world/asia-pacific/us-japan-tariffs-2026-11-13/"),
            ("The Japan Times", "https://www.japantimes.co.jp/business/2026/11/13/tariffs/"),
        ),
    ),
    (
        "Prime minister to visit Washington for first summit of the new term",
        "The visit, planned for early December, is expected to focus on deterrence in the "
        "Taiwan Strait, extended deterrence consultations and cooperation with the Philippines "
        "and Australia. Opposition lawmakers in Tokyo called for a clearer account of the "
        "defense-spending path before the trip.",
        "Diplomacy",
        (("The Asahi Shimbun", "https://www.asahi.com/ajw/articles/15000000"),),
    ),
    (
        "Think tanks weigh the alliance's role in Southeast Asian maritime security",
        "A new report argues that coordinated coast-guard capacity building, rather than "
        "additional exercises, offers the best return for both allies in the South China Sea. "
        "It recommends pooling funding for patrol vessels and maritime domain awareness.",
        "Diplomacy",
        (("CSIS", "https://www.csis.org/analysis/alliance-southeast-asia-maritime"),),
    ),
)


def sample_issue() -> Issue:
    """A small, realistic issue: sections, Japanese text, a lead image, an intro."""
    return Issue(
        date=date(2026, 11, 15),
        title="US-Japan Alliance Digest Vol 4.22",
        volume=4,
        number=22,
        stories=tuple(_story(n, *s) for n, s in enumerate(STORIES, start=1)),
        preheader="Interceptor co-production, a joint headquarters milestone and "
        "critical-minerals stockpiles.",
        intro="Welcome to the US-Japan Alliance Digest, a bi-monthly roundup of news on the "
        "alliance from US and Japanese sources, curated by the US-Japan NEXT Alliance "
        "Initiative.",
        image="https://spfusa.org/wp-content/uploads/2026/11/alliance-digest-4-22.jpg",
        image_alt="U.S. and Japanese flags outside the Ministry of Defense in Tokyo",
        image_credit="U.S. Department of Defense",
        published_at=NOW,
    )


def issue_with_stories(count: int) -> Issue:
    """`count` realistic stories (the 40-story size bar and the benchmark)."""
    stories = []
    for n in range(1, count + 1):
        headline, body, section, sources = STORIES[(n - 1) % len(STORIES)]
        stories.append(_story(n, f"{headline} ({n})", body + " " + body[:300], section, sources))
    return dataclasses.replace(sample_issue(), stories=tuple(stories))


SCRIPT = "<script>alert('x')</script>"
HANDLER = '<img src=x onerror="alert(1)">'


def adversarial_issue() -> Issue:
    """Everything a hostile or broken feed might send."""
    long_title = "Alliance " * 1250  # 10,000 characters
    stories = (
        IssueStory(
            f"Summit {SCRIPT} ends\r\nBcc: victim@example.org",
            f"Body {HANDLER} text",
            (
                SourceLink("Evil", "javascript:alert(1)"),
                SourceLink("Data", "data:text/html;base64,PHNjcmlwdD4="),
                SourceLink('Quote" onclick="x', 'https://example.org/a"onmouseover="alert(1)'),
                SourceLink("Good", "https://example.org/good"),
            ),
            "Defense",
            'a<b>"c',
        ),
        IssueStory(long_title, "x" * 12000, (), None, ""),
        IssueStory(
            "{{ config }} {% for %} <mj-text>leak</mj-text>",
            "}} {{ 7*7 }}",
            (
                SourceLink("Vbscript", "vbscript:msgbox"),
                SourceLink("", "HTTPS://EXAMPLE.ORG/NoName"),
            ),
            None,
            "dup",
        ),
        IssueStory(
            "Emoji 🇺🇸🤝🇯🇵 and right-to-left: مرحبا بالعالم \u202egnp.exe",
            "שלום עולם with an override \u202e and a zero width joiner 👩\u200d💻",
            (),
            None,
            "dup",
        ),
        IssueStory(
            "日本語の見出し：<b>太字</b>と「引用」",
            "日本語の本文です。" * 60,
            (SourceLink("朝日新聞\n", " https://www.asahi.com/articles/ "),),
            "経済",
            "ja",
        ),
    )
    return Issue(
        date=date(2026, 12, 1),
        title="US-Japan Alliance Digest Vol 4.23",
        volume=4,
        number=23,
        stories=stories,
        preheader="Preheader\r\nX-Injected: yes <script>alert(1)</script>",
        intro=f"Intro {SCRIPT}\n\nSecond paragraph",
        image="javascript:alert(1)",
        image_alt=HANDLER,
        image_credit=SCRIPT,
        corrections=((SCRIPT, "fixed <b>bold</b>"),),
    )
