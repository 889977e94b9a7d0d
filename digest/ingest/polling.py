"""When to fetch each feed next: pure decisions, with the clock passed in.

    the items a fetch showed --poll_interval--> fetch again before the oldest could scroll off
    Cache-Control: max-age  --------------------> never sooner than the server's cache lifetime
    failures, Retry-After   --backoff_until-----> 1, 2, 4 ... 24 h; never before Retry-After
    last newest vs oldest now --possible_gap----> items probably scrolled off unseen

A feed holds its latest N items. If they arrive every `spacing` (the median gap between
consecutive items), the oldest one scrolls off after about N * spacing: the next fetch
comes at half that (a quarter after a gap was seen), within the configured bounds.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

BACKOFF_BASE = timedelta(hours=1)
BACKOFF_CAP = timedelta(hours=24)
GONE_RETRY = timedelta(days=7)
SAFETY = 0.5  # fetch again when half the time the feed's items cover has passed
GAP_SAFETY = 0.5  # after a possible gap, halve again
_MAX_AGE = re.compile(r"(?:^|[,\s])(s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class PollBounds:
    """The shortest and longest interval between two fetches of one feed, and the default."""

    shortest: timedelta = timedelta(minutes=15)
    longest: timedelta = timedelta(hours=24)
    fallback: timedelta = timedelta(hours=1)  # a feed whose items carry no dates

    def clamp(self, interval: timedelta) -> timedelta:
        return max(self.shortest, min(self.longest, interval))


def is_due(next_fetch: datetime | None, now: datetime) -> bool:
    """A feed is due when it has no next fetch planned or that time has come."""
    return next_fetch is None or next_fetch <= now


def poll_interval(
    times: Sequence[datetime],
    bounds: PollBounds,
    *,
    previous: timedelta | None = None,
    gap: bool = False,
    max_age_s: float | None = None,
) -> timedelta:
    """How long to wait before fetching a feed again, from the dates of the items it holds."""
    cover = items_cover(times)
    interval = cover * SAFETY if cover is not None else (previous or bounds.fallback)
    if gap:
        interval = min(interval, previous or interval) * GAP_SAFETY
    interval = bounds.clamp(interval)
    if max_age_s:  # the server says its answer stays the same this long
        interval = max(interval, min(timedelta(seconds=max_age_s), bounds.longest))
    return timedelta(seconds=round(interval.total_seconds()))


def items_cover(times: Sequence[datetime]) -> timedelta | None:
    """About how long the feed keeps an item: its item count times their median spacing.

    The median, not the span: one pinned item from 2009 must not stretch the estimate.
    None when fewer than two distinct dates say nothing about the pace.
    """
    ordered = sorted(set(times))
    if len(ordered) < 2:
        return None
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    spacing = statistics.median(gaps)
    if spacing <= 0:
        return None
    return timedelta(seconds=spacing * len(times))


def possible_gap(previous_newest: datetime | None, times: Sequence[datetime]) -> bool:
    """True when even the oldest item now is newer than the newest seen last time.

    Nothing overlaps the last fetch, so items published in between may have scrolled off.
    """
    return previous_newest is not None and bool(times) and min(times) > previous_newest


def next_fetch(now: datetime, interval: timedelta) -> datetime:
    return (now + interval).replace(microsecond=0)


def max_age_seconds(cache_control: str | None) -> float | None:
    """`max-age` (or `s-maxage`) of a Cache-Control header, unless it says no-store/no-cache."""
    if not cache_control or re.search(r"no-(store|cache)", cache_control, re.IGNORECASE):
        return None
    ages = [int(m.group(2)) for m in _MAX_AGE.finditer(cache_control)]
    return float(max(ages)) if ages else None


def backoff_until(
    name: str, failures: int, now: datetime, *, retry_after: datetime | None = None
) -> datetime:
    """When to try a feed again after its `failures`-th failure in a row.

    1 h, 2 h, 4 h ... up to 24 h, with a per-feed jitter of up to 10% so failing feeds
    spread out; never before a server's Retry-After.
    """
    delay = min(BACKOFF_BASE * 2 ** max(0, failures - 1), BACKOFF_CAP)
    spread = int(hashlib.sha256(f"{name}:{failures}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    until = now + delay * (0.9 + 0.2 * spread)
    if retry_after is not None and retry_after > until:
        until = retry_after
    result: datetime = until.replace(microsecond=0)
    return result


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
