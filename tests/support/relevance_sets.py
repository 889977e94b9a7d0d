"""The in-house labelled relevance sets (regression sets, written for this project) as items,
and the figures measured on them. Used by the tests and by benchmarks/bench_filter.py."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.repo import REPO, SHARED

from digest.config import Rules
from digest.models import Item
from digest.relevance.cluster import cluster_stories
from digest.relevance.score import compile_rules

DATA = REPO / "tests" / "data" / "relevance"
EVAL = DATA / "relevance_eval.tsv"
HOLDOUT = DATA / "relevance_holdout.tsv"
HOLDOUT2 = DATA / "relevance_holdout2.tsv"
# Written by a reviewer before reading the rules: realistic 2024-2026 headlines, with
# English/Japanese copies of 12 stories (cross-language clustering).
HOLDOUT3 = DATA / "relevance_holdout3.tsv"
# Hard cases found in that review; the rules were changed after them (a regression set).
REVIEW = DATA / "relevance_review_cases.tsv"
REAL_FEEDS = SHARED / "corpora" / "real-feeds"
NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Labelled:
    item: Item
    alliance: bool
    story: str | None


def load_eval(path: Path = EVAL, now: datetime = NOW) -> list[Labelled]:
    """The labelled set as items: copies of one story a few hours apart, the rest spread
    over two weeks (seeded, so every run sees the same times)."""
    rng = random.Random(4)
    story_time: dict[str, datetime] = {}
    rows = []
    lines = [
        ln
        for ln in path.read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    for n, line in enumerate(lines[1:], start=1):
        label, lang, story, title, *rest = line.split("\t")
        summary = rest[0] if rest else ""
        if story != "-":
            base = story_time.setdefault(story, now - timedelta(hours=rng.uniform(24, 300)))
            published = base + timedelta(hours=rng.uniform(0, 10))
        else:
            published = now - timedelta(hours=rng.uniform(1, 330))
        item = Item(
            id=f"eval-{n}",
            feed=f"outlet-{n % 17}",
            url=f"https://example.org/{n}",
            title=title,
            summary=summary,
            published=published,
            lang="ja" if lang == "ja" else "en",
            kind="press",
        )
        rows.append(Labelled(item, label == "1", None if story == "-" else story))
    return rows


def real_feed_items() -> list[Item]:
    """Items of the third-party feed documents (no alliance news among them)."""
    try:
        import feedparser
    except ImportError:
        return []
    items = []
    for path in sorted(REAL_FEEDS.glob("*.*")):
        if path.suffix not in (".xml", ".rdf"):
            continue
        parsed = feedparser.parse(path.read_bytes())
        for n, entry in enumerate(parsed.entries):
            summary = _strip_tags(entry.get("summary", ""))
            items.append(
                Item(
                    id=f"{path.stem}-{n}",
                    feed=path.stem,
                    url=entry.get("link", ""),
                    title=entry.get("title", ""),
                    summary=summary,
                    published=NOW,
                    lang="en",
                    kind="press",
                )
            )
    return items


def _strip_tags(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def quality(rules: Rules, rows: list[Labelled], show_errors: bool) -> dict[str, float]:
    matcher = compile_rules(rules)
    tp = fp = fn = 0
    by_lang: dict[str, list[int]] = {}
    for row in rows:
        relevant = matcher.score(row.item, now=NOW).relevant
        counts = by_lang.setdefault(row.item.lang, [0, 0, 0])
        if relevant and row.alliance:
            tp += 1
            counts[0] += 1
        elif relevant:
            fp += 1
            counts[1] += 1
            if show_errors:
                print(f"  FALSE POSITIVE  {row.item.title}")
        elif row.alliance:
            fn += 1
            counts[2] += 1
            if show_errors:
                print(f"  MISSED          {row.item.title}")
    figures = {
        "precision": tp / max(1, tp + fp),
        "recall": tp / max(1, tp + fn),
        "items": len(rows),
        "positives": tp + fn,
    }
    for lang, (t, f, n) in sorted(by_lang.items()):
        figures[f"precision_{lang}"] = t / max(1, t + f)
        figures[f"recall_{lang}"] = t / max(1, t + n)
    return figures


def cluster_quality(rules: Rules, rows: list[Labelled]) -> tuple[float, float]:
    """Pairwise precision and recall of the story groups among the alliance items."""
    matcher = compile_rules(rules)
    positives = [r for r in rows if r.alliance]
    evidence = [matcher.evidence(r.item, now=NOW) for r in positives]
    story_of = {r.item.id: r.story for r in positives}
    groups = cluster_stories(evidence, rules)
    predicted = set()
    for group in groups:
        ids = sorted(e.scored.item.id for e in group)
        predicted |= set(itertools.combinations(ids, 2))
    truth = set()
    for a, b in itertools.combinations(sorted(story_of), 2):
        if story_of[a] is not None and story_of[a] == story_of[b]:
            truth.add((a, b))
    right = len(predicted & truth)
    return right / max(1, len(predicted)), right / max(1, len(truth))
