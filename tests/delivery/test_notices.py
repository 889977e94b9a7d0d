"""The editors' notice: its text, and mailing it to a real local SMTP server."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

from digest.config import Config, load_config
from digest.delivery.notices import DraftNotice, draft_notice, notify_editors, top_candidates
from digest.models import DraftSummary


def make_project(root: Path, extra: str) -> Config:
    root.mkdir(parents=True)
    (root / "feeds.yaml").write_text(
        "feeds:\n  - {name: Example, url: https://example.org/feed.xml}\n" + extra, encoding="utf-8"
    )
    return load_config(root)


def test_notice_lists_counts_top_candidates_and_failing_feeds():
    summary = DraftSummary(
        path="issues/2026-12-01/draft.yaml", added=7, counts=(("new", 12), ("picked", 3)), stories=3
    )
    notice = draft_notice(
        Config(),
        date(2026, 12, 1),
        summary,
        now=datetime.now(UTC),
        top=((9.5, "Quad ministers meet", "NHK"),),
        failing=(("Kyodo", "HTTP 503"),),
    )
    assert notice.subject == "Draft ready: US-Japan Alliance Digest 2026-12-01"
    assert "New candidates this run: 7; by status: 12 new, 3 picked; stories: 3." in notice.text
    assert "9.5  Quad ministers meet  (NHK)" in notice.text
    assert "Failing feeds (1):\n  Kyodo: HTTP 503" in notice.text


def test_top_candidates_come_from_the_draft_without_rejected_ones(tmp_path):
    from digest.editorial.draftfile import program_text
    from digest.editorial.schema import DraftCandidate

    listed = [
        DraftCandidate(id="a", title="Low", score=3.5, source="A"),
        DraftCandidate(id="b", title="Rejected", score=9, source="B"),
        DraftCandidate(id="c", title="High", score=8, source="C"),
        DraftCandidate(id="d", title="Mid", score=5.0, source="D"),
    ]
    path = tmp_path / "draft.yaml"
    path.write_text(
        "decisions:\n  b: rejected\n  c: picked\n  d: held\nstories: []\n"
        + program_text([], listed, []),
        encoding="utf-8",
    )
    assert top_candidates(path, limit=2) == ((8.0, "High", "C"), (5.0, "Mid", "D"))
    assert top_candidates(tmp_path / "missing.yaml") == ()


def test_notice_without_smtp_or_editors_is_not_mailed():
    notice = DraftNotice("Draft ready", "the text\n")
    now = datetime.now(UTC)
    assert notify_editors(Config(editors=("ed@example.org",)), notice, now=now) == (
        "notice logged (no smtp.host set)"
    )
    assert notify_editors(Config(), None, now=now) == "no editors listed"


def test_notice_is_mailed_to_the_editors(tmp_path):
    from aiosmtpd.controller import Controller
    from test_send import Inbox, free_port

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = make_project(
            tmp_path / "p",
            extra=textwrap.dedent(f"""\
            editors: [ed1@example.org, ed2@example.org]
            smtp:
              host: 127.0.0.1
              port: {port}
              security: none
              username_env: TEST_DIGEST_NO_SUCH_USER
            """),
        )
        told = notify_editors(
            config, DraftNotice("Draft ready: 2026-12-01", "body\n"), now=datetime.now(UTC)
        )
    finally:
        controller.stop()
    assert told == "2 editor(s) notified"
    (message,) = inbox.parsed()
    assert message["Subject"] == "Draft ready: 2026-12-01"
    assert message["To"] == "ed1@example.org, ed2@example.org"
    assert message.get_content().replace("\r\n", "\n") == "body\n"
