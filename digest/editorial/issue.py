"""A read draft -> the Issue the renderers take: stories resolved, picked candidates added.

stories         each story's sources (candidate ids or URLs) become links named by outlet;
                a story without `section` takes its first source candidate's section
picked          a picked candidate no story names is published with its title and summary
title, number   from the issue sequence (digest.editorial.calendar), so the email, the
                archive, the PDF and the feed all say the same
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from urllib.parse import urlsplit

from digest._util.urls import host_name
from digest.config import Config
from digest.editorial.calendar import issue_title
from digest.editorial.draftfile import DraftFile
from digest.editorial.merge import link_key
from digest.editorial.schema import DraftCandidate
from digest.errors import DraftError
from digest.models import Issue, IssueStory, IssueWindow, SourceLink


def is_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass(frozen=True)
class Resolver:
    """Turns a story source (candidate id or URL) into its candidate and a named link."""

    by_id: Mapping[str, DraftCandidate]
    by_link: Mapping[str, DraftCandidate] = field(default_factory=dict)
    names_by_link: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, current: DraftFile) -> Resolver:
        names: dict[str, str] = {}
        by_link: dict[str, DraftCandidate] = {}
        for cand in current.candidates:
            for outlet in cand.also:
                if outlet.name and is_url(outlet.url):
                    names.setdefault(link_key(outlet.url), outlet.name)
        for cand in current.candidates:
            if cand.url:
                names[link_key(cand.url)] = cand.source or host_name(cand.url)
                by_link.setdefault(link_key(cand.url), cand)
        return cls(by_id=current.by_id(), by_link=by_link, names_by_link=names)

    def candidate(self, source: str) -> DraftCandidate | None:
        found = self.by_id.get(source)
        if found is None and is_url(source):
            found = self.by_link.get(link_key(source))
        return found

    def link(self, source: str) -> SourceLink | None:
        cand = self.by_id.get(source)
        if cand is not None and cand.url:
            return SourceLink(name=cand.source or host_name(cand.url), url=cand.url)
        if is_url(source):
            name = self.names_by_link.get(link_key(source)) or host_name(source)
            return SourceLink(name=name, url=source)
        return None


def picked_without_story(current: DraftFile) -> list[DraftCandidate]:
    """Picked candidates no story refers to, best first: they become stories themselves."""
    referenced = current.referenced()
    links = {link_key(r) for r in referenced if is_url(r)}
    return [
        c
        for c in current.candidates
        if current.status(c) == "picked" and c.id not in referenced and link_key(c.url) not in links
    ]


def _anchor(headline: str, index: int, taken: set[str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", headline.lower()).strip("-")[:60].strip("-")
    base = slug or f"story-{index + 1}"
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


def _section(sources: tuple[str, ...], resolver: Resolver) -> str | None:
    """The section of the story's first source that is a candidate of this draft."""
    for source in sources:
        cand = resolver.candidate(source)
        if cand is not None:
            return cand.section
    return None


def issue_from_draft(current: DraftFile, config: Config, window: IssueWindow) -> Issue:
    """Resolve a read draft into the Issue the renderers take."""
    resolver = Resolver.of(current)
    taken: set[str] = set()
    stories: list[IssueStory] = []
    for story in current.stories:
        links = tuple(link for s in story.sources if (link := resolver.link(s)) is not None)
        stories.append(
            IssueStory(
                headline=story.headline,
                body=story.body,
                sources=links,
                section=story.section or _section(story.sources, resolver),
                anchor=_anchor(story.headline, len(stories), taken),
            )
        )
    for cand in picked_without_story(current):
        link = resolver.link(cand.id)
        stories.append(
            IssueStory(
                headline=cand.title,
                body=cand.summary,
                sources=(link,) if link else (),
                section=cand.section,
                anchor=_anchor(cand.title, len(stories), taken),
            )
        )
    header = current.editor.header
    preheader = header.get("preheader") or " · ".join(s.headline for s in stories[:2])
    return Issue(
        date=window.date,
        title=issue_title(config, window),
        volume=window.volume,
        number=window.number,
        stories=tuple(stories),
        preheader=preheader,
        intro=header.get("intro", ""),
        image=header.get("image") or None,
        image_alt=header.get("image_alt", ""),
        image_credit=header.get("image_credit", ""),
        published_at=_published_at(current, config),
        layout=header.get("layout") or "standard",
        headlines_label=header.get("headlines_label", ""),
    )


def _published_at(current: DraftFile, config: Config) -> datetime | None:
    """`published:` of an issue imported from an earlier series (a date, or date and time)."""
    text = current.editor.header.get("published", "").strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise DraftError(
            f"published: {text!r} is not a date; write the issue's own date as YYYY-MM-DD",
            path=current.path,
            line=current.editor.header_lines.get("published"),
        ) from exc
    if parsed.tzinfo is None:  # a bare date: the morning of that day where the editor is
        parsed = datetime.combine(parsed.date(), time(9), tzinfo=config.tz)
        if "T" in text or " " in text:
            parsed = datetime.fromisoformat(text).replace(tzinfo=config.tz)
    return parsed
