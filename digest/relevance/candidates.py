"""Scored items -> candidates: one per story, the copies listed in `also`, best first. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from digest.config import Rules
from digest.models import Candidate, Item, Outlet, Reason
from digest.relevance.cluster import cluster_stories
from digest.relevance.score import Evidence, compile_rules


def select_candidates(items: Sequence[Item], rules: Rules, *, now: datetime) -> list[Candidate]:
    """Relevant items only, one candidate per story (copies in `also`), best first."""
    matcher = compile_rules(rules)
    relevant = [e for e in (matcher.relevant_evidence(i, now=now) for i in items) if e]
    clusters = cluster_stories(relevant, rules)
    candidates = [_candidate(cluster, rules) for cluster in clusters]
    candidates.sort(key=lambda c: (-c.score, c.published, c.id))
    return candidates


def candidate_id(item: Item) -> str:
    """Stable across runs: derived from the id of the cluster's earliest item."""
    return "c" + hashlib.blake2b(item.id.encode(), digest_size=5).hexdigest()


def _candidate(cluster: Sequence[Evidence], rules: Rules) -> Candidate:
    earliest = min(cluster, key=lambda e: (e.scored.item.published, e.scored.item.id))
    best = max(cluster, key=lambda e: (e.scored.score, -e.scored.item.published.timestamp()))
    item = best.scored.item
    outlets = _outlets(cluster, item)
    reasons = list(best.scored.reasons)
    w = rules.weights
    if outlets:
        points = min(w.outlets_max, w.per_outlet * len(outlets))
        reasons.append(
            Reason("other outlets", "this story", tuple(o.name for o in outlets), points)
        )
    score = round(sum(r.points for r in reasons), 2)
    best_scored = replace(best.scored, reasons=tuple(reasons), score=score)
    return Candidate(
        id=candidate_id(earliest.scored.item),
        title=item.title,
        url=item.url,
        source=item.feed,
        published=item.published,
        score=best_scored.score,
        why=tuple(str(r) for r in best_scored.reasons),
        section=best_scored.section,
        summary=item.summary,
        lang=item.lang,
        also=outlets,
        dated=item.dated,
    )


def _outlets(cluster: Sequence[Evidence], best: Item) -> tuple[Outlet, ...]:
    """Every other outlet carrying the story, once each, earliest first."""
    seen = {best.feed}
    outlets = []
    for name in best.outlets:
        if name not in seen:
            seen.add(name)
            outlets.append(Outlet(name, best.url))
    for e in sorted(cluster, key=lambda e: e.scored.item.published):
        item = e.scored.item
        for name in (item.feed, *item.outlets):
            if name not in seen:
                seen.add(name)
                outlets.append(Outlet(name, item.url))
    return tuple(outlets)
