"""Feed bytes -> normalised items. Pure: no network, no clock (`now` is passed in).

    body + Content-Type --feedparser--> entries --normalise--> Item(plain text, canonical
    URL, UTC time, language, stable id)

feedparser gets the response's Content-Type so its charset counts (Shift_JIS, EUC-JP and
ISO-2022-JP feeds), with HTML sanitising and relative-URI rewriting turned off: they are
about 60% of its cost and every item ends as plain text anyway. A malformed document
yields whatever feedparser recovered plus the reason; `parse_feed` never raises.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import html
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from digest._util.text import detect_lang
from digest._util.urls import canonical_url, is_web_url
from digest.models import FeedSource, Item, Lang, Parsed

SUMMARY_CHARS = 2000
TITLE_CHARS = 500
# A feed's clock may run a little fast; beyond this a date is wrong and first-seen wins.
FUTURE_SLACK = timedelta(days=1)
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)

# Query parameters that only track the reader, whatever their value.
_TAG = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1\s*>|</?[a-zA-Z][^<>]*>", re.DOTALL)
_BLOCK_TAG = re.compile(r"<(br|/p|/div|/li|/h\d)\b[^>]*>", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Full-width kana only: Latin-1 letters such as Ä decode as half-width katakana in cp932.
_KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30fa]")


def parse_feed(
    source: FeedSource,
    body: bytes,
    content_type: str | None,
    url: str | None,
    *,
    now: datetime,
) -> Parsed:
    """Parse one feed document into normalised items; never raises."""
    try:
        result = _feedparser(body, content_type, url, source.lang)
    except Exception as exc:  # feedparser should not raise, but one feed must not sink the run
        return Parsed(source=source, items=(), problem=f"unparseable feed: {exc!r}")
    try:
        items = tuple(normalise_entries(source, result.get("entries", []), now=now))
    except Exception as exc:
        return Parsed(source=source, items=(), problem=f"could not read the entries: {exc!r}")
    return Parsed(source=source, items=items, problem=_problem(result, items))


def _feedparser(body: bytes, content_type: str | None, url: str | None, lang: str) -> Any:
    headers: dict[str, str] = {}
    utf8 = to_utf8(body, content_type, lang)
    if utf8 is not None:
        body, headers["content-type"] = utf8, "application/xml; charset=utf-8"
    elif content_type:
        headers["content-type"] = content_type
    if url:
        headers["content-location"] = url
    return feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )


# Labels that name a narrower table than what servers really send.
_WIDER_CODEC = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "csshiftjis": "cp932",
    "euc-jp": "euc_jis_2004",
    "eucjp": "euc_jis_2004",
    "x-euc-jp": "euc_jis_2004",
    "iso-2022-jp": "iso2022_jp_ext",
    "csiso2022jp": "iso2022_jp_ext",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}
_JAPANESE_GUESSES = ("cp932", "euc_jis_2004")
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?\?>", re.DOTALL)
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)


def to_utf8(body: bytes, content_type: str | None, lang: str = "en") -> bytes | None:
    """The document re-encoded as UTF-8 with a matching declaration, or None for feedparser.

    Servers often send a charset that contradicts the bytes (Japanese sites especially),
    and feedparser takes a bare text/xml as ASCII, which garbles ISO-2022-JP. Bytes decide:
    valid UTF-8 is UTF-8; else the first declared multi-byte charset that decodes cleanly
    (HTTP header, then the XML declaration); else escape sequences mean ISO-2022-JP; else,
    for a Japanese feed, Shift_JIS or EUC-JP if one decodes cleanly; else the declared or
    default single-byte charset. UTF-16/32 documents are left to feedparser.
    """
    head = body[:4]
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00", b"<\x00")):
        return None
    decl = _XML_DECL.match(body)
    declared = []
    if content_type and (header := _HEADER_CHARSET.search(content_type)):
        declared.append(header.group(1))
    if decl and (inside := _DECL_ENCODING.search(decl.group(0))):
        declared.append(inside.group(1).decode("ascii"))
    text = _decode(body, declared, lang)
    if text is None:
        return None
    # The declaration is ASCII in every charset decoded here; drop it for a UTF-8 one.
    rest = text[_decl_length(text) :] if decl else text.lstrip()
    return b'<?xml version="1.0" encoding="utf-8"?>' + rest.encode("utf-8")


def _decl_length(text: str) -> int:
    end = text.find("?>")
    return end + 2 if end >= 0 else 0


def _decode(body: bytes, declared: list[str], lang: str) -> str | None:
    # ISO-2022-JP is 7-bit, so it would pass for UTF-8: its escape sequences give it away.
    if b"\x1b$" in body and (text := _strict(body, "iso2022_jp_ext")) is not None:
        return text
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    codecs_ = [_codec(label) for label in declared]
    for codec in codecs_:
        if codec and not _single_byte(codec) and (text := _strict(body, codec)) is not None:
            return text
    if lang == "ja" or not any(codecs_):
        for codec in _JAPANESE_GUESSES:
            if (text := _strict(body, codec)) is not None and _KANA.search(text):
                return text
    for codec in [*codecs_, "cp1252"]:
        if codec and (text := _strict(body, codec)) is not None:
            return text
    return None


def _codec(label: str) -> str | None:
    label = label.strip().lower()
    name = _WIDER_CODEC.get(label, label)
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # A UTF-16/32 label on bytes without a BOM or NULs (handled earlier) is a lie.
    return None if codec.startswith(("utf-16", "utf-32")) else codec


def _single_byte(codec: str) -> bool:
    return len("\u00e9\u4e00".encode(codec, errors="replace")) <= 2


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _problem(result: Any, items: tuple[Item, ...]) -> str | None:
    """Why the document was not a clean feed, in words for the editor; None if it was."""
    exc = result.get("bozo_exception") if result.get("bozo") else None
    if not result.get("version") and not items:
        cause = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        return (
            "not a feed: no RSS, Atom or RDF found"
            + cause
            + "; open the URL in a browser and check it in feeds.yaml"
        )
    # A corrected charset or a server calling its feed text/html harms nothing.
    if exc is None or type(exc).__name__ in ("CharacterEncodingOverride", "NonXMLContentType"):
        return None
    where = f" at line {exc.getLineNumber()}" if hasattr(exc, "getLineNumber") else ""
    return f"malformed feed ({type(exc).__name__}{where}: {exc}); kept {len(items)} items"


def normalise_entries(
    source: FeedSource, entries: Iterable[Any], *, now: datetime
) -> Iterable[Item]:
    entries = list(entries)
    guids = [str(e.get("id") or "").strip() for e in entries]
    stable_guids = all(guids) and len(set(guids)) == len(guids)
    seen: set[str] = set()
    for entry, guid in zip(entries, guids, strict=True):
        item = _item(source, entry, guid if stable_guids else "", now=now)
        if item is not None and item.id not in seen:
            seen.add(item.id)
            yield item


def _item(source: FeedSource, entry: Any, guid: str, *, now: datetime) -> Item | None:
    link = _entry_link(entry, guid)
    # Only http(s) links are kept: javascript:, data:, vbscript: ... never reach a page.
    url = canonical_url(link) if link and is_web_url(link) else ""
    title = plain_text(_detail_text(entry, "title"), limit=TITLE_CHARS)
    summary = plain_text(_summary_html(entry), limit=SUMMARY_CHARS)
    title, summary = _without_outlet_echo(title, summary, _source_title(entry))
    if not title:
        title = _first_words(summary)
    if not title or not (url or guid):
        return None
    published, dated = entry_time(entry, now=now)
    ident = item_id(source, guid, url, title)
    return Item(
        id=ident,
        feed=source.name,
        url=url or ident,  # no web link: the id stands in, and no output links it
        title=title,
        summary=summary,
        published=published,
        lang=item_lang(source, title),
        kind=source.kind,
        dated=dated,
        outlets=(source.name,),
    )


def _entry_link(entry: Any, guid: str) -> str:
    # FeedBurner hides the article behind its own redirect; the original is kept aside.
    for key in ("feedburner_origlink", "link"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    for link in entry.get("links") or ():
        href = link.get("href") if isinstance(link, dict) else None
        if href:
            return str(href).strip()
    if re.match(r"^https?://", guid):
        return guid
    return ""


def _source_title(entry: Any) -> str:
    """The outlet an aggregator (Google News, Yahoo) names in the item's <source>."""
    source = entry.get("source")
    title = source.get("title") if isinstance(source, dict) else None
    return plain_text(title) if isinstance(title, str) else ""


