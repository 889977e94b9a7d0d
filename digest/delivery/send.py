"""`digest send`: an issue to a proof reader or to a list, one personal copy per recipient.

    Outgoing (lifecycle: the draft now for a proof, published.json for a list)
      --personalize-->  per recipient: To, Message-ID, Date, the unsubscribe link
      --dkim-->         signed when smtp.dkim_* are set
      --proof-->        [Proof] subject, to the --to addresses; no send log
      --list-->         every recipient not unsubscribed and not already sent this issue,
                        paced to smtp.rate_per_minute, each outcome in the send log
                        (store and issues/DATE/sent.csv; see sendlog.py); a refused or
                        unsendable address is logged failed with its reason and the
                        send goes on; .digest/send-DATE.lock: one list send per issue
      --dry-run-->      issues/DATE/outbox/NNNN-address.eml instead of SMTP

A list send stops early (and can simply be run again) when the server fails as a whole:
a 4xx or any refusal of MAIL or DATA, a lost connection, or many refused recipients in a row.
An address whose transfer was cut off during DATA is "in doubt" and never sent again.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from digest._util.fs import atomic_write
from digest.config import Config
from digest.delivery import db, roster
from digest.delivery.dkim import Signer, signer_for
from digest.delivery.lifecycle import Outgoing
from digest.delivery.personalize import personalize, wire_bytes
from digest.delivery.sendlog import SendLog, send_lock, sent_file
from digest.delivery.smtp import (
    Connect,
    Pacer,
    Refused,
    ServerTrouble,
    Session,
    needs_smtputf8,
    open_smtp,
    sender_address,
)
from digest.delivery.subscribers import Recipient, parse_addresses
from digest.delivery.tokens import unsubscribe_key, with_tokens
from digest.errors import SendError

OUTBOX = "outbox"
MAX_REFUSED_IN_A_ROW = 10
FAILED_SHOWN = 50


@dataclass(frozen=True)
class SendReport:
    """What a `digest send` did; `str()` is its summary."""

    issue_date: date
    mode: Literal["proof", "list"]
    sent: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    unsubscribed: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    in_doubt: tuple[str, ...] = ()
    written: tuple[Path, ...] = ()
    remaining: int = 0
    stopped: str | None = None
    dry_run: bool = False
    log_file: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None

    def __str__(self) -> str:
        what = f"{self.mode} of {self.issue_date.isoformat()}"
        if self.dry_run:
            where = self.written[0].parent if self.written else "nowhere"
            lines = [f"dry run, {what}: {len(self.written)} message(s) written to {where}"]
        else:
            lines = [f"{what}: {len(self.sent)} sent"]
        if self.skipped:
            lines.append(f"{len(self.skipped)} skipped: already sent this issue")
        if self.unsubscribed:
            lines.append(f"{len(self.unsubscribed)} skipped: unsubscribed")
        if self.in_doubt:
            lines.append(
                f"{len(self.in_doubt)} in doubt (the connection broke during DATA; "
                "check the SMTP server's log, resend with --to if missing): "
                + ", ".join(self.in_doubt[:5])
            )
        if self.failed:
            lines.append(f"{len(self.failed)} failed (retried by the next run):")
        for address, reason in self.failed[:FAILED_SHOWN]:
            lines.append(f"  failed {address}: {reason}")
        if len(self.failed) > FAILED_SHOWN:
            where = f" (all in {self.log_file})" if self.log_file else ""
            lines.append(f"  ... and {len(self.failed) - FAILED_SHOWN} more failed{where}")
        if self.stopped:
            lines.append(
                f"stopped early: {self.stopped}; {self.remaining} not yet sent; "
                "run the same command again to resume (nobody gets a second copy)"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class ListPlan:
    """Who a list send would reach now: shown before asking for confirmation."""

    total: int
    unsubscribed: int
    already: int
    to_send: int


# -- the commands ---------------------------------------------------------------------------


def send_proof(
    config: Config,
    outgoing: Outgoing,
    recipients: Sequence[str],
    *,
    now: datetime,
    dry_run: bool = False,
    connect: Connect = open_smtp,
    pacer: Pacer | None = None,
) -> SendReport:
    """Send a proof of the issue to each address (not recorded in the send log)."""
    people = with_tokens(parse_addresses(recipients), unsubscribe_key(config))
    template = config.digest.unsubscribe_url
    messages = [
        (
            r,
            personalize(
                outgoing.eml,
                r,
                template=template,
                now=now,
                proof=True,
                with_errors=outgoing.with_errors,
            ),
        )
        for r in people
    ]
    signer = signer_for(config)
    if dry_run:
        written = write_outbox(config, outgoing.issue_date, messages, signer)
        return SendReport(outgoing.issue_date, "proof", dry_run=True, written=written)
    sender = sender_address(config)
    pacer = pacer or Pacer(config.smtp.rate_per_minute)
    sent, failed = [], []
    with Session(connect, config.smtp) as session:
        for recipient, message in messages:
            pacer.wait()
            try:
                session.deliver(sender, recipient.address, _bytes(message, recipient, signer))
            except (Refused, ServerTrouble) as exc:
                failed.append((recipient.address, str(exc)))
                continue
            sent.append(recipient.address)
    return SendReport(outgoing.issue_date, "proof", sent=tuple(sent), failed=tuple(failed))


def plan_list(config: Config, issue_date: date, recipients: Sequence[Recipient]) -> ListPlan:
    """How many of `recipients` a list send of the issue would mail now."""
    with db.open_store(config) as store:
        gone = roster.unsubscribed(store.conn)
        done = SendLog(store.conn, issue_date, sent_file(config, issue_date)).statuses()
    out = [r for r in recipients if r.key not in gone]
    todo = [r for r in out if done.get(r.key) not in ("sent", "pending")]
    return ListPlan(len(recipients), len(recipients) - len(out), len(out) - len(todo), len(todo))


def send_list(
    config: Config,
    outgoing: Outgoing,
    recipients: Sequence[Recipient],
    *,
    now: datetime,
    dry_run: bool = False,
    connect: Connect = open_smtp,
    pacer: Pacer | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SendReport:
    """Send the issue to every recipient not unsubscribed, resuming an interrupted run."""
    if not config.digest.unsubscribe_url.strip():
        raise SendError(
            "digest.unsubscribe_url is empty; a list send needs an unsubscribe "
            "link, e.g. https://example.org/unsubscribe?token={token}",
            path=config.path,
        )
    if not outgoing.published:
        raise SendError("not sent: a list gets only a published issue; publish it first")
    issue_date = outgoing.issue_date
    people = with_tokens(recipients, unsubscribe_key(config))
    signer = signer_for(config)
    clock = clock or (lambda: datetime.now(UTC))
    with contextlib.ExitStack() as stack:
        stack.enter_context(send_lock(config, issue_date))
        store = stack.enter_context(db.open_store(config))
        gone = roster.unsubscribed(store.conn)
        log = stack.enter_context(SendLog(store.conn, issue_date, sent_file(config, issue_date)))
        done = log.statuses()
        unsubscribed = tuple(r.address for r in people if r.key in gone)
        people = tuple(r for r in people if r.key not in gone)
        skipped = tuple(r.address for r in people if done.get(r.key) == "sent")
        in_doubt = tuple(r.address for r in people if done.get(r.key) == "pending")
        todo = [r for r in people if done.get(r.key) not in ("sent", "pending")]
        before = SendReport(
            issue_date,
            "list",
            skipped=skipped,
            in_doubt=in_doubt,
            unsubscribed=unsubscribed,
            log_file=log.file,
        )
        if dry_run:
            template = config.digest.unsubscribe_url
            messages = [(r, personalize(outgoing.eml, r, template=template, now=now)) for r in todo]
            written = write_outbox(config, issue_date, messages, signer)
            return replace(before, dry_run=True, written=written)
        if not todo:
            return before
        run = _ListRun(config, outgoing, log, signer, clock, now)
        pacer = pacer or Pacer(config.smtp.rate_per_minute)
        return run.send(todo, connect=connect, pacer=pacer, report=before)


def _bytes(message: EmailMessage, recipient: Recipient, signer: Signer | None) -> bytes:
    data = wire_bytes(message, smtputf8=needs_smtputf8(recipient.address))
    return signer.sign(data) if signer is not None else data


class _ListRun:
    """One pass over the recipients still to send, marking each outcome in the send log."""

    def __init__(
        self,
        config: Config,
        outgoing: Outgoing,
        log: SendLog,
        signer: Signer | None,
        clock: Callable[[], datetime],
        now: datetime,
    ) -> None:
        self.config = config
        self.outgoing = outgoing
        self.log = log
        self.signer = signer
        self.clock = clock
        self.now = now

    def send(
        self, todo: Sequence[Recipient], *, connect: Connect, pacer: Pacer, report: SendReport
    ) -> SendReport:
        sender = sender_address(self.config)
        template = self.config.digest.unsubscribe_url
        sent: list[str] = []
        failed: list[tuple[str, str]] = []
        doubt = list(report.in_doubt)
        stopped: str | None = None
        remaining = 0
        refused_in_a_row = 0
        with Session(connect, self.config.smtp) as session:
            for index, recipient in enumerate(todo):
                pacer.wait()
                message = personalize(self.outgoing.eml, recipient, template=template, now=self.now)
                message_id = str(message["Message-ID"])
                try:
                    session.deliver(
                        sender,
                        recipient.address,
                        _bytes(message, recipient, self.signer),
                        before_data=self._marker(recipient, message_id),
                    )
                except Refused as exc:
                    self.log.mark(recipient, "failed", message_id, self.clock(), str(exc))
                    failed.append((recipient.address, str(exc)))
                    refused_in_a_row += 1
                    if refused_in_a_row >= MAX_REFUSED_IN_A_ROW:
                        stopped = f"the server refused {refused_in_a_row} recipients in a row"
                        remaining = len(todo) - index - 1
                        break
                    continue
                except ServerTrouble as exc:
                    if exc.in_doubt:
                        doubt.append(recipient.address)
                    else:
                        self.log.mark(recipient, "failed", message_id, self.clock(), str(exc))
                    stopped = str(exc)
                    # A failed recipient is retried by the next run; one in doubt is not.
                    remaining = len(todo) - index - (1 if exc.in_doubt else 0)
                    break
                self.log.mark(recipient, "sent", message_id, self.clock())
                sent.append(recipient.address)
                refused_in_a_row = 0
        return replace(
            report,
            sent=tuple(sent),
            failed=tuple(failed),
            in_doubt=tuple(doubt),
            remaining=remaining,
            stopped=stopped,
        )

    def _marker(self, recipient: Recipient, message_id: str) -> Callable[[], None]:
        def mark_pending() -> None:
            self.log.mark(recipient, "pending", message_id, self.clock())

        return mark_pending


def write_outbox(
    config: Config,
    issue_date: date,
    messages: Sequence[tuple[Recipient, EmailMessage]],
    signer: Signer | None = None,
) -> tuple[Path, ...]:
    """--dry-run: each message as issues/DATE/outbox/NNNN-address.eml."""
    outbox = config.issue_dir(issue_date) / OUTBOX
    try:
        for old in outbox.glob("*.eml"):  # the outbox shows only the latest dry run
            old.unlink()
        paths = []
        for number, (recipient, message) in enumerate(messages, start=1):
            safe = re.sub(r"[^A-Za-z0-9.@_-]+", "_", recipient.address)
            path = outbox / f"{number:04d}-{safe}.eml"
            atomic_write(path, _bytes(message, recipient, signer))
            paths.append(path)
    except OSError as exc:
        raise SendError(
            f"cannot write the dry run's messages ({exc.strerror}); free space or fix the "
            "folder's permissions",
            path=Path(exc.filename) if exc.filename else outbox,
        ) from None
    return tuple(paths)
