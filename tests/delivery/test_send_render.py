"""A proof of a really rendered issue (publish.email.render), as a browser shows it, and the
HTML exports for Mailchimp and Constant Contact."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from test_send import ISSUE, UNSUB, free_port, outgoing, write_project

from digest.config import Config
from digest.delivery.exports import export_html
from digest.delivery.send import send_proof
from digest.models import Issue, IssueStory, SourceLink

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def render_issue(config: Config, issue_date: date = ISSUE) -> Path:
    from digest.publish.email import render

    issue = Issue(
        date=issue_date,
        title="US-Japan Alliance Digest Vol 4.23",
        volume=4,
        number=23,
        preheader="Defense ministers agree to speed up joint missile production",
        stories=(
            IssueStory(
                headline="Defense ministers agree to speed up joint missile production",
                body="The two ministers met in Tokyo and agreed to expand co-production.",
                sources=(SourceLink("NHK", "https://www3.nhk.or.jp/news/a.html"),),
                section="Defense",
                anchor="defense-1",
            ),
        ),
    )
    rendered = render.render_issue(issue, config, now=NOW)
    render.write_rendered(rendered, config.issues_dir / issue_date.isoformat())
    return config.issues_dir / issue_date.isoformat()


@pytest.fixture
def rendered_project(tmp_path: Path) -> Config:
    config = write_project(tmp_path / "p")
    render_issue(config)
    return config


@pytest.mark.browser
def test_rendered_proof_shows_the_personal_unsubscribe_link(tmp_path, browser, artifacts_dir):
    from aiosmtpd.controller import Controller
    from test_send import Inbox

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = write_project(tmp_path / "p", port=port)
        render_issue(config)
        report = send_proof(config, outgoing(config), ["ed@example.org"], now=NOW)
    finally:
        controller.stop()
    assert report.ok
    (message,) = inbox.parsed()
    assert isinstance(message, EmailMessage)
    link = str(message["List-Unsubscribe"]).strip("<>")
    assert "{token}" not in link and link.startswith(UNSUB.split("{token}")[0])
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    page = browser.new_page()
    try:
        page.set_content(html_part.get_content(), wait_until="domcontentloaded")
        hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.href)")
        page.screenshot(path=str(artifacts_dir / "send_proof.png"), full_page=True)
    finally:
        page.close()
    assert link in hrefs
    assert not any("token%7D" in h or "{token}" in h for h in hrefs)


def test_export_for_mailchimp_uses_its_unsubscribe_tag(rendered_project):
    path = export_html(rendered_project, ISSUE, "mailchimp")
    page = path.read_text(encoding="utf-8")
    assert path.name == "email.mailchimp.html"
    assert 'href="*|UNSUB|*"' in page and "token" not in page


def test_export_for_constant_contact_drops_our_link_and_adds_its_pixel(rendered_project):
    path = export_html(rendered_project, ISSUE, "constantcontact")
    page = path.read_text(encoding="utf-8")
    assert page.count("[[trackingImage]]") == 1
    assert page.index("[[trackingImage]]") > page.lower().index("<body")
    assert "unsubscribe?" not in page and "token" not in page
    assert "Defense ministers agree" in page
