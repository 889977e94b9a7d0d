"""Bundled sample feeds for the offline demo and for tests.

The items live as data in `digest/sample_data/*.yaml`, one file per feed: the feed's
identity and format, then its items with an age in hours instead of a date. Writing the
samples turns that data into real feed documents dated relative to `now`, so the two
weeks before any `now` always hold every item::

    sample_data/<slug>.yaml --load_samples--> SampleSpec
        --render (RSS 2.0 | Atom 1.0 | RSS 1.0/RDF, in the feed's encoding)--> bytes
        --write_sample_feeds--> dest/<slug>.{rss,atom,rdf}  (SampleFeed per file)
    dest --serve_directory--> http://127.0.0.1:PORT/  (Content-Type with charset)

Labels for tests, never written into a feed document: every item says whether it is
US-Japan alliance news (`alliance: true/false`, see `load_sample_labels`), and an item that
several outlets carry names the event it reports (`story: <id>`, see `load_sample_stories`),
so filtering and clustering can be scored against the data.

A data file: `feed:` (slug, name, lang en|ja, kind, format rss|atom|rdf, encoding,
html cdata|escaped, dated, utc_offset, title, site, description), then `items:`, each
with hours_ago (2..300), alliance, title, link, and optionally summary (HTML allowed),
category and story.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from xml.sax.saxutils import escape, quoteattr

from ruamel.yaml import YAML

from digest import paths
from digest._util.fs import atomic_write
from digest.errors import DigestError
from digest.models import Lang, SourceKind

FeedFormat = Literal["rss", "atom", "rdf"]
HtmlStyle = Literal["cdata", "escaped"]

# A plain folder beside this module (package data); `digest` may be a namespace package,
# which importlib.resources handles poorly.

# Every item must fall inside the shortest window a draft uses (14 days), with room to spare.
MIN_HOURS_AGO = 2
MAX_HOURS_AGO = 300

EXTENSIONS: dict[FeedFormat, str] = {"rss": ".rss", "atom": ".atom", "rdf": ".rdf"}
MEDIA_TYPES: dict[str, str] = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".xml": "application/xml",
}
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class SampleDataError(DigestError):
    """The bundled sample data is malformed (a bug in the package, not the user's doing)."""


@dataclass(frozen=True)
class SampleItem:
    """One item as written in the data: an age instead of a date, and a test-only label."""

    title: str
    link: str
    hours_ago: float
    alliance: bool
    summary: str | None = None
    category: str | None = None
    story: str | None = None


@dataclass(frozen=True)
class SampleSpec:
    """One sample feed as written in the data: who publishes it, how, and its items."""

    slug: str
    name: str
    lang: Lang
    kind: SourceKind
    format: FeedFormat
    encoding: str
    title: str
    site: str
    description: str
    utc_offset: timedelta
    dated: bool
    html: HtmlStyle
    items: tuple[SampleItem, ...]

    @property
    def filename(self) -> str:
        return self.slug + EXTENSIONS[self.format]

    @property
    def content_type(self) -> str:
        return f"{MEDIA_TYPES[EXTENSIONS[self.format]]}; charset={self.encoding}"


@dataclass(frozen=True)
class SampleFeed:
    """A sample feed document written to disk, ready to be served."""

    name: str
    lang: Lang
    kind: SourceKind
    filename: str
    content_type: str
    path: Path


# ---------------------------------------------------------------------------------------
# Loading the data


@functools.cache
def load_samples() -> tuple[SampleSpec, ...]:
    """Every bundled sample feed, in file-name order (read once; the values are frozen)."""
    files = sorted(paths.sample_data().glob("*.yaml"))
    yaml = YAML(typ="safe", pure=True)
    specs = []
    for entry in files:
        where = f"digest/sample_data/{entry.name}"
        specs.append(_spec(yaml.load(entry.read_text(encoding="utf-8")), where))
    if not specs:
        raise SampleDataError(
            "no sample feeds found; reinstall the package", path=paths.sample_data()
        )
    return tuple(specs)


def load_sample_labels() -> dict[str, bool]:
    """Item link -> whether the item is US-Japan alliance news (for tests only).

    Each link is a key as written in its feed and also with its utm_* parameters removed,
    so a label is found before and after URL normalisation.
    """
    labels: dict[str, bool] = {}
    for spec in load_samples():
        for item in spec.items:
            labels[item.link] = item.alliance
            labels[strip_tracking(item.link)] = item.alliance
    return labels


def load_sample_stories() -> dict[str, str]:
    """Item link -> the id of the event it reports, for items that several outlets carry.

    Items of one id are the same story in other words (often in the other language); items
    without an id are not labelled either way. Keys as in `load_sample_labels`.
    """
    stories: dict[str, str] = {}
    for spec in load_samples():
        for item in spec.items:
            if item.story:
                stories[item.link] = item.story
                stories[strip_tracking(item.link)] = item.story
    return stories


def strip_tracking(url: str) -> str:
    """`url` without utm_* query parameters."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if not k.lower().startswith("utm_")]
    if len(kept) == len(query):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _spec(raw: Any, where: str) -> SampleSpec:
    try:
        feed = raw["feed"]
        items = tuple(_item(entry, f"{where}: item {n}") for n, entry in enumerate(raw["items"], 1))
        spec = SampleSpec(
            slug=str(feed["slug"]),
            name=str(feed["name"]),
            lang=cast(Lang, _one_of(feed["lang"], ("en", "ja"))),
            kind=cast(
                SourceKind,
                _one_of(
                    feed["kind"], ("government", "wire", "press", "think_tank", "blog", "other")
                ),
            ),
            format=cast(FeedFormat, _one_of(feed["format"], ("rss", "atom", "rdf"))),
            encoding=str(feed.get("encoding", "utf-8")),
            title=str(feed["title"]),
            site=str(feed["site"]),
            description=str(feed.get("description", "")),
            utc_offset=_offset(str(feed.get("utc_offset", "+00:00"))),
            dated=bool(feed.get("dated", True)),
            html=cast(HtmlStyle, _one_of(feed.get("html", "escaped"), ("cdata", "escaped"))),
            items=items,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SampleDataError(f"malformed sample feed: {exc}", path=where) from exc
    if not items:
        raise SampleDataError("a sample feed needs items", path=where)
    return spec


def _item(raw: Any, where: str) -> SampleItem:
    hours = float(raw["hours_ago"])
    if not MIN_HOURS_AGO <= hours <= MAX_HOURS_AGO:
        raise SampleDataError(
            f"hours_ago {hours:g} is outside {MIN_HOURS_AGO}..{MAX_HOURS_AGO}; "
            "keep every item inside the two weeks a draft covers",
            path=where,
        )
    link = str(raw["link"])
    if urlsplit(link).scheme not in ("http", "https"):
        raise SampleDataError(f"link {link!r} is not an http(s) URL", path=where)
    return SampleItem(
        title=str(raw["title"]).strip(),
        link=link,
        hours_ago=hours,
        alliance=bool(raw["alliance"]),
        summary=str(raw["summary"]).strip() if raw.get("summary") else None,
        category=str(raw["category"]) if raw.get("category") else None,
        story=str(raw["story"]) if raw.get("story") else None,
    )


def _one_of(value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _offset(text: str) -> timedelta:
    tz = datetime.fromisoformat("2000-01-01T00:00:00" + text).utcoffset()
    if tz is None:
        raise ValueError(f"bad utc_offset {text!r}; write it like +09:00")
    return tz


# ---------------------------------------------------------------------------------------
# Writing feed documents


def write_sample_feeds(dest: Path, *, now: datetime) -> list[SampleFeed]:
    """Write every sample feed into `dest`, items dated relative to `now` (aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in load_samples():
        path = dest / spec.filename
        atomic_write(path, render_feed(spec, now=now))
        written.append(
            SampleFeed(
                name=spec.name,
                lang=spec.lang,
                kind=spec.kind,
                filename=spec.filename,
                content_type=spec.content_type,
                path=path,
            )
        )
    return written


def render_feed(spec: SampleSpec, *, now: datetime) -> bytes:
    """The feed document of `spec` as bytes in the feed's declared encoding."""
    now = now.astimezone(timezone(spec.utc_offset)).replace(microsecond=0)
    # Newest first, as publishers list them, whatever the order in the data.
    newest_first = tuple(sorted(spec.items, key=lambda item: item.hours_ago))
    render = {"rss": _rss, "atom": _atom, "rdf": _rdf}[spec.format]
    text = render(dataclasses.replace(spec, items=newest_first), now)
    try:
        return text.encode(spec.encoding)
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        raise SampleDataError(
            f"{bad!r} cannot be written in {spec.encoding}; replace it in the data",
            path=f"digest/sample_data/{spec.slug}.yaml",
        ) from exc


def _published(item: SampleItem, now: datetime) -> datetime:
    return now - timedelta(hours=item.hours_ago)


def _html(spec: SampleSpec, markup: str) -> str:
    if spec.html == "cdata" and "]]>" not in markup:
        return f"<![CDATA[{markup}]]>"
    return escape(markup)


def _rfc822(moment: datetime) -> str:
    return format_datetime(moment.replace(microsecond=0))


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def _declaration(spec: SampleSpec) -> str:
    return f'<?xml version="1.0" encoding="{spec.encoding}"?>\n'


def _rss(spec: SampleSpec, now: datetime) -> str:
    language = {"en": "en-us", "ja": "ja"}[spec.lang]
    out = [
        _declaration(spec),
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n',
        f"  <title>{escape(spec.title)}</title>\n",
        f"  <link>{escape(spec.site)}</link>\n",
        f"  <description>{escape(spec.description)}</description>\n",
        f"  <language>{language}</language>\n",
        f"  <lastBuildDate>{_rfc822(now)}</lastBuildDate>\n",
        "  <ttl>30</ttl>\n",
    ]
    for item in spec.items:
        out.append("  <item>\n")
        out.append(f"    <title>{escape(item.title)}</title>\n")
        out.append(f"    <link>{escape(item.link)}</link>\n")
        out.append(f'    <guid isPermaLink="false">{escape(_guid(spec, item))}</guid>\n')
        if item.summary:
            out.append(f"    <description>{_html(spec, item.summary)}</description>\n")
        if item.category:
            out.append(f"    <category>{escape(item.category)}</category>\n")
        if spec.dated:
            out.append(f"    <pubDate>{_rfc822(_published(item, now))}</pubDate>\n")
        out.append("  </item>\n")
    out.append("</channel>\n</rss>\n")
    return "".join(out)


def _atom(spec: SampleSpec, now: datetime) -> str:
    out = [
        _declaration(spec),
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{spec.lang}">\n',
        f"  <title>{escape(spec.title)}</title>\n",
        f"  <subtitle>{escape(spec.description)}</subtitle>\n",
        f'  <link rel="alternate" type="text/html" href={quoteattr(spec.site)}/>\n',
        f"  <id>{escape(spec.site)}</id>\n",
        f"  <updated>{_iso(now)}</updated>\n",
        f"  <author><name>{escape(spec.name)}</name></author>\n",
    ]
    for item in spec.items:
        out.append("  <entry>\n")
        out.append(f'    <title type="text">{escape(item.title)}</title>\n')
        out.append(f'    <link rel="alternate" type="text/html" href={quoteattr(item.link)}/>\n')
        out.append(f"    <id>{escape(_guid(spec, item))}</id>\n")
        # Atom requires <updated>; an undated Atom feed is not a thing, so it is always written.
        moment = _iso(_published(item, now))
        out.append(f"    <published>{moment}</published>\n    <updated>{moment}</updated>\n")
        if item.category:
            out.append(f"    <category term={quoteattr(item.category)}/>\n")
        if item.summary:
            out.append(f'    <summary type="html">{escape(item.summary)}</summary>\n')
        out.append("  </entry>\n")
    out.append("</feed>\n")
    return "".join(out)


def _rdf(spec: SampleSpec, now: datetime) -> str:
    out = [
        _declaration(spec),
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"\n'
        '         xmlns="http://purl.org/rss/1.0/"\n'
        '         xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        f'         xml:lang="{spec.lang}">\n',
        f"  <channel rdf:about={quoteattr(spec.site)}>\n",
        f"    <title>{escape(spec.title)}</title>\n",
        f"    <link>{escape(spec.site)}</link>\n",
        f"    <description>{escape(spec.description)}</description>\n",
        f"    <dc:language>{spec.lang}</dc:language>\n",
        f"    <dc:date>{_iso(now)}</dc:date>\n",
        "    <items>\n      <rdf:Seq>\n",
    ]
    out.extend(f"        <rdf:li rdf:resource={quoteattr(item.link)}/>\n" for item in spec.items)
    out.append("      </rdf:Seq>\n    </items>\n  </channel>\n")
    for item in spec.items:
        out.append(f"  <item rdf:about={quoteattr(item.link)}>\n")
        out.append(f"    <title>{escape(item.title)}</title>\n")
        out.append(f"    <link>{escape(item.link)}</link>\n")
        if item.summary:
            out.append(f"    <description>{escape(item.summary)}</description>\n")
        if item.category:
            out.append(f"    <dc:subject>{escape(item.category)}</dc:subject>\n")
        if spec.dated:
            out.append(f"    <dc:date>{_iso(_published(item, now))}</dc:date>\n")
        out.append("  </item>\n")
    out.append("</rdf:RDF>\n")
    return "".join(out)


def _guid(spec: SampleSpec, item: SampleItem) -> str:
    # A stable id that is not the link, as many publishers do; independent of tracking params.
    host = urlsplit(spec.site).hostname or spec.slug
    path = urlsplit(item.link).path.strip("/").replace("/", ":")
    return f"tag:{host},2020:{path}"


# ---------------------------------------------------------------------------------------
# Serving and configuring


def sample_feeds_yaml(feeds: Sequence[SampleFeed], base_url: str) -> str:
    """The `feeds:` section of a demo project's feeds.yaml, pointing at `base_url`."""
    lines = ["feeds:"]
    for feed in feeds:
        url = urljoin(base_url if base_url.endswith("/") else base_url + "/", feed.filename)
        lines += [
            f"  - name: {json.dumps(feed.name, ensure_ascii=False)}",
            f"    url: {json.dumps(url)}",
            f"    lang: {feed.lang}",
            f"    kind: {feed.kind}",
        ]
    return "\n".join(lines) + "\n"


def content_type_for(path: Path) -> str:
    """A feed file's media type by suffix, with the charset its XML declaration names."""
    media = MEDIA_TYPES.get(path.suffix.lower())
    if media is None:
        return SimpleHTTPRequestHandler.extensions_map.get(
            path.suffix.lower(), "application/octet-stream"
        )
    head = b""
    # http.server asks for the type before it finds out the file is missing (then a 404).
    with contextlib.suppress(OSError), path.open("rb") as handle:
        head = handle.read(200)
    match = _XML_ENCODING.match(head)
    charset = match.group(1).decode("ascii") if match else "utf-8"
    return f"{media}; charset={charset}"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    # A fetcher opens dozens of connections at once; the default backlog of 5 drops some.
    request_queue_size = 128


class _FeedHandler(SimpleHTTPRequestHandler):
    def __init__(
        self, *args: Any, root: Path, content_types: Mapping[str, str] | None, **kwargs: Any
    ) -> None:
        self._root = root
        self._content_types = content_types
        super().__init__(*args, directory=str(root), **kwargs)

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        file = Path(path)
        if self._content_types is not None:
            with contextlib.suppress(ValueError):
                relative = file.resolve().relative_to(self._root).as_posix()
                if relative in self._content_types:
                    return self._content_types[relative]
        return content_type_for(file)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_directory(root: Path, content_types: Mapping[str, str] | None = None) -> Iterator[str]:
    """Serve `root` over HTTP on 127.0.0.1 (a free port) until the block ends.

    Yields the base URL, e.g. "http://127.0.0.1:40123/". `content_types` maps a file's path
    relative to `root` ("tokyo-ledger.rss") to its Content-Type; other files get one by
    suffix, with the charset their XML declaration names.
    """
    root = Path(root).resolve()
    handler = functools.partial(_FeedHandler, root=root, content_types=content_types)
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        # A short poll interval makes shutdown prompt; the cost is a few idle wake-ups.
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="sample-feeds",
        daemon=True,
    )
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
