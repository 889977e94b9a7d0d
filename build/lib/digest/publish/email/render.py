"""Issue -> email: a faithful HTML issue, its plain-text twin and the MIME message.

    Issue --email_view--> EmailView      feed text cleaned, links checked, anchors unique
    EmailView --email.mjml.j2--> MJML     Jinja2, autoescaped; braces in data entity-encoded
    MJML --mjml2html--> HTML              mjml-python (fonts={}); checked for leaks
    HTML --css-inline--> HTML             mjml-python ignores inline="inline", so we inline;
                                          <style> blocks (dark mode, mobile) and Outlook
                                          conditional comments are kept
    EmailView --email.txt.j2--> text      its own template, wrapped at 72 columns
    subject, html, text --build_message--> eml bytes (multipart/alternative, UTF-8)

Every string from a feed is untrusted: it reaches the HTML only as escaped text, links
only when they are http(s), headers only with their line breaks folded away.

The unsubscribe link is rendered once per issue with the literal slot `{token}`
(UNSUBSCRIBE_TOKEN) from `digest.unsubscribe_url`; the send step (send.personalize)
fills it per recipient in each copy of the message.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import css_inline
import jinja2
import mjml
from markupsafe import Markup, escape

from digest._util.fs import atomic_write
from digest.config import Config
from digest.errors import RenderError
from digest.models import Issue, IssueStory, Rendered
from digest.publish.templates import TemplateSet, templates_for

HTML_TEMPLATE = "email.mjml.j2"
TEXT_TEMPLATE = "email.txt.j2"
UNSUBSCRIBE_TOKEN = "{token}"
TEXT_WIDTH = 72
PREHEADER_MIN, PREHEADER_MAX = 40, 150
# Caps that keep a runaway feed string from wrecking the layout or Gmail's ~102 KB clip.
MAX_HEADLINE, MAX_BODY, MAX_NAME = 300, 4000, 80

# Short stacks (they are inlined on many elements): a Western face first, then the Japanese
# system fonts of macOS/iOS, Windows and Android/Linux.
SERIF = "Georgia, 'Hiragino Mincho ProN', 'Yu Mincho', 'Noto Serif JP', serif"
SANS = "Helvetica, Arial, 'Hiragino Sans', 'Yu Gothic', Meiryo, 'Noto Sans JP', sans-serif"

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "headlines": "In this issue",
        "sources": "Sources",
        "other": "Other news",
        "corrections": "Corrections",
        "image_source": "Image Source",
        "image_alt": "Lead image of {title}",
        "web": "Read this issue on the web",
        "archive": "Browse past issues",
        "contact": "Contact us",
        "unsubscribe": "Unsubscribe from the digest",
        "no_unsubscribe": "Contact us to stop receiving the digest",
    },
    "ja": {
        "headlines": "今号の記事",
        "sources": "出典",
        "other": "その他のニュース",
        "corrections": "訂正",
        "image_source": "画像出典",
        "image_alt": "{title}のトップ画像",
        "web": "ウェブ版で読む",
        "archive": "過去の号を見る",
        "contact": "お問い合わせ",
        "unsubscribe": "配信を停止する",
        "no_unsubscribe": "配信停止はお問い合わせください",
    },
}


# ---------------------------------------------------------------- the view the templates see


@dataclass(frozen=True)
class EmailLink:
    """A checked http(s) link and the words that name it."""

    text: str
    url: str


@dataclass(frozen=True)
class EmailStory:
    """A story cleaned for display: paragraphs of plain text and only safe links."""

    headline: str
    paragraphs: tuple[str, ...]
    sources: tuple[EmailLink, ...]
    anchor: str
    lang: str | None
    level: int


@dataclass(frozen=True)
class EmailSection:
    """A run of consecutive stories under one (optional) section heading."""

    name: str | None
    stories: tuple[EmailStory, ...]


@dataclass(frozen=True)
class EmailView:
    """Everything both templates need, already safe to print."""

    lang: str
    title: str
    date_text: str
    subject: str
    preheader: str
    intro: tuple[str, ...]
    image: str | None
    image_alt: str
    image_credit: str
    headlines: tuple[EmailStory, ...]
    sections: tuple[EmailSection, ...]
    corrections: tuple[tuple[str, str], ...]
    organisation: str
    program: str
    web_url: str
    archive_url: str
    contact_url: str
    unsubscribe_url: str | None
    postal_address: str
    labels: dict[str, str]
    sans: str = SANS  # the body font stack, set on every text block


# ---------------------------------------------------------------- untrusted text and links

# C0/C1 controls, bidi embeddings/overrides/isolates, and other invisible format characters
# that can reorder or hide text; ZWJ/ZWNJ and variation selectors stay (emoji, scripts).
_UNSAFE_CHARS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u206a-\u206f\ufff9-\ufffb]"
)
_JAPANESE = re.compile("[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_LETTER = re.compile(r"[^\W\d_]")


def clean_line(text: str | None, limit: int = MAX_HEADLINE) -> str:
    """One line of display text: unsafe characters gone, whitespace folded, length capped."""
    text = _UNSAFE_CHARS.sub(" ", unicodedata.normalize("NFC", text or ""))
    return truncate(" ".join(text.split()), limit)


def clean_paragraphs(text: str | None, limit: int = MAX_BODY) -> tuple[str, ...]:
    """Paragraphs split at blank lines, each folded to one line; the total length capped."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    blocks = re.split(r"\n\s*\n", text)
    paragraphs = [clean_line(block, limit) for block in blocks]
    kept: list[str] = []
    budget = limit
    for paragraph in paragraphs:
        if not paragraph:
            continue
        if budget <= 0:
            break
        kept.append(truncate(paragraph, budget))
        budget -= len(paragraph)
    return tuple(kept)


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters at a word boundary, marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


