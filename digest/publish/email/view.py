"""Issue -> EmailView: everything the email, its text part and the PDF print, made safe.

Feed text is cleaned (unsafe characters, whitespace, length caps), links are kept only
when they are http(s), anchors are made unique, and the two layouts are decided here:

    standard   the headline list, then per story a heading, paragraphs and a Sources line
    digest     the headline list, then one paragraph per story whose outlets are named in
               the text: the first mention of an outlet becomes its link, an outlet the
               text does not name is added in parentheses at the end
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from digest._util.text import detect_lang, one_line
from digest._util.urls import host_name, safe_url
from digest.config import Config
from digest.errors import RenderError
from digest.models import Issue, IssueStory
from digest.publish.dates import format_date as _format_date
from digest.publish.lead_image import LEAD_CID, is_remote, lead_image_name

UNSUBSCRIBE_TOKEN = "{token}"
LAYOUTS = ("standard", "digest")
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
        "subscribe": "Subscribe",
        "pdf": "Download this issue (PDF)",
        "page": "Page",
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
        "subscribe": "購読する",
        "pdf": "この号をダウンロード (PDF)",
        "page": "ページ",
    },
}


# ---------------------------------------------------------------- the view the templates see


@dataclass(frozen=True)
class EmailLink:
    """A checked http(s) link and the words that name it."""

    text: str
    url: str


@dataclass(frozen=True)
class Run:
    """A piece of a paragraph: plain text, or text that links to `url`."""

    text: str
    url: str | None = None


@dataclass(frozen=True)
class EmailStory:
    """A story cleaned for display: paragraphs of plain text and only safe links.

    `runs` is the story as the digest layout prints it: one paragraph, outlets linked.
    """

    headline: str
    paragraphs: tuple[str, ...]
    sources: tuple[EmailLink, ...]
    anchor: str
    lang: str | None
    level: int
    runs: tuple[Run, ...] = ()


@dataclass(frozen=True)
class EmailSection:
    """A run of consecutive stories under one (optional) section heading."""

    name: str | None
    stories: tuple[EmailStory, ...]


@dataclass(frozen=True)
class EmailView:
    """Everything the templates need, already safe to print."""

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
    layout: str = "standard"
    headlines_label: str = ""
    pdf_url: str = ""
    subscribe_url: str = ""
    why: str = ""
    image_web: str | None = None  # the archive's copy (the web version, the PDF's fallback)


# ---------------------------------------------------------------- untrusted text and links


def clean_line(text: str | None, limit: int = MAX_HEADLINE) -> str:
    """One line of display text: unsafe characters gone, whitespace folded, length capped."""
    return truncate(one_line(text), limit)


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


def text_lang(text: str, document_lang: str) -> str | None:
    """'ja' or 'en' when `text` is mostly in the other language than the document, else None."""
    lang = detect_lang(text, default="ja" if document_lang == "ja" else "en")
    return None if lang == document_lang else lang


def story_anchor(raw: str, number: int, taken: set[str]) -> str:
    """A safe, unique HTML id for story `number` (1-based); the archive uses the same rule."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-")[:60] or f"story-{number}"
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


# ---------------------------------------------------------------- Issue -> EmailView


def format_date(day: date, lang: str, pattern: str | None = None) -> str:
    """The date as every output prints it (digest.date_format)."""
    return _format_date(day, pattern or "{month} {day}, {year}", lang)


def config_date(day: date, config: Config) -> str:
    return format_date(day, config.digest.lang, config.digest.date_format)


