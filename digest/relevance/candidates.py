"""Scored items -> a Selection: one candidate per story, best first, every copy in `also`,
then the near misses (the best items just below the threshold, with their reasons). Pure.

    items --Matcher.graded_evidence--> relevant | below the threshold | nothing
    relevant --cluster_stories--> stories --_candidate--> candidates (also = every copy)
    past decisions --EditorMemory--> "like N you picked/rejected" (ranking only)
    below the threshold, best first --cluster_stories--> near misses (rules.near_misses)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from digest.config import Rules
from digest.models import Candidate, EditorDecision, Item, Outlet, Reason, Selection
from digest.relevance.cluster import cluster_stories
from digest.relevance.learn import EditorMemory
from digest.relevance.score import Evidence, compile_rules

_NEAR_POOL = 3  # near misses are clustered from this many times their number of items


def select_candidates(
    items: Sequence[Item],
    rules: Rules,
    *,
    now: datetime,
    decisions: Sequence[EditorDecision] = (),
) -> Selection:
    """Relevant items as one candidate per story (copies in `also`), best first, and the
    near misses. `decisions` (the editor's past verdicts) only change the ranking."""
    matcher = compile_rules(rules)
    relevant: list[Evidence] = []
    below: list[Evidence] = []
    for item in items:
        evidence = matcher.graded_evidence(item, now=now)
        if evidence is None:
            continue
        (relevant if evidence.scored.relevant else below).append(evidence)
    memory = EditorMemory(decisions if rules.learn_from_editor else ())
    candidates = _ranked(cluster_stories(relevant, rules), rules, memory)
    near: list[Candidate] = []
    if rules.near_misses > 0 and below:
        below.sort(key=lambda e: (-_evidence_points(e), e.scored.item.id))
        pool = below[: rules.near_misses * _NEAR_POOL]
        near = _ranked(cluster_stories(pool, rules), rules, memory)[: rules.near_misses]
    return Selection(candidates=tuple(candidates), near_misses=tuple(near))


def _evidence_points(evidence: Evidence) -> float:
    return evidence.scored.score


def _ranked(clusters: list[list[Evidence]], rules: Rules, memory: EditorMemory) -> list[Candidate]:
    candidates = [_candidate(cluster, rules, memory) for cluster in clusters]
    candidates.sort(key=lambda c: (-c.score, c.published, c.id))
    return candidates


def candidate_id(item: Item) -> str:
    """Stable across runs: derived from the id of the cluster's earliest item."""
    return "c" + hashlib.blake2b(item.id.encode(), digest_size=5).hexdigest()


def _candidate(cluster: Sequence[Evidence], rules: Rules, memory: EditorMemory) -> Candidate:
    earliest = min(cluster, key=lambda e: (e.scored.item.published, e.scored.item.id))
    best = max(cluster, key=lambda e: (e.scored.score, -e.scored.item.published.timestamp()))
    item = best.scored.item
    copies = _copies(cluster, item)
    reasons = list(best.scored.reasons)
    w = rules.weights
    outlets = tuple(dict.fromkeys(o.name for o in copies if o.name != item.feed))
    if outlets:
        points = min(w.outlets_max, w.per_outlet * len(outlets))
        reasons.append(Reason("other outlets", "this story", outlets, points))
    if memory:
        reasons += memory.reasons(item.title, item.summary, w)
    return Candidate(
        id=candidate_id(earliest.scored.item),
        title=item.title,
        url=item.url,
        source=item.feed,
        published=item.published,
        score=round(sum(r.points for r in reasons), 2),
        why=tuple(str(r) for r in reasons),
        section=best.scored.section,
        summary=item.summary,
        lang=item.lang,
        also=copies,
        dated=item.dated,
    )


def _copies(cluster: Sequence[Evidence], best: Item) -> tuple[Outlet, ...]:
    """Every other copy of the story with its outlet and link, earliest first: copies from
    the best item's own outlet too, and outlets the store knows carry the same link."""
    seen = {(best.feed, best.url)}
    copies = []
    for name in best.outlets:
        if (name, best.url) not in seen and name != best.feed:
            seen.add((name, best.url))
            copies.append(Outlet(name, best.url))
    for e in sorted(cluster, key=lambda e: (e.scored.item.published, e.scored.item.id)):
        item = e.scored.item
        for name in (item.feed, *item.outlets):
            if (name, item.url) not in seen:
                seen.add((name, item.url))
                copies.append(Outlet(name, item.url))
    return tuple(copies)
