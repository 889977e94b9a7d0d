"""Feeds -> the store: fast, polite, incremental, and no bad feed can break or slow the run.

    config.feeds + store feed states
      --plan-->           due feeds: each feed's own poll time has come ("not_due" else),
                          failing ones wait out a growing delay ("skipped"); --force: all
      --Fetcher.fetch-->  Fetched per feed (httpx: conditional GET, decoded-size cap,
                          redirects checked hop by hop, retries with backoff and jitter)
      --body hash-->      a body identical to last time is not parsed again ("unchanged")
      --parse_feed-->     Parsed, in a process pool (feedparser is the real CPU cost)
      --polling-->        the feed's next interval, and whether items were probably missed
      --store-->          items and the feed's new state, one transaction per feed
      --> RunReport       one FeedReport per feed

Concurrency is bounded overall and per host. Decisions (what is due, how long to wait,
what an outcome means) are pure functions of their inputs and `now` (digest.ingest.polling);
what a hostile server cannot do is digest.ingest.limits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hashlib
import multiprocessing
import os
import random
import select
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import Literal

import httpx

from digest._util.text import console_safe
from digest._util.urls import host_key
from digest.config import Config, FetchSettings
from digest.ingest import polling
from digest.ingest.limits import (
    ACCEPT_ENCODING,
    BodyRefused,
    BoundedDecoder,
    RedirectRefused,
    redirect_refusal,
    same_host_and_port,
    too_large_message,
)
from digest.ingest.parse import parse_feed
from digest.ingest.polling import GONE_RETRY, backoff_until, retry_after_seconds
from digest.ingest.store import FeedOutcome, FeedState, Store
from digest.models import FeedReport, FeedSource, Fetched, Parsed, RunReport, Validators

FEED_URL = "digest_feed_url"  # request extension: the configured URL, for the redirect check
# Retries inside one run: short waits, since the whole run should cost one slow feed.
RETRY_BASE_S = 0.5
RETRY_CAP_S = 8.0
CLIENT_SHARDS = 8  # several small pools cost far less CPU than one huge one
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})


@dataclass(frozen=True)
class Attempt:
    """A Fetched plus what the retry logic needs: is it worth retrying, and when."""

    fetched: Fetched
    transient: bool = False
    retry_after_s: float | None = None


# -- pure decisions --------------------------------------------------------------------------


def retry_delay(attempt: int, retry_after: float | None, rng: random.Random) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins when it asks for more."""
    delay: float = rng.uniform(0.5, 1.0) * min(RETRY_CAP_S, RETRY_BASE_S * 2**attempt)
    return max(delay, retry_after or 0.0)


def user_agent(config: Config) -> str:
    """Who fetches and how to reach them: fetch.user_agent, else the project's identity."""
    try:
        version = metadata.version("alliance-digest")
    except metadata.PackageNotFoundError:
        version = "0"
    if config.fetch.user_agent:
        return config.fetch.user_agent.replace("{version}", version)
    who = config.digest.organisation
    return f"AllianceDigest/{version} ({who}; +{config.digest.contact_url})"


def poll_bounds(settings: FetchSettings) -> polling.PollBounds:
    return polling.PollBounds(
        shortest=timedelta(minutes=settings.min_poll_minutes),
        longest=timedelta(hours=settings.max_poll_hours),
        fallback=timedelta(hours=settings.default_poll_hours),
    )


# -- the network ------------------------------------------------------------------------------


