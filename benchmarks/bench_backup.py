"""Benchmark of `digest backup` and `digest restore` on a store of N items (a few years of feeds).

    .venv/bin/python benchmarks/bench_backup.py [--items 100000] [--issues 60]

Prints the store size, the time of a backup (alone, and while another process keeps
writing items into the store, as a fetch would), the time of a restore, and how long the
writer was held up at most while the backup read its snapshot.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from digest.backup import make_backup, restore_backup
from digest.ingest.store import Store
from digest.models import Item

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def items(start: int, count: int) -> list[Item]:
    return [
        Item(
            id=f"item-{n}",
            feed=f"feed{n % 60}",
            url=f"https://news.example.com/{n}.html",
            title=f"Story {n}: allies meet on security and trade",
            summary=" ".join(f"word{(n * 7 + i) % 97}" for i in range(60)),
            published=NOW - timedelta(minutes=n),
            lang="en",
        )
        for n in range(start, start + count)
    ]


def build(project: Path, count: int, issues: int) -> Path:
    (project / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    store = project / "state" / "digest.sqlite"
    with Store.open(store) as opened:
        for start in range(0, count, 5000):
            opened.upsert_items(items(start, min(5000, count - start)), NOW)
    for n in range(issues):
        folder = project / "issues" / f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}-{n}"
        folder.mkdir(parents=True)
        (folder / "draft.yaml").write_text("stories: []\n" * 200, encoding="utf-8")
    return store


def writer(store: str, stop: Any, worst: Any) -> None:
    """Another process upserting a feed's worth of items every 10 ms; `worst` its slowest."""
    n = 10_000_000
    with Store.open(Path(store)) as opened:
        while not stop.is_set():
            started = time.perf_counter()
            opened.upsert_items(items(n, 40), NOW)  # one feed's worth
            worst.value = max(worst.value, time.perf_counter() - started)
            n += 40
            time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--issues", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        store = build(project, args.items, args.issues)
        print(f"store: {args.items} items, {store.stat().st_size / 1e6:.1f} MB")

        started = time.perf_counter()
        alone = make_backup(project, Path(tmp) / "b1", now=NOW)
        print(f"backup alone:          {time.perf_counter() - started:.2f} s  ({alone})")

        stop = multiprocessing.Event()
        worst = multiprocessing.Value("d", 0.0)
        proc = multiprocessing.Process(target=writer, args=(str(store), stop, worst))
        proc.start()
        time.sleep(0.5)
        started = time.perf_counter()
        during = make_backup(project, Path(tmp) / "b2", now=NOW)
        took = time.perf_counter() - started
        stop.set()
        proc.join()
        print(f"backup during writes:  {took:.2f} s  ({during.items} items in the snapshot)")
        print(f"  slowest write meanwhile: {worst.value * 1000:.0f} ms")

        fresh = Path(tmp) / "fresh"
        fresh.mkdir()
        started = time.perf_counter()
        restore_backup(fresh, alone.path, confirmed=True, saves_dir=Path(tmp) / "s", now=NOW)
        print(f"restore into a new folder: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
