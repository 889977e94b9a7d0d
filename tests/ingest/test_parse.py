"""Parsing: bytes + Content-Type -> normalised items. No network here; see test_fetch*.py."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from digest._util.urls import canonical_url
from digest.ingest.parse import item_lang, parse_feed, plain_text, to_utf8
from digest.models import FeedSource

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
EN = FeedSource("Wire", "https://wire.example/rss", lang="en", kind="wire")
JA = FeedSource("新聞", "https://shinbun.example/rss", lang="ja")
HEADLINE = "日米同盟の強化で合意 首相「抑止力を高める」"


def rss(items: str, *, decl: str | None = "utf-8") -> str:
    head = f'<?xml version="1.0" encoding="{decl}"?>\n' if decl else ""
    return f'{head}<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'


def one(title: str, link: str = "https://a.example/1", extra: str = "") -> str:
    return f"<item><title>{title}</title><link>{link}</link>{extra}</item>"


def google_article_id(url: str) -> str:
    """A Google News article id of the older kind: base64 protobuf carrying the URL."""
    raw = b'\x08\x13"' + bytes([len(url)]) + url.encode() + b"\xd2\x01\x00"
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


GOOGLE_ID = google_article_id(
    "https://www.japantimes.co.jp/news/2026/11/20/japan/politics/alliance/?utm_source=gn"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "https://Example.COM/a/b?utm_source=rss&utm_medium=feed&id=7#top",
            "https://example.com/a/b?id=7",
        ),
        ("HTTP://example.com:80", "http://example.com/"),
        ("https://example.com:443/x?fbclid=abc&gclid=def", "https://example.com/x"),
        (
            "http://www.asahi.com/articles/ASR9.html?ref=rss",
            "http://www.asahi.com/articles/ASR9.html",
        ),
        (
            "https://www.nytimes.com/2020/x.html?emc=rss&partner=rss",
            "https://www.nytimes.com/2020/x.html",
        ),
        (
            "https://news.yahoo.co.jp/pickup/6433776?source=rss",
            "https://news.yahoo.co.jp/pickup/6433776",
        ),
        ("https://example.com/search?ref=homepage", "https://example.com/search?ref=homepage"),
        ("https://example.com/p?b=2&a=1", "https://example.com/p?b=2&a=1"),
        (
            "https://news.google.com/rss/articles/CBM?url=https%3A%2F%2Fwww.mofa.go.jp%2Fp%3Fid%3D1"
            "%26utm_source%3Dgn&hl=en",
            "https://www.mofa.go.jp/p?id=1",
        ),
        (
            "https://www.google.com/url?rct=j&sa=t&url=https://www.nikkei.com/article/X/&ct=ga",
            "https://www.nikkei.com/article/X/",
        ),
        (
            "https://news.google.com/rss/articles/CBMiWmh0dHBz?oc=5",
            "https://news.google.com/rss/articles/CBMiWmh0dHBz?oc=5",
        ),
        (
            f"https://news.google.com/rss/articles/{GOOGLE_ID}?oc=5",
            "https://www.japantimes.co.jp/news/2026/11/20/japan/politics/alliance/",
        ),
        (
            "https://news.google.com/rss/articles/CBMiqgFBVV95cUxOWDVsc2dMdEVnUmRGdXdiTmdDaGx4dFk0?oc=5",
            "https://news.google.com/rss/articles/CBMiqgFBVV95cUxOWDVsc2dMdEVnUmRGdXdiTmdDaGx4dFk0?oc=5",
        ),
        (
            "http://www.reuters.com/article/us-x/y-idUSKBN1FJ23Z?feedType=RSS&feedName=worldNews",
            "http://www.reuters.com/article/us-x/y-idUSKBN1FJ23Z",
        ),
        (
            "https://www.bbc.co.uk/news/world-1?at_medium=RSS&ns_source=x&ns_mchannel=rss",
            "https://www.bbc.co.uk/news/world-1",
        ),
        ("mailto:desk@example.com", "mailto:desk@example.com"),
    ],
)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected
    assert canonical_url(canonical_url(raw)) == canonical_url(raw)  # idempotent


def test_plain_text_strips_tags_decodes_entities_and_collapses_space() -> None:
    markup = (
        "<p>Allies&nbsp;meet<br/>in <b>Tokyo</b> &amp; Washington &#8212; </p>\n\n"
        "<script>x()</script>"
    )
    assert plain_text(markup) == "Allies meet in Tokyo & Washington —"
    assert plain_text("It&amp;#39;s double-escaped") == "It's double-escaped"
    assert plain_text("a < b and c > d") == "a < b and c > d"
    assert plain_text("x" * 50, limit=10) == "x" * 9 + "…"


def test_items_are_normalised() -> None:
    doc = rss(
        one(
            "  <![CDATA[ Japan &amp; US   agree ]]> ",
            "https://Wire.example/story?utm_campaign=x#frag",
            "<guid>https://wire.example/story</guid>"
            "<description>&lt;p&gt;Leaders &lt;b&gt;met&lt;/b&gt;.&lt;/p&gt;</description>"
            "<pubDate>Tue, 24 Nov 2026 09:30:00 +0900</pubDate>",
        )
    )
    (item,) = parse_feed(EN, doc.encode(), "application/rss+xml", EN.url, now=NOW).items
    assert item.title == "Japan & US agree"
    assert item.summary == "Leaders met."
    assert item.url == "https://wire.example/story"
    assert item.published == datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
    assert item.dated and item.lang == "en" and item.kind == "wire" and item.feed == "Wire"
    assert item.outlets == ("Wire",)


def test_google_news_items_name_the_article_not_the_aggregator() -> None:
    doc = rss(
        one(
            "Japan, US agree to upgrade command ties - The Japan Times",
            f"https://news.google.com/rss/articles/{GOOGLE_ID}?oc=5",
            f"<guid isPermaLink='false'>{GOOGLE_ID}</guid>"
            "<description>&lt;a href='https://news.google.com/rss/articles/x'&gt;Japan, US"
            " agree to upgrade command ties&lt;/a&gt;&amp;nbsp;&amp;nbsp;&lt;font "
            "color='#6f6f6f'&gt;The Japan Times&lt;/font&gt;</description>"
            "<source url='https://www.japantimes.co.jp'>The Japan Times</source>",
        )
        + one(
            "Allies - a reply - Some Blog",
            "https://blog.example/a",
            "<description>Allies - a reply, and why it matters</description>",
        )
    )
    gn, other = parse_feed(EN, doc.encode(), None, None, now=NOW).items
    assert gn.url == "https://www.japantimes.co.jp/news/2026/11/20/japan/politics/alliance/"
    assert gn.title == "Japan, US agree to upgrade command ties"
    assert gn.summary == ""  # it only repeated the headline and the outlet
    # Without a <source> element nothing is cut from the title or the summary.
    assert other.title == "Allies - a reply - Some Blog"
    assert other.summary == "Allies - a reply, and why it matters"


def test_dates_fall_back_to_updated_then_first_seen() -> None:
    doc = (
        "<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>"
        "<entry><title>Updated only</title><link href='https://a.example/u'/>"
        "<id>tag:a,2026:u</id><updated>2026-11-20T10:00:00Z</updated></entry>"
        "<entry><title>No date</title><link href='https://a.example/n'/>"
        "<id>tag:a,2026:n</id></entry></feed>"
    )
    updated, undated = parse_feed(EN, doc.encode(), "application/atom+xml", None, now=NOW).items
    assert updated.published == datetime(2026, 11, 20, 10, tzinfo=UTC) and updated.dated
    assert undated.published == NOW and not undated.dated


def test_far_future_dates_are_clamped_to_first_seen() -> None:
    doc = rss(one("From the future", extra="<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate>"))
    (item,) = parse_feed(EN, doc.encode(), None, None, now=NOW).items
    assert item.published == NOW


def test_ids_use_stable_guids_else_the_canonical_url() -> None:
    guids = rss(
        one("A", "https://a.example/1?utm_source=x", "<guid isPermaLink='false'>42</guid>")
        + one("B", "https://a.example/2", "<guid>tag:a.example,2026:2</guid>")
    )
    first, second = parse_feed(EN, guids.encode(), None, None, now=NOW).items
    assert first.id == "Wire#42"  # a bare GUID names the item only within its feed
    assert second.id == "tag:a.example,2026:2"
    # Repeated GUIDs are not stable: every item falls back to its URL.
    repeated = rss(
        one("A", "https://a.example/1", "<guid>same</guid>")
        + one("B", "https://a.example/2", "<guid>same</guid>")
    )
    ids = [i.id for i in parse_feed(EN, repeated.encode(), None, None, now=NOW).items]
    assert ids == ["https://a.example/1", "https://a.example/2"]


def test_feedburner_original_link_wins() -> None:
    doc = (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"><channel><title>t</title>'
        "<item><title>X</title><link>http://feeds.example/~r/x/~3/abc/</link>"
        "<feedburner:origLink>https://www.example.com/real?utm_source=feedburner"
        "</feedburner:origLink></item></channel></rss>"
    )
    (item,) = parse_feed(EN, doc.encode(), None, None, now=NOW).items
    assert item.url == "https://www.example.com/real"


@pytest.mark.parametrize("encoding", ["shift_jis", "cp932", "euc-jp", "iso-2022-jp"])
@pytest.mark.parametrize(
    ("declare", "header"),
    [
        (True, "charset"),  # both say it
        (True, None),  # only the XML declaration
        (False, "charset"),  # only the HTTP header
        (True, "text/xml"),  # bare text/xml, which RFC 3023 reads as ASCII
        (True, "wrong"),  # the server claims ISO-8859-1
        (False, None),  # nobody says anything
    ],
)
def test_japanese_encodings_come_out_right(
    encoding: str, declare: bool, header: str | None
) -> None:
    body = rss(
        one(HEADLINE, extra=f"<description>{HEADLINE}。詳細</description>"),
        decl=encoding if declare else None,
    ).encode(encoding)
    content_type = {
        "charset": f"application/rss+xml; charset={encoding}",
        "text/xml": "text/xml",
        "wrong": "text/xml; charset=ISO-8859-1",
        None: None,
    }[header]
    parsed = parse_feed(JA, body, content_type, JA.url, now=NOW)
    (item,) = parsed.items
    assert item.title == HEADLINE
    assert item.summary == f"{HEADLINE}。詳細"
    assert item.lang == "ja"


def test_utf8_and_latin1_are_left_alone() -> None:
    body = rss(one("Café talks — Kishida"), decl="iso-8859-1").encode("latin-1", "replace")
    (item,) = parse_feed(EN, body, "application/xml; charset=iso-8859-1", None, now=NOW).items
    assert item.title == "Café talks ? Kishida"
    assert to_utf8(b"\xef\xbb\xbf<rss/>", None) is None  # BOMs are feedparser's business


def test_language_follows_the_script() -> None:
    assert item_lang(EN, "首相が訪米へ") == "ja"
    assert item_lang(JA, "Japan Times: PM visits US") == "en"
    assert item_lang(JA, "防衛費増額") == "ja"


def test_malformed_feed_yields_recovered_items_and_the_reason() -> None:
    doc = rss(one("Good one", "https://a.example/1") + one("Second", "https://a.example/2"))
    broken = doc.replace("</channel></rss>", "<item><title>cut off & unescaped").encode()
    parsed = parse_feed(EN, broken, "application/rss+xml", None, now=NOW)
    assert [i.title for i in parsed.items][:2] == ["Good one", "Second"]
    assert parsed.problem is not None and "malformed" in parsed.problem


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"<html><body>Not a feed</body>",
        b"<?xml version='1.0' encoding='bogus-enc'?><rss><channel>",
    ],
)
def test_garbage_never_raises(body: bytes) -> None:
    parsed = parse_feed(EN, body, "text/html", None, now=NOW)
    assert parsed.items == ()
    assert parsed.problem


def test_items_without_title_take_the_summary_and_without_link_are_dropped() -> None:
    doc = rss(
        "<item><link>https://a.example/x</link><description>Only a summary here"
        "</description></item><item><title>No link at all</title></item>"
    )
    (item,) = parse_feed(EN, doc.encode(), None, None, now=NOW).items
    assert item.title == "Only a summary here"


def test_duplicate_entries_within_a_feed_are_kept_once() -> None:
    doc = rss(one("Same", "https://a.example/1") + one("Same again", "https://a.example/1?utm_x=1"))
    items = parse_feed(EN, doc.encode(), None, None, now=NOW + timedelta(0)).items
    assert [i.url for i in items] == ["https://a.example/1"]


def test_undeclared_latin1_is_not_mistaken_for_shift_jis() -> None:
    # Capitals À-ß are bytes C0-DF, which cp932 reads as half-width katakana.
    body = rss(one("ÄRGER IN DÜSSELDORF: STRAßE GESPERRT"), decl=None).encode("latin-1")
    (item,) = parse_feed(EN, body, None, None, now=NOW).items
    assert item.title == "ÄRGER IN DÜSSELDORF: STRAßE GESPERRT"
