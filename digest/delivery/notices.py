"""The editors' notice: what they are told when a draft is ready, and mailing it to them.

The scheduler's draft job builds a DraftNotice (counts, the best candidates, failing feeds)
and hands it to `notify_editors`; with no `smtp.host` the caller logs it instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from digest.config import Config
from digest.delivery.smtp import open_smtp, sender_address
from digest.editorial.draftfile import read_draft
from digest.errors import DigestError
from digest.ingest.store import Store, store_path
from digest.models import DraftSummary

TOP_CANDIDATES = 8


@dataclass(frozen=True)
class DraftNotice:
    """What the editors are told when a draft is ready."""

    subject: str
    text: str


def draft_notice(
    config: Config,
    issue_date: date,
    summary: DraftSummary,
    *,
    now: datetime,
    top: tuple[tuple[float, str, str], ...] | None = None,
    failing: tuple[tuple[str, str], ...] | None = None,
) -> DraftNotice:
    """The notice text: counts, top candidates (score, title, source) and failing feeds.

    `top` and `failing` are read from the draft file and the store unless given.
    """
    if top is None:
        top = top_candidates(Path(summary.path))
    if failing is None:
        failing = failing_feeds(config, now)
    counts = ", ".join(f"{n} {status}" for status, n in summary.counts) or "none"
    lines = [
        f"The draft for {issue_date.isoformat()} is ready: {summary.path}",
        "",
        f"New candidates this run: {summary.added}; by status: {counts}; "
        f"stories: {summary.stories}.",
        "",
        "Top candidates:" if top else "No candidates yet.",
        *(f"  {score:5.1f}  {title}  ({source})" for score, title, source in top),
        "",
        f"Failing feeds ({len(failing)}):" if failing else "All feeds are healthy.",
        *(f"  {name}: {error}" for name, error in failing),
        "",
        "Edit the draft, then: digest render, digest send --to YOU (proof), digest publish.",
    ]
    subject = f"Draft ready: {config.digest.title.split(' Vol')[0]} {issue_date.isoformat()}"
    return DraftNotice(subject=subject, text="\n".join(lines) + "\n")


def top_candidates(
    draft_path: Path, limit: int = TOP_CANDIDATES
) -> tuple[tuple[float, str, str], ...]:
    """The best-scored candidates of a draft that the editor has not rejected."""
    try:
        current = read_draft(draft_path)
    except DigestError:  # the notice must go out even if the draft cannot be read
        return ()
    kept = sorted(
        (c for c in current.candidates if current.status(c) != "rejected"), key=lambda c: -c.score
    )
    return tuple((c.score, c.title, c.source) for c in kept[:limit])


def failing_feeds(config: Config, now: datetime) -> tuple[tuple[str, str], ...]:
    try:
        with Store.open(store_path(config)) as store:
            health = store.feed_health(config.feeds, now)
    except Exception:  # a notice without feed health beats no notice
        return ()
    return tuple(
        (h.feed, h.last_error or ("gone" if h.gone else "failing")) for h in health if h.failing
    )


def notify_editors(config: Config, notice: DraftNotice | None, *, now: datetime) -> str:
    """Mail the notice to config.editors; say what was done (the caller logs the notice
    when no smtp.host is set). Raises SendError when the mail server fails."""
    if not config.editors or notice is None:
        return "no editors listed"
    if not config.smtp.host:
        return "notice logged (no smtp.host set)"
    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = config.digest.sender
    message["To"] = ", ".join(config.editors)
    message["Date"] = formatdate(now.timestamp(), localtime=False)
    message["Message-ID"] = make_msgid(domain=sender_address(config).split("@")[-1])
    message.set_content(notice.text)
    with open_smtp(config.smtp) as smtp:
        smtp.send_message(message)
    return f"{len(config.editors)} editor(s) notified"
