"""One story across outlets: group the copies of an event, in English or in Japanese.

Pure: scored items in, groups out. Two items are the same story when they were published
within `Rules.cluster_hours` of each other, share at least two concepts, and either

- they name the same things: the rule concepts they matched ("Hegseth | ヘグセス" is one
  concept; two topic words such as "defense" and "agree" alone are not enough) plus the
  numbers in their titles, weighted by rarity in the batch (Dice overlap; less is needed
  within 12 hours). This joins an English copy to a Japanese one, where string
  similarity means nothing; or
- their titles read alike (same language; rapidfuzz, score >= `Rules.cluster_similarity`).

An item joins a group only if it matches most of the group's latest members, so
one weak link does not chain two stories together.

Blocking keeps this from comparing everything with everything: an item is compared only
with earlier items inside the time window that share a concept not common in the batch
(postings per concept, trimmed to the window as time moves on), most shared first.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from rapidfuzz import fuzz

from digest._util.text import HAN, detect_lang
from digest.config import Rules
from digest.relevance.score import GENERIC, Evidence, normalize

# Keys carried by more items than this share of the batch say nothing about the story.
_COMMON_SHARE = 0.05
_MAX_COMPARISONS = 40
_MIN_SHARED_CONCEPTS = 2
_MIN_SHARED_TOPICS = 3  # when no name, place, phrase or number is shared
_CONCEPT_OVERLAP = 0.65
_MEMBERS_CHECKED = 8
_CLOSE = timedelta(hours=12)
_CLOSE_BONUS = 0.3
_MIN_BATCH = 50  # rarity weights of a small batch are computed as if it had this many items

_EN_WORD = re.compile(r"[a-z0-9][a-z0-9+'-]*")
_JA_WORD = re.compile(rf"[\u30a0-\u30ff]{{3,}}|[{HAN}]{{2,}}")  # katakana words, kanji compounds
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_STOP = frozenset(
    (
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "at",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "its",
        "it",
        "says",
        "said",
        "say",
        "after",
        "over",
        "into",
        "new",
        "amid",
        "about",
        "than",
        "that",
        "this",
        "their",
        "his",
        "her",
        "they",
        "we",
        "will",
        "would",
        "could",
        "may",
        "can",
        "not",
        "no",
        "up",
        "out",
        "more",
        "most",
        "two",
        "three",
        "first",
        "last",
        "ahead",
    )
)


class _Story:
    """What clustering needs of one item, computed once."""

    __slots__ = ("concepts", "index", "lang", "text", "time")

    def __init__(self, index: int, evidence: Evidence) -> None:
        item = evidence.scored.item
        title = normalize(item.title).lower()
        self.index = index
        self.time: datetime = item.published
        self.lang = detect_lang(title)
        numbers = {f"#{n}" for n in _NUMBER.findall(title)}
        self.concepts: frozenset[str] = evidence.concepts | numbers
        if self.lang == "en":
            self.text = " ".join(w for w in _EN_WORD.findall(title) if w not in _STOP)
        else:
            self.text = re.sub(r"[\s\W_]+", "", title)


class _Similarity:
    """Same story or not: concept overlap weighted by rarity in the batch, or alike titles."""

    def __init__(self, stories: Sequence[_Story], threshold: float) -> None:
        df = Counter(c for s in stories for c in s.concepts)
        n = max(len(stories), _MIN_BATCH)
        self.weight = {c: math.log(1 + n / k) for c, k in df.items()}
        self.total = {s.index: sum(self.weight[c] for c in s.concepts) for s in stories}
        self.threshold = threshold

    def concept_overlap(self, a: _Story, b: _Story) -> float:
        shared = a.concepts & b.concepts
        if len(shared) < _MIN_SHARED_CONCEPTS:
            return 0.0
        # Topic words ("defense", "agree") say what kind of story, not which one: two
        # stories sharing only topic words must share several of them.
        if len(shared) < _MIN_SHARED_TOPICS and all(c.startswith(GENERIC) for c in shared):
            return 0.0
        w = self.weight
        both = sum(w[c] for c in shared)
        # Dice: copies of a story add details of their own, so this is kinder than Jaccard.
        return 2 * both / (self.total[a.index] + self.total[b.index])

    def same_story(self, a: _Story, b: _Story) -> bool:
        # Copies of one event appear within hours; the closer in time, the less overlap needed.
        close = abs(a.time - b.time) <= _CLOSE
        needed = _CONCEPT_OVERLAP - (_CLOSE_BONUS if close else 0.0)
        if self.concept_overlap(a, b) >= needed:
            return True
        if a.lang != b.lang or not a.text or not b.text:
            return False
        scorer = fuzz.token_sort_ratio if a.lang == "en" else fuzz.ratio
        return scorer(a.text, b.text, score_cutoff=self.threshold) >= self.threshold


def cluster_stories(evidence: Sequence[Evidence], rules: Rules) -> list[list[Evidence]]:
    """Groups of copies of one story, each group in publication order."""
    stories = sorted(
        (_Story(i, e) for i, e in enumerate(evidence)), key=lambda s: (s.time, s.index)
    )
    window = timedelta(hours=rules.cluster_hours)
    similarity = _Similarity(stories, rules.cluster_similarity)
    common = _common_keys(stories)
    parent = list(range(len(evidence)))
    members = {s.index: [s] for s in stories}  # group root -> its stories

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    postings: dict[str, deque[_Story]] = defaultdict(deque)
    for story in stories:
        shared: Counter[_Story] = Counter()
        for key in story.concepts - common:
            posting = postings[key]
            while posting and story.time - posting[0].time > window:
                posting.popleft()
            shared.update(posting)
            posting.append(story)
        for other, _ in shared.most_common(_MAX_COMPARISONS):
            theirs, mine = root(other.index), root(story.index)
            if theirs == mine or not similarity.same_story(story, other):
                continue
            # No chaining through one weak link: the story must match most of the group's
            # latest members.
            recent = members[theirs][-_MEMBERS_CHECKED:]
            agree = sum(1 for m in recent if m is other or similarity.same_story(story, m))
            if 2 * agree <= len(recent):
                continue
            parent[mine] = theirs
            members[theirs].extend(members.pop(mine))
    groups: dict[int, list[Evidence]] = defaultdict(list)
    for story in stories:
        groups[root(story.index)].append(evidence[story.index])
    return list(groups.values())


def _common_keys(stories: Sequence[_Story]) -> set[str]:
    counts = Counter(key for s in stories for key in s.concepts)
    limit = max(20, int(len(stories) * _COMMON_SHARE))
    return {key for key, n in counts.items() if n > limit}
