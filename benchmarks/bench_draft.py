"""How fast the editor's draft is refreshed and the preview re-rendered.

    .venv/bin/python benchmarks/bench_draft.py [--repeat 7]

Targets (issue 15): refreshing a draft of 300 candidates with 50 new ones under 1 s (a
fortnight of 50-100 feeds gives 50-300 candidates; the old 5,000 target is withdrawn);
the preview's button round trip (POST /status over HTTP until the answer, the draft
rewritten and re-rendered) under 300 ms. Each figure is the best and the median of
--repeat runs (the machine is shared, so the best is the cleaner number). Everything runs
in a temporary project; nothing touches the network.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from digest.config import Config, load_config
from digest.editorial import draft
from digest.editorial.draftfile import forget_read_programs
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


def decisions(count: int) -> str:
    lines = "".join(f"  b{n:06x}: {('picked', 'rejected', 'held')[n % 3]}\n" for n in range(count))
    return f"decisions:\n{lines}"


def post_status(server: preview.PreviewHTTPServer, cand_id: str, status: str) -> dict[str, str]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), port, timeout=30)
    try:
        body = json.dumps({"id": cand_id, "status": status})
        headers = {preview.TOKEN_HEADER: server.preview.token, "Content-Type": "application/json"}
        conn.request("POST", "/status", body=body, headers=headers)
        response = conn.getresponse()
        data = json.loads(response.read())
        assert response.status == 200, data
        return dict(data)
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rows: list[tuple[str, list[float], float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        first = candidates(300)
        rerun = candidates(250, bump=0.5) + candidates(50, start=300)
        counter = iter(range(10_000))

        def with_draft(count: int = 300) -> Config:
            config = project(base / f"p{next(counter)}")
            window = draft.issue_window(config, ISSUE)
            draft.refresh_draft(config, window, first[:count], health=HEALTH, now=NOW)
            path = draft.draft_path(config, ISSUE)
            text = path.read_text(encoding="utf-8")
            text = text.replace("stories: []\n", STORIES)
            text = text.replace(draft_decisions_line(text), decisions(20).rstrip("\n"))
            path.write_text(text, encoding="utf-8")
            forget_read_programs()  # a run is a new process: a cold read
            return config

        def refresh(config: object, items: list[Candidate]) -> None:
            assert isinstance(config, Config)
            window = draft.issue_window(config, ISSUE)
            draft.refresh_draft(config, window, items, health=HEALTH, now=NOW)

        def fresh() -> Config:
            forget_read_programs()
            return project(base / f"p{next(counter)}")

        rows.append(
            (
                "create draft, 300 candidates",
                timed(args.repeat, fresh, lambda c: refresh(c, first)),
                1000,
            )
        )
        rows.append(
            (
                "refresh draft, 300 known (250 still proposed) + 50 new",
                timed(args.repeat, with_draft, lambda c: refresh(c, rerun)),
                1000,
            )
        )
        rows.append(
            (
                "record a decision (set_status), 300-candidate draft",
                timed(
                    args.repeat,
                    with_draft,
                    lambda c: draft.set_status(c, ISSUE, {"b00000a": "picked"}, now=NOW),  # type: ignore[arg-type]
                ),
                1000,
            )
        )

        servers: list[preview.PreviewHTTPServer] = []

        def serving() -> preview.PreviewHTTPServer:
            config = with_draft()
            server = preview.start_in_thread(config, ISSUE, clock=lambda: NOW)
            servers.append(server)
            server.preview.state()  # the page is open: rendered once already
            return server

        statuses = iter(["picked", "held", "rejected"] * 100)

        def click(server: object) -> None:
            assert isinstance(server, preview.PreviewHTTPServer)
            answer = post_status(server, "b00000a", next(statuses))
            assert answer["version"] == server.preview.state().version

        rows.append(
            (
                "preview button round trip (POST /status), 300 candidates",
                timed(args.repeat, serving, click),
                300,
            )
        )
        for server in servers:
            server.shutdown()
            server.server_close()

    width = max(len(name) for name, _, _ in rows)
    print(f"{'benchmark':<{width}}  {'best ms':>8}  {'median ms':>9}  {'target':>8}")
    for name, times, target in rows:
        goal = f"< {target:g}" if target else "-"
        print(f"{name:<{width}}  {min(times):8.1f}  {statistics.median(times):9.1f}  {goal:>8}")


def draft_decisions_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("decisions:"))


if __name__ == "__main__":
    main()
