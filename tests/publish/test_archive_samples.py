"""Sample published issues for the archive tests and benchmarks/bench_archive.py (no tests here).

Issues are generated from a seeded random source, with English and Japanese stories, several
sources each and story counts like the real digest's (8-14 per issue over five sections).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from digest._util.fs import atomic_write
from digest.config import Config, SiteSettings
from digest.models import Issue, IssueStory, SourceLink
from digest.publish.site import archive


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SECTIONS = ("Security", "Economy and Trade", "Diplomacy", "Technology", "Politics")
OUTLETS = (
    ("Reuters", "https://www.reuters.com/world/asia-pacific/"),
    ("NHK World", "https://www3.nhk.or.jp/nhkworld/en/news/"),
    ("Nikkei Asia", "https://asia.nikkei.com/Politics/"),
    ("U.S. Department of Defense", "https://www.defense.gov/News/Releases/"),
    ("Ministry of Foreign Affairs of Japan", "https://www.mofa.go.jp/press/release/"),
    ("The Japan Times", "https://www.japantimes.co.jp/news/"),
    ("CSIS", "https://www.csis.org/analysis/"),
)
WORDS = _words(
    "alliance minister defense summit tariff semiconductor talks agreement treaty "
    "security cooperation exercise missile deterrence investment trade yen dollar "
    "shipbuilding coast guard Okinawa Pacific Philippines Korea Taiwan Strait energy "
    "export controls supply chain research university exchange parliament election "
    "cabinet budget procurement interoperability command headquarters drills"
)
JA_WORDS = _words(
    "日米同盟 防衛相 首脳会談 関税 半導体 協議 合意 安全保障 協力 共同訓練 抑止力 "
    "投資 貿易 造船 海上保安庁 沖縄 太平洋 サプライチェーン 国会 予算"
)


def sentence(rng: random.Random, ja: bool = False) -> str:
    if ja:
        return "".join(rng.choice(JA_WORDS) for _ in range(rng.randint(6, 12))) + "。"
    words = [rng.choice(WORDS) for _ in range(rng.randint(12, 24))]
    return " ".join(words).capitalize() + "."


def make_story(rng: random.Random, number: int, section: str | None) -> IssueStory:
    ja = rng.random() < 0.15
    headline = (
        sentence(rng, ja)[:40]
        if ja
        else " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 11))).capitalize()
    )
    paragraphs = [
        " ".join(sentence(rng, ja) for _ in range(rng.randint(2, 4)))
        for _ in range(rng.randint(1, 2))
    ]
    sources = tuple(
        SourceLink(name, f"{url}{rng.randrange(10**8)}")
        for name, url in rng.sample(OUTLETS, rng.randint(1, 3))
    )
    return IssueStory(
        headline=headline,
        body="\n\n".join(paragraphs),
        sources=sources,
        section=section,
        anchor=f"{headline[:30]}-{number}",
    )


def make_issue(
    day: date,
    *,
    volume: int,
    number: int,
    seed: int,
    stories: int | None = None,
    first: IssueStory | None = None,
) -> Issue:
    rng = random.Random(seed)
    count = stories if stories is not None else rng.randint(8, 14)
    made = [make_story(rng, n, SECTIONS[rng.randrange(len(SECTIONS))]) for n in range(count)]
    if first is not None:
        made[0] = first
    # The draft lists stories section by section, in the editor's order.
    made.sort(key=lambda s: SECTIONS.index(s.section) if s.section in SECTIONS else -1)
    return Issue(
        date=day,
        title=f"US-Japan Alliance Digest Vol {volume}.{number}",
        volume=volume,
        number=number,
        stories=tuple(made),
        preheader=made[0].headline if made else "",
        intro=sentence(rng),
    )


def issue_dates(count: int, start: date = date(2005, 1, 1)) -> list[date]:
    """The 1st and the 15th of each month, `count` of them from `start`."""
    out: list[date] = []
    year, month = start.year, start.month
    while len(out) < count:
        for day in (1, 15):
            if len(out) < count:
                out.append(date(year, month, day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def project(tmp: Path, base_url: str = "https://archive.example.org/digest/") -> Config:
    (tmp / "feeds.yaml").write_text("# test project\n", encoding="utf-8")
    config = Config(path=tmp / "feeds.yaml")
    return replace(config, site=SiteSettings(base_url=base_url))


def freeze_to_disk(
    config: Config, issue: Issue, *, now: datetime | None = None
) -> archive.Published:
    """Publish an issue the way `digest publish` records it, without rendering mail."""
    when = now or datetime.combine(issue.date, datetime.min.time(), UTC) + timedelta(hours=14)
    published = archive.freeze(issue, now=when, today=when.date())
    atomic_write(archive.published_path(config, issue.date), archive.published_to_json(published))
    return published


def generate(config: Config, count: int, *, seed: int = 7) -> list[Issue]:
    """`count` issues frozen into config's project, twice a month from 2005."""
    issues = []
    for index, day in enumerate(issue_dates(count)):
        issue = make_issue(day, volume=day.year - 2004, number=index % 24 + 1, seed=seed + index)
        freeze_to_disk(config, issue)
        issues.append(issue)
    return issues
