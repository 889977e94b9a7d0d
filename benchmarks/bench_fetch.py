"""Times `digest fetch` against its peers on generated feeds served from 127.0.0.x.

    .venv/bin/python benchmarks/bench_fetch.py            # every scenario (about 5 minutes)
    .venv/bin/python benchmarks/bench_fetch.py --quick    # 200 feeds only, no sequential loop
    .venv/bin/python benchmarks/bench_fetch.py --hostile  # 200 feeds + a gzip/brotli bomb: memory
    .venv/bin/pip install -e '.[bench]'                   # for the `reader` peer

Peers, each in its own process (the feed server runs in another one):
  digest      digest.ingest.fetch.fetch_into_store with the default fetch settings
  reference   a lean asyncio + process-pool loop: one httpx.AsyncClient, as many
              requests at a time as digest (fetch.concurrency),
              feedparser.parse with its defaults in a pool, nothing stored
  reader      the `reader` library: update_feeds(workers=16)
  sequential  for url in urls: feedparser.parse(url)

Figures: wall seconds of the fetch call, bytes the server sent, peak resident memory of the
peer's whole process tree, feeds that yielded items. Each timing is repeated (--repeat) and
the best and median are shown, because the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable


# -- peers, run as `bench_fetch.py --peer NAME --urls FILE --state DIR` ---------------------


def peer_digest(urls: list[str], state: Path) -> dict:
    from datetime import UTC, datetime

    from digest.config import Config
    from digest.ingest.fetch import fetch_into_store
    from digest.ingest.store import Store
    from digest.models import FeedSource

    feeds = tuple(FeedSource(name=f"feed {i}", url=u) for i, u in enumerate(urls))
    config = Config(feeds=feeds, fetch=_settings(), path=state / "feeds.yaml")
    with Store.open(state / "state" / "digest.sqlite") as store:
        started = time.perf_counter()
        # --force: every feed is asked again, as the benchmark compares; a real second run
        # minutes later would find most feeds not due and ask nothing at all.
        force = os.environ.get("BENCH_FORCE", "1") == "1"
        run = fetch_into_store(
            config, store, now=datetime.now(UTC), show_progress=False, force=force
        )
        elapsed = time.perf_counter() - started
        items = store.count_items()
    ok = run.count("fetched") + run.count("not_modified") + run.count("unchanged")
    return {
        "seconds": elapsed,
        "ok_feeds": ok,
        "items": items,
        "outcomes": {
            o: run.count(o)
            for o in ("fetched", "not_modified", "unchanged", "failed", "skipped", "gone")
        },
    }


def _settings() -> object:
    from digest.config import FetchSettings

    concurrency = int(os.environ.get("BENCH_CONCURRENCY") or FetchSettings().concurrency)
    return FetchSettings(concurrency=concurrency)


def _count_entries(body: bytes) -> int:
    import feedparser

    return len(feedparser.parse(body).entries)


def peer_reference(urls: list[str], state: Path) -> dict:
    import concurrent.futures

    import httpx

    async def run(pool: concurrent.futures.Executor) -> list[int]:
        loop = asyncio.get_running_loop()
        limit = asyncio.Semaphore(_settings().concurrency)
        timeout = httpx.Timeout(10.0, connect=10.0)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:

            async def one(url: str) -> int:
                try:
                    async with limit:
                        response = await client.get(url)
                    return await loop.run_in_executor(pool, _count_entries, response.content)
                except Exception:
                    return 0

            return await asyncio.gather(*(one(u) for u in urls))

    with concurrent.futures.ProcessPoolExecutor(os.cpu_count()) as pool:
        started = time.perf_counter()
        counts = asyncio.run(run(pool))
        elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "ok_feeds": sum(1 for c in counts if c), "items": sum(counts)}


def peer_reader(urls: list[str], state: Path) -> dict:
    from reader import make_reader

    reader = make_reader(str(state / "reader.sqlite"))
    for url in urls:
        reader.add_feed(url, exist_ok=True)
    started = time.perf_counter()
    reader.update_feeds(workers=16, scheduled=False)
    elapsed = time.perf_counter() - started
    counts = reader.get_entry_counts()
    ok = sum(1 for f in reader.get_feeds() if f.last_exception is None)
    return {"seconds": elapsed, "ok_feeds": ok, "items": counts.total}


def peer_sequential(urls: list[str], state: Path) -> dict:
    import feedparser

    started = time.perf_counter()
    ok = items = 0
    for url in urls:
        result = feedparser.parse(url)
        ok += bool(result.entries)
        items += len(result.entries)
    return {"seconds": time.perf_counter() - started, "ok_feeds": ok, "items": items}


PEERS = {
    "digest": peer_digest,
    "reference": peer_reference,
    "reader": peer_reader,
    "sequential": peer_sequential,
}


# -- the harness ------------------------------------------------------------------------------


class Server:
    """tests/support/feedserver.py in its own process, so it never competes for our GIL."""

    def __init__(self, feeds: int, items: int, failing: float = 0.0, hostile: str = "") -> None:
        self.proc = subprocess.Popen(
            [
                PYTHON,
                str(HERE.parent / "tests" / "support" / "feedserver.py"),
                "--feeds",
                str(feeds),
                "--items",
                str(items),
                "--failing",
                str(failing),
                "--hosts",
                str(min(250, max(1, feeds // 4))),
                "--hostile",
                hostile,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.urls: list[str] = json.loads(self.proc.stdout.readline())["urls"]

    def command(self, line: str) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):
            self.command("quit")
        self.proc.wait(10)


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


@dataclass
class Measure:
    seconds: float
    bytes_sent: int
    peak_rss: int
    ok_feeds: int
    items: int
    extra: dict


def run_peer(name: str, server: Server, state: Path, *, force: bool = True) -> Measure:
    urls_file = state / "urls.json"
    urls_file.write_text(json.dumps(server.urls))
    server.command("reset")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_FORCE": "1" if force else "0"}
    proc = subprocess.Popen(
        [
            PYTHON,
            str(Path(__file__).resolve()),
            "--peer",
            name,
            "--urls",
            str(urls_file),
            "--state",
            str(state),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"peer {name} failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    sent = server.command("stats")["bytes_sent"]
    return Measure(
        result["seconds"],
        sent,
        peak,
        result["ok_feeds"],
        result["items"],
        result.get("outcomes", {}),
    )


def timed(
    name: str,
    feeds: int,
    items: int,
    repeat: int,
    *,
    second_run: bool = False,
    failing: float = 0.0,
) -> tuple[list[Measure], list[Measure]]:
    """`repeat` fresh first runs (and, if asked, a second run over the same state each time)."""
    firsts, seconds = [], []
    for _ in range(repeat):
        server = Server(feeds, items, failing)
        try:
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
                firsts.append(run_peer(name, server, Path(tmp)))
                if second_run:
                    # With failing feeds, the second run shows the backoff: not forced.
                    seconds.append(run_peer(name, server, Path(tmp), force=not failing))
        finally:
            server.close()
    return firsts, seconds


def row(label: str, peer: str, runs: list[Measure], note: str = "") -> str:
    times = [m.seconds for m in runs]
    best, median = min(times), statistics.median(times)
    last = runs[-1]
    return (
        f"| {label:<26} | {peer:<10} | {best:7.2f} | {median:7.2f} | "
        f"{last.bytes_sent / 1e6:9.2f} | {max(m.peak_rss for m in runs) / 1e6:8.0f} | "
        f"{last.ok_feeds:5d} | {last.items:7d} | {note}"
    )


HEADER = (
    "| scenario                   | peer       | best s  | median s| MB served | peak MB  |"
    " feeds | items   | note\n|"
    + "-" * 28
    + "|"
    + "-" * 12
    + "|"
    + "-" * 9
    + "|"
    + "-" * 9
    + "|"
    + "-" * 11
    + "|"
    + "-" * 10
    + "|"
    + "-" * 7
    + "|"
    + "-" * 9
    + "|---"
)


HOSTILE = ("gzip_bomb", "brotli_bomb")


def hostile_rows() -> None:
    """Peak memory of the whole process tree with one hostile feed among 200 healthy ones."""
    for kind in HOSTILE:
        server = Server(200, 50, hostile=kind)
        try:
            with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
                measure = run_peer("digest", server, Path(tmp))
        finally:
            server.close()
        outcome = measure.extra
        print(
            row(
                f"200 x 50 + {kind}",
                "digest",
                [measure],
                f"failed {outcome.get('failed', 0)} (the bomb); peak tree memory "
                f"{measure.peak_rss / 1e6:.0f} MB, limit 300",
            ),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peer", choices=sorted(PEERS))
    parser.add_argument("--urls", type=Path)
    parser.add_argument("--state", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200 feeds only, no sequential")
    parser.add_argument("--peers", default="digest,reference,reader,sequential")
    parser.add_argument("--concurrency", type=int, help="override fetch.concurrency")
    parser.add_argument("--sizes", default="", help="e.g. 200x50,1000x30")
    parser.add_argument(
        "--hostile", action="store_true", help="only: 200 feeds plus one bomb, peak memory"
    )
    args = parser.parse_args()
    if args.peer:
        result = PEERS[args.peer](json.loads(args.urls.read_text()), args.state)
        print(json.dumps(result))
        return
    if args.concurrency:
        os.environ["BENCH_CONCURRENCY"] = str(args.concurrency)
    if args.hostile:
        print(HEADER)
        hostile_rows()
        return
    peers = [p for p in args.peers.split(",") if p]
    if "reader" in peers:
        try:
            import reader  # noqa: F401
        except ImportError:
            print("reader is not installed (pip install -e '.[bench]'); skipping it")
            peers.remove("reader")
    print(HEADER)
    scenarios = [(200, 50)] if args.quick else [(200, 50), (1000, 30)]
    if args.sizes:
        scenarios = [tuple(map(int, s.split("x"))) for s in args.sizes.split(",")]
    for feeds, items in scenarios:
        label = f"{feeds} x {items}"
        runs: dict[str, tuple[list[Measure], list[Measure]]] = {p: ([], []) for p in peers}
        # Rounds interleave the peers, so a busy moment on the shared machine hits them all.
        for round_ in range(args.repeat):
            for peer in peers:
                if peer == "sequential" and (round_ or args.quick or feeds > 200):
                    continue
                firsts, seconds = timed(
                    peer, feeds, items, 1, second_run=peer in ("digest", "reader")
                )
                runs[peer][0].extend(firsts)
                runs[peer][1].extend(seconds)
        best = {p: min(m.seconds for m in r[0]) for p, r in runs.items() if r[0]}
        for peer, (firsts, seconds) in runs.items():
            if not firsts:
                continue
            note = ""
            if peer == "digest" and "reference" in best:
                note = f"{best['digest'] / best['reference']:.2f}x reference"
            if peer in ("reader", "sequential") and "digest" in best:
                note = f"digest is {best[peer] / best['digest']:.2f}x faster"
            print(row(f"{label} first run", peer, firsts, note), flush=True)
            if seconds:
                share = seconds[-1].bytes_sent / max(1, firsts[-1].bytes_sent)
                outcome = seconds[-1].extra
                detail = f"{share:.1%} of first-run bytes" + (
                    f"; 304 {outcome.get('not_modified', 0)}, hash-skipped "
                    f"{outcome.get('unchanged', 0)}"
                    if outcome
                    else ""
                )
                print(row(f"{label} second run", peer, seconds, detail), flush=True)
    if "digest" in peers and not args.sizes:
        firsts, seconds = timed("digest", 200, 50, 1, second_run=True, failing=0.1)
        outcome = firsts[0].extra
        print(
            row(
                "200 x 50, 10% failing",
                "digest",
                firsts,
                f"failed {outcome.get('failed', 0)}; read timeout 10 s",
            ),
            flush=True,
        )
        print(
            row(
                "  ... second run",
                "digest",
                seconds,
                f"skipped {seconds[0].extra.get('skipped', 0)}",
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
