"""Subject, HTML, text and the lead image -> the MIME message (UTF-8, CRLF).

    multipart/alternative
      text/plain                    the text part
      text/html                     or, with a lead image from the issue's folder:
      multipart/related
        text/html                   <img src="cid:lead-image@alliance-digest">
        image/jpeg|png              inline, so proofs and sends show it before the site is up

Headers carry nothing from a feed but the folded subject; line breaks never reach them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from digest._util.text import UNSAFE_CHARS
from digest.config import Config
from digest.errors import RenderError
from digest.models import Issue
from digest.publish.lead_image import LEAD_CID, LeadImage


def _fold(value: str) -> str:
    return " ".join(UNSAFE_CHARS.sub(" ", value).split())


def build_message(
    subject: str,
    html: str,
    text: str,
    config: Config,
    *,
    now: datetime,
    message_id: str,
    unsubscribe_url: str | None,
    image: LeadImage | None = None,
) -> bytes:
    """A complete multipart/alternative message (text first, then HTML), UTF-8, CRLF."""
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = _fold(subject)
    message["From"] = sender(config)
    message["Date"] = format_datetime(now if now.tzinfo else now.replace(tzinfo=UTC))
    message["Message-ID"] = message_id
    if list_id := _fold(config.digest.list_id):
        message["List-Id"] = list_id
    message["List-Archive"] = f"<{_fold(config.site.base_url)}>"
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{_fold(unsubscribe_url)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if image is not None:
        html_part = message.get_body(("html",))
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(
            image.data,
            maintype="image",
            subtype=image.subtype,
            cid=f"<{LEAD_CID}>",
            filename=image.name,
            disposition="inline",
        )
    message["Content-Language"] = config.digest.lang  # set_content drops Content-* headers
    return message.as_bytes()


def sender(config: Config) -> Address:
    """digest.from as one address, or a RenderError saying how to write it."""
    pairs = getaddresses([_fold(config.digest.sender)])
    if len(pairs) != 1 or "@" not in pairs[0][1]:
        raise RenderError(
            f"digest.from {config.digest.sender!r} is not one mail address; "
            "write it as 'Name <address@example.org>'",
            path=config.path,
        )
    name, address = pairs[0]
    user, _, domain = address.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)


def message_id(issue: Issue, config: Config, html: str) -> str:
    """Stable for the same issue content, so re-rendering does not look like a new mail."""
    digest = hashlib.sha256(html.encode()).hexdigest()[:16]
    domain = sender(config).domain or "localhost"
    return f"<alliance-digest.{issue.date.isoformat()}.{digest}@{domain}>"
