"""EmailView -> the plain-text part: its own template, wrapped at 72 columns."""

from __future__ import annotations

import functools
import re

import jinja2

from digest._util.wrap import TEXT_WIDTH, underline, wrap_text
from digest.errors import RenderError
from digest.publish.email.html import load_template
from digest.publish.email.view import EmailView
from digest.publish.templates import TemplateSet, templates_for

TEXT_TEMPLATE = "email.txt.j2"


@functools.cache
def _environment(templates: TemplateSet) -> jinja2.Environment:
    return templates.environment(
        autoescape=False,
        filters={
            "wrap": lambda value, indent="", subsequent=None: wrap_text(
                str(value), TEXT_WIDTH, indent, subsequent
            ),
            "underline": underline,
        },
    )


def render_text(view: EmailView, templates: TemplateSet | None = None) -> str:
    """The plain-text part, from the same view by its own template."""
    templates = templates or templates_for(None)
    template = load_template(_environment(templates), templates, TEXT_TEMPLATE)
    try:
        text = template.render(v=view)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{TEXT_TEMPLATE}: {exc}", path=templates.path(TEXT_TEMPLATE)) from exc
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
