"""What the CLI prints: run summaries, feed health and match explanations.

Plain text on stdout for people, JSON for scripts; nothing here makes decisions.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from digest._util.text import console_safe
from digest.config import Config
from digest.editorial import draft
from digest.ingest.probe import Probe
from digest.ingest.store import HEALTH_WINDOW, Store, store_path
from digest.models import Candidate, DraftSummary, FeedHealth, RunReport, Scored
from digest.publish.site import archive


def print_fetch_summary(run: RunReport) -> None:
    seconds = (run.finished - run.started).total_seconds()
    click.echo(
        f"fetched {run.count('fetched')}, not modified {run.count('not_modified')}, "
        f"unchanged {run.count('unchanged')}, skipped {run.count('skipped')}, "
        f"failed {run.count('failed') + run.count('gone')}, not due {run.count('not_due')}; "
        f"{run.new_items} new item(s) in {seconds:.1f} s"
    )
    for feed in run.feeds:
        if feed.outcome == "not_due":
            continue  # the normal case between polls: `digest status` shows when
        if feed.outcome in ("failed", "gone") or feed.detail:
            # Feed names and server messages are data: shown as text, never acted on.
            click.echo(f"  {console_safe(feed.feed)}: {feed.outcome}: {console_safe(feed.detail)}")


def every_due_feed_failed(run: RunReport) -> bool:
    """True when at least one feed was due and every one of them failed (exit status 1)."""
    due = [f for f in run.feeds if f.outcome not in ("skipped", "not_due")]
    return bool(due) and all(f.outcome in ("failed", "gone") for f in due)


def print_draft_summary(summary: DraftSummary) -> None:
    counts = ", ".join(f"{name} {n}" for name, n in summary.counts)
    click.echo(
        f"{summary.path}: {summary.added} new candidate(s); {counts}; {summary.stories} story(ies)"
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def health_json(health: FeedHealth) -> dict[str, Any]:
    return {
        "feed": health.feed,
        "url": health.url,
        "last_success": _iso(health.last_success),
        "items_14d": health.items_14d,
        "consecutive_failures": health.consecutive_failures,
        "last_error": health.last_error,
        "quiet_days": health.quiet_days,
        "gone": health.gone,
        "next_attempt": _iso(health.next_attempt),
        "moved_to": health.moved_to,
        "poll_every_minutes": (
            round(health.poll_every.total_seconds() / 60) if health.poll_every else None
        ),
        "next_fetch": _iso(health.next_fetch),
        "possible_gaps": health.possible_gaps,
    }


def status_data(config: Config, *, now: datetime) -> dict[str, Any]:
    """Feed health and the newest draft's counts as plain data (the JSON of `status --json`)."""

    with Store.open(store_path(config)) as store:
        health = store.feed_health(config.feeds, now)
        # Distinct stories: one carried by three feeds counts once here, thrice per feed.
        items, recent = store.count_items(), store.count_items(since=now - HEALTH_WINDOW)
    feeds = [health_json(h) for h in health]
    totals = {
        "feeds": len(feeds),
        "failing": sum(1 for h in health if h.failing),
        "gone": sum(1 for h in health if h.gone),
        "possible_gaps": sum(1 for h in health if h.possible_gaps),
        "items_14d": recent,
        "items": items,
    }
    return {
        "now": now.isoformat(),
        "feeds": feeds,
        "totals": totals,
        "draft": draft.draft_counts(config),
        "half_done_publishes": half_done_publishes(config),
    }


def half_done_publishes(config: Config) -> list[dict[str, Any]]:
    """Publishes a crash cut short, each with the command that finishes it."""

    return [
        {
            "date": h.issue_date.isoformat(),
            "started_at": _iso(h.started_at),
            "command": h.command,
        }
        for h in archive.half_done_publishes(config)
    ]


