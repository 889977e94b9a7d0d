"""issues/D/email.eml: a complete, standards-shaped MIME message that a real SMTP server takes."""

from __future__ import annotations

import dataclasses
import smtplib
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from support.samples import NOW, adversarial_issue, sample_config, sample_issue

from digest.delivery.personalize import personalize
from digest.delivery.subscribers import Recipient
from digest.errors import RenderError
from digest.publish.email import render


def parse(eml: bytes) -> EmailMessage:
    message = message_from_bytes(eml, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture(scope="module")
def rendered() -> render.Rendered:
    return render.render_issue(sample_issue(), sample_config(), now=NOW)


def test_message_headers(rendered: render.Rendered) -> None:
    message = parse(rendered.eml)
    assert message["Subject"] == rendered.subject
    assert message["From"] == "US-Japan NEXT Alliance Initiative <digest@spfusa.org>"
    assert message["Date"] == "Sun, 15 Nov 2026 11:00:00 +0000"
    assert message["Message-ID"].startswith("<alliance-digest.2026-11-15.")
    assert message["Message-ID"].endswith("@spfusa.org>")
    assert message["List-Id"] == "US-Japan Alliance Digest <alliance-digest.spfusa.org>"
    # Folded to 78 columns; the value is the URL in angle brackets (RFC 2369).
    assert (
        message["List-Unsubscribe"].strip()
        == "<https://spfusa.org/alliance-digest/unsubscribe?token={token}>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Content-Language"] == "en"


def test_multipart_alternative_text_first_then_html(rendered: render.Rendered) -> None:
    message = parse(rendered.eml)
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parts[0].get_content().replace("\r\n", "\n") == rendered.text
    assert parts[1].get_content().replace("\r\n", "\n").rstrip("\n") == rendered.html


def test_lines_are_crlf_and_short_enough_for_smtp(rendered: render.Rendered) -> None:
    lines = rendered.eml.split(b"\r\n")
    assert all(b"\n" not in line for line in lines)
    assert max(len(line) for line in lines) <= 78


def test_non_ascii_subject_is_encoded() -> None:
    issue = dataclasses.replace(sample_issue(), title="日米同盟ダイジェスト 第4巻22号")
    rendered = render.render_issue(issue, sample_config(), now=NOW)
    head = rendered.eml.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"=?utf-8?" in head.lower()
    assert parse(rendered.eml)["Subject"] == "日米同盟ダイジェスト 第4巻22号 (November 15, 2026)"


def test_newlines_in_feed_text_cannot_inject_headers() -> None:
    issue = dataclasses.replace(adversarial_issue(), title="Vol 4.23\r\nBcc: victim@example.org")
    rendered = render.render_issue(issue, sample_config(), now=NOW)
    message = parse(rendered.eml)
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert message["Subject"].startswith("Vol 4.23 Bcc: victim@example.org")
    assert not message.defects
    assert all(not part.defects for part in message.walk())


def test_a_sender_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(RenderError, match=r"digest\.from"):
        render.render_issue(sample_issue(), sample_config(sender="nobody"), now=NOW)


def personalized(rendered: render.Rendered, token: str) -> EmailMessage:
    template = sample_config().digest.unsubscribe_url
    recipient = Recipient(address="reader@example.org", token=token)
    return personalize(rendered.eml, recipient, template=template, now=NOW)


def test_the_send_step_fills_the_token_everywhere(rendered: render.Rendered) -> None:
    message = personalized(rendered, "abc/123")
    url = "https://spfusa.org/alliance-digest/unsubscribe?token=abc%2F123"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f'href="{url}"' in html and url in text
    assert "{token}" not in html and "{token}" not in text
    assert message["List-Unsubscribe"].strip() == f"<{url}>"
    assert message["Message-ID"] != parse(rendered.eml)["Message-ID"]


def test_write_rendered_writes_three_files(rendered: render.Rendered, tmp_path: Path) -> None:
    directory = tmp_path / "issues" / "2026-11-15"
    paths = render.write_rendered(rendered, directory)
    assert [p.name for p in paths] == ["email.html", "email.txt", "email.eml"]
    assert paths[0].read_text(encoding="utf-8") == rendered.html
    assert paths[1].read_text(encoding="utf-8") == rendered.text
    assert paths[2].read_bytes() == rendered.eml
    assert sorted(p.name for p in directory.iterdir()) == ["email.eml", "email.html", "email.txt"]


# ---------------------------------------------------------------- through a real SMTP server


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def test_a_real_smtp_server_accepts_the_message(
    rendered: render.Rendered, smtp_inbox: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_inbox
    mine = personalized(rendered, "t0k")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("digest@spfusa.org", ["reader@example.org"], mine.as_bytes())
    assert len(inbox.messages) == 1
    received = parse(inbox.messages[0])
    assert received["Subject"] == rendered.subject
    html = received.get_body(("html",))
    assert html is not None and "token=t0k" in html.get_content()


def test_an_unsubscribe_url_that_is_not_http_is_refused() -> None:
    config = sample_config(unsubscribe_url="javascript:alert({token})")
    with pytest.raises(RenderError, match=r"unsubscribe_url"):
        render.render_issue(sample_issue(), config, now=NOW)
