"""EmailView -> the HTML part: Jinja2 renders MJML, mjml-python compiles it, css-inline
inlines our stylesheet.

    EmailView --email.mjml.j2--> MJML     Jinja2, autoescaped; braces in data entity-encoded
    MJML --mjml2html--> HTML              mjml-python (fonts={}); checked for leaks
    HTML --css-inline--> HTML             mjml-python ignores inline="inline", so we inline;
                                          <style> blocks (dark mode, mobile) and Outlook
                                          conditional comments are kept
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import mjml
from markupsafe import Markup, escape

from digest.errors import RenderError
from digest.publish.email.view import SANS, SERIF, EmailView
from digest.publish.templates import TemplateSet, templates_for

HTML_TEMPLATE = "email.mjml.j2"
INLINE_CSS = "email.inline.css"


def _brace_safe(value: Any) -> Any:
    # Data never prints a Jinja/MJML-looking "{{" into the MJML: braces become entities.
    if value is None or isinstance(value, jinja2.Undefined):
        return value
    return Markup(str(escape(value)).replace("{", "&#123;").replace("}", "&#125;"))


@functools.cache
def _environment(templates: TemplateSet) -> jinja2.Environment:
    return templates.environment(autoescape=True, finalize=_brace_safe)


def load_template(env: jinja2.Environment, templates: TemplateSet, name: str) -> jinja2.Template:
    """A template by name; its syntax errors and absence become one-line RenderErrors.

    Jinja keeps compiled templates and only stats the files to see if one changed, so a
    live preview picks up template edits at no real cost.
    """
    try:
        return env.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(
            f"template error: {exc.message}", path=exc.filename, line=exc.lineno
        ) from exc
    except jinja2.TemplateNotFound as exc:
        where = templates.dirs[-1]
        raise RenderError(
            f"template {exc.name} not found in {where}; reinstall or restore templates/", path=where
        ) from exc


def _inliner(templates: TemplateSet) -> css_inline.CSSInliner:
    css = templates.path(INLINE_CSS)
    return _inliner_for(css, css.stat().st_mtime_ns)


@functools.cache
def _inliner_for(path: Path, mtime_ns: int) -> css_inline.CSSInliner:
    # Keyed by the file's mtime: an edited stylesheet is read again, an unchanged one never.
    css = path.read_text(encoding="utf-8")
    css = css.replace("$serif", SERIF).replace("$sans", SANS)
    # Our rules go inline; the <style> blocks stay for dark mode, phones and Outlook.
    return css_inline.CSSInliner(
        inline_style_tags=False, keep_style_tags=True, load_remote_stylesheets=False, extra_css=css
    )


_LEAKS = ("<mj-", "</mj-", "{{", "{%", "{#")
_SPACES_BETWEEN_TAGS = re.compile(r">[ \t]+<")
_BRACE_PAIR = re.compile(r"\{(?=[{%#])")


def render_mjml(view: EmailView, templates: TemplateSet | None = None) -> str:
    """EmailView -> MJML source (the Jinja2 stage)."""
    templates = templates or templates_for(None)
    template = load_template(_environment(templates), templates, HTML_TEMPLATE)
    try:
        source = template.render(v=view)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{HTML_TEMPLATE}: {exc}", path=templates.path(HTML_TEMPLATE)) from exc
    # mjml-python rejects spaces (not newlines) between some head tags; both mean the same.
    return _SPACES_BETWEEN_TAGS.sub(">\n<", source)


def compile_mjml(source: str, templates: TemplateSet | None = None) -> str:
    """MJML -> HTML by mjml-python, checked for leaked MJML tags and template syntax."""
    try:
        compiled: str = mjml.mjml2html(source, fonts={})
    except Exception as exc:  # mjml-python raises bare exceptions for bad markup
        raise RenderError(
            f"MJML did not compile ({exc}); check {HTML_TEMPLATE}",
            path=(templates or templates_for(None)).path(HTML_TEMPLATE),
        ) from exc
    check_leaks(compiled)
    return compiled


def inline_css(compiled: str, templates: TemplateSet | None = None) -> str:
    """Inline email.inline.css into the compiled HTML, keeping <style> and Outlook comments."""
    html: str = _inliner(templates or templates_for(None)).inline(compiled)
    # The inliner decodes entities, so a feed's "{{" would reappear: encode it again
    # (compile_mjml proved the template itself prints no such pair).
    html = _BRACE_PAIR.sub("&#123;", html)
    check_leaks(html)
    return html


def render_html(view: EmailView, templates: TemplateSet | None = None) -> str:
    """EmailView -> MJML -> HTML with CSS inlined; raises RenderError on any template leak."""
    return inline_css(compile_mjml(render_mjml(view, templates), templates), templates)


def check_leaks(html: str) -> None:
    """Raise RenderError if MJML tags or template syntax survived into the HTML."""
    for leak in _LEAKS:
        at = html.find(leak)
        if at >= 0:
            context = html[max(0, at - 40) : at + 40].replace("\n", " ")
            raise RenderError(
                f"{leak!r} leaked into the email HTML near {context!r}; fix {HTML_TEMPLATE}",
                path=HTML_TEMPLATE,
            )
