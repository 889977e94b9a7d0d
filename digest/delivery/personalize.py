"""One recipient's copy of the rendered issue.

rendered .eml --personalize--> To, a fresh Message-ID and Date, the recipient's
                               unsubscribe link in List-Unsubscribe (with RFC 8058's
                               List-Unsubscribe-Post) and in the bodies;
                               a proof's subject says so
EmailMessage --wire_bytes--> the bytes for SMTP (UTF-8 headers only in an SMTPUTF8
                             session)
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from urllib.parse import quote

from digest._util.text import one_line
from digest.delivery.subscribers import Recipient

TOKEN_SLOT = "{token}"
EMAIL_SLOT = "{email}"
PROOF_PREFIX = "[Proof] "
PROOF_WITH_ERRORS_PREFIX = "[PROOF WITH ERRORS] "
# Headers are folded only past RFC 5322's hard limit: the email package folds a long
# subject right after "Subject:", which some readers show as a leading space.
_WIRE = policy.SMTP.clone(max_line_length=998)
_WIRE_UTF8 = policy.SMTPUTF8.clone(max_line_length=998)


def unsubscribe_link(template: str, recipient: Recipient) -> str:
    """The recipient's unsubscribe URL from the template's {token} (and {email}) slots."""
    return (
        template.strip()
        .replace(TOKEN_SLOT, quote(recipient.token, safe=""))
        .replace(EMAIL_SLOT, quote(recipient.address, safe="@"))
    )


def personalize(
    base: bytes,
    recipient: Recipient,
    *,
    template: str,
    now: datetime,
    proof: bool = False,
    with_errors: bool = False,
) -> EmailMessage:
    """One recipient's copy of the rendered issue."""
    message = message_from_bytes(base, policy=policy.SMTP)
    assert isinstance(message, EmailMessage)
    link = unsubscribe_link(template, recipient) if template.strip() else ""
    if link:
        _replace_in_bodies(message, _link_slots(message, template), link)
        _set(message, "List-Unsubscribe", f"<{link}>")
        if link.startswith("https://"):
            _set(message, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    _set(message, "To", to_header(recipient))
    domain = parseaddr(str(message.get("From", "")))[1].rpartition("@")[2] or "localhost"
    _set(message, "Message-ID", make_msgid(domain=domain))
    _set(message, "Date", format_datetime(now.astimezone(UTC)))
    if proof:
        prefix = PROOF_WITH_ERRORS_PREFIX if with_errors else PROOF_PREFIX
        subject = str(message.get("Subject", ""))
        if not subject.startswith(prefix):
            _set(message, "Subject", prefix + subject)
    return message


def wire_bytes(message: EmailMessage, *, smtputf8: bool = False) -> bytes:
    """The message as SMTP carries it: 7-bit headers, unless the session is SMTPUTF8."""
    if smtputf8:
        return message.as_bytes(policy=_WIRE_UTF8)
    try:
        return message.as_bytes(policy=_WIRE)
    except UnicodeEncodeError:  # a non-ASCII address in To: only SMTPUTF8 can carry it
        return message.as_bytes(policy=_WIRE_UTF8)


def to_header(recipient: Recipient) -> str:
    """The To header: the name on one line (a CSV cell may hold any line separator), and
    the address as it is (a non-ASCII one travels only in an SMTPUTF8 session)."""
    name = one_line(recipient.name)
    if recipient.address.isascii():
        return formataddr((name, recipient.address))
    if not name:
        return recipient.address
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{recipient.address}>'


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