def subject_for(issue: Issue, config: Config) -> str:
    """The Subject from `digest.subject`, e.g. "{title} ({date})", as one safe line."""
    fields = {
        "title": issue.title,
        "date": config_date(issue.date, config),
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


def pdf_name(issue_date: date) -> str:
    """The PDF's file name, in the issue's folder and beside its archive page."""
    return f"alliance-digest-{issue_date.isoformat()}.pdf"


def lead_image_url(image: str | None, web_url: str, name: str | None = None) -> str | None:
    """An http(s) image as it is; a file beside the draft from its copy on the archive site."""
    if not image or is_remote(image):
        return safe_url(image)  # any scheme: only http(s) survives
    name = name or lead_image_name(image)
    return safe_url(web_url + name) if name else None


def image_credit(credit: str | None, lang: str) -> str:
    """The credit line as every output prints it: "Image Source: Reuters"."""
    labels = LABELS.get(lang, LABELS["en"])
    text = clean_line(credit, MAX_NAME * 2)
    # A credit the editor labelled ("Photo: U.S. Navy") keeps its own label.
    if text and not re.match(r"[^\W\d][\w .]{0,24}:\s", text):
        text = f"{labels['image_source']}: {text}"
    return text


def email_view(
    issue: Issue, config: Config, *, image_name: str | None = None, inline_image: bool = False
) -> EmailView:
    """Clean and check everything an issue carries, once, for every template.

    `image_name` is the archive's file name of a local lead image (it may have been
    re-encoded); `inline_image` makes the HTML show the copy inside the message (cid:).
    """
    lang = config.digest.lang
    labels = LABELS.get(lang, LABELS["en"])
    layout = issue.layout or "standard"
    if layout not in LAYOUTS:
        raise RenderError(
            f"unknown layout {layout!r} in the draft of {issue.date.isoformat()}; "
            f"use one of {', '.join(LAYOUTS)}"
        )
    title = clean_line(issue.title)
    default_section = clean_line(config.rules.default_section, MAX_NAME) or labels["other"]
    stories = _stories(issue.stories, lang, layout)
    sections: tuple[EmailSection, ...]
    if layout == "digest":  # one list of paragraphs: sections would repeat headings
        sections = (EmailSection(None, tuple(stories)),) if stories else ()
    else:
        sections = _sections(issue.stories, stories, default_section)
    # The list of headlines follows the stories as they are printed, section by section.
    headlines = tuple(story for section in sections for story in section.stories)
    web_url, archive_url = issue_urls(issue, config)
    date_text = config_date(issue.date, config)
    image_web = lead_image_url(issue.image, web_url, image_name)
    image = f"cid:{LEAD_CID}" if inline_image and image_web else image_web
    unsubscribe = config.digest.unsubscribe_url.strip() or None
    if unsubscribe and not safe_url(unsubscribe.replace(UNSUBSCRIBE_TOKEN, "token")):
        raise RenderError(
            "digest.unsubscribe_url is not an http(s) URL; write it like "
            "https://example.org/unsubscribe?token={token}",
            path=config.path,
        )
    program = clean_line(config.digest.program)
    organisation = clean_line(config.digest.organisation)
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
        image_credit=image_credit(issue.image_credit, lang) if image else "",
        headlines=headlines,
        sections=sections,
        corrections=tuple(
            (clean_line(a, MAX_NAME), clean_line(b, MAX_BODY)) for a, b in issue.corrections
        ),
        organisation=organisation,
        program=program,
        web_url=web_url,
        archive_url=archive_url,
        contact_url=safe_url(config.digest.contact_url) or archive_url,
        unsubscribe_url=unsubscribe,
        postal_address=clean_line(config.digest.postal_address),
        labels=labels,
        layout=layout,
        headlines_label=clean_line(issue.headlines_label, MAX_NAME) or labels["headlines"],
        pdf_url=web_url + pdf_name(issue.date),
        subscribe_url=safe_url(config.digest.subscribe_url) or archive_url,
        why=_why(config.digest.why, organisation, program),
        image_web=image_web,
    )


def _why(pattern: str, organisation: str, program: str) -> str:
    try:
        text = pattern.format_map({"organisation": organisation, "program": program})
    except (KeyError, IndexError, ValueError):
        text = pattern  # printed as written rather than failing a send over a footer line
    return clean_line(text, MAX_HEADLINE)


def _stories(raw: tuple[IssueStory, ...], lang: str, layout: str) -> list[EmailStory]:
    sectioned = layout == "standard" and any(s.section for s in raw)
    taken: set[str] = set()
    stories = []
    for index, story in enumerate(raw, start=1):
        headline = clean_line(story.headline) or f"Story {index}"
        sources = []
        for source in story.sources:
            url = safe_url(source.url)
            if url:
                sources.append(EmailLink(clean_line(source.name, MAX_NAME) or host_name(url), url))
        paragraphs = clean_paragraphs(story.body)
        stories.append(
            EmailStory(
                headline=headline,
                paragraphs=paragraphs,
                sources=tuple(sources),
                anchor=story_anchor(story.anchor, index, taken),
                lang=text_lang(f"{headline} {story.body[:200]}", lang),
                level=3 if sectioned else 2,
                runs=outlet_runs(" ".join(paragraphs), sources) if layout == "digest" else (),
            )
        )
    return stories


def outlet_runs(text: str, sources: Iterable[EmailLink]) -> tuple[Run, ...]:
    """`text` with the first mention of each outlet linked; unnamed outlets appended."""
    found: list[tuple[int, int, str]] = []
    missing: list[EmailLink] = []
    for link in sources:
        match = re.search(rf"(?<!\w){re.escape(link.text)}(?!\w)", text) if link.text else None
        overlaps = match and any(s < match.end() and match.start() < e for s, e, _ in found)
        if match and not overlaps:
            found.append((match.start(), match.end(), link.url))
        else:
            missing.append(link)
    runs: list[Run] = []
    at = 0
    for start, end, url in sorted(found):
        if start > at:
            runs.append(Run(text[at:start]))
        runs.append(Run(text[start:end], url))
        at = end
    if at < len(text):
        runs.append(Run(text[at:]))
    if missing:
        runs.append(Run(" ("))
        for number, link in enumerate(missing):
            if number:
                runs.append(Run(", "))
            runs.append(Run(link.text, link.url))
        runs.append(Run(")"))
    return tuple(runs)


def _sections(
    raw: tuple[IssueStory, ...], stories: list[EmailStory], default: str
) -> tuple[EmailSection, ...]:
    # One heading per section, in the order the editor first used each (as the archive
    # page of the issue does): a draft that interleaves sections never repeats a heading.
    if not any(s.section for s in raw):
        return (EmailSection(None, tuple(stories)),) if stories else ()
    groups: dict[str, list[EmailStory]] = {}
    for story, view in zip(raw, stories, strict=True):
        groups.setdefault(clean_line(story.section, MAX_NAME) or default, []).append(view)
    return tuple(EmailSection(name, tuple(items)) for name, items in groups.items())
