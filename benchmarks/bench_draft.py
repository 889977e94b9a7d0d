"""How fast the editor's draft is refreshed and the preview re-rendered.

    .venv/bin/python benchmarks/bench_draft.py [--repeat 7]

Targets (issue 5): refreshing a draft with 5,000 candidates under 1 s; a preview
re-render under 300 ms. Each figure is the best and the median of --repeat runs (the
machine is shared, so the best is the cleaner number). Everything runs in a temporary
project; nothing touches the network.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from digest.config import Config, load_config
from digest.editorial import draft, draftfile
from digest.models import Candidate, FeedHealth, Outlet
from digest.publish import preview

NOW = datetime(2026, 11, 14, 12, 0, tzinfo=UTC)
ISSUE = date(2026, 11, 15)
FEEDS = """\
feeds:
  - name: Kyodo News
    url: https://english.kyodonews.net/rss/all.xml
"""
SUMMARY = (
    "Defense ministers of Japan and the United States agreed on steps to deepen "
    "cooperation on missile defense, shipbuilding and command arrangements in Tokyo."
)


def candidates(count: int, *, start: int = 0, bump: float = 0.0) -> list[Candidate]:
    return [
        Candidate(
            id=f"b{n:06x}",
            title=f"Japan, US agree on alliance step number {n}: what it means for the region",
            url=f"https://news.example.com/2026/11/{n}/alliance-step?id={n}",
            source=("Kyodo News", "NHK World", "Nikkei Asia", "日本経済新聞")[n % 4],
            published=NOW - timedelta(minutes=7 * n),
            score=round((n * 7919) % 1000 / 37 + bump, 2),
            why=(
                "alliance phrase in title: alliance (+3.0)",
                f"japan term in summary: Tokyo (+{n % 3}.0)",
            ),
            section=("Security", "Economy", "Diplomacy")[n % 3],
            summary=SUMMARY,
            lang="ja" if n % 4 == 3 else "en",
            also=(Outlet("Japan Times", f"https://jt.example.com/{n}"),) if n % 2 else (),
        )
        for n in range(start, start + count)
    ]


HEALTH = [
    FeedHealth(f"Feed {i}", f"https://f{i}.example/rss", NOW, None, i % 5 == 0, 10, i % 9)
    for i in range(40)
]

SENTENCE = "Officials in Tokyo and Washington described step {i} as a test of the alliance."
STORIES = "stories:\n" + "".join(
    f"""\
  - headline: Japan and the United States agree on shipbuilding step {i}
    body: >
      {" ".join([SENTENCE.format(i=i)] * 5)}
    sources: [b{i:06x}]
    section: Security
