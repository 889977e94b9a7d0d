"""`digest send --list` killed with SIGKILL mid-list, then run again: nobody gets two copies.

A real process sends to a real local SMTP server (aiosmtpd) that holds one transaction, so
the kill lands at a known step: between messages (before the send log marks the next
address), or while the server already has a message it has not acknowledged.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from support.repo import REPO
from test_send import ISSUE, NOW, free_port, subscribers, write_project

from digest.config import load_config
from digest.delivery.send import send_list

ROOT = REPO
DRIVER = """
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from digest.config import load_config
from digest.config import load_config
from digest.delivery.send import send_list
send_list(load_config(Path(sys.argv[1])), date.fromisoformat(sys.argv[2]), Path(sys.argv[3]),
          now=datetime.now(UTC))
"""


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


def start(inbox: HoldingInbox) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


def kill_mid_send(
    tmp_path: Path, hold_step: str, count: int = 10, hold_at: int = 3
) -> tuple[HoldingInbox, Controller, Path, Path]:
    inbox = HoldingInbox(hold_at=hold_at, hold_step=hold_step)
    controller, port = start(inbox)
    config = write_project(tmp_path / "p", port=port)
    csv_path = subscribers(tmp_path / "subscribers.csv", count)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(config.project_dir), ISSUE.isoformat(), str(csv_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
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
    return inbox, controller, config.project_dir, csv_path


def statuses(project: Path) -> dict[str, str]:
    with sqlite3.connect(project / ".digest" / "digest.sqlite") as conn:
        return dict(conn.execute("SELECT address, status FROM send_log").fetchall())


def everyone(count: int) -> set[str]:
    return {f"reader{n:02d}@example.net" for n in range(count)}


def test_sigkill_between_messages_then_resume_sends_each_address_once(tmp_path):
    inbox, controller, project, csv_path = kill_mid_send(tmp_path, "MAIL")
    try:
        assert statuses(project) == dict.fromkeys(sorted(everyone(3)), "sent")
        report = send_list(load_config(project), ISSUE, csv_path, now=NOW)
    finally:
        controller.stop()
    assert report.ok and len(report.skipped) == 3 and len(report.sent) == 7
    assert report.in_doubt == ()
    assert inbox.copies() == Counter(dict.fromkeys(everyone(10), 1))


def test_sigkill_while_the_server_holds_a_message_never_sends_it_again(tmp_path):
    inbox, controller, project, csv_path = kill_mid_send(tmp_path, "DATA")
    try:
        assert statuses(project)["reader03@example.net"] == "pending"
        report = send_list(load_config(project), ISSUE, csv_path, now=NOW)
        again = send_list(load_config(project), ISSUE, csv_path, now=NOW)
    finally:
        controller.stop()
    assert report.in_doubt == ("reader03@example.net",) and len(report.sent) == 6
    assert "in doubt" in str(report) and again.sent == ()
    # The server had taken reader03's message before the kill: still exactly one copy each.
    assert inbox.copies() == Counter(dict.fromkeys(everyone(10), 1))
