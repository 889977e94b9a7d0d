"""The lead image travels with the message: resized (at most 1200 px wide, small), inside
every proof and send as an inline cid: part, while the web version and the archive show
the archive's copy; the same credit line everywhere."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from PIL import Image
from support.publish_project import ISSUE_DATE, lead_photo, write_project

from digest.publish.lead_image import LEAD_CID, MAX_WIDTH, load_lead_image


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def digest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args, "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_camera_sized_photo_is_resized_and_kept_small(tmp_path: Path) -> None:
    (tmp_path / "lead.jpg").write_bytes(lead_photo(3000, 2000))
    image = load_lead_image(tmp_path / "lead.jpg")
    assert (image.width, image.height) == (MAX_WIDTH, 800) and image.subtype == "jpeg"
    assert len(image.data) < 250_000 < (tmp_path / "lead.jpg").stat().st_size
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert decoded.size == (MAX_WIDTH, 800)


def test_a_small_image_is_sent_as_the_editor_gave_it(tmp_path: Path) -> None:
    small = lead_photo(600, 315)
    (tmp_path / "lead.jpg").write_bytes(small)
    assert load_lead_image(tmp_path / "lead.jpg").data == small


def test_a_proof_carries_the_image_inside_the_message(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    write_project(tmp_path)
    feeds = (tmp_path / "feeds.yaml").read_text(encoding="utf-8")
    feeds = feeds.replace('  host: ""', '  host: "127.0.0.1"', 1)
    feeds = feeds.replace("  port: 587", f"  port: {port}", 1)
    feeds = feeds.replace("  security: starttls", "  security: none", 1)
    (tmp_path / "feeds.yaml").write_text(feeds, encoding="utf-8")
    assert digest(tmp_path, "render", "--date", ISSUE_DATE.isoformat()).returncode == 0
    result = digest(tmp_path, "send", "--date", ISSUE_DATE.isoformat(), "--to", "ed@example.org")
    assert result.returncode == 0, result.stderr
    [raw] = inbox.messages
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    related = [p for p in message.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1
    html = message.get_body(("html",))
    assert html is not None and f'src="cid:{LEAD_CID}"' in html.get_content()
    [image] = [p for p in message.walk() if p.get_content_maintype() == "image"]
    assert image["Content-ID"] == f"<{LEAD_CID}>"
    assert image.get_content_disposition() == "inline"
    with Image.open(io.BytesIO(image.get_content())) as picture:
        assert picture.width == MAX_WIDTH
    assert len(raw) < 400_000
    # The web version (email.html) and the archive show the archive's copy, same credit.
    web = (tmp_path / "issues" / ISSUE_DATE.isoformat() / "email.html").read_text("utf-8")
    assert 'src="https://spfusa.org/alliance-digest/2026-12-01/lead.jpg"' in web
    assert "cid:" not in web
    assert "Image Source: U.S. Department of Defense" in web
    assert "Image Source: U.S. Department of Defense" in html.get_content()
    publish = digest(tmp_path, "publish", "--date", ISSUE_DATE.isoformat())
    assert publish.returncode == 0, publish.stderr
    site = tmp_path / "site" / ISSUE_DATE.isoformat()
    page = (site / "index.html").read_text("utf-8")
    assert '<img src="lead.jpg"' in page
    assert "<figcaption>Image Source: U.S. Department of Defense</figcaption>" in page
    with Image.open(site / "lead.jpg") as served:
        assert served.width == MAX_WIDTH