@dataclass
class Fetcher:
    """HTTP for many feeds at once: shared limits, several small connection pools."""

    settings: FetchSettings
    agent: str
    clients: Sequence[httpx.AsyncClient]
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep

    def __post_init__(self) -> None:
        self.overall = asyncio.Semaphore(self.settings.concurrency)
        self.hosts: dict[str, asyncio.Semaphore] = {}
        self.rng = random.Random()

    def client_for(self, host: str) -> httpx.AsyncClient:
        index = int(hashlib.md5(host.encode()).hexdigest()[:6], 16) % len(self.clients)
        return self.clients[index]

    async def fetch(self, source: FeedSource, validators: Validators) -> Attempt:
        """Fetch one feed; every failure becomes a Fetched with an error, never an exception."""
        host = host_key(source.url)
        per_host = self.hosts.setdefault(host, asyncio.Semaphore(self.settings.per_host))
        async with per_host, self.overall:
            started = time.monotonic()  # the time budget starts once a slot is ours
            try:
                async with asyncio.timeout(self.settings.timeout_s):
                    result = await self._with_retries(source, validators, host, started)
            except TimeoutError:
                result = Attempt(
                    Fetched(
                        source=source,
                        error=f"no complete answer within {self.settings.timeout_s:g} s "
                        "(fetch.timeout_s); the server is too slow",
                    )
                )
        elapsed = time.monotonic() - started
        return replace(result, fetched=replace(result.fetched, elapsed_s=elapsed))

    async def _with_retries(
        self, source: FeedSource, validators: Validators, host: str, started: float
    ) -> Attempt:
        attempt = 0
        while True:
            result = await self._once(source, validators, host)
            deadline_left = self.settings.timeout_s - (time.monotonic() - started)
            if not result.transient or attempt >= self.settings.retries:
                return result
            delay = retry_delay(attempt, result.retry_after_s, self.rng)
            if delay >= deadline_left - 0.5:
                return result  # waiting would overrun the feed's time budget
            await self.sleep(delay)
            attempt += 1

    async def _once(self, source: FeedSource, validators: Validators, host: str) -> Attempt:
        """One GET."""
        headers = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        client = self.client_for(host)
        try:
            async with client.stream(
                "GET", source.url, headers=headers, extensions={FEED_URL: source.url}
            ) as response:
                return await self._read(source, response)
        except RedirectRefused as exc:
            return Attempt(Fetched(source=source, error=str(exc)))
        except httpx.TooManyRedirects:
            return Attempt(
                Fetched(
                    source=source,
                    error=(
                        f"more than {self.settings.max_redirects} redirects (a redirect loop?); "
                        "open the URL in a browser and put the final address in feeds.yaml"
                    ),
                )
            )
        except httpx.TimeoutException as exc:
            what = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for data"
            return Attempt(Fetched(source=source, error=f"timed out {what} ({type(exc).__name__})"))
        except httpx.UnsupportedProtocol as exc:
            return Attempt(Fetched(source=source, error=f"unsupported URL: {exc}"))
        except (httpx.TransportError, OSError, ssl.SSLError) as exc:
            reason = str(exc) or type(exc).__name__
            return Attempt(
                Fetched(source=source, error=f"connection failed: {reason}"), transient=True
            )
        except BodyRefused as exc:
            return Attempt(Fetched(source=source, error=exc.message, bytes_read=exc.bytes_read))
        except httpx.HTTPError as exc:  # decoding errors and the like
            return Attempt(Fetched(source=source, error=f"HTTP error: {exc}"))

    async def _read(self, source: FeedSource, response: httpx.Response) -> Attempt:
        redirect = _permanent_redirect(response)
        status = response.status_code
        base = Fetched(
            source=source,
            status=status,
            final_url=str(response.url),
            permanent_redirect=redirect,
            max_age_s=polling.max_age_seconds(response.headers.get("Cache-Control")),
        )
        if status == 304:
            return Attempt(replace(base, not_modified=True, validators=_validators(response, None)))
        if status >= 400:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), _utcnow())
            error = _status_error(status, response.reason_phrase, retry_after)
            return Attempt(
                replace(base, error=error, gone=status == 410),
                transient=status in TRANSIENT_STATUS,
                retry_after_s=retry_after,
            )
        body = await self._body(response)
        return Attempt(
            replace(
                base,
                body=body,
                content_type=response.headers.get("Content-Type"),
                validators=_validators(response, body),
                bytes_read=response.num_bytes_downloaded,
            )
        )

    async def _body(self, response: httpx.Response) -> bytes:
        """The decoded body, never more than fetch.max_bytes of it (BodyRefused past that)."""
        cap = self.settings.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise BodyRefused(too_large_message(cap, int(declared)), 0)
        decoder = BoundedDecoder(response.headers.get("Content-Encoding"), cap)
        chunks = [decoder.feed(raw) async for raw in response.aiter_raw()]
        return b"".join(chunks)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _validators(response: httpx.Response, body: bytes | None) -> Validators:
    return Validators(
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        body_hash=hashlib.sha256(body).hexdigest() if body is not None else None,
    )


