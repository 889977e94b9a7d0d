"""The live preview: a real server on 127.0.0.1, real HTTP, and headless Chromium."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.drafts import ISSUE, NOW, cand, make_config, refresh

from digest.config import Config
from digest.editorial import draft
from digest.publish import preview


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


STORY = """\
stories:
  - headline: Tokyo and Washington open talks on shipbuilding
    body: >
      Officials from both governments met to discuss repairing US Navy ships in Japanese
      yards, a step both sides describe as a test of deeper industrial cooperation
      within the alliance.
    sources: [c0002]
"""


@pytest.fixture
def project(config: Config) -> Config:
    refresh(config, [cand(1, 5.0), cand(2, 9.0), cand(3, 7.0)])
    path = draft.draft_path(config, ISSUE)
    path.write_text(
        path.read_text(encoding="utf-8").replace("stories: []\n", STORY), encoding="utf-8"
    )
    return config


@pytest.fixture
def server(project: Config) -> Iterator[preview.PreviewHTTPServer]:
    running = preview.start_in_thread(project, ISSUE, clock=lambda: NOW)
    try:
        yield running
    finally:
        running.shutdown()
        running.server_close()


def request(
    server: preview.PreviewHTTPServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def post_status(
    server: preview.PreviewHTTPServer, cid: str, status: str, token: str | None
) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers[preview.TOKEN_HEADER] = token
    code, body = request(
        server, "POST", "/status", json.dumps({"id": cid, "status": status}).encode(), headers
    )
    return code, json.loads(body)


def test_the_page_shows_email_text_problems_and_candidates(
    server: preview.PreviewHTTPServer, project: Config
) -> None:
    code, body = request(server, "GET", "/")
    page = body.decode("utf-8")
    assert code == 200
    assert 'id="frame-desktop"' in page and 'id="frame-phone"' in page
    assert "Tokyo and Washington open talks on shipbuilding" in page  # in the plain text
    assert 'data-id="c0002"' in page and "alliance phrase in title" in page
    code, email = request(server, "GET", "/email.html")
    assert code == 200 and b"Tokyo and Washington open talks on shipbuilding" in email
    code, body = request(server, "GET", "/version")
    assert json.loads(body)["version"] == preview.content_version(
        draft.draft_path(project, ISSUE).read_bytes()
    )


def test_status_buttons_need_the_page_token_and_write_the_draft(
    server: preview.PreviewHTTPServer, project: Config
) -> None:
    assert post_status(server, "c0001", "picked", None)[0] == 403
    assert post_status(server, "c0001", "picked", "wrong")[0] == 403
    code, data = post_status(server, "c0001", "picked", server.preview.token)
    assert code == 200 and data["status"] == "picked"
    current = draft.read_draft(draft.draft_path(project, ISSUE))
    assert current.status(current.by_id()["c0001"]) == "picked"
    assert data["version"] == preview.content_version(current.path.read_bytes())
    code, data = post_status(server, "c0001", "maybe", server.preview.token)
    assert code == 400 and "unknown status" in data["error"]


def test_a_request_body_over_the_cap_or_without_a_length_is_refused_unread(
    server: preview.PreviewHTTPServer,
) -> None:
    host, port = server.server_address[:2]
    headers = {preview.TOKEN_HEADER: server.preview.token}
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        # Announce 400 MB and send only the start: the answer comes at once, unread.
        conn.putrequest("POST", "/status")
        conn.putheader("Content-Length", str(400_000_000))
        conn.putheader(preview.TOKEN_HEADER, server.preview.token)
        conn.endheaders(b"{" + b" " * 1000)
        response = conn.getresponse()
        assert response.status == 413
        assert response.getheader("Connection") == "close"
    finally:
        conn.close()
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.putrequest("POST", "/status")
        conn.putheader("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        assert conn.getresponse().status == 411
    finally:
        conn.close()


def test_preview_refuses_a_port_out_of_range_in_one_line(project: Config) -> None:
    from click.testing import CliRunner

    from digest.cli import main

    result = CliRunner().invoke(
        main, ["preview", "--project", str(project.project_dir), "--port", "99999"]
    )
    assert result.exit_code == 2
    assert "99999 is not in the range 1<=x<=65535" in result.output
    assert "Traceback" not in result.output


def test_requests_for_another_host_name_are_refused(server: preview.PreviewHTTPServer) -> None:
    code, _ = request(server, "GET", "/", headers={"Host": "evil.example.com"})
    assert code == 403


def test_a_broken_save_shows_the_error_over_the_last_good_render(project: Config) -> None:
    path = draft.draft_path(project, ISSUE)
    good = preview.build_state(project, ISSUE, path.read_bytes(), now=NOW)
    assert good.error is None and "shipbuilding" in good.html
    broken = path.read_bytes().replace(b"sources: [c0002]", b"sources: [c0002")
    state = preview.build_state(project, ISSUE, broken, now=NOW, last=good)
    assert state.error is not None and f"{path}:" in state.error
    assert state.html == good.html and state.version != good.version


def visible(frame: object, text: str) -> None:
    # The email repeats headlines in its hidden preheader; wait for the one a reader sees.
    locator = frame.get_by_text(text).filter(visible=True).first  # type: ignore[attr-defined]
    locator.wait_for(timeout=5000)


@pytest.mark.browser
def test_the_page_follows_saves_and_buttons(
    server: preview.PreviewHTTPServer, project: Config, browser: object, artifacts_dir: Path
) -> None:
    path = draft.draft_path(project, ISSUE)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 1100, "height": 1000})
    try:
        page.goto(server.url)
        desktop = page.frame_locator("#frame-desktop")
        visible(desktop, "Tokyo and Washington open talks on shipbuilding")
        # The frames really are 600 and 375 px wide.
        widths = page.evaluate("[...document.querySelectorAll('iframe')].map(f => f.clientWidth)")
        assert widths == [600, 375]
        page.screenshot(path=str(artifacts_dir / "preview-before.png"))

        # The editor saves a new headline in a text editor; the page follows by itself.
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace(
                "Tokyo and Washington open talks on shipbuilding",
                "Japan to repair US warships in its yards",
            ),
            encoding="utf-8",
        )
        saved = time.monotonic()
        visible(desktop, "Japan to repair US warships in its yards")
        visible(page.frame_locator("#frame-phone"), "Japan to repair US warships in its yards")
        followed = time.monotonic() - saved
        page.locator("#plain").get_by_text("Japan to repair US warships").wait_for()

        # A button writes the draft file under the draft's own rules, and the page shows it.
        row = page.locator('tr[data-id="c0003"]')
        row.get_by_role("button", name="Pick").click()
        page.locator('tr[data-id="c0003"] .status.picked').wait_for(timeout=5000)
        current = draft.read_draft(path)
        assert current.status(current.by_id()["c0003"]) == "picked"
        # The picked candidate became a story of its own in the rendered email.
        visible(desktop, "Japan and US hold talks on alliance matter 3")
        page.screenshot(path=str(artifacts_dir / "preview-after-buttons.png"))
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(artifacts_dir / "preview-after.png"))

        # A save that breaks the YAML is shown with its line, over the last good render.
        path.write_text(
            path.read_text(encoding="utf-8").replace("sources: [c0002]", "sources: [c0002"),
            encoding="utf-8",
        )
        page.locator("#error").wait_for(timeout=5000)
        assert f"{path}:" in page.locator("#error").inner_text()
        page.screenshot(path=str(artifacts_dir / "preview-broken.png"))
    finally:
        page.close()
    # Reported, not asserted: the poll interval makes this well under a second.
    print(f"page followed the save in {followed:.2f} s")


def test_a_busy_port_is_one_clear_error(server: preview.PreviewHTTPServer, project: Config) -> None:
    from digest.errors import DigestError

    port = server.server_address[1]
    with pytest.raises(DigestError, match=f"--port {port + 1}"):
        preview.serve_preview(project, ISSUE, port=port)


def test_search_finds_an_unlisted_candidate_and_its_button_takes_it(tmp_path: Path) -> None:
    import re

    from digest import pipeline
    from digest.config import load_config
    from digest.ingest.store import Store, store_path
    from digest.models import Item
    from digest.paths import default_config

    text = default_config().read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  max_candidates: \d+", "  max_candidates: 1", text)
    (tmp_path / "feeds.yaml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path)
    when = datetime(2026, 11, 10, 3, tzinfo=UTC)
    stories = [
        (
            "US-Japan alliance: Hegseth and Nakatani agree on missile co-production",
            "The two defense chiefs signed a plan to build interceptors together.",
        ),
        (
            "US-Japan alliance: Okinawa base relocation talks resume in Tokyo",
            "Negotiators returned to the Futenma question after a year-long pause.",
        ),
    ]
    items = [
        Item(
            id=f"i{n}",
            feed="Kyodo News",
            url=f"https://news.example.com/{n}",
            title=title,
            summary=summary,
            published=when + timedelta(hours=n),
            lang="en",
            kind="wire",
        )
        for n, (title, summary) in enumerate(stories)
    ]
    with Store.open(store_path(config)) as store:
        store.upsert_items(items, when)
    pipeline.run_draft(config, ISSUE, now=NOW)
    assert len(draft.read_draft(draft.draft_path(config, ISSUE)).candidates) == 1
    running = preview.start_in_thread(config, ISSUE, clock=lambda: NOW)
    try:
        code, body = request(running, "GET", "/search?q=us-japan%20alliance")
        results = json.loads(body)["results"]
        assert code == 200 and len(results) == 2
        (found,) = [r for r in results if r["status"] is None]  # the one the draft left out
        listed = {c.id for c in draft.read_draft(draft.draft_path(config, ISSUE)).candidates}
        assert found["id"] not in listed
        code, body = request(running, "GET", "/search?q=futenma")
        okinawa = [r["id"] for r in results if "Okinawa" in r["title"]]
        assert [r["id"] for r in json.loads(body)["results"]] == okinawa
        code, data = post_status(running, found["id"], "picked", running.preview.token)
        assert code == 200, data
    finally:
        running.shutdown()
        running.server_close()
    current = draft.read_draft(draft.draft_path(config, ISSUE))
    taken = current.by_id()[found["id"]]
    assert current.status(taken) == "picked" and not current.program_edited
    assert not current.errors
