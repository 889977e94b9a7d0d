"""The scheduler's real job bodies on the bundled sample feeds: one summary line per run,
and the editors' notice mailed to a real local SMTP server."""

from __future__ import annotations

import contextlib
import io
import logging
import re
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
    from digest import samples
    from digest.demo import demo_config_text

    feeds = samples.write_sample_feeds(directory / "sample-feeds", now=now)
    content_types = {feed.filename: feed.content_type for feed in feeds}
    with samples.serve_directory(directory / "sample-feeds", content_types) as base_url:
        (directory / "feeds.yaml").write_text(demo_config_text(feeds, base_url),
                                              encoding="utf-8")
        yield directory


@pytest.fixture(scope="module")
def fetched_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from digest import pipeline

    now = datetime.now(UTC)
    with sample_project(tmp_path_factory.mktemp("project"), now) as directory:
        pipeline.run_fetch(load_config(directory), now=now)
    return directory


def summary_lines(caplog: pytest.LogCaptureFixture, prefix: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "digest.schedule" and r.getMessage().startswith(prefix)]


def test_fetch_job_logs_one_line_per_run(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="digest.schedule")
    with sample_project(tmp_path, datetime.now(UTC)):
        assert fetch_job(str(tmp_path)) is True
    (line,) = summary_lines(caplog, "fetch")
    feeds, fetched, new = re.match(
        r"fetch: (\d+) feeds: (\d+) fetched; (\d+) new items \(", line).groups()
    assert int(feeds) > 0 and fetched == feeds and int(new) > 0

    # The feed server is gone now: every feed fails, which is reported, never raised.
    caplog.clear()
    assert fetch_job(str(tmp_path)) is True
    (line,) = summary_lines(caplog, "fetch")
    assert re.match(rf"fetch: {feeds} feeds: {feeds} failed; 0 new items \(", line), line


def test_draft_job_refreshes_the_draft_and_mails_the_editors(fetched_project, caplog):
    caplog.set_level(logging.INFO, logger="digest.schedule")
    inbox, port = Inbox(), free_port()
    config_path = fetched_project / "feeds.yaml"
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
        draft_job(str(fetched_project))
    finally:
        controller.stop()
        config_path.write_text(original, encoding="utf-8")

    (line,) = summary_lines(caplog, "draft")
    assert re.match(r"draft \d{4}-\d\d-\d\d: \d+ new candidates, \d+ stories, .*draft\.yaml; "
                    r"1 editor\(s\) notified$", line), line
    (notice,) = inbox.parsed()
    assert notice["To"] == "ed@example.org" and notice["Subject"].startswith("Draft ready:")
    body = notice.get_content()
    top = re.findall(r"(?m)^ +\d+\.\d  \S.*\(.+\)$", body)
    assert "Top candidates:" in body and len(top) == 8
    assert "All feeds are healthy." in body
