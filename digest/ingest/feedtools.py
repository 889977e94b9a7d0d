"""`digest feeds add` and `digest feeds import`: new entries for feeds.yaml, checked first.

add     URL --probe--> a feed: use it | a web page: probe the first feed it announces
        --> a unique name, the language --feedsfile.append_feeds--> feeds.yaml
import  OPML --opml.from_opml--> feeds not yet listed (by URL) --append_feeds--> feeds.yaml
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import cast

from digest._util.text import detect_lang, one_line
from digest._util.urls import host_name, is_web_url
from digest.config import Config
from digest.errors import DigestError, UsageError
from digest.ingest.feedsfile import append_feeds
from digest.ingest.opml import from_opml
from digest.ingest.probe import Probe, probe_feeds
from digest.models import FeedSource, Lang, SourceKind


def add_feed(
    config: Config,
    url: str,
    *,
    name: str | None,
    lang: str | None,
    kind: str,
    now: datetime,
) -> str:
    """Fetch `url` once, follow a page to its feed, append the feed; a line saying what."""
    url = url.strip()
    if not is_web_url(url):
        raise UsageError(f"{url!r} is not an http(s) URL; give the feed's or the page's address")
    _refuse_known(config, url)
    probe = _probe(config, FeedSource(name=name or url, url=url, kind=_kind(kind)), now)
    if probe.announced:
        feed_url = probe.announced[0].url
        _refuse_known(config, feed_url)
        probe = _probe(config, replace(probe.source, url=feed_url), now)
    if not probe.ok:
        raise DigestError(f"not added: {probe.error}", url=probe.source.url)
    title = one_line(name) or probe.title or host_name(probe.source.url)
    source = FeedSource(
        name=_unique(config, title),
        url=probe.source.url,
        lang=cast(Lang, lang) if lang else detect_lang(title),
        kind=_kind(kind),
    )
    newest = probe.newest.strftime("%Y-%m-%d") if probe.newest else "undated"
    note = f"added {now:%Y-%m-%d}: {probe.items} items, newest {newest} (digest feeds add)"
    append_feeds(config.path, [source], [note])
    every = _minutes(probe)
    via = f" (announced by {url})" if source.url != url else ""
    return (
        f"added {source.name!r} ({source.url}){via}: {probe.items} item(s), newest {newest}; "
        f"polled every {every}"
    )


def import_opml(config: Config, path: Path, *, now: datetime) -> str:
    """Append every feed of an OPML file whose URL feeds.yaml does not list yet."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DigestError(f"cannot read it ({exc.strerror})", path=path) from None
    incoming = from_opml(data, source=str(path))
    known_urls = {f.url for f in config.feeds}
    names = {f.name for f in config.feeds}
    new: list[FeedSource] = []
    for feed in incoming:
        if feed.url in known_urls:
            continue
        unique = _unique_among(names, feed.name)
        names.add(unique)
        known_urls.add(feed.url)
        new.append(replace(feed, name=unique))
    if new:
        note = f"imported {now:%Y-%m-%d} from {path.name}; not yet fetched"
        append_feeds(config.path, new, [note] * len(new))
    skipped = len(incoming) - len(new)
    return (
        f"imported {len(new)} feed(s) from {path}"
        + (f"; {skipped} already listed" if skipped else "")
        + ("; run `digest feeds check` to see them answer" if new else "")
    )


def _probe(config: Config, source: FeedSource, now: datetime) -> Probe:
    return probe_feeds(config, [source], now=now)[0]


def _refuse_known(config: Config, url: str) -> None:
    for feed in config.feeds:
        if feed.url == url:
            raise DigestError(f"already in feeds.yaml as {feed.name!r}; nothing added", url=url)


def _unique(config: Config, name: str) -> str:
    return _unique_among({f.name for f in config.feeds}, name)


def _unique_among(names: set[str], name: str) -> str:
    candidate, n = name, 2
    while candidate in names:
        candidate, n = f"{name} ({n})", n + 1
    return candidate


def _kind(value: str) -> SourceKind:
    return cast(SourceKind, value)


def _minutes(probe: Probe) -> str:
    if probe.poll_every is None:
        return "-"
    minutes = round(probe.poll_every.total_seconds() / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"
