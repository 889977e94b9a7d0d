"""HTML for an email service: the rendered issue, to paste into Mailchimp or Constant Contact."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from digest._util.fs import atomic_write
from digest.config import Config
from digest.delivery.personalize import TOKEN_SLOT
from digest.errors import SendError

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
        raise SendError(
            f"no rendered issue for {day}; run `digest render --date {day}` first", path=source
        ) from None
    slots = _html_slots(config.digest.unsubscribe_url)
    if service == "mailchimp":
        for slot in slots:
            page = page.replace(slot, MAILCHIMP_UNSUB)
    else:
        for slot in slots:
            page = re.sub(
                rf"<a\b[^>]*href=\"{re.escape(slot)}\"[^>]*>.*?</a>",
                "",
                page,
                flags=re.DOTALL | re.IGNORECASE,
            )
        page = re.sub(
            r"<body\b[^>]*>",
            lambda m: m.group(0) + CONSTANT_CONTACT_PIXEL,
            page,
            count=1,
            flags=re.IGNORECASE,
        )
        if len(page.encode("utf-8")) > CONSTANT_CONTACT_MAX_BYTES:
            raise SendError(
                f"the issue is {len(page.encode()) // 1000} KB; Constant Contact "
                "takes at most 400 KB: drop stories or the image",
                path=source,
            )
    target = issue_dir / f"email.{service}.html"
    try:
        atomic_write(target, page)
    except OSError as exc:
        raise SendError(
            f"cannot write the export ({exc.strerror}); free space or fix the folder's permissions",
            path=target,
        ) from None
    return target


def _html_slots(template: str) -> list[str]:
    """How the issue-wide unsubscribe URL can appear in the rendered HTML."""
    template = template.strip()
    if not template:
        return []
    forms = {template, template.replace(TOKEN_SLOT, quote(TOKEN_SLOT, safe=""))}
    forms |= {html.escape(f, quote=True) for f in forms}
    return sorted(forms, key=len, reverse=True)
