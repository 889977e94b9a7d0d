"""SMTP: a connection as feeds.yaml's smtp: asks, and one transaction step by step.

    open_smtp      STARTTLS, implicit TLS or plain; the login from the environment
    deliver        MAIL, RCPT, DATA, telling apart a refused recipient (the others may
                   still go), a server in trouble (stop, resume later) and a transfer
                   cut off mid-DATA (the server may have the message: in doubt)
    Session        a connection opened again once if the server closed it between messages
    Pacer          at most smtp.rate_per_minute messages a minute

Addresses whose local part is not ASCII go only to a server that offers SMTPUTF8
(RFC 6531); without it they are refused here, before MAIL, and the send goes on.
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr

from digest.config import Config, SmtpSettings
from digest.errors import SendError

AUTH_REQUIRED = 530  # RFC 4954: the server takes no mail before a login
ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+$")


def sender_address(config: Config) -> str:
    address = parseaddr(config.digest.sender)[1]
    if not ADDRESS.match(address):
        raise SendError(
            f"digest.from {config.digest.sender!r} is not a mail address; write it "
            "as 'Name <address@example.org>'",
            path=config.path,
        )
    return address


@contextlib.contextmanager
def open_smtp(
    settings: SmtpSettings, *, env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> Iterator[smtplib.SMTP]:
    """A logged-in SMTP connection as smtp: asks (STARTTLS, TLS or plain)."""
    env = os.environ if env is None else env
    where = f"{settings.host}:{settings.port}"
    if not settings.host:
        raise SendError("smtp.host is empty in feeds.yaml; set it (or use --dry-run)")
    user, password = _credentials(settings, env)
    try:
        if settings.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        smtp.ehlo()
        if settings.security == "starttls":
            if not smtp.has_extn("starttls"):
                smtp.close()
                raise SendError(
                    f"{where} does not offer STARTTLS; set smtp.security to 'tls' "
                    "or, for a local relay only, 'none'"
                )
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if user:
            if not smtp.has_extn("auth"):
                smtp.close()
                raise SendError(
                    f"{where} does not offer a login (AUTH) but "
                    f"${settings.username_env} is set; unset it to send without "
                    "a login, or check smtp.port and smtp.security"
                )
            smtp.login(user, password)
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(
            f"{where} refused the login of ${settings.username_env} "
            f"({exc.smtp_code}); check ${settings.password_env}"
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(
            f"cannot talk to the SMTP server {where} ({exc}); check smtp.host, "
            "smtp.port and smtp.security in feeds.yaml"
        ) from exc
    try:
        yield smtp
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()


def _credentials(settings: SmtpSettings, env: Mapping[str, str]) -> tuple[str, str]:
    """The login from the environment variables feeds.yaml names: both or neither."""
    user, password = env.get(settings.username_env, ""), env.get(settings.password_env, "")
    if bool(user) != bool(password):
        have, missing = (
            (settings.username_env, settings.password_env)
            if user
            else (settings.password_env, settings.username_env)
        )
        raise SendError(
            f"${have} is set but ${missing} is not; set both environment "
            "variables for the SMTP login (named by smtp.username_env and "
            "smtp.password_env in feeds.yaml), or neither to send without one"
        )
    return user, password


class Refused(Exception):
    """The server refused one recipient (5xx to RCPT): the others may still go."""


class ServerTrouble(Exception):
    """The server cannot take mail now; `in_doubt` when it may have the message anyway.

    `closed`: the server ended the session before the message (idle timeout, a cap on
    messages per connection); a new connection may well succeed.
    """

    def __init__(
        self, reason: str, *, in_doubt: bool = False, closed: bool = False, code: int = 0
    ) -> None:
        super().__init__(reason)
        self.in_doubt = in_doubt
        self.closed = closed
        self.code = code


def needs_smtputf8(address: str) -> bool:
    """True when the address can travel only in an SMTPUTF8 session (RFC 6531)."""
    return not address.isascii()


def deliver(
    smtp: smtplib.SMTP,
    sender: str,
    recipient: str,
    data: bytes,
    before_data: Callable[[], None] = lambda: None,
) -> None:
    """One SMTP transaction, step by step, so we know whether the server may have the mail."""
    utf8 = needs_smtputf8(recipient) or needs_smtputf8(sender)
    try:
        smtp.ehlo_or_helo_if_needed()
        if utf8 and not smtp.has_extn("smtputf8"):
            raise Refused(
                "a non-ASCII address and the server does not offer SMTPUTF8; ask the "
                "mail provider to enable it, or remove the address"
            )
        options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") and not data.isascii() else []
        if utf8:
            options.append("SMTPUTF8")
        code, reply = smtp.mail(sender, options)
        if code != 250:
            raise ServerTrouble(
                f"MAIL FROM refused: {code} {_text(reply)}", closed=code == 421, code=code
            )
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            smtp.rset()
            if 500 <= code < 600:
                raise Refused(f"{code} {_text(reply)}")
            raise ServerTrouble(f"RCPT TO refused: {code} {_text(reply)}")
    except UnicodeEncodeError as exc:  # an address smtplib cannot put on the wire
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.rset()
        raise Refused(f"the address cannot be sent ({exc.reason})") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ServerTrouble(
            f"connection failed before the message was sent ({exc})", closed=True
        ) from exc
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


class Session:
    """An SMTP connection that is opened again once if the server closed it between messages."""

    def __init__(self, connect: Connect, settings: SmtpSettings) -> None:
        self.connect = connect
        self.settings = settings
        self.stack = contextlib.ExitStack()
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Session:
        self.smtp = self.stack.enter_context(self.connect(self.settings))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stack.close()

    @property
    def smtputf8(self) -> bool:
        """Whether the server takes non-ASCII addresses and headers (RFC 6531)."""
        return self.smtp is not None and self.smtp.has_extn("smtputf8")

    def deliver(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        before_data: Callable[[], None] = lambda: None,
    ) -> None:
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
                    "smtp.password_env in feeds.yaml)"
                ) from exc
            if not exc.closed:
                raise
        self.stack.close()
        try:
            self.smtp = self.stack.enter_context(self.connect(self.settings))
        except SendError as exc:
            raise ServerTrouble(str(exc)) from exc
        deliver(self.smtp, sender, recipient, data, before_data)
