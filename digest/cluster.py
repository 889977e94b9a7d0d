"""One story across outlets: group the copies of an event, in English or in Japanese.

Pure: scored items in, groups out. Two items are the same story when they were published
within `Rules.cluster_hours` of each other and either

- their titles read alike (same language; rapidfuzz, score >= `Rules.cluster_similarity`), or
- they name the same things: the rule concepts they matched ("Hegseth | ヘグセス" is one
  concept) plus the numbers in their titles overlap enough. This is what joins an English
  copy to a Japanese one, where string similarity means nothing.

Blocking keeps this from comparing everything with everything: an item is compared only
with earlier items inside the time window that share at least one key (a concept, a
number or a title word that is not common in the batch).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from rapidfuzz import fuzz

from digest.config import Rules
from digest.filter import Evidence, normalize

# Keys carried by more items than this share of the batch say nothing about the story.
_COMMON_SHARE = 0.05
_MAX_COMPARISONS = 300
_MIN_SHARED_CONCEPTS = 2
_CONCEPT_OVERLAP = 0.6

_EN_WORD = re.compile(r"[a-z0-9][a-z0-9+'-]*")
_JA_WORD = re.compile(r"[\u30a0-\u30ff]{3,}|[\u3400-\u9fff]{2,}")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_STOP = frozenset((
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "by", "at", "from",
    "as", "is", "are", "was", "were", "be", "been", "its", "it", "says", "said", "say", "after",
    "over", "into", "new", "amid", "about", "than", "that", "this", "their", "his", "her",
    "they", "we", "will", "would", "could", "may", "can", "not", "no", "up", "out", "more",
    "most", "two", "three", "first", "last", "ahead",
))


class _Story:
    """What clustering needs of one item, computed once."""

    __slots__ = ("concepts", "index", "keys", "lang", "text", "time")

    def __init__(self, index: int, evidence: Evidence) -> None:
        item = evidence.scored.item
        title = normalize(item.title).lower()
        self.index = index
        self.time: datetime = item.published
        self.lang = "ja" if _JA_WORD.search(title) else "en"
        numbers = {f"#{n}" for n in _NUMBER.findall(title)}
        self.concepts: frozenset[str] = evidence.concepts | numbers
        if self.lang == "en":
            words = [w for w in _EN_WORD.findall(title) if w not in _STOP and len(w) > 2]
            self.text = " ".join(words)
            title_keys = set(words)
        else:
            self.text = re.sub(r"[\s\W_]+", "", title)
            title_keys = set(_JA_WORD.findall(title))
        self.keys = self.concepts | title_keys


def same_story(a: _Story, b: _Story, threshold: float) -> bool:
    shared = len(a.concepts & b.concepts)
    if shared >= _MIN_SHARED_CONCEPTS:
        smaller = min(len(a.concepts), len(b.concepts))
        if shared / smaller >= _CONCEPT_OVERLAP and shared >= min(3, smaller):
            return True
    if a.lang != b.lang or not a.text or not b.text:
        return False
    if a.lang == "en":
        score = fuzz.token_sort_ratio(a.text, b.text, score_cutoff=threshold)
    else:
        score = fuzz.ratio(a.text, b.text, score_cutoff=threshold)
    return score >= threshold


def cluster_stories(evidence: Sequence[Evidence], rules: Rules) -> list[list[Evidence]]:
    """Groups of copies of one story, each group in publication order."""
    stories = sorted((_Story(i, e) for i, e in enumerate(evidence)),
                     key=lambda s: (s.time, s.index))
    window = timedelta(hours=rules.cluster_hours)
    common = _common_keys(stories)
    parent = list(range(len(evidence)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    postings: dict[str, deque[_Story]] = defaultdict(deque)
    for story in stories:
        shared: Counter[int] = Counter()
        others: dict[int, _Story] = {}
        for key in story.keys - common:
            posting = postings[key]
            while posting and story.time - posting[0].time > window:
                posting.popleft()
            for other in posting:
                shared[other.index] += 1
                others[other.index] = other
            posting.append(story)
        for index, _ in shared.most_common(_MAX_COMPARISONS):
            if root(index) == root(story.index):
                continue
            if same_story(story, others[index], rules.cluster_similarity):
                parent[root(index)] = root(story.index)
    groups: dict[int, list[Evidence]] = defaultdict(list)
    for story in stories:
        groups[root(story.index)].append(evidence[story.index])
    return list(groups.values())


def _common_keys(stories: Sequence[_Story]) -> set[str]:
    counts = Counter(key for s in stories for key in s.keys)
    limit = max(20, int(len(stories) * _COMMON_SHARE))
    return {key for key, n in counts.items() if n > limit}
