"""`digest send --list` killed with SIGKILL mid-list, then run again: nobody gets two copies.

A real `digest send` process sends a published issue to a real local SMTP server (aiosmtpd).
Two kills land at known steps (the server holds a transaction until told): between
messages, and while the server has a message it has not acknowledged. Then ten kills land
at seeded random moments. Each is followed by a re-run that completes.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from support.repo import REPO
from test_send import ISSUE, NOW, free_port, publish_issue, subscribers, write_project

from digest.config import load_config
from digest.delivery.lifecycle import list_issue
from digest.delivery.send import SendReport, send_list
from digest.delivery.subscribers import read_subscribers

SEED = 20261201
MOMENTS = 10


def digest_send(project: Path, csv_path: Path) -> subprocess.Popen[str]:
    """The real command, as an operator runs it from a script."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "digest",
            "send",
            "--project",
            str(project),
            "--list",
            str(csv_path),
            "--date",
            ISSUE.isoformat(),
            "--yes",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def resume(project: Path, csv_path: Path) -> SendReport:
    config = load_config(project)
    outgoing = list_issue(config, ISSUE, now=NOW)
    return send_list(config, outgoing, read_subscribers(csv_path), now=NOW)


@dataclass
class HoldingInbox:
    """Keeps what it accepts; holds the transaction of message number `hold_at` (0-based) at
    `hold_step` until `release` is set, telling the test through `holding`."""

    hold_at: int
    hold_step: str  # "MAIL": before the client marks the address; "DATA": after it
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def _hold(self) -> None:
        self.holding.set()
        while not self.release.is_set():
            await asyncio.sleep(0.02)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.hold_step == "MAIL" and len(self.messages) == self.hold_at:
            await self._hold()
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        if self.hold_step == "DATA" and len(self.messages) == self.hold_at + 1:
            await self._hold()
        return "250 OK"

    def copies(self) -> Counter[str]:
        return Counter(rcpt for rcpts, _ in self.messages for rcpt in rcpts)


def start(handler: object) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


def published_project(root: Path, port: int, count: int) -> tuple[Path, Path]:
    config = write_project(root / "p", port=port)
    publish_issue(config)
    return config.project_dir, subscribers(root / "subscribers.csv", count)


def kill_mid_send(
    tmp_path: Path, hold_step: str, count: int = 10, hold_at: int = 3
) -> tuple[HoldingInbox, Controller, Path, Path]:
    inbox = HoldingInbox(hold_at=hold_at, hold_step=hold_step)
    controller, port = start(inbox)
    project, csv_path = published_project(tmp_path, port, count)
    process = digest_send(project, csv_path)
    try:
        if not inbox.holding.wait(60):
            process.kill()
            raise AssertionError(
                f"the send never reached message {hold_at}: {process.communicate()[1]}"
            )
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
        inbox.release.set()
    assert process.returncode == -signal.SIGKILL
    return inbox, controller, project, csv_path


def statuses(project: Path) -> dict[str, str]:
    with sqlite3.connect(project / "state" / "digest.sqlite") as conn:
        return dict(conn.execute("SELECT address, status FROM send_log").fetchall())


def everyone(count: int) -> set[str]:
    return {f"reader{n:02d}@example.net" for n in range(count)}


def test_sigkill_between_messages_then_resume_sends_each_address_once(tmp_path):
    inbox, controller, project, csv_path = kill_mid_send(tmp_path, "MAIL")
    try:
        assert statuses(project) == dict.fromkeys(sorted(everyone(3)), "sent")
        report = resume(project, csv_path)
    finally:
        controller.stop()
    assert report.ok and len(report.skipped) == 3 and len(report.sent) == 7
    assert report.in_doubt == ()
    assert inbox.copies() == Counter(dict.fromkeys(everyone(10), 1))


def test_sigkill_while_the_server_holds_a_message_never_sends_it_again(tmp_path):
    inbox, controller, project, csv_path = kill_mid_send(tmp_path, "DATA")
    try:
        assert statuses(project)["reader03@example.net"] == "pending"
        report = resume(project, csv_path)
        again = resume(project, csv_path)
    finally:
        controller.stop()
    assert report.in_doubt == ("reader03@example.net",) and len(report.sent) == 6
    assert "in doubt" in str(report) and again.sent == ()
    # The server had taken reader03's message before the kill: still exactly one copy each.
    assert inbox.copies() == Counter(dict.fromkeys(everyone(10), 1))


@dataclass
class CountingInbox:
    """Accepts everything, a little slowly (as a real server does), counting copies."""

    messages: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.005)
        self.messages.append(list(envelope.rcpt_tos))
        return "250 OK"

    def copies(self) -> Counter[str]:
        return Counter(rcpt for rcpts in self.messages for rcpt in rcpts)


def test_sigkill_at_seeded_random_moments_never_delivers_twice(tmp_path):
    """Ten kills at random moments (seeded): each re-run completes, nobody has two copies,
    and an address without a copy is exactly one reported in doubt."""
    rng = random.Random(SEED)
    count = 24
    inbox = CountingInbox()
    controller, port = start(inbox)
    template, csv_path = published_project(tmp_path / "template", port, count)
    moments: list[tuple[int, float, int]] = []  # (messages waited for, delay, copies at kill)
    try:
        for moment in range(MOMENTS):
            inbox.messages.clear()
            project = tmp_path / f"kill{moment}"
            shutil.copytree(template, project)
            wait_for, delay = rng.randrange(0, count), rng.uniform(0.0, 0.02)
            process = digest_send(project, csv_path)
            deadline = time.monotonic() + 60
            while len(inbox.messages) < wait_for and process.poll() is None:
                assert time.monotonic() < deadline, "the send never got going"
                time.sleep(0.002)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            moments.append((wait_for, delay, len(inbox.messages)))

            report = resume(project, csv_path)
            again = resume(project, csv_path)

            copies = inbox.copies()
            assert report.stopped is None and not report.failed, (moment, str(report))
            assert again.sent == (), (moment, str(again))
            assert max(copies.values()) == 1, (moment, copies)
            missing = everyone(count) - set(copies)
            assert missing <= set(report.in_doubt), (moment, missing, report.in_doubt)
            assert len(report.in_doubt) <= 1, (moment, report.in_doubt)
    finally:
        controller.stop()
    # The moments were spread over the send: some before the first message, some mid-list.
    assert len({kill_count for _, _, kill_count in moments}) >= 5, moments