def _without_outlet_echo(title: str, summary: str, outlet: str) -> tuple[str, str]:
    """Drop an aggregator's " - Outlet" title suffix, and a summary that only repeats them.

    Google News titles read "Headline - The Japan Times" and its descriptions are the
    headline linked, then the outlet's name: neither adds anything to the item.
    """
    if outlet:
        for dash in (" - ", " – ", " — ", " | "):
            if title.endswith(dash + outlet) and len(title) > len(dash + outlet):
                title = title[: -len(dash + outlet)].rstrip()
                break
    echo = summary.removesuffix(outlet).rstrip(" -–—|") if outlet else summary
    if summary and echo.casefold() in (title.casefold(), f"{title} - {outlet}".casefold()):
        summary = ""
    return title, summary


def _detail_text(entry: Any, key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _summary_html(entry: Any) -> str:
    summary = entry.get("summary")
    if isinstance(summary, str) and summary.strip():
        return summary
    for content in entry.get("content") or ():
        value = content.get("value") if isinstance(content, dict) else None
        if value:
            return str(value)
    return ""


def plain_text(markup: str, *, limit: int | None = None) -> str:
    """HTML or text -> one line of plain text: tags stripped, entities decoded, spaces collapsed."""
    if not markup:
        return ""
    text = _BLOCK_TAG.sub(" ", markup)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    if "&" in text and re.search(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);", text):
        # Double-escaped by the feed (&amp;#39;): decode the second layer too.
        text = _TAG.sub("", html.unescape(text))
    text = _CONTROL.sub("", text).replace("\u00a0", " ").replace("\u3000", " ")
    text = _SPACE.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _first_words(text: str, limit: int = 120) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def entry_time(entry: Any, *, now: datetime) -> tuple[datetime, bool]:
    """The published time in UTC, else updated, else first seen (`now`, undated)."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed is None:
            continue
        try:
            when = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (OverflowError, ValueError, OSError, TypeError):
            continue
        if when < EARLIEST:
            continue
        return (min(when, now) if when > now + FUTURE_SLACK else when), True
    return now.astimezone(UTC).replace(microsecond=0), False


def item_lang(source: FeedSource, title: str) -> Lang:
    """The headline's own language (digest._util.text's rule); the feed's when it has none."""
    return detect_lang(title, default=source.lang)


def item_id(source: FeedSource, guid: str, url: str, title: str) -> str:
    """The GUID if the feed's GUIDs are stable, else the canonical URL.

    A URL-like GUID names the item everywhere; a bare one ("12345") only within its feed.
    """
    if guid:
        if re.match(r"^https?://", guid, re.IGNORECASE):
            return canonical_url(guid)
        if re.match(r"^(urn|tag):", guid, re.IGNORECASE):
            return guid
        return f"{source.name}#{guid}"
    if url:
        return url
    digest = hashlib.sha256(f"{source.name}\n{title}".encode()).hexdigest()[:24]
    return f"{source.name}#{digest}"
