"""`digest check`: every problem of a draft before publishing, each with file and line.

check_project   the drafts not yet published -> read_draft -> check_draft -> Problems
check_draft     pure: a read draft (plus the links of recent issues) -> Problems: its schema
                problems, then what an editor should fix (headlines, sources, links...)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from digest._util.text import WIDE
from digest._util.urls import is_tracking_param
from digest.config import Config
from digest.editorial.draft import (
    PUBLISHED_NAME,
    dated_files,
    draft_dates,
    draft_path,
    issue_dir,
)
from digest.editorial.draftfile import DraftFile, read_draft
from digest.editorial.issue import Resolver, is_url, picked_without_story
from digest.editorial.merge import link_key
from digest.editorial.schema import DraftCandidate, DraftStory
from digest.errors import DraftError
from digest.models import Problem

MAX_HEADLINE = 90
BODY_WORDS = (40, 200)
RECENT_ISSUES = 6
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"')\]]+")
_WORD = re.compile(rf"[{WIDE}]|[^\s{WIDE}]+")


def word_count(text: str) -> float:
    """Words of a paragraph; a Japanese character counts as half a word."""
    return sum(0.5 if re.match(f"[{WIDE}]", w) else 1 for w in _WORD.findall(text))


def tracking_params(url: str) -> list[str]:
    """The query parameters of a link that the fetcher would have stripped as tracking."""
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return [key for key, value in pairs if is_tracking_param(key, value)]


def published_links(config: Config, issue_date: date) -> dict[str, date]:
    """Links of the last published issues before `issue_date` (link key -> issue date).

    Read defensively: a published.json this code cannot follow is skipped, not fatal.
    """
    issues = [(day, path) for day, path in dated_files(config, PUBLISHED_NAME) if day < issue_date]
    links: dict[str, date] = {}
    for day, path in issues[-RECENT_ISSUES:]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for url in _urls_in(data.get("stories") if isinstance(data, dict) else None):
            links.setdefault(link_key(url), day)
    return links


def _urls_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "url" and isinstance(value, str) and is_url(value):
                yield value
            else:
                yield from _urls_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _urls_in(value)


def check_draft(
    current: DraftFile,
    config: Config,
    issue_date: date,
    *,
    published: Mapping[str, date] | None = None,
) -> list[Problem]:
    """Every problem of one parsed draft, each with its line."""
    where = str(current.path)
    out: list[Problem] = []

    def add(line: int | None, message: str, severity: str = "error") -> None:
        out.append(Problem(where, line, message, severity))  # type: ignore[arg-type]

    out.extend(current.problems)
    written = current.editor.date
    if written is not None and written != issue_date:
        add(
            current.editor.header_lines.get("date"),
            f"date {written} differs from the issue folder {issue_date}; the folder's date is used",
            "warning",
        )
    by_id = current.by_id()
    for cand_id, decision in current.editor.decisions.items():
        if cand_id not in by_id:
            add(
                decision.line,
                f"decision for {cand_id!r}, which is not a candidate of this draft; copy the id"
                " from the list below, or run `digest draft` if you found it with"
                " `digest candidates`",
            )
    for story in current.stories:
        _check_story(story, current, add)
    links: list[tuple[str, int | None]] = []
    resolver = Resolver.of(current)
    for story in current.stories:
        for source, line in zip(story.sources, story.source_lines, strict=False):
            if (link := resolver.link(source)) is not None:
                links.append((link.url, line))
        links += [(url, story.line_of("body")) for url in _URL_IN_TEXT.findall(story.body)]
    for cand in picked_without_story(current):
        _check_auto_story(cand, add)
        if cand.url:
            links.append((cand.url, cand.line_of("url")))
    image = current.editor.header.get("image", "")
    if image and is_url(image):
        links.append((image, current.editor.header_lines.get("image")))
    elif image:
        _check_image_file(current, image, add)
    _check_links(links, published or {}, add)
    if not current.stories and not picked_without_story(current):
        add(
            current.editor.stories_line or 1,
            "the issue has no stories; write some under `stories:`"
            " or pick candidates under `decisions:`",
        )
    return out


def _check_story(story: DraftStory, current: DraftFile, add: Any) -> None:
    if not story.headline:
        add(story.line, "a story without a headline; add `headline:`")
    elif len(story.headline) > MAX_HEADLINE:
        add(
            story.line_of("headline"),
            f"headline is {len(story.headline)} characters; keep it to {MAX_HEADLINE} or fewer",
            "warning",  # the printed digest has run 91-character headlines
        )
    if not story.body:
        add(story.line, "a story without a body; add a one-paragraph `body:`")
    else:
        _check_words(story.body, story.line_of("body"), add)
    by_id = current.by_id()
    for source, line in zip(story.sources, story.source_lines, strict=False):
        cand = by_id.get(source)
        if cand is None and not is_url(source):
            add(
                line,
                f"source {source!r} is neither a candidate id of this draft nor an"
                " http(s) URL; copy the id from `candidates:` or paste the link",
            )
        elif cand is not None and current.status(cand) == "rejected":
            add(line, f"source {source!r} is a rejected candidate", "warning")
    if not story.sources:
        add(story.line, "a story without sources; add `sources: [candidate id or URL]`", "warning")


def _check_words(body: str, line: int | None, add: Any) -> None:
    low, high = BODY_WORDS
    words = word_count(body)
    if not low <= words <= high:
        add(line, f"body has {words:.0f} words; aim for {low}-{high}", "warning")


def _check_auto_story(cand: DraftCandidate, add: Any) -> None:
    # A picked candidate without a story is published with its title and summary.
    if len(cand.title) > MAX_HEADLINE:
        add(
            cand.line_of("title"),
            f"picked candidate {cand.id!r} becomes a story but its title"
            f" is {len(cand.title)} characters (max {MAX_HEADLINE});"
            " shorten it or write a story",
            "warning",
        )
    if not cand.summary:
        add(
            cand.line,
            f"picked candidate {cand.id!r} has no summary to publish; write a story for it",
            "warning",
        )


def _check_image_file(current: DraftFile, image: str, add: Any) -> None:
    folder = current.path.parent.resolve()
    target = (folder / image).resolve()
    if folder not in target.parents or not target.is_file():
        add(
            current.editor.header_lines.get("image"),
            f"image {image!r} is not a file in {current.path.parent}; add it or use a URL",
        )


def _check_links(
    links: Sequence[tuple[str, int | None]], published: Mapping[str, date], add: Any
) -> None:
    seen: dict[str, int | None] = {}
    for url, line in links:
        if params := tracking_params(url):
            add(line, f"link {url} keeps tracking parameters ({', '.join(params)}); remove them")
        key = link_key(url)
        if key in seen:
            add(line, f"link {url} is already in this issue (line {seen[key]}); use it once")
        else:
            seen[key] = line
        if key in published:
            add(line, f"link {url} was already published in the issue of {published[key]}")


def _checked_days(config: Config, issue_date: date | None) -> list[date]:
    if issue_date is not None:
        return [issue_date]
    return [d for d in draft_dates(config) if not (issue_dir(config, d) / PUBLISHED_NAME).exists()]


def unusable(config: Config, issue_date: date | None = None) -> bool:
    """Whether a checked draft cannot be used at all: refused text or a schema error (what
    every other command stops on, with exit status 2)."""
    for day in _checked_days(config, issue_date):
        try:
            if read_draft(draft_path(config, day)).errors:
                return True
        except DraftError:
            return True
    return False


def check_project(config: Config, issue_date: date | None = None) -> list[Problem]:
    """Every problem of the draft of `issue_date`, or of every draft not yet published."""
    days = _checked_days(config, issue_date)
    problems: list[Problem] = []
    for day in days:
        path = draft_path(config, day)
        try:
            current = read_draft(path)
        except DraftError as exc:
            message = exc.message if exc.column is None else f"column {exc.column}: {exc.message}"
            problems.append(Problem(str(exc.path or path), exc.line, message))
            continue
        problems += check_draft(current, config, day, published=published_links(config, day))
    return problems