def print_status(data: dict[str, Any]) -> None:
    table = Table(title="Feeds", title_justify="left")
    columns = (
        "feed",
        "last success",
        "items 14d",
        "failures",
        "quiet days",
        "poll every",
        "next fetch",
        "gaps 14d",
        "last error",
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    for feed in data["feeds"]:
        last = (feed["last_success"] or "never")[:16].replace("T", " ")
        state = "gone" if feed["gone"] else str(feed["consecutive_failures"])
        quiet = "" if feed["quiet_days"] is None else str(feed["quiet_days"])
        every = feed.get("poll_every_minutes")
        gaps = feed.get("possible_gaps") or 0
        cells = (
            feed["feed"],
            last,
            str(feed["items_14d"]),
            state,
            quiet,
            "" if every is None else f"{every} min",
            (feed.get("next_fetch") or "")[:16].replace("T", " "),
            f"{gaps} possible gap(s)" if gaps else "",
            feed["last_error"] or "",
        )
        # Text cells: a feed's name or a server's message is never read as rich markup.
        table.add_row(*(Text(console_safe(cell)) for cell in cells))
    # Piped output has no terminal width; give the table room instead of 80 columns.
    console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
    console.print(table)
    for feed in data["feeds"]:
        if feed["moved_to"]:
            console.print(
                Text(
                    f"{console_safe(feed['feed'])} moved permanently to "
                    f"{console_safe(feed['moved_to'])}: update its url in feeds.yaml"
                )
            )
        if feed.get("possible_gaps"):
            console.print(
                Text(
                    f"{console_safe(feed['feed'])}: possible gap (items may have scrolled off "
                    "between two fetches); its polling interval was shortened"
                )
            )
    totals = data["totals"]
    console.print(
        f"{totals['feeds']} feeds, {totals['failing']} failing, "
        f"{totals['items_14d']} items in the last 14 days"
    )
    for half in data.get("half_done_publishes", []):
        console.print(
            f"the publish of {half['date']} did not finish; run `{half['command']}` to finish it"
        )
    current = data.get("draft")
    if current:
        counts = ", ".join(f"{k} {v}" for k, v in current.get("counts", {}).items())
        console.print(
            Text(f"draft {current.get('path')}: {counts}; {current.get('stories', 0)} story(ies)")
        )


def print_feed_list(config: Config, status: list[dict[str, Any]]) -> None:
    """`digest feeds list`: one line per feed of feeds.yaml."""
    polled = {f["feed"]: f for f in status}
    for feed in config.feeds:
        state = polled.get(feed.name, {})
        every = state.get("poll_every_minutes")
        when = (state.get("next_fetch") or "")[:16].replace("T", " ")
        polling = f"every {every} min, next {when}" if every else "not fetched yet"
        flag = "" if feed.enabled else " (disabled)"
        click.echo(
            f"{console_safe(feed.name)}{flag}  [{feed.lang}, {feed.kind}]  "
            f"{console_safe(feed.url)}  ({polling})"
        )
    click.echo(f"{len(config.feeds)} feed(s) in {config.path}")


def print_probes(probes: list[Probe]) -> None:
    """`digest feeds check`: what each feed answered, one line each, then a count."""
    for probe in probes:
        name = console_safe(probe.source.name)
        if probe.ok:
            newest = probe.newest.strftime("%Y-%m-%d %H:%M") if probe.newest else "undated"
            every = round(probe.poll_every.total_seconds() / 60) if probe.poll_every else 0
            click.echo(
                f"ok      {name}: HTTP {probe.status}, {probe.items} item(s), newest {newest}, "
                f"would be polled every {every} min"
            )
        else:
            status = f"HTTP {probe.status}: " if probe.status else ""
            click.echo(f"FAILED  {name}: {status}{console_safe(probe.error)}")
    failed = sum(1 for p in probes if not p.ok)
    click.echo(f"{len(probes) - failed} answering, {failed} failing")


def print_match(scored: Scored) -> None:
    verdict = "candidate" if scored.relevant else "not a candidate"
    click.echo(f"score {scored.score:.1f} ({verdict}); section: {scored.section or '-'}")
    for reason in scored.reasons:
        click.echo(f"  {reason}")


def print_candidates(found: list[tuple[Candidate, str | None]], *, limit: int | None) -> None:
    """`digest candidates`: one line each, best first, with the status in the draft."""
    shown = found if limit is None else found[:limit]
    for cand, status in shown:
        where = status or "not in the draft"
        day = cand.published.date().isoformat()
        click.echo(f"{cand.id}  {cand.score:5.1f}  [{where}]  {day}  {cand.source}: {cand.title}")
    if len(shown) < len(found):
        click.echo(f"... {len(found) - len(shown)} more: add --all", err=True)
    click.echo(
        f"{len(found)} candidate(s); take one with `ID: picked` under `decisions:` in the"
        " draft, then `digest draft`",
        err=True,
    )
