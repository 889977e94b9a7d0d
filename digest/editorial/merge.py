"""Which candidates a draft lists, in which order. Pure: no file, no clock.

kept       every candidate the editor decided on (picked, held, rejected), named in a
           story or carried over as held from the previous issue, refreshed with what
           relevance says of it now (matched by id, else by link)
undecided  the best `max_candidates` of the rest, best first; the others stay in the
           store, reachable through `digest candidates` and the preview's search
order      kept ones first (best first), then the undecided, rejected ones last
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from digest.config import Config
from digest.editorial.calendar import published_text
from digest.editorial.schema import DraftCandidate
from digest.models import Candidate, Outlet


@functools.lru_cache(maxsize=65536)
def link_key(url: str) -> str:
    """A URL reduced to what identifies the page: scheme, www., fragment, trailing / dropped."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    return f"{host}{path}?{parts.query}" if parts.query else f"{host}{path}"


def _clean(text: str) -> str:
    # Lone surrogates cannot be written as UTF-8; everything else is kept.
    return re.sub("[\ud800-\udfff]", "\ufffd", text or "").strip()


def from_candidate(cand: Candidate, config: Config) -> DraftCandidate:
    """A relevance candidate as the draft lists it."""
    return DraftCandidate(
        id=cand.id,
        title=_clean(cand.title),
        url=cand.url,
        source=_clean(cand.source),
        published=published_text(cand.published, config),
        dated=cand.dated,
        score=round(float(cand.score), 2),
        section=cand.section,
        why=tuple(_clean(w) for w in cand.why),
        also=tuple(Outlet(_clean(o.name), o.url) for o in cand.also),
        summary=_clean(cand.summary),
        lang=cand.lang,
    )


@dataclass(frozen=True)
class Merged:
    """The draft's lists and how they changed."""

    candidates: tuple[DraftCandidate, ...]
    near_misses: tuple[DraftCandidate, ...]
    added: int  # listed now, not listed before
    unlisted: int  # undecided candidates left out by max_candidates


def merge_candidates(
    previous: Sequence[DraftCandidate],
    incoming: Sequence[DraftCandidate],
    *,
    decided: Mapping[str, str],
    referenced: set[str] | frozenset[str] = frozenset(),
    carried: Sequence[DraftCandidate] = (),
    near_misses: Sequence[DraftCandidate] = (),
    max_candidates: int = 150,
) -> Merged:
    """The new lists. `decided` maps candidate ids to the editor's decisions."""
    by_id = {c.id: c for c in incoming}
    by_link = {link_key(c.url): c for c in incoming if c.url}
    referenced_links = {link_key(r) for r in referenced if "://" in r}

    def must_keep(cand: DraftCandidate) -> bool:
        return (
            decided.get(cand.id, "new") != "new"
            or cand.id in referenced
            or bool(cand.url and link_key(cand.url) in referenced_links)
            or cand.held_from is not None
        )

    def refreshed(cand: DraftCandidate) -> DraftCandidate:
        match = by_id.get(cand.id) or (by_link.get(link_key(cand.url)) if cand.url else None)
        if match is None:
            return cand
        return replace(match, id=cand.id, held_from=cand.held_from, line=None, key_lines={})

    kept: dict[str, DraftCandidate] = {}
    links: set[str] = set()

    def keep(cand: DraftCandidate) -> None:
        if cand.id in kept or (cand.url and link_key(cand.url) in links):
            return
        kept[cand.id] = cand
        if cand.url:
            links.add(link_key(cand.url))

    for cand in [*previous, *carried, *incoming]:
        if must_keep(cand):
            keep(refreshed(cand))
    undecided = [
        c
        for c in sorted(incoming, key=lambda c: (-c.score, c.id))
        if c.id not in kept and not (c.url and link_key(c.url) in links)
    ]
    listed_undecided = undecided[:max_candidates]

    def rank(cand: DraftCandidate) -> tuple[bool, float, str]:
        return (decided.get(cand.id) == "rejected", -cand.score, cand.id)

    ordered = sorted(kept.values(), key=rank)
    candidates = (
        [c for c in ordered if decided.get(c.id) != "rejected"]
        + listed_undecided
        + [c for c in ordered if decided.get(c.id) == "rejected"]
    )
    before = {c.id for c in previous}
    listed = {c.id for c in candidates}
    return Merged(
        candidates=tuple(candidates),
        near_misses=tuple(c for c in near_misses if c.id not in listed),
        added=sum(1 for c in candidates if c.id not in before),
        unlisted=len(undecided) - len(listed_undecided),
    )


def status_counts(
    candidates: Sequence[DraftCandidate], status: Mapping[str, str]
) -> dict[str, int]:
    """How many candidates have each status (`status`: id -> status of every candidate)."""
    counts = {"new": 0, "picked": 0, "held": 0, "rejected": 0}
    for cand in candidates:
        key = status.get(cand.id, "new")
        counts[key] = counts.get(key, 0) + 1
    return counts