"""
    for i in range(12)
)


def timed(repeat: int, setup: Callable[[], object], run: Callable[[object], object]) -> list[float]:
    times = []
    for _ in range(repeat):
        state = setup()
        started = time.perf_counter()
        run(state)
        times.append((time.perf_counter() - started) * 1000)
    return times


def project(root: Path) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "feeds.yaml").write_text(FEEDS, encoding="utf-8")
    return load_config(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--slow", action="store_true", help="also time the whole-list ruamel.yaml path once (~10 s)"
    )
    args = parser.parse_args()
    rows: list[tuple[str, list[float], float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        first = candidates(5000)
        rerun = candidates(4900, bump=0.5) + candidates(100, start=5000)
        counter = iter(range(10_000))

        def fresh() -> Config:
            return project(base / f"p{next(counter)}")

        def existing(
            comment: bool = False, styled: bool = False, reindented: bool = False
        ) -> Callable[[], Config]:
            def setup() -> Config:
                config = fresh()
                window = draft.issue_window(config, ISSUE)
                draft.refresh_draft(config, window, first, health=HEALTH, now=NOW)
                path = draft.draft_path(config, ISSUE)
                text = path.read_text(encoding="utf-8").replace("stories: []\n", STORIES)
                if comment:  # comments stay on the fast path
                    text = text.replace("    status: new\n", "    status: new  # ask\n", 1)
                    text = text.replace("  - id: ", "  # the editor's note\n  - id: ", 50)
                if styled:  # block scalars: ruamel.yaml reads and writes those entries
                    text = text.replace(
                        f"    summary: {SUMMARY}\n", f"    summary: |\n      {SUMMARY}\n", 20
                    )
                if reindented:  # the whole list in another indentation: all ruamel.yaml
                    head, list_start, rest = text.partition("\ncandidates:\n")
                    rest = rest.replace("\n  - ", "\n- ").replace("\n    ", "\n  ")
                    text = head + list_start + rest.replace("  - id:", "- id:", 1)
                path.write_text(text, encoding="utf-8")
                draftfile.forget_parsed_entries()  # a run is a new process: a cold read
                return config

            return setup

        def refresh(config: object, items: list[Candidate]) -> None:
            assert isinstance(config, Config)
            window = draft.issue_window(config, ISSUE)
            draft.refresh_draft(config, window, items, health=HEALTH, now=NOW)

        rows.append(
            (
                "create draft, 5,000 candidates",
                timed(args.repeat, fresh, lambda c: refresh(c, first)),
                1000,
            )
        )
        rows.append(
            (
                "refresh draft, 5,000 known + 100 new",
                timed(args.repeat, existing(), lambda c: refresh(c, rerun)),
                1000,
            )
        )
        rows.append(
            (
                "set_status on a 5,000-candidate draft",
                timed(
                    args.repeat,
                    existing(),
                    lambda c: draft.set_status(c, ISSUE, {"b000010": "picked"}, now=NOW),
                ),
                1000,
            )
        )
        rows.append(
            (
                "refresh, 5,000 + 100 new, editor comments in the list",
                timed(args.repeat, existing(comment=True), lambda c: refresh(c, rerun)),
                1000,
            )
        )
        rows.append(
            (
                "refresh, 5,000 + 100 new, 20 entries in block style",
                timed(args.repeat, existing(styled=True), lambda c: refresh(c, rerun)),
                1000,
            )
        )
        if args.slow:
            rows.append(
                (
                    "refresh, 5,000, whole list re-indented (ruamel)",
                    timed(1, existing(reindented=True), lambda c: refresh(c, rerun)),
                    0,
                )
            )

        for count in (300, 5000):

            def small(count: int = count) -> preview.Preview:
                config = project(base / f"p{next(counter)}")
                window = draft.issue_window(config, ISSUE)
                draft.refresh_draft(config, window, first[:count], health=HEALTH, now=NOW)
                path = draft.draft_path(config, ISSUE)
                path.write_text(
                    path.read_text(encoding="utf-8").replace("stories: []\n", STORIES),
                    encoding="utf-8",
                )
                live = preview.Preview(config, ISSUE, clock=lambda: NOW)
                live.state()
                live.page()
                # The editor saves: one headline changes.
                path.write_text(
                    path.read_text(encoding="utf-8").replace(
                        "shipbuilding step 3", "shipyard step 3"
                    ),
                    encoding="utf-8",
                )
                return live

            def rerender(live: object) -> None:
                assert isinstance(live, preview.Preview)
                state = live.state()
                assert "shipyard step 3" in state.html and state.error is None, state.error
                live.page()

            def picked(count: int = count) -> preview.Preview:
                live = small(count)
                live.state()
                draft.set_status(live.config, ISSUE, {"b000000": "picked"}, now=NOW)
                return live

            def rerender_picked(live: object) -> None:
                assert isinstance(live, preview.Preview)
                state = live.state()
                assert state.error is None and state.candidates[0].status != "", state.error
                live.page()

            rows.append(
                (
                    f"preview re-render, story edited, {count:,} candidates",
                    timed(args.repeat, small, rerender),
                    300,
                )
            )
            rows.append(
                (
                    f"preview re-render, status changed, {count:,} candidates",
                    timed(args.repeat, picked, rerender_picked),
                    300,
                )
            )

    width = max(len(name) for name, _, _ in rows)
    print(f"{'benchmark':<{width}}  {'best ms':>8}  {'median ms':>9}  {'target':>8}")
    for name, times, target in rows:
        goal = f"< {target}" if target else "-"
        print(f"{name:<{width}}  {min(times):8.1f}  {statistics.median(times):9.1f}  {goal:>8}")


if __name__ == "__main__":
    main()
