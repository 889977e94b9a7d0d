"""The scheduler's real job bodies on the offline demo project: one summary line per run,
and the editors' notice mailed to a real local SMTP server."""

from __future__ import annotations

import io
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ruamel.yaml import YAML
from test_send import Inbox, free_port

from digest.schedule import draft_job, fetch_job


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from digest.demo import run_demo

    directory = tmp_path_factory.mktemp("demo") / "project"
    run_demo(directory, picks=3, now=datetime.now(UTC))
    return directory


def summary_lines(caplog: pytest.LogCaptureFixture, prefix: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "digest.schedule" and r.getMessage().startswith(prefix)]


def test_fetch_job_logs_one_line_even_when_every_feed_fails(demo_project, caplog):
    # The demo's feed server is gone, so every feed fails: reported, never raised.
    caplog.set_level(logging.INFO, logger="digest.schedule")
    fetch_job(str(demo_project))
    (line,) = summary_lines(caplog, "fetch")
    feeds, failed = re.match(r"fetch: (\d+) feeds: (\d+) failed; 0 new items \(", line).groups()
    assert int(feeds) > 0 and failed == feeds


def test_draft_job_refreshes_the_draft_and_mails_the_editors(demo_project, caplog):
    caplog.set_level(logging.INFO, logger="digest.schedule")
    inbox, port = Inbox(), free_port()
    config_path = demo_project / "feeds.yaml"
    original = config_path.read_text(encoding="utf-8")
    yaml = YAML()
    data = yaml.load(original)
    data["editors"] = ["ed@example.org"]
    data["smtp"].update(host="127.0.0.1", port=port, security="none",
                        username_env="TEST_DIGEST_NO_SUCH_USER")
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    text = buffer.getvalue()
    config_path.write_text(text, encoding="utf-8")
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        draft_job(str(demo_project))
    finally:
        controller.stop()
        config_path.write_text(original, encoding="utf-8")

    (line,) = summary_lines(caplog, "draft")
    assert re.match(r"draft \d{4}-\d\d-\d\d: \d+ new candidates, \d+ stories, .*draft\.yaml; "
                    r"1 editor\(s\) notified$", line), line
    (notice,) = inbox.parsed()
    assert notice["To"] == "ed@example.org" and notice["Subject"].startswith("Draft ready:")
    body = notice.get_content()
    assert "Top candidates:" in body and "Failing feeds (" in body
