"""A web page -> the feeds it announces: `<link rel="alternate" type="application/rss+xml">`.

Pure: the page's text and its URL in, absolute http(s) feed URLs out, in page order.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

from digest._util.text import one_line
from digest._util.urls import is_web_url

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+xml",
        "application/xml",
        "text/xml",
    }
)


@dataclass(frozen=True)
class Announced:
    """One feed a page links to."""

    url: str
    title: str
    type: str


def discover_feeds(page: str, page_url: str) -> list[Announced]:
    """The feeds a page announces in its <link rel="alternate"> tags."""
    finder = _LinkFinder()
    try:
        finder.feed(page)
        finder.close()
    except AssertionError:  # html.parser gives up on some broken markup: keep what it found
        pass
    base = finder.base or page_url
    found: list[Announced] = []
    seen: set[str] = set()
    for attrs in finder.links:
        rels = (attrs.get("rel") or "").lower().split()
        kind = (attrs.get("type") or "").split(";")[0].strip().lower()
        href = (attrs.get("href") or "").strip()
        if "alternate" not in rels or kind not in FEED_TYPES or not href:
            continue
        url = urljoin(base, href)
        if is_web_url(url) and url not in seen:
            seen.add(url)
            found.append(Announced(url=url, title=one_line(attrs.get("title")), type=kind))
    return found


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """A web page rather than a feed: declared text/html, or starting like one."""
    if content_type and "html" in content_type.lower() and "xml" not in content_type.lower():
        return True
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link":
            self.links.append(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
