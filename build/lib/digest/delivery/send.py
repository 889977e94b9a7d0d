"""`digest send`: the rendered issue -> SMTP, one personal copy per recipient.

    issues/DATE/email.eml (from `digest render`)
      --personalize--> per recipient: To, a fresh Message-ID and Date, the unsubscribe
                       link (header and bodies) filled with the recipient's token
      --proof-->       [Proof] subject, to the --to addresses; no send log
      --list-->        subscribers.csv, paced to smtp.rate_per_minute, each message
                       recorded in the store's send_log:
                           pending  just before DATA: the server may now have it
                           sent     the server said 250 after DATA
                           failed   the server refused it (retried by the next run)
                       a re-run skips 'sent' and 'pending', so nobody gets two copies,
                       even after a kill -9; 'pending' rows are reported as in doubt.
                       .digest/send-DATE.lock: one list send per issue at a time
      --dry-run-->     issues/DATE/outbox/NNNN-address.eml instead of SMTP

A list send stops early (and can simply be run again) when the server fails as a whole:
a 4xx or any refusal of MAIL or DATA, a lost connection, or many refused recipients in a row.

Credentials come only from the environment variables smtp.username_env/password_env name:
both set (login) or neither (a relay without login).

Tokens: a `token` column of the CSV wins (e.g. the subscriber id of the organisation's
list); otherwise an HMAC of the address with the project's key .digest/unsubscribe.key.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import html
import os
import re
import secrets
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from digest._util.fs import atomic_write, exclusive_lock
from digest.config import Config, SmtpSettings
from digest.errors import SendError

TOKEN_SLOT = "{token}"
EMAIL_SLOT = "{email}"
KEY_NAME = "unsubscribe.key"
OUTBOX = "outbox"
MAX_REFUSED_IN_A_ROW = 10
PROOF_PREFIX = "[Proof] "
AUTH_REQUIRED = 530  # RFC 4954: the server takes no mail before a login

_EMAIL_COLUMNS = ("email", "emailaddress", "e-mail", "mail", "address")
_DROPPED_STATUSES = {"unsubscribed", "cleaned", "bounced", "removed", "optout", "opted out"}
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+$")


@dataclass(frozen=True)
class Recipient:
    """One address to send to, with its unsubscribe token."""

    address: str
    name: str = ""
    token: str = ""


@dataclass(frozen=True)
class SendReport:
    """What a `digest send` did; `str()` is its one-paragraph summary."""

    issue_date: date
    mode: Literal["proof", "list"]
    sent: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    in_doubt: tuple[str, ...] = ()
    written: tuple[Path, ...] = ()
    remaining: int = 0
    stopped: str | None = None
    dry_run: bool = False

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
        if self.in_doubt:
            lines.append(f"{len(self.in_doubt)} in doubt (the connection broke during DATA; "
                         "check the SMTP server's log, resend with --to if missing): "
                         + ", ".join(self.in_doubt[:5]))
        for address, reason in self.failed[:10]:
            lines.append(f"failed {address}: {reason}")
        if len(self.failed) > 10:
            lines.append(f"... and {len(self.failed) - 10} more failed")
        if self.stopped:
            lines.append(f"stopped early: {self.stopped}; {self.remaining} not yet sent; "
                         "run the same command again to resume (nobody gets a second copy)")
        return "\n".join(lines)


# -- the message ----------------------------------------------------------------------------


def issue_message_path(config: Config, issue_date: date) -> Path:
    return config.issue_dir(issue_date) / "email.eml"


def load_issue_message(config: Config, issue_date: date) -> bytes:
    """The rendered issue as written by `digest render`."""
    path = issue_message_path(config, issue_date)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        day = issue_date.isoformat()
        raise SendError(f"no rendered issue for {day}; run `digest render --date {day}` first",
                        path=path) from None
    message = message_from_bytes(data, policy=policy.default)
    if message.get_content_type() not in ("multipart/alternative", "multipart/mixed",
                                          "multipart/related", "text/html"):
        raise SendError(f"is {message.get_content_type()}, not an HTML issue; render it again "
                        "with `digest render`", path=path)
    return data


def sender_address(config: Config) -> str:
    address = parseaddr(config.digest.sender)[1]
    if not _ADDRESS.match(address):
        raise SendError(f"digest.from {config.digest.sender!r} is not a mail address; write it "
                        "as 'Name <address@example.org>'", path=config.path)
    return address


def unsubscribe_link(template: str, recipient: Recipient) -> str:
    """The recipient's unsubscribe URL from the template's {token} (and {email}) slots."""
    return (template.strip()
            .replace(TOKEN_SLOT, quote(recipient.token, safe=""))
            .replace(EMAIL_SLOT, quote(recipient.address, safe="@")))


def personalize(base: bytes, recipient: Recipient, *, template: str, now: datetime,
                proof: bool = False) -> EmailMessage:
    """One recipient's copy of the rendered issue."""
    message = message_from_bytes(base, policy=policy.SMTP)
    assert isinstance(message, EmailMessage)
    link = unsubscribe_link(template, recipient) if template.strip() else ""
    if link:
        _replace_in_bodies(message, _link_slots(message, template), link)
        _set(message, "List-Unsubscribe", f"<{link}>")
        if link.startswith("https://"):
            _set(message, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    _set(message, "To", formataddr((recipient.name, recipient.address)))
    domain = parseaddr(str(message.get("From", "")))[1].rpartition("@")[2] or "localhost"
    _set(message, "Message-ID", make_msgid(domain=domain))
    _set(message, "Date", format_datetime(now.astimezone(UTC)))
    if proof:
        subject = str(message.get("Subject", ""))
        if not subject.startswith(PROOF_PREFIX):
            _set(message, "Subject", PROOF_PREFIX + subject)
    return message


def _set(message: EmailMessage, name: str, value: str) -> None:
    del message[name]
    message[name] = value


def _link_slots(message: EmailMessage, template: str) -> list[str]:
    """Every spelling of the issue-wide unsubscribe link that the bodies may contain."""
    slots = {template.strip()}
    header = str(message.get("List-Unsubscribe", ""))
    slots.update(re.findall(r"<(https?://[^>]+)>", header))
    for slot in list(slots):
        slots.add(slot.replace(TOKEN_SLOT, quote(TOKEN_SLOT, safe="")))
    return sorted((s for s in slots if s), key=len, reverse=True)


def _replace_in_bodies(message: EmailMessage, slots: Sequence[str], link: str) -> None:
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text" or part.is_attachment():
            continue
        subtype = part.get_content_subtype()
        text = part.get_content()
        new = text
        for slot in slots:
            if subtype == "html":
                new = new.replace(html.escape(slot, quote=True), html.escape(link, quote=True))
            new = new.replace(slot, html.escape(link, quote=True) if subtype == "html" else link)
        if new != text:
            part.set_content(new, subtype=subtype, charset="utf-8", cte=_cte(new))


def _cte(text: str) -> str:
    # Keep the message 7-bit clean for any server: Japanese text is smaller in base64.
    wide = sum(1 for ch in text if ord(ch) > 127)
    return "base64" if wide > len(text) * 0.3 else "quoted-printable"


# -- recipients -----------------------------------------------------------------------------


def read_subscribers(path: Path) -> tuple[Recipient, ...]:
    """Addresses of a CSV export (Mailchimp, Constant Contact or a plain `email` column).

    Rows marked unsubscribed/cleaned in a `status` column are dropped, duplicates kept once;
    a row that is not an address stops the send with its line number.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SendError("subscriber list not found", path=path) from None
    except UnicodeDecodeError as exc:
        raise SendError(f"is not UTF-8 ({exc.reason}); export it as UTF-8 CSV",
                        path=path) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise SendError("the subscriber list is empty", path=path)
    header = [_norm(cell) for cell in rows[0]]
    if any(_ADDRESS.match(cell.strip()) for cell in rows[0]):
        header, body, first_line = ["email"], rows, 1
    else:
        body, first_line = rows[1:], 2
    column = next((header.index(c) for c in _EMAIL_COLUMNS if c in header), None)
    if column is None:
        raise SendError(f"no email column in the header ({', '.join(rows[0])}); name it "
                        "`email`", path=path, line=1)
    status = _find(header, ("status", "memberstatus", "emailstatus"))
    token = _find(header, ("token", "unsubscribetoken"))
    name = _find(header, ("name", "fullname"))
    first, last = _find(header, ("firstname", "fname")), _find(header, ("lastname", "lname"))
    seen: dict[str, Recipient] = {}
    for number, row in enumerate(body, start=first_line):
        if not any(cell.strip() for cell in row):
            continue
        address = _cell(row, column)
        if not _ADDRESS.match(address):
            raise SendError(f"{address!r} is not an email address; fix or delete the row",
                            path=path, line=number)
        if status is not None and _cell(row, status).lower() in _DROPPED_STATUSES:
            continue
        full = _cell(row, name) if name is not None else " ".join(
            p for p in (_cell(row, first), _cell(row, last)) if p)
        seen.setdefault(address.lower(), Recipient(address, full, _cell(row, token)))
    return tuple(seen.values())


def _norm(cell: str) -> str:
    return re.sub(r"[\s_]+", "", cell.strip().lower())


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    return next((header.index(n) for n in names if n in header), None)


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def parse_addresses(values: Sequence[str]) -> tuple[Recipient, ...]:
    """--to values ('a@x.org', 'Name <a@x.org>', or comma-separated) as recipients."""
    out = []
    for name, address in getaddresses(list(values)):
        if not _ADDRESS.match(address):
            raise SendError(f"--to {address or name!r} is not an email address")
        out.append(Recipient(address, name))
    if not out:
        raise SendError("no address given; use --to ADDRESS")
    return tuple(out)


def unsubscribe_key(config: Config) -> bytes:
    """The project's secret for tokens, created on first use (keep it with .digest/)."""
    path = config.state_dir / KEY_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def recipient_token(key: bytes, address: str) -> str:
    """A token that names the address to whoever holds the key and to nobody else."""
    mac = hmac.new(key, address.strip().lower().encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()[:32]


def with_tokens(recipients: Sequence[Recipient], key: bytes) -> tuple[Recipient, ...]:
    return tuple(r if r.token else Recipient(r.address, r.name, recipient_token(key, r.address))
                 for r in recipients)


# -- SMTP -----------------------------------------------------------------------------------


@contextlib.contextmanager
def open_smtp(settings: SmtpSettings, *, env: Mapping[str, str] | None = None,
              timeout: float = 60.0) -> Iterator[smtplib.SMTP]:
    """A logged-in SMTP connection as smtp: asks (STARTTLS, TLS or plain)."""
    env = os.environ if env is None else env
    where = f"{settings.host}:{settings.port}"
    if not settings.host:
        raise SendError("smtp.host is empty in feeds.yaml; set it (or use --dry-run)")
    user, password = _credentials(settings, env)
    try:
        if settings.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        smtp.ehlo()
        if settings.security == "starttls":
            if not smtp.has_extn("starttls"):
                smtp.close()
                raise SendError(f"{where} does not offer STARTTLS; set smtp.security to 'tls' "
                                "or, for a local relay only, 'none'")
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if user:
            if not smtp.has_extn("auth"):
                smtp.close()
                raise SendError(f"{where} does not offer a login (AUTH) but "
                                f"${settings.username_env} is set; unset it to send without "
                                "a login, or check smtp.port and smtp.security")
            smtp.login(user, password)
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(f"{where} refused the login of ${settings.username_env} "
                        f"({exc.smtp_code}); check ${settings.password_env}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"cannot talk to the SMTP server {where} ({exc}); check smtp.host, "
                        "smtp.port and smtp.security in feeds.yaml") from exc
    try:
        yield smtp
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()


def _credentials(settings: SmtpSettings, env: Mapping[str, str]) -> tuple[str, str]:
    """The login from the environment variables feeds.yaml names: both or neither."""
    user, password = env.get(settings.username_env, ""), env.get(settings.password_env, "")
    if bool(user) != bool(password):
        have, missing = ((settings.username_env, settings.password_env) if user
                         else (settings.password_env, settings.username_env))
        raise SendError(f"${have} is set but ${missing} is not; set both environment "
                        "variables for the SMTP login (named by smtp.username_env and "
                        "smtp.password_env in feeds.yaml), or neither to send without one")
    return user, password


class Refused(Exception):
    """The server refused one recipient (5xx to RCPT): the others may still go."""


class ServerTrouble(Exception):
    """The server cannot take mail now; `in_doubt` when it may have the message anyway.

    `closed`: the server ended the session before the message (idle timeout, a cap on
    messages per connection); a new connection may well succeed.
    """

    def __init__(self, reason: str, *, in_doubt: bool = False, closed: bool = False,
                 code: int = 0) -> None:
        super().__init__(reason)
        self.in_doubt = in_doubt
        self.closed = closed
        self.code = code


def deliver(smtp: smtplib.SMTP, sender: str, recipient: str, data: bytes,
            before_data: Callable[[], None] = lambda: None) -> None:
    """One SMTP transaction, step by step, so we know whether the server may have the mail."""
    try:
        smtp.ehlo_or_helo_if_needed()
        options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") and not data.isascii() else []
        code, reply = smtp.mail(sender, options)
        if code != 250:
            raise ServerTrouble(f"MAIL FROM refused: {code} {_text(reply)}", closed=code == 421,
                                code=code)
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            smtp.rset()
            if 500 <= code < 600:
                raise Refused(f"{code} {_text(reply)}")
            raise ServerTrouble(f"RCPT TO refused: {code} {_text(reply)}")
    except (smtplib.SMTPException, OSError) as exc:
        raise ServerTrouble(f"connection failed before the message was sent ({exc})",
                            closed=True) from exc
    before_data()
    try:
        code, reply = smtp.data(data)  # raises only if DATA itself is refused
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
    except smtplib.SMTPDataError as exc:
        raise ServerTrouble(f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ServerTrouble(f"connection lost during DATA ({exc})", in_doubt=True) from exc


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


@dataclass
class Pacer:
    """At most `per_minute` messages a minute, evenly spaced (clock and sleep passed in)."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last: float | None = field(default=None, init=False)

    def wait(self) -> None:
        if self._last is not None:
            gap = 60.0 / self.per_minute - (self.clock() - self._last)
            if gap > 0:
                self.sleep(gap)
        self._last = self.clock()


Connect = Callable[[SmtpSettings], contextlib.AbstractContextManager[smtplib.SMTP]]


# -- the send log ---------------------------------------------------------------------------


class SendLog:
    """The store's send_log for one issue (table created by store.MIGRATIONS)."""

    def __init__(self, conn: object, issue_date: date) -> None:
        import sqlite3

        assert isinstance(conn, sqlite3.Connection)
        self.conn = conn
        self.issue = issue_date.isoformat()
        # A mark must survive a power cut too, not only a crash of this process: WAL with
        # synchronous=NORMAL may lose the last commits; FULL syncs each one.
        conn.execute("PRAGMA synchronous=FULL")

    def statuses(self) -> dict[str, str]:
        rows = self.conn.execute("SELECT address, status FROM send_log WHERE issue = ?",
                                 (self.issue,))
        return dict(rows.fetchall())

    def mark(self, recipient: Recipient, status: str, message_id: str, now: datetime,
             error: str | None = None) -> None:
        from digest.ingest.store import to_db_time

        # Autocommit: each mark is on disk before the next SMTP step.
        self.conn.execute(
            "INSERT INTO send_log (issue, address, status, message_id, token, updated, error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (issue, address) DO UPDATE SET"
            " status = excluded.status, message_id = excluded.message_id,"
            " token = excluded.token, updated = excluded.updated, error = excluded.error",
            (self.issue, recipient.address.lower(), status, message_id, recipient.token,
             to_db_time(now), error),
        )
        if self.conn.in_transaction:
            self.conn.commit()


@contextlib.contextmanager
def send_lock(config: Config, issue_date: date) -> Iterator[None]:
    """One list send per issue at a time: two at once would both see an address as unsent."""
    path = config.state_dir / f"send-{issue_date.isoformat()}.lock"
    try:
        with exclusive_lock(path):
            yield
    except BlockingIOError:
        raise SendError(f"another `digest send --list` is sending the {issue_date.isoformat()} "
                        "issue; wait for it to finish (it resumes where it stopped if run "
                        "again)", path=path) from None


# -- the commands ---------------------------------------------------------------------------


def send_proof(config: Config, issue_date: date, recipients: Sequence[str], *, now: datetime,
               dry_run: bool = False, connect: Connect = open_smtp,
               pacer: Pacer | None = None) -> SendReport:
    """Send a proof of the rendered issue to each address (not recorded in the send log)."""
    people = with_tokens(parse_addresses(recipients), unsubscribe_key(config))
    base = load_issue_message(config, issue_date)
    template = config.digest.unsubscribe_url
    messages = [(r, personalize(base, r, template=template, now=now, proof=True)) for r in people]
    if dry_run:
        return SendReport(issue_date, "proof", dry_run=True,
                          written=write_outbox(config, issue_date, messages))
    sender = sender_address(config)
    pacer = pacer or Pacer(config.smtp.rate_per_minute)
    sent, failed = [], []
    with _Session(connect, config.smtp) as session:
        for recipient, message in messages:
            pacer.wait()
            try:
                session.deliver(sender, recipient.address, message.as_bytes())
            except (Refused, ServerTrouble) as exc:
                failed.append((recipient.address, str(exc)))
                continue
            sent.append(recipient.address)
    return SendReport(issue_date, "proof", sent=tuple(sent), failed=tuple(failed))


def send_list(config: Config, issue_date: date, csv_path: Path, *, now: datetime,
              dry_run: bool = False, connect: Connect = open_smtp,
              pacer: Pacer | None = None,
              clock: Callable[[], datetime] | None = None) -> SendReport:
    """Send the issue to every subscriber of the CSV, resuming a previous interrupted run."""
    from digest.ingest.store import Store, store_path

    if not config.digest.unsubscribe_url.strip():
        raise SendError("digest.unsubscribe_url is empty; a list send needs an unsubscribe "
                        "link, e.g. https://example.org/unsubscribe?token={token}",
                        path=config.path)
    people = with_tokens(read_subscribers(csv_path), unsubscribe_key(config))
    base = load_issue_message(config, issue_date)
    template = config.digest.unsubscribe_url
    clock = clock or (lambda: datetime.now(UTC))
    with send_lock(config, issue_date), Store.open(store_path(config)) as store:
        log = SendLog(store.conn, issue_date)
        done = log.statuses()
        skipped = tuple(r.address for r in people if done.get(r.address.lower()) == "sent")
        in_doubt = tuple(r.address for r in people
                         if done.get(r.address.lower()) == "pending")
        todo = [r for r in people if done.get(r.address.lower()) not in ("sent", "pending")]
        if dry_run:
            messages = [(r, personalize(base, r, template=template, now=now)) for r in todo]
            return SendReport(issue_date, "list", skipped=skipped, in_doubt=in_doubt,
                              dry_run=True, written=write_outbox(config, issue_date, messages))
        if not todo:
            return SendReport(issue_date, "list", skipped=skipped, in_doubt=in_doubt)
        return _send_all(config, issue_date, todo, base, log, connect=connect,
                         pacer=pacer or Pacer(config.smtp.rate_per_minute), clock=clock,
                         now=now, skipped=skipped, in_doubt=in_doubt)


class _Session:
    """An SMTP connection that is opened again once if the server closed it between messages."""

    def __init__(self, connect: Connect, settings: SmtpSettings) -> None:
        self.connect = connect
        self.settings = settings
        self.stack = contextlib.ExitStack()
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> _Session:
        self.smtp = self.stack.enter_context(self.connect(self.settings))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stack.close()

    def deliver(self, sender: str, recipient: str, data: bytes,
                before_data: Callable[[], None] = lambda: None) -> None:
        assert self.smtp is not None
        try:
            deliver(self.smtp, sender, recipient, data, before_data)
            return
        except ServerTrouble as exc:
            if exc.code == AUTH_REQUIRED:
                raise SendError(
                    f"{self.settings.host}:{self.settings.port} wants a login ({exc}); set "
                    f"the environment variables ${self.settings.username_env} and "
                    f"${self.settings.password_env} (named by smtp.username_env and "
                    "smtp.password_env in feeds.yaml)") from exc
            if not exc.closed:
                raise
        self.stack.close()
        try:
            self.smtp = self.stack.enter_context(self.connect(self.settings))
        except SendError as exc:
            raise ServerTrouble(str(exc)) from exc
        deliver(self.smtp, sender, recipient, data, before_data)


def _send_all(config: Config, issue_date: date, todo: Sequence[Recipient], base: bytes,
              log: SendLog, *, connect: Connect, pacer: Pacer, clock: Callable[[], datetime],
              now: datetime, skipped: tuple[str, ...], in_doubt: tuple[str, ...]) -> SendReport:
    sender = sender_address(config)
    template = config.digest.unsubscribe_url
    sent: list[str] = []
    failed: list[tuple[str, str]] = []
    doubt = list(in_doubt)
    stopped: str | None = None
    remaining = 0
    refused_in_a_row = 0
    with _Session(connect, config.smtp) as session:
        for index, recipient in enumerate(todo):
            pacer.wait()
            message = personalize(base, recipient, template=template, now=now)
            message_id = str(message["Message-ID"])
            try:
                session.deliver(sender, recipient.address, message.as_bytes(),
                                before_data=lambda r=recipient, m=message_id: log.mark(
                                    r, "pending", m, clock()))
            except Refused as exc:
                log.mark(recipient, "failed", message_id, clock(), str(exc))
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
                    log.mark(recipient, "failed", message_id, clock(), str(exc))
                stopped = str(exc)
                # A failed recipient is retried by the next run; one in doubt is not.
                remaining = len(todo) - index - (1 if exc.in_doubt else 0)
                break
            log.mark(recipient, "sent", message_id, clock())
            sent.append(recipient.address)
            refused_in_a_row = 0
    return SendReport(issue_date, "list", sent=tuple(sent), skipped=skipped,
                      failed=tuple(failed), in_doubt=tuple(doubt), remaining=remaining,
                      stopped=stopped)


def write_outbox(config: Config, issue_date: date,
                 messages: Sequence[tuple[Recipient, EmailMessage]]) -> tuple[Path, ...]:
    """--dry-run: each message as issues/DATE/outbox/NNNN-address.eml."""
    outbox = config.issue_dir(issue_date) / OUTBOX
    for old in outbox.glob("*.eml"):  # the outbox shows only the latest dry run
        old.unlink()
    paths = []
    for number, (recipient, message) in enumerate(messages, start=1):
        safe = re.sub(r"[^A-Za-z0-9.@_-]+", "_", recipient.address)
        path = outbox / f"{number:04d}-{safe}.eml"
        atomic_write(path, message.as_bytes())
        paths.append(path)
    return tuple(paths)


# -- export for an email service ------------------------------------------------------------

Service = Literal["mailchimp", "constantcontact"]
MAILCHIMP_UNSUB = "*|UNSUB|*"
CONSTANT_CONTACT_PIXEL = "[[trackingImage]]"
CONSTANT_CONTACT_MAX_BYTES = 400_000


def export_html(config: Config, issue_date: date, service: Service) -> Path:
    """issues/DATE/email.<service>.html: the rendered HTML ready to paste into the service.

    Mailchimp: our unsubscribe link becomes its *|UNSUB|* merge tag. Constant Contact adds
    its own unsubscribe footer to every mail, so our link is removed and its open-tracking
    tag, which its custom-code editor requires once in <body>, is added.
    """
    issue_dir = config.issue_dir(issue_date)
    source = issue_dir / "email.html"
    try:
        page = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        day = issue_date.isoformat()
        raise SendError(f"no rendered issue for {day}; run `digest render --date {day}` first",
                        path=source) from None
    slots = _html_slots(config.digest.unsubscribe_url)
    if service == "mailchimp":
        for slot in slots:
            page = page.replace(slot, MAILCHIMP_UNSUB)
    else:
        for slot in slots:
            page = re.sub(rf"<a\b[^>]*href=\"{re.escape(slot)}\"[^>]*>.*?</a>", "", page,
                          flags=re.DOTALL | re.IGNORECASE)
        page = re.sub(r"<body\b[^>]*>", lambda m: m.group(0) + CONSTANT_CONTACT_PIXEL, page,
                      count=1, flags=re.IGNORECASE)
        if len(page.encode("utf-8")) > CONSTANT_CONTACT_MAX_BYTES:
            raise SendError(f"the issue is {len(page.encode()) // 1000} KB; Constant Contact "
                            "takes at most 400 KB: drop stories or the image", path=source)
    target = issue_dir / f"email.{service}.html"
    atomic_write(target, page)
    return target


def _html_slots(template: str) -> list[str]:
    """How the issue-wide unsubscribe URL can appear in the rendered HTML."""
    template = template.strip()
    if not template:
        return []
    forms = {template, template.replace(TOKEN_SLOT, quote(TOKEN_SLOT, safe=""))}
    forms |= {html.escape(f, quote=True) for f in forms}
    return sorted(forms, key=len, reverse=True)