def _permanent_redirect(response: httpx.Response) -> str | None:
    """The final URL, if every hop to it was permanent (301/308): feeds.yaml should say it."""
    if not response.history:
        return None
    if all(hop.status_code in (301, 308) for hop in response.history):
        return str(response.url)
    return None


def _status_error(status: int, phrase: str, retry_after: float | None) -> str:
    phrase = console_safe(phrase)[:80]  # the server's words: shown, never interpreted
    advice = {
        404: "the feed moved or was removed; find its new URL or disable it",
        410: "the publisher removed the feed for good; remove it from feeds.yaml",
        401: "the feed needs a login; use a public feed URL",
        403: "the server refuses us; check the URL, or ask the publisher",
        429: "the server rate-limits us; it will be retried later",
    }.get(
        status,
        "the server failed; it will be retried later"
        if status >= 500
        else "check the URL in feeds.yaml",
    )
    wait = f", asks to wait {retry_after:.0f} s" if retry_after else ""
    return f"HTTP {status} {phrase}{wait}: {advice}"


def make_clients(
    settings: FetchSettings,
    agent: str,
    shards: int = CLIENT_SHARDS,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[httpx.AsyncClient]:
    timeout = httpx.Timeout(
        connect=settings.connect_timeout_s,
        read=settings.read_timeout_s,
        write=settings.read_timeout_s,
        pool=settings.timeout_s,
    )
    # One SSL context for every client: building one costs milliseconds and megabytes.
    context = ssl.create_default_context()
    try:  # certifi's bundle when installed (httpx brings it), else the system's
        import certifi

        context.load_verify_locations(certifi.where())
    except ImportError:
        pass
    per_shard = max(1, -(-settings.concurrency // shards))
    limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=per_shard)
    return [
        httpx.AsyncClient(
            headers={"User-Agent": agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
            event_hooks={"request": [_check_redirect]},
            timeout=timeout,
            limits=limits,
            follow_redirects=True,
            max_redirects=settings.max_redirects,
            verify=context,
            transport=transport,
        )
        for _ in range(shards)
    ]


async def _check_redirect(request: httpx.Request) -> None:
    """Before each request: a redirect may not lead inside unless the feed lives there."""
    feed_url = request.extensions.get(FEED_URL)
    if not feed_url or same_host_and_port(feed_url, str(request.url)):
        return  # the feed's own server: nothing to resolve
    host = request.url.host
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return  # unresolvable: the connection itself will fail and say so
    addresses = [str(info[4][0]) for info in infos]
    if reason := redirect_refusal(feed_url, str(request.url), addresses):
        raise RedirectRefused(reason)


# -- the run ----------------------------------------------------------------------------------


def fetch_into_store(
    config: Config,
    store: Store,
    *,
    now: datetime,
    show_progress: bool = False,
    force: bool = False,
    only: Sequence[str] | None = None,
) -> RunReport:
    """Fetch every enabled feed that is due, parse, store; one FeedReport per feed.

    `force`: fetch every feed now, whatever its poll time or backoff. `only`: these feed
    names (e.g. `digest feeds check`).
    """
    sources = [s for s in config.feeds if s.enabled and (only is None or s.name in only)]
    # The caller decides (the CLI: a terminal, or --progress); logs stay quiet either way.
    jobs, waiting = plan(sources, store.feed_states(), now, force=force)
    # Feeds never fetched will surely be parsed: have the parser ready before they answer.
    new_feeds = any(not job.state.validators.body_hash for job in jobs)
    with _parse_pool(len(jobs), eager=new_feeds) as pool:
        return asyncio.run(
            _run(config, store, sources, jobs, waiting, pool, now=now, show_progress=show_progress)
        )


@dataclass(frozen=True)
class Job:
    """A feed to fetch now, with what the store remembers of it."""

    source: FeedSource
    state: FeedState


def plan(
    sources: Sequence[FeedSource],
    states: dict[str, FeedState],
    now: datetime,
    *,
    force: bool = False,
) -> tuple[list[Job], list[FeedReport]]:
    """Which feeds to fetch now; the others are reported as skipped (backoff) or not due.

    A feed whose URL changed in feeds.yaml starts afresh: its old validators and failures
    belonged to the old address.
    """
    jobs, waiting = [], []
    for source in sources:
        state = states.get(source.name) or FeedState(name=source.name)
        if state.url and state.url != source.url:
            state = FeedState(name=source.name)
        if force or (
            polling.is_due(state.next_attempt, now) and polling.is_due(state.next_fetch, now)
        ):
            jobs.append(Job(source, state))
        elif not polling.is_due(state.next_attempt, now):
            waiting.append(_skipped(state))
        else:
            waiting.append(_not_due(state))
    return jobs, waiting


async def _run(
    config: Config,
    store: Store,
    sources: Sequence[FeedSource],
    jobs: Sequence[Job],
    waiting: Sequence[FeedReport],
    pool: concurrent.futures.Executor | None,
    *,
    now: datetime,
    show_progress: bool,
) -> RunReport:
    started = time.monotonic()
    reports = {r.feed: r for r in waiting}
    agent = user_agent(config)
    clients = make_clients(config.fetch, agent)
    fetcher = Fetcher(config.fetch, agent, clients)
    bounds = poll_bounds(config.fetch)
    progress = _Progress(len(jobs)) if show_progress else None
    try:
        tasks = [_one(fetcher, store, pool, job, now, bounds, progress) for job in jobs]
        for report in await asyncio.gather(*tasks):
            reports[report.feed] = report
    finally:
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
        if progress:
            progress.stop()
    finished = now + timedelta(seconds=time.monotonic() - started)
    ordered = tuple(reports[s.name] for s in sources if s.name in reports)
    return RunReport(feeds=ordered, started=now, finished=finished)


async def _one(
    fetcher: Fetcher,
    store: Store,
    pool: concurrent.futures.Executor | None,
    job: Job,
    now: datetime,
    bounds: polling.PollBounds,
    progress: _Progress | None,
) -> FeedReport:
    try:
        try:
            attempt = await fetcher.fetch(job.source, job.state.validators)
        except Exception as exc:  # httpx.InvalidURL and anything unforeseen: this feed only
            attempt = Attempt(Fetched(source=job.source, error=f"cannot fetch: {exc!r}"))
        try:
            return await _settle(store, pool, job, attempt, now, bounds)
        except sqlite3.Error:
            raise  # a broken store is the run's problem, not this feed's
        except Exception as exc:  # a bug must cost one feed, not the run
            failed = replace(attempt.fetched, error=f"unexpected error: {exc!r}")
            return _record_failure(store, job.source, job.state, failed, now, None)
    finally:
        if progress:
            progress.advance(job.source.name)


async def _settle(
    store: Store,
    pool: concurrent.futures.Executor | None,
    job: Job,
    attempt: Attempt,
    now: datetime,
    bounds: polling.PollBounds,
) -> FeedReport:
    """Turn one fetch into stored items and state, and its line in the report."""
    source, state, fetched = job.source, job.state, attempt.fetched
    moved = _moved_detail(fetched)
    if not fetched.ok:
        retry_after = (
            now + timedelta(seconds=attempt.retry_after_s) if attempt.retry_after_s else None
        )
        return _record_failure(store, source, state, fetched, now, retry_after)
    if fetched.not_modified:
        kept = replace(
            state.validators,
            etag=fetched.validators.etag or state.validators.etag,
            last_modified=fetched.validators.last_modified or state.validators.last_modified,
        )
        store.record_fetch(source.name, _ok(source, fetched, kept, state, now, bounds), (), now)
        return FeedReport(source.name, "not_modified", detail=moved)
    body = fetched.body or b""
    if state.validators.body_hash and fetched.validators.body_hash == state.validators.body_hash:
        outcome = _ok(source, fetched, fetched.validators, state, now, bounds)
        store.record_fetch(source.name, outcome, (), now)
        return FeedReport(source.name, "unchanged", detail=moved)
    parsed = await _parse(pool, source, body, fetched, now)
    if not parsed.items and parsed.problem:
        failed = replace(fetched, error=parsed.problem)
        return _record_failure(store, source, state, failed, now, None)
    times = [item.published for item in parsed.items if item.dated]
    outcome = _ok(source, fetched, fetched.validators, state, now, bounds, times)
    first_fetch = state.last_success is None
    new = store.record_fetch(source.name, outcome, parsed.items, now, backlog=first_fetch)
    gap = _gap_detail(outcome) if outcome.possible_gap else ""
    detail = "; ".join(d for d in (parsed.problem, gap, moved) if d)
    return FeedReport(source.name, "fetched", new_items=new, items=len(parsed.items), detail=detail)


async def _parse(
    pool: concurrent.futures.Executor | None,
    source: FeedSource,
    body: bytes,
    fetched: Fetched,
    now: datetime,
) -> Parsed:
    call = functools.partial(
        parse_feed, source, body, fetched.content_type, fetched.final_url or source.url, now=now
    )
    if pool is None:
        return call()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, call)
    except concurrent.futures.process.BrokenProcessPool:
        return call()  # a worker died (out of memory?); parse here rather than lose the feed


def _ok(
    source: FeedSource,
    fetched: Fetched,
    validators: Validators,
    state: FeedState,
    now: datetime,
    bounds: polling.PollBounds,
    times: Sequence[datetime] = (),
) -> FeedOutcome:
    """A success, with the feed's next poll decided from the items it showed (if any)."""
    gap = polling.possible_gap(state.newest_seen, times)
    interval = polling.poll_interval(
        times, bounds, previous=state.poll_every, gap=gap, max_age_s=fetched.max_age_s
    )
    return FeedOutcome(
        url=source.url,
        ok=True,
        validators=validators,
        permanent_redirect=fetched.permanent_redirect,
        poll_every=interval,
        next_fetch=polling.next_fetch(now, interval),
        newest_seen=max(times) if times else None,
        possible_gap=gap,
    )


def _gap_detail(outcome: FeedOutcome) -> str:
    every = outcome.poll_every or timedelta(0)
    return (
        "possible gap: every item is newer than the newest seen last time, so some may "
        f"have scrolled off unseen; now polled every {_minutes(every)}"
    )


def _minutes(interval: timedelta) -> str:
    minutes = round(interval.total_seconds() / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _record_failure(
    store: Store,
    source: FeedSource,
    state: FeedState,
    fetched: Fetched,
    now: datetime,
    retry_after: datetime | None,
) -> FeedReport:
    failures = state.consecutive_failures + 1
    if fetched.gone:
        until = now + GONE_RETRY
    else:
        until = backoff_until(source.name, failures, now, retry_after=retry_after)
    error = fetched.error or "failed"
    store.record_fetch(
        source.name,
        FeedOutcome(
            url=source.url,
            ok=False,
            error=error,
            next_attempt=until,
            gone=fetched.gone,
            permanent_redirect=fetched.permanent_redirect,
        ),
        (),
        now,
    )
    outcome: Literal["gone", "failed"] = "gone" if fetched.gone else "failed"
    return FeedReport(source.name, outcome, detail=f"{error} (next try after {_short(until)})")


def _skipped(state: FeedState) -> FeedReport:
    when = _short(state.next_attempt) if state.next_attempt else "later"
    what = "gone (HTTP 410)" if state.gone else f"failed {state.consecutive_failures}x"
    last = f": {state.last_error}" if state.last_error else ""
    return FeedReport(state.name, "skipped", detail=f"{what}, waiting until {when}{last}")


def _not_due(state: FeedState) -> FeedReport:
    when = _short(state.next_fetch) if state.next_fetch else "later"
    return FeedReport(state.name, "not_due", detail=f"next fetch at {when}")


def _moved_detail(fetched: Fetched) -> str:
    if fetched.permanent_redirect and fetched.permanent_redirect != fetched.source.url:
        return f"moved permanently to {fetched.permanent_redirect}; update feeds.yaml"
    return ""


def _short(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- the process pool and the progress bar -------------------------------------------------


class _parse_pool:
    """A process pool for feedparser, shut down when the run ends, however it ends.

    Workers come from a fork server, never from a fork of this process: the scheduler runs
    fetches in a thread, and forking a threaded process can deadlock the child. The fork
    server imports the parser once, so a worker starts in milliseconds. Workers start on
    the first parse, so a run where every feed answers "not modified" starts none; with
    `eager`, a thread starts them at once, so the parser is imported while feeds answer.
    Each worker watches this process and exits when it goes; the fork server exits once
    its workers have (they hold its lifeline), so a killed `digest fetch` leaves nothing.
    """

    def __init__(self, jobs: int, *, eager: bool = False) -> None:
        self.jobs = jobs
        self.eager = eager
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.warming: threading.Thread | None = None

    def __enter__(self) -> concurrent.futures.ProcessPoolExecutor | None:
        workers = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
        if workers < 2 or self.jobs < 2:
            return None  # one core or one feed: a pool only adds copying
        try:
            context = _pool_context()
            self.pool = concurrent.futures.ProcessPoolExecutor(
                workers,
                mp_context=context,
                initializer=_worker_start,
                initargs=(os.getpid(),),
            )
        except (OSError, ValueError):
            self.__exit__()
            return None
        if self.eager:  # started aside: starting a worker waits for it, the loop must not
            self.warming = threading.Thread(target=_warm_up, args=(self.pool, workers))
            self.warming.start()
        return self.pool

    def __exit__(self, *exc: object) -> None:
        if self.warming is not None:
            self.warming.join()
            self.warming = None
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _warm_up(pool: concurrent.futures.ProcessPoolExecutor, workers: int) -> None:
    """Start every worker now, so the first feeds to answer find a parser waiting."""
    try:
        for _ in range(workers):
            pool.submit(int)
    except (RuntimeError, OSError, concurrent.futures.process.BrokenProcessPool):
        pass  # shut down meanwhile, or broken: the run parses in-process then


def _pool_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["digest.ingest.parse"])
        return context
    return multiprocessing.get_context("spawn")


def _worker_start(parent: int) -> None:
    """In each worker: exit as soon as the process that started the pool is gone.

    A fork-server worker's parent is the fork server, which itself waits for its workers,
    so neither would notice a killed `digest fetch`; a watcher thread waits on the real
    parent instead (a pidfd on Linux, else a poll every half second).
    """
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    try:
        handle = os.pidfd_open(parent)
    except (AttributeError, OSError):
        handle = None
    if handle is not None:
        select.select([handle], [], [])  # readable once the process has ended
    else:
        while _alive(parent):
            time.sleep(0.5)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Progress:
    """A rich progress bar on stderr, erased when the run ends."""

    def __init__(self, total: int) -> None:
        from rich.console import Console  # a progress bar only on a terminal
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("fetching"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}", markup=False),  # feed names are data
            # Asked for: draw it even where rich would not guess a terminal (--progress).
            console=Console(stderr=True, force_terminal=True),
            transient=True,
        )
        self.task = self.progress.add_task("", total=total)
        self.progress.start()

    def advance(self, name: str) -> None:
        self.progress.update(self.task, advance=1, description=name[:40])

    def stop(self) -> None:
        self.progress.stop()
