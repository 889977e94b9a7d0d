"""OPML 2.0 <-> feeds: the list every feed reader imports and exports.

    feeds --to_opml--> <opml version="2.0"> with one <outline type="rss"> per feed:
                       text/title = name, xmlUrl = URL, language = lang, category = kind,
                       isComment="true" for a disabled feed
    OPML  --from_opml--> FeedSource per outline with an xmlUrl (folders are walked; a
                       folder's name stands in for a missing category)

Pure: bytes in, bytes out. A document with a DOCTYPE is refused (entity expansion).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import get_args

from digest._util.text import detect_lang, one_line
from digest._util.urls import is_web_url
from digest.errors import ConfigError
from digest.models import FeedSource, Lang, SourceKind

KINDS: tuple[str, ...] = get_args(SourceKind)


def to_opml(feeds: Sequence[FeedSource], *, title: str, now: datetime) -> bytes:
    """The feeds as an OPML 2.0 document (UTF-8)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        outline = ET.SubElement(
            body,
            "outline",
            type="rss",
            text=feed.name,
            title=feed.name,
            xmlUrl=feed.url,
            language=feed.lang,
            category=feed.kind,
        )
        if not feed.enabled:
            outline.set("isComment", "true")
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="unicode").encode("utf-8")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + document + b"\n"


def from_opml(data: bytes, *, source: str = "OPML file") -> list[FeedSource]:
    """Every feed outline of an OPML document, in document order; ConfigError if unreadable."""
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ConfigError("has a DOCTYPE or entities, which an OPML file never needs", path=source)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise ConfigError(f"is not valid OPML/XML ({exc})", path=source, line=line) from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError("is not an OPML document (no <opml><body>)", path=source)
    return [feed for feed in _outlines(body, folder="")]


def _outlines(parent: ET.Element, folder: str) -> Iterator[FeedSource]:
    for outline in parent.findall("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        name = one_line(outline.get("title") or outline.get("text") or "")
        if not url:  # a folder
            yield from _outlines(outline, folder=name or folder)
            continue
        if not is_web_url(url):
            continue  # only http(s) feeds are fetched
        yield FeedSource(
            name=name or url,
            url=url,
            lang=_lang(outline.get("language"), name),
            kind=_kind(outline.get("category"), folder),
            enabled=outline.get("isComment", "").lower() != "true",
        )


def _lang(value: str | None, name: str) -> Lang:
    code = (value or "").strip().lower()
    if code.startswith("ja"):
        return "ja"
    if code.startswith("en"):
        return "en"
    return detect_lang(name)


def _kind(category: str | None, folder: str) -> SourceKind:
    """A kind named by the category (any of its comma-separated paths) or the folder."""
    words = [part.strip().lower().replace(" ", "_") for part in (category or "").split(",")]
    words = [w.rsplit("/", 1)[-1] for w in words] + [folder.strip().lower().replace(" ", "_")]
    for word in words:
        if word in KINDS:
            return word  # type: ignore[return-value]
    return "press"
