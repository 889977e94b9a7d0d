"""One look at a URL, storing nothing: for `digest feeds add` and `digest feeds check`.

URL --Fetcher (same limits as a run)--> body --parse_feed--> Probe: items, newest item,
                                                             the interval polling would pick
    a web page instead --discovery--> the feeds it announces (for `feeds add` to follow)
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from digest.config import Config
from digest.ingest import polling
from digest.ingest.discovery import Announced, discover_feeds, looks_like_html
from digest.ingest.fetch import Fetcher, make_clients, poll_bounds, user_agent
from digest.ingest.parse import parse_feed, plain_text
from digest.models import FeedSource, Validators


@dataclass(frozen=True)
class Probe:
    """What one fetch of one URL showed."""

    source: FeedSource
    status: int | None = None
    error: str | None = None
    items: int = 0
    newest: datetime | None = None
    poll_every: timedelta | None = None
    title: str = ""
    announced: tuple[Announced, ...] = ()  # the URL was a web page linking to these feeds

    @property
    def ok(self) -> bool:
        return self.error is None and self.items > 0


def probe_feeds(config: Config, sources: Sequence[FeedSource], *, now: datetime) -> list[Probe]:
    """Fetch each source once (no validators, no backoff), in parallel; never raises."""
    return asyncio.run(_probe_all(config, sources, now))


async def _probe_all(config: Config, sources: Sequence[FeedSource], now: datetime) -> list[Probe]:
    agent = user_agent(config)
    clients = make_clients(config.fetch, agent, shards=1)
    fetcher = Fetcher(config.fetch, agent, clients)
    try:
        return list(await asyncio.gather(*(_probe(fetcher, config, s, now) for s in sources)))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)


async def _probe(fetcher: Fetcher, config: Config, source: FeedSource, now: datetime) -> Probe:
    attempt = await fetcher.fetch(source, Validators())
    fetched = attempt.fetched
    if not fetched.ok or fetched.body is None:
        return Probe(source, status=fetched.status, error=fetched.error or "no answer")
    body = fetched.body
    if looks_like_html(body, fetched.content_type):
        page = body.decode("utf-8", errors="replace")
        found = tuple(discover_feeds(page, fetched.final_url or source.url))
        error = None if found else "a web page that announces no RSS or Atom feed"
        return Probe(source, status=fetched.status, error=error, announced=found)
    parsed = parse_feed(source, body, fetched.content_type, fetched.final_url, now=now)
    if not parsed.items:
        return Probe(source, status=fetched.status, error=parsed.problem or "a feed with no items")
    times = [item.published for item in parsed.items if item.dated]
    interval = polling.poll_interval(times, poll_bounds(config.fetch), max_age_s=fetched.max_age_s)
    return Probe(
        source,
        status=fetched.status,
        items=len(parsed.items),
        newest=max(times) if times else None,
        poll_every=interval,
        title=_feed_title(body),
    )


def _feed_title(body: bytes) -> str:
    """The feed's own title, for naming a feed added without --name."""
    match = re.search(rb"<title[^>]*>(.*?)</title>", body[:20000], re.DOTALL | re.IGNORECASE)
    if not match:
        return ""
    raw = match.group(1).decode("utf-8", errors="replace")
    raw = raw.replace("<![CDATA[", "").replace("]]>", "")
    return plain_text(raw, limit=120)
