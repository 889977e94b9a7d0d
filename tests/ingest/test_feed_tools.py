"""`digest feeds list|add|import|export|check` on a real project, against a local server.

feeds.yaml is edited as text: every byte the editor wrote stays where it was.
"""

from __future__ import annotations

import difflib
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.feedserver import FeedServer, Route, rss_feed

from digest.config import load_config
from digest.ingest.opml import from_opml, to_opml
from digest.models import FeedSource

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

FEEDS_YAML = """\
# The editor's own notes: kept byte for byte.
fetch:
  retries: 0            # no retries in tests
  read_timeout_s: 5

feeds:
  # Wires
  - name: Wire One      # evidence: 2026-09-28, 200 OK
    url: {one}
    lang: en
    kind: wire
  # Think tanks (keep this comment)

# Relevance rules follow.
rules:
  min_score: 3.0
"""


def digest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def site(tmp_path: Path):  # type: ignore[no-untyped-def]
    with FeedServer() as server:
        one = server.add("/one.xml", Route(body=rss_feed("one", 5)))
        server.add("/tank/feed.xml", Route(body=rss_feed("tank", 9)))
        server.add(
            "/tank/",
            Route(
                body=b"<!doctype html><html><head><title>Tank</title>"
                b'<link rel="stylesheet" href="/s.css">'
                b'<link rel="alternate" type="application/rss+xml" title="Tank Analysis"'
                b' href="feed.xml"></head><body>hi</body></html>',
                content_type="text/html; charset=utf-8",
            ),
        )
        server.add(
            "/empty/",
            Route(body=b"<html><head></head></html>", content_type="text/html"),
        )
        (tmp_path / "feeds.yaml").write_text(FEEDS_YAML.format(one=one), encoding="utf-8")
        yield tmp_path, server


def test_feeds_add_from_a_web_page_finds_its_feed_and_keeps_every_comment(site) -> None:  # type: ignore[no-untyped-def]
    root, server = site
    before = (root / "feeds.yaml").read_text(encoding="utf-8")
    added = digest(
        "feeds", "add", server.url("/tank/"), "--kind", "think_tank", "--project", str(root)
    )
    assert added.returncode == 0, added.stderr
    assert server.url("/tank/feed.xml") in added.stdout
    after = (root / "feeds.yaml").read_text(encoding="utf-8")
    # Only new lines: the old ones are all there, in order, and the new entry sits at the
    # end of the feeds list (after its last comment, before the next section's).
    old_lines, new_lines = before.splitlines(), after.splitlines()
    changes = [
        op for op in difflib.SequenceMatcher(None, old_lines, new_lines).get_opcodes()
        if op[0] != "equal"
    ]  # fmt: skip
    assert [(tag, i1, i2) for tag, i1, i2, _, _ in changes] == [("insert", 12, 12)]
    _, _, _, start, end = changes[0]
    assert new_lines[start - 1] == "  # Think tanks (keep this comment)"
    assert new_lines[start].startswith("  # added ") and end - start == 5
    config = load_config(root)
    assert [f.name for f in config.feeds] == ["Wire One", "Feed tank"]
    new = config.feeds[1]
    assert (new.url, new.kind, new.lang) == (server.url("/tank/feed.xml"), "think_tank", "en")
    assert config.rules.min_score == 3.0
    for line in before.splitlines():
        assert line in after.splitlines()


def test_feeds_add_refuses_what_it_cannot_use_and_leaves_the_file_alone(site) -> None:  # type: ignore[no-untyped-def]
    root, server = site
    before = (root / "feeds.yaml").read_bytes()
    page = digest("feeds", "add", server.url("/empty/"), "--project", str(root))
    known = digest("feeds", "add", server.url("/one.xml"), "--project", str(root))
    missing = digest("feeds", "add", server.url("/nothing.xml"), "--project", str(root))
    script = digest("feeds", "add", "javascript:alert(1)", "--project", str(root))
    assert page.returncode == 1 and "announces no RSS or Atom feed" in page.stderr
    assert known.returncode == 1 and "already in feeds.yaml as 'Wire One'" in known.stderr
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr
    assert script.returncode == 2
    for run in (page, known, missing, script):
        assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert (root / "feeds.yaml").read_bytes() == before


