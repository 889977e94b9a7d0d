"""Learning from the editor: past decisions nudge the ranking, never the threshold.

Pure: the editor's decisions of earlier drafts (picked, rejected, held; with title,
summary and source) come in, a ranking Reason per candidate goes out. A candidate is
"like" a past decision when their words overlap enough (overlap of the smaller set, so
a short headline can be like a long summary). Held decisions say nothing either way.

    decisions --EditorMemory--> word postings
    candidate --EditorMemory.reasons--> "like 4 stories you picked" (+), "like 6 you rejected" (-)
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from digest._util.text import HAN
from digest.config import Weights
from digest.models import EditorDecision, Reason

_EN_WORD = re.compile(r"[a-z][a-z0-9'-]{2,}")
_JA_RUN = re.compile(rf"[\u30a0-\u30ff{HAN}]{{2,}}")
# Words too common in alliance news to tell stories apart.
_STOP = frozenset(
    re.findall(
        r"\S+",
        """
    the and for with from that this will has have are was were its his her their they
    after over into amid about than says said say new more most two three first last
    japan japanese tokyo u.s us united states america american washington government
    minister prime president official officials people year years week monday tuesday
    wednesday thursday friday saturday sunday
    """,
    )
)
_LIKE_OVERLAP = 0.5
_MIN_WORDS = 3
_EXAMPLES = 2


def words_of(title: str, summary: str = "") -> frozenset[str]:
    """Content words of a story: English words and Japanese 2-character pieces."""
    text = f"{title} {summary}".lower()
    words = {w.strip("'-") for w in _EN_WORD.findall(text)} - _STOP
    for run in _JA_RUN.findall(text):
        words.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(w for w in words if w)


class EditorMemory:
    """The editor's picks and rejections, indexed by word."""

    def __init__(self, decisions: Sequence[EditorDecision]) -> None:
        self.decisions = [
            (d, words_of(d.title, d.summary)) for d in decisions if d.status != "held"
        ]
        self.postings: dict[str, list[int]] = defaultdict(list)
        for index, (_, words) in enumerate(self.decisions):
            for word in words:
                self.postings[word].append(index)

    def __bool__(self) -> bool:
        return bool(self.decisions)

    def like(self, title: str, summary: str) -> tuple[list[EditorDecision], list[EditorDecision]]:
        """Past picked and rejected stories like this one."""
        mine = words_of(title, summary)
        if len(mine) < _MIN_WORDS:
            return [], []
        shared: dict[int, int] = defaultdict(int)
        for word in mine:
            for index in self.postings.get(word, ()):
                shared[index] += 1
        picked: list[EditorDecision] = []
        rejected: list[EditorDecision] = []
        for index, n in shared.items():
            decision, theirs = self.decisions[index]
            if len(theirs) < _MIN_WORDS or n < _MIN_WORDS:
                continue
            if n / min(len(mine), len(theirs)) >= _LIKE_OVERLAP:
                (picked if decision.status == "picked" else rejected).append(decision)
        return picked, rejected

    def reasons(self, title: str, summary: str, weights: Weights) -> list[Reason]:
        """Ranking reasons: like N stories picked (+), like N rejected (-)."""
        picked, rejected = self.like(title, summary)
        out = []
        if picked:
            points = min(weights.editor_like_max, weights.editor_like * len(picked))
            stories = "story" if len(picked) == 1 else "stories"
            out.append(_reason(f"like {len(picked)} {stories} you picked", picked, points))
        if rejected:
            points = -min(weights.editor_like_max, weights.editor_like * len(rejected))
            out.append(_reason(f"like {len(rejected)} you rejected", rejected, points))
        return out


def _reason(rule: str, examples: Sequence[EditorDecision], points: float) -> Reason:
    latest = sorted(examples, key=lambda d: d.issue_date, reverse=True)[:_EXAMPLES]
    shown = tuple(f"{d.title[:60]} ({d.issue_date})" for d in latest)
    return Reason(rule, "past drafts", shown, round(points, 2))
