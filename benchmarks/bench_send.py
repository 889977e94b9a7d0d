"""How fast `digest send --list` can go when the rate limit is not the bottleneck.

Renders a real issue (publish.email.render), then sends it to N subscribers through a local aiosmtpd
server on 127.0.0.1, with the send log in a fresh store each repeat. Prints best and median
of each figure:

    personalize   building one recipient's copy (parse .eml, fill links, headers)
    list send     the whole list: render from published.json, personalize + SMTP + two
                  fsynced marks a message in the store and in issues/DATE/sent.csv
    resume        a re-run where everyone already has the issue (send log lookups only)

Usage: .venv/bin/python benchmarks/bench_send.py [--recipients 500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digest.config import load_config  # noqa: E402
from digest.delivery.lifecycle import list_issue  # noqa: E402
from digest.delivery.personalize import personalize  # noqa: E402
from digest.delivery.send import send_list  # noqa: E402
from digest.delivery.subscribers import Recipient, read_subscribers  # noqa: E402
from digest.models import Issue, IssueStory, SourceLink  # noqa: E402
from digest.publish.email import render  # noqa: E402
from digest.publish.site import archive  # noqa: E402

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
ISSUE = date(2026, 12, 1)


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        await asyncio.sleep(0)
        return "250 OK"


def project(root: Path, port: int) -> Path:
    root.mkdir(parents=True)
    (root / "feeds.yaml").write_text(
        f"""\
digest:
  unsubscribe_url: "https://spfusa.org/alliance-digest/unsubscribe?token={{token}}"
feeds:
  - name: Example
    url: https://example.org/feed.xml
smtp:
  host: 127.0.0.1
  port: {port}
  security: none
  username_env: BENCH_NO_SUCH_USER
  rate_per_minute: 100000000
""",
        encoding="utf-8",
    )
    config = load_config(root)
    stories = tuple(
        IssueStory(
            headline=f"Story {n}: ministers agree on alliance step {n}",
            body="The two governments agreed to deepen cooperation. " * 6,
            sources=(SourceLink("NHK", f"https://www3.nhk.or.jp/news/{n}.html"),),
            section="Defense",
            anchor=f"story-{n}",
        )
        for n in range(12)
    )
    issue = Issue(
        date=ISSUE,
        title="US-Japan Alliance Digest Vol 4.23",
        volume=4,
        number=23,
        stories=stories,
        preheader="Ministers agree",
    )
    render.write_rendered(
        render.render_issue(issue, config, now=NOW), config.issues_dir / ISSUE.isoformat()
    )
    published = archive.freeze(issue, now=NOW, today=ISSUE)
    archive.published_path(config, ISSUE).write_text(
        archive.published_to_json(published), encoding="utf-8"
    )
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    work = Path(tempfile.mkdtemp(prefix="bench-send-"))
    figures: dict[str, list[float]] = {"personalize": [], "list send": [], "resume": []}
    try:
        base_dir = project(work / "base", port)
        eml = (base_dir / "issues" / ISSUE.isoformat() / "email.eml").read_bytes()
        csv_path = work / "subscribers.csv"
        csv_path.write_text(
            "email\n" + "".join(f"reader{n:05d}@example.net\n" for n in range(args.recipients)),
            encoding="utf-8",
        )
        template = load_config(base_dir).digest.unsubscribe_url
        for repeat in range(args.repeats):
            started = time.perf_counter()
            for n in range(200):
                personalize(
                    eml, Recipient(f"r{n}@example.net", "", f"t{n}"), template=template, now=NOW
                ).as_bytes()
            figures["personalize"].append((time.perf_counter() - started) / 200 * 1000)

            run_dir = work / f"run{repeat}"
            shutil.copytree(base_dir, run_dir)
            config = load_config(run_dir)
            before = sink.count
            started = time.perf_counter()
            outgoing = list_issue(config, ISSUE, now=NOW)
            people = read_subscribers(csv_path)
            report = send_list(config, outgoing, people, now=NOW)
            figures["list send"].append(time.perf_counter() - started)
            assert len(report.sent) == args.recipients == sink.count - before, report

            started = time.perf_counter()
            again = send_list(config, outgoing, read_subscribers(csv_path), now=NOW)
            figures["resume"].append(time.perf_counter() - started)
            assert len(again.skipped) == args.recipients and not again.sent
    finally:
        controller.stop()
        shutil.rmtree(work, ignore_errors=True)

    size_kb = len(eml) / 1024
    print(f"issue .eml: {size_kb:.0f} KiB; {args.recipients} recipients; {args.repeats} repeats")
    print(f"{'figure':<14}{'best':>12}{'median':>12}  unit")
    units = {"personalize": "ms/message", "list send": "s/list", "resume": "s/list"}
    for name, values in figures.items():
        print(f"{name:<14}{min(values):>12.3f}{statistics.median(values):>12.3f}  {units[name]}")
    best = min(figures["list send"])
    print(
        f"list send throughput (best): {args.recipients / best:.0f} messages/s "
        f"= {args.recipients / best * 60:.0f}/min (smtp.rate_per_minute default 60)"
    )


if __name__ == "__main__":
    main()
