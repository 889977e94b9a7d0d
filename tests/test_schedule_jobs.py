"""The scheduler's real job bodies on the bundled sample feeds: one summary line per run,
and the editors' notice mailed to a real local SMTP server."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ruamel.yaml import YAML
from test_send import Inbox, free_port

from digest.config import load_config
from digest.schedule import draft_job, fetch_job


@contextlib.contextmanager
def sample_project(directory: Path, now: datetime) -> Iterator[Path]:
    """A project on the bundled sample feeds, served on 127.0.0.1 while the block runs."""
    from digest.demo import samples
    from digest.demo.run import demo_config_text

    feeds = samples.write_sample_feeds(directory / "sample-feeds", now=now)
    content_types = {feed.filename: feed.content_type for feed in feeds}
    with samples.serve_directory(directory / "sample-feeds", content_types) as base_url:
        (directory / "feeds.yaml").write_text(demo_config_text(feeds, base_url), encoding="utf-8")
        yield directory


@pytest.fixture(scope="module")
def fetched_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from digest import pipeline

    now = datetime.now(UTC)
    with sample_project(tmp_path_factory.mktemp("project"), now) as directory:
        pipeline.run_fetch(load_config(directory), now=now)
    return directory


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Log levels as `digest schedule` runs: warnings from anything, INFO from the scheduler."""
    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.INFO, logger="digest.schedule")
    return caplog


def summary_lines(caplog: pytest.LogCaptureFixture, prefix: str) -> list[str]:
    """The run's one log record, which must start with `prefix`: nothing else is logged."""
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and messages[0].startswith(prefix), messages
    return messages


@contextlib.contextmanager
def edited_config(project: Path, **sections: object) -> Iterator[None]:
    """feeds.yaml with top-level keys replaced or dict sections updated, restored afterwards."""
    path = project / "feeds.yaml"
    original = path.read_text(encoding="utf-8")
    yaml = YAML()
    data = yaml.load(original)
    for key, value in sections.items():
        if isinstance(value, dict):
            data[key].update(value)
        else:
            data[key] = value
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(original, encoding="utf-8")


def test_fetch_job_logs_one_line_per_run(tmp_path, logged):
    caplog = logged
    with sample_project(tmp_path, datetime.now(UTC)):
        assert fetch_job(str(tmp_path)) is True
    (line,) = summary_lines(caplog, "fetch")
    feeds, fetched, new = re.match(
        r"fetch: (\d+) feeds: (\d+) fetched; (\d+) new items \(", line
    ).groups()
    assert int(feeds) > 0 and fetched == feeds and int(new) > 0

    # Woken again at once, the job finds no feed due (each waits for its own poll time).
    caplog.clear()
    assert fetch_job(str(tmp_path)) is True
    (line,) = summary_lines(caplog, "fetch")
    assert re.match(rf"fetch: {feeds} feeds: {feeds} not due; 0 new items \(", line), line

    # Later, with every feed due and the feed server gone: every feed fails, which is
    # reported, never raised.
    with sqlite3.connect(tmp_path / "state" / "digest.sqlite") as db:
        db.execute("UPDATE feeds SET next_fetch = NULL")
    caplog.clear()
    assert fetch_job(str(tmp_path)) is True
    (line,) = summary_lines(caplog, "fetch")
    assert re.match(rf"fetch: {feeds} feeds: {feeds} failed; 0 new items \(", line), line


SMTP_NO_LOGIN = {
    "security": "none",
    "username_env": "TEST_DIGEST_NO_SUCH_USER",
    "password_env": "TEST_DIGEST_NO_SUCH_PASSWORD",
}


def test_draft_job_refreshes_the_draft_and_mails_the_editors(fetched_project, logged):
    caplog = logged
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with edited_config(
            fetched_project,
            editors=["ed@example.org"],
            smtp={"host": "127.0.0.1", "port": port, **SMTP_NO_LOGIN},
        ):
            assert draft_job(str(fetched_project)) is True
    finally:
        controller.stop()

    (line,) = summary_lines(caplog, "draft")
    assert re.match(
        r"draft \d{4}-\d\d-\d\d: \d+ new candidates, \d+ stories, .*draft\.yaml; "
        r"1 editor\(s\) notified$",
        line,
    ), line
    (notice,) = inbox.parsed()
    assert notice["To"] == "ed@example.org" and notice["Subject"].startswith("Draft ready:")
    body = notice.get_content()
    top = re.findall(r"(?m)^ +\d+\.\d  \S.*\(.+\)$", body)
    assert "Top candidates:" in body and len(top) == 8
    assert "All feeds are healthy." in body


def test_draft_job_without_editors_logs_only_its_line(fetched_project, logged):
    with edited_config(fetched_project, editors=[]):
        assert draft_job(str(fetched_project)) is True
    (line,) = summary_lines(logged, "draft")
    assert "\n" not in line and line.endswith("draft.yaml; no editors listed"), line


def test_draft_job_without_smtp_logs_the_notice_with_its_line(fetched_project, logged):
    with edited_config(fetched_project, editors=["ed@example.org"], smtp={"host": ""}):
        assert draft_job(str(fetched_project)) is True
    (record,) = summary_lines(logged, "draft")
    first, notice = record.split("\n", 1)
    assert first.endswith("draft.yaml; notice logged (no smtp.host set)"), first
    assert notice.startswith("The draft for ") and "Top candidates:" in notice


def test_draft_job_with_the_mail_server_down_says_editors_were_not_told(fetched_project, logged):
    with edited_config(
        fetched_project,
        editors=["ed@example.org"],
        smtp={"host": "127.0.0.1", "port": free_port(), **SMTP_NO_LOGIN},
    ):
        assert draft_job(str(fetched_project)) is False
    (line,) = summary_lines(logged, "draft")
    assert logged.records[0].levelname == "ERROR"
    assert "draft.yaml; editors NOT notified: cannot talk to the SMTP server 127.0.0.1:" in line