_URL_UNSAFE = "\"'<>\\^`{|}"


def safe_url(url: str | None) -> str | None:
    """The URL if it is a well-formed http(s) link, else None (javascript:, data:, ... dropped)."""
    if not url:
        return None
    url = url.strip()
    if _UNSAFE_CHARS.search(url) or any(ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    url = parts.scheme.lower() + url[len(parts.scheme):]
    # Characters that have no business in a URL are percent-encoded, never trusted.
    return "".join(quote(ch, safe="") if ch in _URL_UNSAFE else ch for ch in url)


def detect_lang(text: str) -> str:
    """'ja' when at least 30% of the letters are Japanese, else 'en' (the start decides)."""
    sample = text[:200]
    letters = len(_LETTER.findall(sample))
    if not letters:
        return "en"
    return "ja" if len(_JAPANESE.findall(sample)) >= 0.3 * letters else "en"


def text_lang(text: str, document_lang: str) -> str | None:
    """'ja' or 'en' when `text` is mostly in the other language than the document, else None."""
    if not _LETTER.search(text):
        return None
    lang = detect_lang(text)
    return None if lang == document_lang else lang


def story_anchor(raw: str, number: int, taken: set[str]) -> str:
    """A safe, unique HTML id for story `number` (1-based); the archive uses the same rule."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-")[:60] or f"story-{number}"
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


def _host(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


# ---------------------------------------------------------------- Issue -> EmailView


def format_date(day: date, lang: str) -> str:
    if lang == "ja":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day:%B} {day.day}, {day.year}"


def subject_for(issue: Issue, config: Config) -> str:
    """The Subject from `digest.subject`, e.g. "{title} ({date})", as one safe line."""
    fields = {
        "title": issue.title,
        "date": format_date(issue.date, config.digest.lang),
        "iso_date": issue.date.isoformat(),
        "volume": issue.volume,
        "number": issue.number,
    }
    try:
        subject = config.digest.subject.format_map(fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise RenderError(
            f"digest.subject {config.digest.subject!r} cannot be filled ({exc}); "
            "use {title}, {date}, {iso_date}, {volume} and {number}",
            path=config.path,
        ) from exc
    return clean_line(subject, 250)


def preheader_for(issue: Issue, headlines: Iterable[str], date_text: str = "") -> str:
    """The inbox preview line: the draft's, else made from headlines; 40-150 characters."""
    text = clean_line(issue.preheader, PREHEADER_MAX)
    if len(text) >= PREHEADER_MIN:
        return text
    parts = [text] if text else []
    for headline in headlines:
        if len("; ".join(parts)) >= PREHEADER_MAX:
            break
        parts.append(headline)
    text = "; ".join(parts)
    if len(text) < PREHEADER_MIN:  # too few headlines: say which issue this is
        date_text = date_text or format_date(issue.date, "en")
        text = " | ".join(p for p in (text, f"{clean_line(issue.title)}, {date_text}") if p)
    return truncate(clean_line(text, 10 * PREHEADER_MAX), PREHEADER_MAX)


def issue_urls(issue: Issue, config: Config) -> tuple[str, str]:
    """(web version of this issue, archive) from `site.base_url`."""
    base = config.site.base_url.rstrip("/") + "/"
    return f"{base}{issue.date.isoformat()}/", base


def lead_image_name(image: str) -> str:
    """The file name a lead image beside the draft gets on the archive site."""
    return re.sub(r"[^\w.-]+", "-", PurePosixPath(image).name).lstrip(".")


def lead_image_url(image: str | None, web_url: str) -> str | None:
    """An http(s) image as it is; a file beside the draft from its copy on the archive site."""
    if not image or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:|//", image):
        return safe_url(image)  # any scheme: only http(s) survives
    name = lead_image_name(image)
    return safe_url(web_url + name) if name else None


def email_view(issue: Issue, config: Config) -> EmailView:
    """Clean and check everything an issue carries, once, for both templates."""
    lang = config.digest.lang
    labels = LABELS.get(lang, LABELS["en"])
    title = clean_line(issue.title)
    default_section = clean_line(config.rules.default_section, MAX_NAME) or labels["other"]
    sections = _sections(issue.stories, _stories(issue.stories, lang), default_section)
    # The list of headlines follows the stories as they are printed, section by section.
    headlines = tuple(story for section in sections for story in section.stories)
    web_url, archive_url = issue_urls(issue, config)
    date_text = format_date(issue.date, lang)
    image = lead_image_url(issue.image, web_url)
    credit = clean_line(issue.image_credit, MAX_NAME * 2)
    if credit and not credit.lower().startswith(labels["image_source"].lower()):
        credit = f"{labels['image_source']}: {credit}"
    unsubscribe = config.digest.unsubscribe_url.strip() or None
    if unsubscribe and not safe_url(unsubscribe.replace(UNSUBSCRIBE_TOKEN, "token")):
        raise RenderError("digest.unsubscribe_url is not an http(s) URL; write it like "
                          "https://example.org/unsubscribe?token={token}", path=config.path)
    return EmailView(
        lang=lang,
        title=title,
        date_text=date_text,
        subject=subject_for(issue, config),
        preheader=preheader_for(issue, (s.headline for s in headlines), date_text),
        intro=clean_paragraphs(issue.intro),
        image=image,
        image_alt=clean_line(issue.image_alt, MAX_HEADLINE)
        or labels["image_alt"].format(title=title),
        image_credit=credit if image else "",
        headlines=headlines,
        sections=sections,
        corrections=tuple((clean_line(a, MAX_NAME), clean_line(b, MAX_BODY))
                          for a, b in issue.corrections),
        organisation=clean_line(config.digest.organisation),
        program=clean_line(config.digest.program),
        web_url=web_url,
        archive_url=archive_url,
        contact_url=safe_url(config.digest.contact_url) or archive_url,
        unsubscribe_url=unsubscribe,
        postal_address=clean_line(config.digest.postal_address),
        labels=labels,
    )


def _stories(raw: tuple[IssueStory, ...], lang: str) -> list[EmailStory]:
    sectioned = any(s.section for s in raw)
    taken: set[str] = set()
    stories = []
    for index, story in enumerate(raw, start=1):
        headline = clean_line(story.headline) or f"Story {index}"
        sources = []
        for source in story.sources:
            url = safe_url(source.url)
            if url:
                sources.append(EmailLink(clean_line(source.name, MAX_NAME) or _host(url), url))
        stories.append(EmailStory(
            headline=headline,
            paragraphs=clean_paragraphs(story.body),
            sources=tuple(sources),
            anchor=story_anchor(story.anchor, index, taken),
            lang=text_lang(f"{headline} {story.body[:200]}", lang),
            level=3 if sectioned else 2,
        ))
    return stories


def _sections(raw: tuple[IssueStory, ...], stories: list[EmailStory],
              default: str) -> tuple[EmailSection, ...]:
    # One heading per section, in the order the editor first used each (as the archive
    # page of the issue does): a draft that interleaves sections never repeats a heading.
    if not any(s.section for s in raw):
        return (EmailSection(None, tuple(stories)),) if stories else ()
    groups: dict[str, list[EmailStory]] = {}
    for story, view in zip(raw, stories, strict=True):
        groups.setdefault(clean_line(story.section, MAX_NAME) or default, []).append(view)
    return tuple(EmailSection(name, tuple(items)) for name, items in groups.items())


# ---------------------------------------------------------------- plain-text wrapping

# Japanese line-breaking rules (kinsoku): what may not start, or end, a line.
_NO_LINE_START = set("、。，．,.・：；？！?!ー）〕］｝〉》」』】〙〗"
                     "ゝゞぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々")
_NO_LINE_END = set("（〔［｛〈《「『【〘〖")
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_TOKEN = re.compile(rf"\s+|[{_CJK}]|[^\s{_CJK}]+")


def display_width(text: str) -> int:
    """Columns `text` takes in a monospace terminal (East Asian wide characters take two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _units(text: str) -> list[tuple[str, bool]]:
    """Unbreakable units and whether a space precedes each: words, or CJK characters
    kept with the punctuation that may not start or end a line."""
    units: list[tuple[str, bool]] = []
    space = False
    for token in _TOKEN.findall(text):
        if token.isspace():
            space = True
            continue
        glue = bool(units) and not space and (
            token[0] in _NO_LINE_START or units[-1][0][-1] in _NO_LINE_END
            or (not _is_wide(token) and not _is_wide(units[-1][0][-1]))
        )
        if glue:
            units[-1] = (units[-1][0] + token, units[-1][1])
        else:
            units.append((token, space))
        space = False
    return units


def _is_wide(text: str) -> bool:
    return unicodedata.east_asian_width(text[0]) in "WF"


def wrap_text(text: str, width: int = TEXT_WIDTH, indent: str = "",
              subsequent: str | None = None) -> str:
    """Wrap at `width` columns, breaking only at spaces and between Japanese characters:
    hyphenated words and URLs stay whole (a longer one gets a line of its own)."""
    subsequent = indent if subsequent is None else subsequent
    room = max(width - display_width(subsequent), 8)
    lines: list[str] = []
    line: list[str] = []
    used = display_width(indent)
    for unit, space_before in _pieces(_units(text), room):
        size = display_width(unit)
        gap = 1 if line and space_before else 0
        if line and used + gap + size > width:
            lines.append(("" if lines else indent) + "".join(line))
            line, used, gap = [], display_width(subsequent), 0
        line.append(" " + unit if gap else unit)
        used += gap + size
    if line or not lines:
        lines.append(("" if lines else indent) + "".join(line))
    return "\n".join(lines[:1] + [subsequent + ln for ln in lines[1:]])


def _pieces(units: list[tuple[str, bool]], room: int) -> Iterable[tuple[str, bool]]:
    # A run of letters longer than a line is cut (nothing else could keep 72 columns);
    # a URL is kept whole so that it stays clickable.
    for unit, space_before in units:
        if display_width(unit) <= room or "://" in unit:
            yield unit, space_before
            continue
        piece = ""
        for ch in unit:
            if piece and display_width(piece + ch) > room:
                yield piece, space_before
                piece, space_before = "", False
            piece += ch
        yield piece, space_before


def _underline(text: str, char: str = "-") -> str:
    return char * min(display_width(text), TEXT_WIDTH)


# ---------------------------------------------------------------- templates (cached)


def _brace_safe(value: Any) -> Any:
    # Data never prints a Jinja/MJML-looking "{{" into the MJML: braces become entities.
    if value is None or isinstance(value, jinja2.Undefined):
        return value
    return Markup(str(escape(value)).replace("{", "&#123;").replace("}", "&#125;"))


@functools.cache
def _environments(templates: TemplateSet) -> tuple[jinja2.Environment, jinja2.Environment]:
    html = templates.environment(autoescape=True, finalize=_brace_safe)
    text = templates.environment(autoescape=False, filters={
        "wrap": lambda value, indent="", subsequent=None: wrap_text(
            str(value), TEXT_WIDTH, indent, subsequent),
        "underline": _underline,
    })
    return html, text


def _templates(templates: TemplateSet) -> tuple[jinja2.Template, jinja2.Template]:
    # Jinja keeps compiled templates and only stats the files to see if one changed,
    # so a live preview picks up template edits at no real cost.
    html, text = _environments(templates)
    try:
        return html.get_template(HTML_TEMPLATE), text.get_template(TEXT_TEMPLATE)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"template error: {exc.message}", path=exc.filename,
                          line=exc.lineno) from exc
    except jinja2.TemplateNotFound as exc:
        where = templates.dirs[-1]
        raise RenderError(f"template {exc.name} not found in {where}; "
                          "reinstall or restore templates/", path=where) from exc


INLINE_CSS = "email.inline.css"


def _inliner(templates: TemplateSet) -> css_inline.CSSInliner:
    css = templates.path(INLINE_CSS)
    return _inliner_for(css, css.stat().st_mtime_ns)


@functools.cache
def _inliner_for(path: Path, mtime_ns: int) -> css_inline.CSSInliner:
    # Keyed by the file's mtime: an edited stylesheet is read again, an unchanged one never.
    css = path.read_text(encoding="utf-8")
    css = css.replace("$serif", SERIF).replace("$sans", SANS)
    # Our rules go inline; the <style> blocks stay for dark mode, phones and Outlook.
    return css_inline.CSSInliner(inline_style_tags=False, keep_style_tags=True,
                                 load_remote_stylesheets=False, extra_css=css)


_LEAKS = ("<mj-", "</mj-", "{{", "{%", "{#")
_SPACES_BETWEEN_TAGS = re.compile(r">[ \t]+<")
_BRACE_PAIR = re.compile(r"\{(?=[{%#])")


def render_mjml(view: EmailView, templates: TemplateSet | None = None) -> str:
    """EmailView -> MJML source (the Jinja2 stage)."""
    templates = templates or templates_for(None)
    try:
        source = _templates(templates)[0].render(v=view)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{HTML_TEMPLATE}: {exc}",
                          path=templates.path(HTML_TEMPLATE)) from exc
    # mjml-python rejects spaces (not newlines) between some head tags; both mean the same.
    return _SPACES_BETWEEN_TAGS.sub(">\n<", source)


def compile_mjml(source: str, templates: TemplateSet | None = None) -> str:
    """MJML -> HTML by mjml-python, checked for leaked MJML tags and template syntax."""
    try:
        compiled = mjml.mjml2html(source, fonts={})
    except Exception as exc:  # mjml-python raises bare exceptions for bad markup
        raise RenderError(f"MJML did not compile ({exc}); check {HTML_TEMPLATE}",
                          path=(templates or templates_for(None)).path(HTML_TEMPLATE)) from exc
    check_leaks(compiled)
    return compiled


def inline_css(compiled: str, templates: TemplateSet | None = None) -> str:
    """Inline email.inline.css into the compiled HTML, keeping <style> and Outlook comments."""
    html = _inliner(templates or templates_for(None)).inline(compiled)
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
            context = html[max(0, at - 40): at + 40].replace("\n", " ")
            raise RenderError(f"{leak!r} leaked into the email HTML near {context!r}; "
                              f"fix {HTML_TEMPLATE}", path=HTML_TEMPLATE)


def render_text(view: EmailView, templates: TemplateSet | None = None) -> str:
    """The plain-text part, from the same view by its own template."""
    templates = templates or templates_for(None)
    _, text_template = _templates(templates)
    try:
        text = text_template.render(v=view)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{TEXT_TEMPLATE}: {exc}",
                          path=templates.path(TEXT_TEMPLATE)) from exc
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


# ---------------------------------------------------------------- MIME


def _fold(value: str) -> str:
    return " ".join(_UNSAFE_CHARS.sub(" ", value).split())


def build_message(subject: str, html: str, text: str, config: Config, *, now: datetime,
                  message_id: str, unsubscribe_url: str | None) -> bytes:
    """A complete multipart/alternative message (text first, then HTML), UTF-8, CRLF."""
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = _fold(subject)
    message["From"] = _sender(config)
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
    message["Content-Language"] = config.digest.lang  # set_content drops Content-* headers
    return message.as_bytes()


def _sender(config: Config) -> Address:
    pairs = getaddresses([_fold(config.digest.sender)])
    if len(pairs) != 1 or "@" not in pairs[0][1]:
        raise RenderError(f"digest.from {config.digest.sender!r} is not one mail address; "
                          "write it as 'Name <address@example.org>'", path=config.path)
    name, address = pairs[0]
    user, _, domain = address.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)


def _message_id(issue: Issue, config: Config, html: str) -> str:
    # Stable for the same issue content, so re-rendering does not look like a new mail.
    digest = hashlib.sha256(html.encode()).hexdigest()[:16]
    domain = _sender(config).domain or "localhost"
    return f"<alliance-digest.{issue.date.isoformat()}.{digest}@{domain}>"


# ---------------------------------------------------------------- the contract


def render_issue(issue: Issue, config: Config, *, now: datetime) -> Rendered:
    """Render an issue for mail: subject, HTML, plain text and the MIME message."""
    view = email_view(issue, config)
    templates = templates_for(config.project_dir)
    html = render_html(view, templates)
    text = render_text(view, templates)
    eml = build_message(view.subject, html, text, config, now=now,
                        message_id=_message_id(issue, config, html),
                        unsubscribe_url=view.unsubscribe_url)
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