def test_feeds_add_a_feed_with_a_name_and_language(site) -> None:  # type: ignore[no-untyped-def]
    root, server = site
    server.add("/ja.xml", Route(body=rss_feed("ja", 4, lang="ja")))
    added = digest(
        "feeds", "add", server.url("/ja.xml"), "--name", "毎日新聞", "--lang", "ja",
        "--project", str(root),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "4 item(s)" in added.stdout
    config = load_config(root)
    assert (config.feeds[-1].name, config.feeds[-1].lang) == ("毎日新聞", "ja")
    text = (root / "feeds.yaml").read_text(encoding="utf-8")
    assert "# added " in text and "4 items, newest 2026-11-20" in text


def test_opml_round_trip_keeps_name_url_language_kind_and_enabled() -> None:
    feeds = [
        FeedSource("Wire & <One>", "https://one.example/feed?a=1&b=2", "en", "wire"),
        FeedSource("毎日新聞", "https://mainichi.example/rss", "ja", "press"),
        FeedSource("Tank", "https://tank.example/feed", "en", "think_tank", enabled=False),
    ]
    document = to_opml(feeds, title="Alliance", now=NOW)
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b'<opml version="2.0">' in document
    assert from_opml(document) == feeds


def test_opml_from_a_feed_reader_with_folders_and_no_kinds() -> None:
    document = textwrap.dedent("""\
        <?xml version="1.0"?>
        <opml version="1.0"><head><title>Reader export</title></head><body>
          <outline text="Think Tank">
            <outline text="War on the Rocks" type="rss" xmlUrl="https://warontherocks.com/feed/"/>
          </outline>
          <outline text="朝日新聞" type="rss" xmlUrl="https://www.asahi.com/rss/asahi/newsheadlines.rdf"/>
          <outline text="Bad" type="rss" xmlUrl="javascript:alert(1)"/>
        </body></opml>
        """).encode()
    feeds = from_opml(document)
    assert [(f.name, f.kind, f.lang) for f in feeds] == [
        ("War on the Rocks", "think_tank", "en"),
        ("朝日新聞", "press", "ja"),
    ]


def test_opml_with_entities_is_refused() -> None:
    from digest.errors import ConfigError

    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>'
    with pytest.raises(ConfigError, match="DOCTYPE"):
        from_opml(bomb)


def test_export_then_import_into_another_project(site, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    root, _ = site
    out = root / "feeds.opml"
    exported = digest("feeds", "export", str(out), "--project", str(root))
    assert exported.returncode == 0, exported.stderr
    shown = digest("feeds", "export", "--project", str(root)).stdout

    def undated(text: str) -> list[str]:
        return [line for line in text.splitlines() if "dateCreated" not in line]

    assert undated(shown) == undated(out.read_text("utf-8"))
    other = tmp_path_factory.mktemp("other")
    (other / "feeds.yaml").write_text(
        "feeds:\n  - name: Existing\n    url: https://existing.example/feed\n", encoding="utf-8"
    )
    imported = digest("feeds", "import", str(out), "--project", str(other))
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 feed(s)" in imported.stdout
    again = digest("feeds", "import", str(out), "--project", str(other))
    assert "imported 0 feed(s)" in again.stdout and "1 already listed" in again.stdout
    names = [f.name for f in load_config(other).feeds]
    assert names == ["Existing", "Wire One"]
    assert load_config(other).feeds[1].kind == "wire"


def test_feeds_list_and_check(site) -> None:  # type: ignore[no-untyped-def]
    root, server = site
    listed = digest("feeds", "list", "--project", str(root))
    assert (
        listed.returncode == 0
        and "Wire One" in listed.stdout
        and "not fetched yet" in listed.stdout
    )
    checked = digest("feeds", "check", "--project", str(root))
    assert checked.returncode == 0, checked.stderr
    assert "ok      Wire One: HTTP 200, 5 item(s), newest 2026-11-20" in checked.stdout
    assert "would be polled every" in checked.stdout
    assert not (root / "state" / "digest.sqlite").exists()  # check stores nothing
    server.routes["/one.xml"] = Route(status=500)
    failing = digest("feeds", "check", "--project", str(root))
    assert failing.returncode == 1 and "FAILED  Wire One: HTTP 500" in failing.stdout


def test_append_keeps_windows_line_ends_and_refuses_a_flow_style_list(tmp_path: Path) -> None:
    from digest.errors import ConfigError
    from digest.ingest.feedsfile import append_feeds

    new = FeedSource("New", "https://new.example/feed", "en", "press")
    crlf = tmp_path / "feeds.yaml"
    crlf.write_bytes(b"feeds:\r\n  - name: Old\r\n    url: https://old.example/feed\r\n")
    append_feeds(crlf, [new], ["added in a test"])
    data = crlf.read_bytes()
    assert data.startswith(b"feeds:\r\n  - name: Old\r\n") and b"\n" not in data.replace(
        b"\r\n", b""
    )
    assert [f.name for f in load_config(tmp_path).feeds] == ["Old", "New"]

    flow = tmp_path / "flow" / "feeds.yaml"
    flow.parent.mkdir()
    flow.write_text("feeds: [{name: Old, url: 'https://old.example/feed'}]\n", encoding="utf-8")
    before = flow.read_bytes()
    with pytest.raises(ConfigError, match="not a block list"):
        append_feeds(flow, [new], ["added in a test"])
    assert flow.read_bytes() == before
