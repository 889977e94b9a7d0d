"""Relevance on real news: the development set (benchmarks/data/devset/items*.jsonl).

    .venv/bin/python benchmarks/bench_filter.py [--project DIR] [--quiet] [--repeat N]

Prints, for the real labelled items (BORDERLINE excluded from precision and recall):

1. precision and recall by stratum at the candidate threshold, and the misses and false
   alarms listed by kind;
2. cluster purity: pairs of items the draft puts in one story, checked against the
   items' `event` slugs (and how many same-event pairs it joins);
3. visibility through the draft: each POSITIVE item in its issue window is a candidate,
   a copy in a candidate's `also`, or a near miss;
4. learning replay: windows in date order, an editor who picks the POSITIVE candidates,
   rejects the NEGATIVE ones and holds the BORDERLINE ones; recall of POSITIVE items in
   the top 20 and top 40 candidates per window, without and with learning;
5. speed: scoring 100,000 items, clustering 20,000 (best and median wall time, CPU time).

It also runs on an older checkout whose `select_candidates` returns a plain list and takes
no decisions (how the "before" figures were measured).
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.devset import Row, load_devset, windows  # noqa: E402

from digest.config import Rules, load_config  # noqa: E402
from digest.models import Candidate, Item  # noqa: E402
from digest.relevance import candidates as candidates_module  # noqa: E402
from digest.relevance.cluster import cluster_stories  # noqa: E402
from digest.relevance.score import compile_rules  # noqa: E402

CENSUS_PREFIX = "census"
TOP = (20, 40)


# -- 1. precision and recall -------------------------------------------------------------


def item_figures(rules: Rules, rows: Sequence[Row], show: bool) -> None:
    matcher = compile_rules(rules)
    decided = [(row, matcher.score(row.item).relevant) for row in rows]
    strata = sorted({r.stratum for r in rows})
    groups = [(s, [d for d in decided if d[0].stratum == s]) for s in strata]
    census = [d for d in decided if d[0].stratum.startswith(CENSUS_PREFIX)]
    # The hard slice: every item that names Japan or an alliance word, whatever its stratum
    # (the hard_negative stratum alone holds no positives, so its precision is undefined).
    hard = [d for d in decided if d[0].stratum == "hard_negative" or _mentions_japan(matcher, d[0])]
    groups += [("ALL CENSUS", census), ("HARD SLICE", hard), ("ALL", decided)]
    print(
        f"{'stratum':<16}{'items':>6}{'pos':>5}{'bord':>5}{'TP':>5}{'FP':>5}{'FN':>5}"
        f"{'precision':>11}{'recall':>8}"
    )
    for name, group in groups:
        tp = sum(1 for r, hit in group if hit and r.label == "POSITIVE")
        fp = sum(1 for r, hit in group if hit and r.label == "NEGATIVE")
        fn = sum(1 for r, hit in group if not hit and r.label == "POSITIVE")
        pos = sum(1 for r, _ in group if r.label == "POSITIVE")
        bord = sum(1 for r, _ in group if r.label == "BORDERLINE")
        precision = f"{tp / (tp + fp):.3f}" if tp + fp else "-"
        recall = f"{tp / (tp + fn):.3f}" if tp + fn else "-"
        print(
            f"{name:<16}{len(group):>6}{pos:>5}{bord:>5}{tp:>5}{fp:>5}{fn:>5}"
            f"{precision:>11}{recall:>8}"
        )
    borderline_hits = sum(1 for r, hit in decided if hit and r.label == "BORDERLINE")
    print(
        f"BORDERLINE items taken as candidates: {borderline_hits} of "
        f"{sum(1 for r, _ in decided if r.label == 'BORDERLINE')} (not counted above)"
    )
    if not show:
        return
    for title, wanted in (("MISSES", ("POSITIVE", False)), ("FALSE ALARMS", ("NEGATIVE", True))):
        by_kind: dict[str, list[Row]] = defaultdict(list)
        for r, hit in decided:
            if (r.label, hit) == wanted:
                by_kind[r.kind or "(no kind)"].append(r)
        print(f"\n{title} by kind ({sum(map(len, by_kind.values()))}):")
        for kind, missed in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
            print(f"  {kind} ({len(missed)})")
            for r in missed:
                print(f"    {r.item.id} [{r.stratum}] {r.item.title[:100]}")


def _mentions_japan(matcher: Any, row: Row) -> bool:
    for hit in matcher.find(row.item.title, row.item.summary):
        if "japan" in hit.categories or "phrase" in hit.categories:
            return True
    return False


# -- the draft's view: selection per window ----------------------------------------------


def select(items: Sequence[Item], rules: Rules, now: datetime, decisions: Sequence[Any]) -> Any:
    """The selection of a window, on the current API or the older list-returning one."""
    try:
        result = candidates_module.select_candidates(items, rules, now=now, decisions=decisions)
    except TypeError:
        result = candidates_module.select_candidates(items, rules, now=now)
    if isinstance(result, list):
        return _Plain(tuple(result))
    return result


class _Plain:
    def __init__(self, candidates: tuple[Candidate, ...]) -> None:
        self.candidates = candidates
        self.near_misses: tuple[Candidate, ...] = ()


def window_end(issue: date) -> datetime:
    return datetime.combine(issue, clock(), tzinfo=UTC)


def _links(cand: Candidate) -> set[str]:
    return {cand.url, *(o.url for o in cand.also)}


def visibility_and_learning(rules: Rules, rows: Sequence[Row], show: bool) -> None:
    by_window = windows(list(rows))
    decisions: list[Any] = []
    invisible: list[tuple[date, Row, str]] = []
    print(
        f"\n{'window':<12}{'items':>6}{'pos':>5}{'cands':>6}{'near':>5}{'visible':>9}"
        f"{'top20':>8}{'top40':>8}{'top20+L':>9}{'top40+L':>9}{'rank':>7}{'rank+L':>7}"
    )
    totals: Counter[str] = Counter()
    ranks: list[tuple[float, float]] = []
    for issue, window_rows in by_window.items():
        items = [r.item for r in window_rows]
        label_of = {r.item.url: r.label for r in window_rows}
        now = window_end(issue)
        plain = select(items, rules, now, ())
        learned = select(items, rules, now, tuple(decisions))
        positives = [r for r in window_rows if r.label == "POSITIVE"]
        cand_links = [set().union(_links(c)) for c in plain.candidates]
        near_links = (
            set().union(*(_links(c) for c in plain.near_misses)) if plain.near_misses else set()
        )
        visible = 0
        for r in positives:
            if any(r.item.url in links for links in cand_links) or r.item.url in near_links:
                visible += 1
            else:
                invisible.append((issue, r, _why_invisible(rules, r, plain)))
        top = {k: _in_top(plain.candidates, positives, k) for k in TOP}
        top_l = {k: _in_top(learned.candidates, positives, k) for k in TOP}
        rank, rank_l = _mean_rank(plain, positives), _mean_rank(learned, positives)
        ranks.append((rank, rank_l))
        n = len(positives)
        totals.update(
            pos=n,
            visible=visible,
            **{f"t{k}": top[k] for k in TOP},
            **{f"l{k}": top_l[k] for k in TOP},
        )
        print(
            f"{issue!s:<12}{len(items):>6}{n:>5}{len(plain.candidates):>6}"
            f"{len(plain.near_misses):>5}{_frac(visible, n):>9}"
            f"{_frac(top[20], n):>8}{_frac(top[40], n):>8}"
            f"{_frac(top_l[20], n):>9}{_frac(top_l[40], n):>9}{rank:>7.1f}{rank_l:>7.1f}"
        )
        decisions += _editor(issue, learned.candidates[:40], label_of)
    n = totals["pos"]
    print(
        f"{'ALL':<12}{'':>6}{n:>5}{'':>6}{'':>5}{_frac(totals['visible'], n):>9}"
        f"{_frac(totals['t20'], n):>8}{_frac(totals['t40'], n):>8}"
        f"{_frac(totals['l20'], n):>9}{_frac(totals['l40'], n):>9}"
    )
    later = ranks[len(ranks) // 2 :]  # learning has had earlier windows to learn from
    if later:
        print(
            f"mean rank of POSITIVE items in the later half of the windows: "
            f"{statistics.mean(r for r, _ in later):.2f} without learning, "
            f"{statistics.mean(r for _, r in later):.2f} with"
        )
    if show and invisible:
        print("\nPOSITIVE items not visible in their window's draft:")
        for issue, r, why in invisible:
            print(f"  {issue} {r.item.id} [{r.kind}] {r.item.title[:90]}  ({why})")


def _why_invisible(rules: Rules, row: Row, selection: Any) -> str:
    if compile_rules(rules).score(row.item).relevant:
        return "relevant, but lost in a cluster (a copy not listed in also)"
    return "below the threshold and not among the near misses"


def _in_top(cands: Sequence[Candidate], positives: Sequence[Row], k: int) -> int:
    links = set().union(*(_links(c) for c in cands[:k])) if cands else set()
    return sum(1 for r in positives if r.item.url in links)


def _mean_rank(selection: Any, positives: Sequence[Row]) -> float:
    """Mean position of the POSITIVE items in what the editor reads: candidates, then
    near misses (an item in neither counts as one past the end)."""
    shown = [*selection.candidates, *selection.near_misses]
    ranks = []
    for r in positives:
        at = next((i for i, c in enumerate(shown, 1) if r.item.url in _links(c)), len(shown) + 1)
        ranks.append(at)
    return statistics.mean(ranks) if ranks else 0.0


def _frac(part: int, whole: int) -> str:
    return f"{part}/{whole}" if whole else "-"


def _editor(issue: date, cands: Sequence[Candidate], label_of: dict[str, str]) -> list[Any]:
    """What the stand-in editor decides: picked POSITIVE, rejected NEGATIVE, held BORDERLINE."""
    try:
        from digest.models import EditorDecision
    except ImportError:
        return []
    status = {"POSITIVE": "picked", "NEGATIVE": "rejected", "BORDERLINE": "held"}
    out = []
    for c in cands:
        labels = [label_of[u] for u in _links(c) if u in label_of]
        label = "POSITIVE" if "POSITIVE" in labels else (labels[0] if labels else "NEGATIVE")
        out.append(EditorDecision(issue, c.title, c.summary, c.source, status[label]))  # type: ignore[arg-type]
    return out


# -- 2. cluster purity -------------------------------------------------------------------


def cluster_purity(rules: Rules, rows: Sequence[Row], show: bool) -> None:
    """Pairs the draft puts in one story, per window, against the items' event slugs."""
    right = wrong = unknown = 0
    wrong_pairs = []
    truth = joined = 0
    matcher = compile_rules(rules)
    for issue, window_rows in windows(list(rows)).items():
        now = window_end(issue)
        event = {r.item.url: r.event for r in window_rows}
        selection = select([r.item for r in window_rows], rules, now, ())
        together: set[frozenset[str]] = set()
        for cand in (*selection.candidates, *selection.near_misses):
            links = sorted(_links(cand) & event.keys())
            for a, b in itertools.combinations(links, 2):
                together.add(frozenset((a, b)))
                if event[a] and event[a] == event[b]:
                    right += 1
                elif event[a] or event[b]:
                    wrong += 1
                    wrong_pairs.append((issue, a, b))
                else:
                    unknown += 1
        relevant = {r.item.url for r in window_rows if matcher.score(r.item).relevant}
        slugged = [r for r in window_rows if r.event and r.item.url in relevant]
        for a, b in itertools.combinations(slugged, 2):
            if a.event == b.event:
                truth += 1
                joined += frozenset((a.item.url, b.item.url)) in together
    judged = right + wrong
    print(
        f"\ncluster purity: {right} of {judged} judged pairs share an event ({right / judged:.3f})"
        if judged
        else "\ncluster purity: no judged pairs"
    )
    print(f"  pairs with neither item slugged (not judged): {unknown}")
    print(f"  same-event pairs of relevant items joined: {joined} of {truth}")
    if show:
        for issue, a, b in wrong_pairs:
            print(f"  OVER-MERGED {issue}: {a}  +  {b}")


