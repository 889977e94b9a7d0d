"""The gate before a send, with a real aiosmtpd that must receive nothing when it refuses:
a list gets only a published issue and only after confirmation; a proof is the draft as it
is now and is refused while `digest check` finds errors (unless forced, and then says so)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from support.repo import REPO
from test_send import ISSUE, publish_issue, subscribers, write_project

from digest.cli import main
from digest.config import Config

DIGEST = (sys.executable, "-m", "digest")
GOOD_BODY = (
    "The two ministers met in Tokyo and agreed to expand co-production of interceptors, a "
    "step that officials on both sides described as a test case for the defense industrial "
    "forum launched last year and for wider cooperation between the two industries."
)


def write_draft(config: Config, headline: str | None) -> Path:
    """A draft as the editor writes it; without a headline `digest check` finds an error."""
    first = f"  - headline: {headline}\n" if headline else "  - section: Defense\n"
    path = config.issue_dir(ISSUE) / "draft.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"date: {ISSUE.isoformat()}\nstories:\n"
        + first
        + f"    body: {GOOD_BODY}\n"
        + '    sources: ["https://www3.nhk.or.jp/news/a.html"]\n',
        encoding="utf-8",
    )
    return path


def digest(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [args[0], "--project", str(config.project_dir), *args[1:]])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_a_list_gets_only_a_published_issue(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    write_draft(config, "Defense ministers agree on missile production")
    csv_path = str(subscribers(tmp_path / "list.csv", 3))

    code, output = digest(config, "send", "--list", csv_path, "--yes")
    assert code == 1 and "no issue is published yet" in output and "digest publish" in output

    code, output = digest(config, "send", "--list", csv_path, "--yes", "--date", "2026-12-01")
    assert code == 1 and "2026-12-01 is not published" in output
    assert "digest publish --date 2026-12-01" in output
    assert inbox.messages == []


def test_no_terminal_and_no_yes_sends_nothing(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    publish_issue(config, stories=3)
    csv_path = subscribers(tmp_path / "list.csv", 3)
    process = subprocess.run(
        [*DIGEST, "send", "--project", str(config.project_dir), "--list", str(csv_path)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2 and "Traceback" not in process.stderr
    # What would go is shown first: the title, the stories and the recipients.
    assert "US-Japan Alliance Digest Vol 4.23 (2026-12-01), 3 stories: 3 recipient(s)" in (
        process.stdout
    )
    assert "no terminal to ask" in process.stderr and "add --yes" in process.stderr
    assert inbox.messages == []


def answer_on_a_terminal(config: Config, csv_path: Path, answer: str) -> tuple[int, str]:
    """`digest send --list` with a terminal (a pseudo-terminal) on which `answer` is typed."""
    main_fd, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [*DIGEST, "send", "--project", str(config.project_dir), "--list", str(csv_path)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        os.write(main_fd, answer.encode() + b"\n")
        output, _ = process.communicate(timeout=60)
    finally:
        os.close(main_fd)
        os.close(terminal)
    return process.returncode, output


def test_the_list_send_asks_on_a_terminal_and_no_means_nothing_is_sent(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    publish_issue(config)
    csv_path = subscribers(tmp_path / "list.csv", 2)

    code, output = answer_on_a_terminal(config, csv_path, "n")
    assert code == 2 and "Send it to 2 recipient(s)?" in output and "not confirmed" in output
    assert inbox.messages == []

    code, output = answer_on_a_terminal(config, csv_path, "y")
    assert code == 0 and "list of 2026-12-01: 2 sent" in output, output
    assert len(inbox.messages) == 2


def test_a_proof_with_check_errors_is_refused_unless_forced(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    write_draft(config, None)

    code, output = digest(config, "send", "--to", "ed@example.org")
    assert code == 1 and "no proof sent" in output and "headline" in output
    assert "--force" in output and inbox.messages == []

    code, output = digest(config, "render")
    assert code == 1 and "not rendered" in output and "--force" in output
    assert not (config.issue_dir(ISSUE) / "email.html").exists()

    code, output = digest(config, "send", "--to", "ed@example.org", "--force")
    assert code == 0, output
    (message,) = inbox.parsed()
    assert str(message["Subject"]).startswith("[PROOF WITH ERRORS] ")


def test_a_proof_is_the_draft_as_it_is_now_never_a_stale_file(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    write_draft(config, "Ministers agree on the first step")
    code, output = digest(config, "render")
    assert code == 0, output
    write_draft(config, "Ministers agree on the second step")  # edited after rendering

    code, output = digest(config, "send", "--to", "ed@example.org")

    assert code == 0, output
    (message,) = inbox.parsed()
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "the second step" in html and "the first step" not in html
    assert str(message["Subject"]).startswith("[Proof] ")
