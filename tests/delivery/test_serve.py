"""`digest serve` as a real process: a real HTTP POST unsubscribes (RFC 8058), a GET only asks,
and the next list send to a real aiosmtpd skips the address while the others get one copy."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from support.repo import REPO
from test_send import publish_issue, subscribers, write_project

from digest.cli import main
from digest.config import Config

SECOND = date(2026, 12, 15)


@pytest.fixture
def served(tmp_path: Path, smtp_server) -> Iterator[tuple[Config, str, object]]:
    """A project with a published issue and `digest serve --port 0` running on it."""
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    publish_issue(config)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", "serve", "--project", str(config.project_dir), "--port=0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert "http://127.0.0.1:" in line, process.stderr.read() if process.stderr else line
        base = line.split("http://", 1)[1].split("/", 1)[0]
        yield config, f"http://{base}", inbox
    finally:
        process.terminate()
        process.wait(10)


def send_list(config: Config, csv_path: Path, issue: date | None = None) -> str:
    args = ["send", "--project", str(config.project_dir), "--list", str(csv_path), "--yes"]
    if issue is not None:
        args += ["--date", issue.isoformat()]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def local(link: str, base: str) -> str:
    """The List-Unsubscribe URL, sent to the local server instead of the public host."""
    parts = urlsplit(link)
    return f"{base}{parts.path}?{parts.query}"


def request(url: str, data: bytes | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def unsubscribes(config: Config) -> list[tuple[str, str]]:
    with sqlite3.connect(config.state_dir / "digest.sqlite") as conn:
        return conn.execute("SELECT address, via FROM unsubscribes").fetchall()


def test_one_click_post_unsubscribes_and_the_next_send_skips_the_address(tmp_path, served):
    config, base, inbox = served
    csv_path = subscribers(tmp_path / "list.csv", 4)
    send_list(config, csv_path)
    links = {m["To"].addresses[0].addr_spec: str(m["List-Unsubscribe"]) for m in inbox.parsed()}
    link = local(links["reader01@example.net"].strip("<>"), base)

    status, page = request(link)  # what a person who clicks the link sees
    assert status == 200 and "reader01@example.net" in page and 'method="post"' in page
    assert unsubscribes(config) == []  # a GET never changes anything

    status, page = request(link, data=b"List-Unsubscribe=One-Click")  # what a mail client sends
    assert status == 200 and "Unsubscribed" in page
    assert unsubscribes(config) == [("reader01@example.net", "one-click")]

    inbox.messages.clear()
    publish_issue(config, SECOND)
    output = send_list(config, csv_path, SECOND)
    assert "1 skipped: unsubscribed" in output
    assert inbox.copies() == Counter(
        {"reader00@example.net": 1, "reader02@example.net": 1, "reader03@example.net": 1}
    )


def test_a_made_up_or_altered_token_unsubscribes_nobody(tmp_path, served):
    config, base, inbox = served
    send_list(config, subscribers(tmp_path / "list.csv", 2))
    link = local(str(inbox.parsed()[0]["List-Unsubscribe"]).strip("<>"), base)
    token = link.rsplit("token=", 1)[1]
    other = token.split(".")[0][:-2] + "xx." + token.split(".")[1]
    for bad in (link.replace(token, other), link.replace(token, "0" * 32), f"{base}/elsewhere"):
        status, _ = request(bad, data=b"List-Unsubscribe=One-Click")
        assert status == 404, bad
    status, _ = request(link, data=b"something=else")
    assert status == 400
    assert unsubscribes(config) == []


def test_the_systemd_unit_runs_digest_serve_on_the_loopback_only():
    import shlex

    unit = (REPO / "deploy" / "alliance-digest-serve.service").read_text(encoding="utf-8")
    (exec_start,) = [x for x in unit.splitlines() if x.startswith("ExecStart=")]
    binary, *argv = shlex.split(exec_start.partition("=")[2])
    assert binary.endswith("/bin/digest") and argv[0] == "serve"
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    result = CliRunner().invoke(main, [*argv, "--help"])  # the arguments are valid
    assert result.exit_code == 0, result.output
    assert "ProtectSystem=strict" in unit and "NoNewPrivileges=yes" in unit