# -- 5. speed ----------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), statistics.median(walls), min(cpus)


def scale(items: Sequence[Item], n: int, seed: int, now: datetime) -> list[Item]:
    rng = random.Random(seed)
    return [
        replace(
            items[i % len(items)],
            id=f"x{i}",
            feed=f"outlet-{rng.randrange(40)}",
            url=f"https://example.org/{i}",
            published=now - timedelta(hours=rng.uniform(0, 336)),
        )
        for i in range(n)
    ]


def speed(rules: Rules, rows: Sequence[Row], repeat: int) -> None:
    now = datetime(2024, 3, 15, tzinfo=UTC)
    pool = [r.item for r in rows]
    hundred_k = scale(pool, 100_000, 1, now)
    matcher = compile_rules(rules)
    positives = [r.item for r in rows if r.label != "NEGATIVE"]
    relevant_pool = positives + [r.item for r in rows if matcher.score(r.item).relevant]
    twenty_k = [matcher.evidence(i, now=now) for i in scale(relevant_pool, 20_000, 2, now)]

    def score_all() -> None:
        m = compile_rules(rules)
        for item in hundred_k:
            m.score(item, now=now)

    def decide_all() -> None:
        m = compile_rules(rules)
        for item in hundred_k:
            m.relevant_evidence(item, now=now)

    def select_all() -> None:
        select(hundred_k, rules, now, ())

    print(f"\n{'speed (wall best / median / CPU best, s)':<44}")
    for name, fn in (
        ("score 100,000 items with reasons", score_all),
        ("decide 100,000 items", decide_all),
        ("cluster 20,000 relevant items", lambda: cluster_stories(twenty_k, rules)),
        ("select (score+cluster+near misses) 100,000", select_all),
    ):
        best, median, cpu = timed(fn, repeat)
        print(f"  {name:<42}{best:>6.2f} / {median:.2f} / {cpu:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT)
    parser.add_argument("--quiet", action="store_true", help="figures only, no item lists")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    rules = load_config(args.project).rules
    rows = load_devset()
    labels = Counter(r.label for r in rows)
    print(f"development set: {len(rows)} items ({dict(labels)})\n")
    item_figures(rules, rows, not args.quiet)
    cluster_purity(rules, rows, not args.quiet)
    visibility_and_learning(rules, rows, not args.quiet)
    if not args.no_speed:
        speed(rules, rows, args.repeat)


if __name__ == "__main__":
    main()
