"""Issue -> email: the contract the pipeline, the preview and the send step call.

    Issue --view.email_view--> EmailView     feed text cleaned, links checked, anchors unique
    EmailView --html.render_html--> HTML     MJML by Jinja2, mjml-python, css-inline
    EmailView --text.render_text--> text     its own template, wrapped at 72 columns
    ... --mime.build_message--> eml bytes    multipart/alternative, the lead image inline

Every string from a feed is untrusted: it reaches the HTML only as escaped text, links
only when they are http(s), headers only with their line breaks folded away.

The unsubscribe link is rendered once per issue with the literal slot `{token}`
(UNSUBSCRIBE_TOKEN) from `digest.unsubscribe_url`; the send step (send.personalize)
fills it per recipient in each copy of the message.

The names below are re-exported so that callers need one import for the email.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path

from digest._util.fs import atomic_write
from digest._util.wrap import TEXT_WIDTH, display_width, wrap_text
from digest.config import Config
from digest.models import Issue, Rendered
from digest.publish.email.html import (
    check_leaks,
    compile_mjml,
    inline_css,
    render_html,
    render_mjml,
)
from digest.publish.email.mime import build_message, message_id
from digest.publish.email.text import render_text
from digest.publish.email.view import (
    LABELS,
    MAX_BODY,
    MAX_HEADLINE,
    MAX_NAME,
    UNSUBSCRIBE_TOKEN,
    EmailView,
    email_view,
    format_date,
    preheader_for,
    story_anchor,
    subject_for,
)
from digest.publish.lead_image import LeadImage, lead_image_name, load_lead_image, local_image_path
from digest.publish.templates import templates_for

__all__ = [
    "LABELS",
    "MAX_BODY",
    "MAX_HEADLINE",
    "MAX_NAME",
    "TEXT_WIDTH",
    "UNSUBSCRIBE_TOKEN",
    "EmailView",
    "Rendered",
    "build_message",
    "check_leaks",
    "compile_mjml",
    "display_width",
    "email_view",
    "format_date",
    "inline_css",
    "lead_image_name",
    "preheader_for",
    "render_html",
    "render_issue",
    "render_mjml",
    "render_text",
    "story_anchor",
    "subject_for",
    "wrap_text",
    "write_rendered",
]


def issue_lead_image(issue: Issue, config: Config) -> LeadImage | None:
    """The issue's lead image file (beside its draft), resized; None for a URL or none."""
    source = local_image_path(config.issue_dir(issue.date), issue.image)
    return load_lead_image(source) if source else None


def render_issue(
    issue: Issue, config: Config, *, now: datetime, inline_image: bool = True
) -> Rendered:
    """Render an issue for mail: subject, HTML, plain text and the MIME message.

    A lead image beside the draft travels inside the message (cid:), so a proof shows it
    before the archive is uploaded; `inline_image=False` points at the archive's copy.
    """
    image = issue_lead_image(issue, config)
    view = email_view(
        issue,
        config,
        image_name=image.name if image else None,
        inline_image=inline_image and image is not None,
    )
    templates = templates_for(config.project_dir)
    html = render_html(view, templates)
    text = render_text(view, templates)
    mail_html = html
    if view.image and view.image_web and view.image != view.image_web:
        # email.html is opened in a browser, which cannot see the message's parts: it
        # shows the archive's copy. Same markup otherwise, so one render serves both.
        html = html.replace(escape(view.image), escape(view.image_web))
    eml = build_message(
        view.subject,
        mail_html,
        text,
        config,
        now=now,
        message_id=message_id(issue, config, html),
        unsubscribe_url=view.unsubscribe_url,
        image=image if inline_image else None,
    )
    return Rendered(subject=view.subject, html=html, text=text, eml=eml)


def write_rendered(rendered: Rendered, directory: Path) -> list[Path]:
    """Write email.html, email.txt and email.eml into `directory`, each atomically."""
    directory = Path(directory)
    files = [
        (directory / "email.html", rendered.html.encode("utf-8")),
        (directory / "email.txt", rendered.text.encode("utf-8")),
        (directory / "email.eml", rendered.eml),
    ]
    for path, data in files:
        atomic_write(path, data)
    return [path for path, _ in files]
