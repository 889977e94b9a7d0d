"""Benchmark of the archive site build: a full rebuild of N issues, then incremental rebuilds.

    .venv/bin/python benchmarks/bench_archive.py [--issues 500] [--repeat 5]

Issues come from tests/test_archive_samples.py (8-14 stories each, English and Japanese).
Cases, each repeated (best and median reported; the machine is shared, so trust the best):
  full        site folder deleted, every page rendered and written
  no change   rebuild of an unchanged archive (nothing is written)
  one change  a correction to one issue in the middle of the archive
  new issue   one more issue published at the end
Also printed: the largest page and the size of the search index (one file per year).
Target: full rebuild of 500 issues under 5 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent / "tests" / d) for d in ("", "publish")]

from test_archive_samples import freeze_to_disk, generate, make_issue, project  # noqa: E402

from digest.config import Config  # noqa: E402
from digest.publish.site import archive  # noqa: E402

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def timed(action: Callable[[], archive.SiteReport]) -> tuple[float, archive.SiteReport]:
    start = time.perf_counter()
    report = action()
    return time.perf_counter() - start, report


def run_case(
    repeat: int, prepare: Callable[[int], None], action: Callable[[], archive.SiteReport]
) -> tuple[list[float], archive.SiteReport]:
    times = []
    report = None
    for round_ in range(repeat):
        prepare(round_)
        seconds, report = timed(action)
        times.append(seconds)
    assert report is not None
    return times, report


def correct_one(config: Config, issues: list[date], round_: int) -> None:
    day = issues[len(issues) // 2]
    path = archive.published_path(config, day)
    previous = archive.read_published(path)
    story = previous.issue.stories[0]
    edited = replace(
        previous.issue,
        stories=(replace(story, body=story.body + f" ({round_})"), *previous.issue.stories[1:]),
    )
    fixed = archive.freeze(
        edited, now=NOW, today=NOW.date(), previous=previous, note=f"Correction {round_}."
    )
    path.write_text(archive.published_to_json(fixed), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        config = project(Path(tmp))
        generated = generate(config, args.issues)
        days = [i.issue.date for i in archive.load_published(config)]
        build = lambda: archive.build_site(config, now=NOW)  # noqa: E731
        rows = []

        def wipe(_: int) -> None:
            shutil.rmtree(config.site_dir, ignore_errors=True)

        times, report = run_case(args.repeat, wipe, build)
        rows.append(("full rebuild", times, report))
        times, report = run_case(args.repeat, lambda _: None, build)
        rows.append(("no change", times, report))
        times, report = run_case(args.repeat, lambda r: correct_one(config, days, r), build)
        rows.append(("one change (correction)", times, report))

        def add_issue(round_: int) -> None:
            day = days[-1] + timedelta(days=15 * (round_ + 1))
            freeze_to_disk(
                config, make_issue(day, volume=99, number=round_ + 1, seed=10_000 + round_)
            )

        times, report = run_case(args.repeat, add_issue, build)
        rows.append(("new issue published", times, report))

        files = [p for p in config.site_dir.rglob("*") if p.is_file()]
        pages = [p for p in files if p.suffix == ".html"]
        largest = max(pages, key=lambda p: p.stat().st_size)
        largest_text = (
            f"{largest.relative_to(config.site_dir)}: {largest.stat().st_size / 1024:.1f} KB"
        )
        stories = sum(len(i.stories) for i in generated)
        shards = sorted(config.site_dir.glob("search/*.js"))
        index_kb = [p.stat().st_size / 1024 for p in shards]
        newest_kb = index_kb[-1] if index_kb else 0.0

    print(f"archive build: {args.issues} issues, {stories} stories, best/median of {args.repeat}")
    print(f"{'case':<26}{'best s':>9}{'median s':>10}{'written':>9}{'unchanged':>11}")
    for name, times, report in rows:
        print(
            f"{name:<26}{min(times):>9.3f}{statistics.median(times):>10.3f}"
            f"{len(report.written):>9}{len(report.unchanged):>11}"
        )
    print(f"site: {len(files)} files, {len(pages)} HTML pages; largest page {largest_text}")
    print(
        f"search index: {len(index_kb)} year files, {sum(index_kb) / 1024:.2f} MB in all, "
        f"largest {max(index_kb, default=0):.0f} KB, newest year {newest_kb:.0f} KB"
    )


if __name__ == "__main__":
    main()
