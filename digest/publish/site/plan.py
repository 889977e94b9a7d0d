"""Published issues -> the plan of the archive site: every file and what it is made from.

Pure but for reading the sizes of the files it copies (lead images, PDFs): no page is
rendered and nothing is written here (see writer.py). Site layout (every link is
relative, so the site works from disk and from its base URL)::

    index.html              newest issues with their headlines; older ones by year
    archive/YYYY.html       every issue of a year with its headlines
    YYYY-MM-DD/index.html   one issue: headline list, stories with anchors, sources, prev/next,
                            its lead image and its PDF ("Download this issue (PDF)")
    topics/index.html       the sections; topics/SLUG/index.html newest stories of a section,
                            topics/SLUG/YYYY.html that section's stories of a year
    search.html             search over search/YYYY.js (the index, a JSON object per year)
    feed.xml, sitemap.xml   absolute URLs under config.site.base_url; the feed carries each
                            issue's PDF as an enclosure
    assets/                 site.css, print.css, search.js
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from digest._util.text import clean_text, detect_lang
from digest._util.urls import safe_url
from digest.config import Config
from digest.models import Issue, IssueStory, SourceLink
from digest.publish.dates import DEFAULT_FORMAT, format_date
from digest.publish.email.view import image_credit, pdf_name, story_anchor
from digest.publish.lead_image import lead_image_name, local_image_path
from digest.publish.site.published import Published

# Bump when the way pages are built changes outside the templates, so every page is redone.
BUILD_VERSION = "2"
RECENT_ON_INDEX = 8  # with headlines; older issues by number and date (pages < 60 KB)
RECENT_ON_TOPIC = 30
HEADLINES_PER_PAGE = 160  # a year's issues are split over pages beyond this
EXCERPTS_PER_PAGE = 80  # the same for a topic's stories of a year
EXCERPT_CHARS = 220


@dataclass(frozen=True)
class Page:
    """One file of the site: a template and its JSON-able context, or raw bytes."""

    path: str
    template: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    data: bytes | None = None
    source: Path | None = None  # a file copied as is (the PDF), or resized (lead_image)
    lead_image: bool = False

    def key(self, template_fingerprint: str) -> str:
        digest = hashlib.sha256(BUILD_VERSION.encode())
        if self.template is not None:
            digest.update(template_fingerprint.encode())
            digest.update(self.template.encode())
            digest.update(
                json.dumps(self.context, sort_keys=True, ensure_ascii=False, default=str).encode(
                    "utf-8"
                )
            )
        if self.data is not None:
            digest.update(self.data)
        if self.source is not None:
            # By size and time, not content: a PDF per issue would be read on every build.
            stat = self.source.stat()
            digest.update(f"{self.source}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        if self.lead_image:
            digest.update(b"lead-image-v1")  # resized on the way (publish/lead_image.py)
        return digest.hexdigest()


@dataclass(frozen=True)
class SiteInfo:
    """What every page shows about the publisher; from feeds.yaml."""

    title: str
    organisation: str
    program: str
    contact_url: str
    base_url: str
    lang: str
    timezone: str = "UTC"  # the editor's: a publication date is the date where they are
    date_format: str = DEFAULT_FORMAT  # digest.date_format: one date style everywhere

    @classmethod
    def from_config(cls, config: Config) -> SiteInfo:
        base = (
            config.site.base_url
            if config.site.base_url.endswith("/")
            else (config.site.base_url + "/")
        )
        return cls(
            title=config.site.title,
            organisation=config.digest.organisation,
            program=config.digest.program,
            contact_url=config.digest.contact_url,
            base_url=base,
            lang=config.digest.lang,
            timezone=config.cadence.timezone,
            date_format=config.digest.date_format,
        )


@functools.cache
def _site_context(site: SiteInfo) -> dict[str, Any]:
    return asdict(site)  # shared by every page, never changed


@dataclass(frozen=True)
class _Entry:
    """A published issue with what its pages need precomputed."""

    published: Published
    sections: tuple[tuple[str, tuple[IssueStory, ...]], ...]
    date_format: str = DEFAULT_FORMAT

    def long(self, day: date) -> str:
        """A date in the site's one style."""
        return format_date(day, self.date_format)

    @property
    def issue(self) -> Issue:
        return self.published.issue

    @property
    def slug(self) -> str:
        return self.issue.date.isoformat()

    @cached_property
    def anchors(self) -> dict[int, str]:
        return _anchors(self.issue.stories)

    @cached_property
    def langs(self) -> dict[int, str]:
        return {id(s): detect_lang(s.headline + " " + s.body) for s in self.issue.stories}


def plan_site(
    published: Sequence[Published],
    site: SiteInfo,
    *,
    section_order: Sequence[str] = (),
    default_section: str = "Other",
    issues_dir: Path | None = None,
    feed_entries: int = 50,
) -> list[Page]:
    """Every file of the site, decided from the published issues alone (no I/O but images)."""
    issues = sorted(
        (replace(p, issue=_clean_issue(p.issue)) for p in published), key=lambda p: p.issue.date
    )
    entries = [
        _Entry(p, _group_sections(p.issue.stories, default_section), site.date_format)
        for p in issues
    ]
    slugs = _section_slugs(entries, section_order)
    pages: list[Page] = []
    for index, entry in enumerate(entries):
        older = entries[index - 1] if index > 0 else None
        newer = entries[index + 1] if index + 1 < len(entries) else None
        pages.extend(_issue_pages(entry, older, newer, site, slugs, issues_dir))
    pages.append(_index_page(entries, site))
    pages.extend(_year_pages(entries, site))
    pages.extend(_topic_pages(entries, site, slugs))
    shards = _search_shards(entries)
    pages.append(
        Page(
            "search.html",
            "search.html",
            {
                "site": _site_context(site),
                "root": "",
                "page": "search",
                "shards": [shard.path for shard in shards],
            },
        )
    )
    pages.extend(shards)
    pages.append(_feed_page(entries, site, slugs, feed_entries, issues_dir))
    pages.append(_sitemap_page(pages, entries, site))
    return pages


def _clean_issue(issue: Issue) -> Issue:
    """The issue with text safe for HTML and XML and links only where they are http(s)."""
    stories = tuple(
        replace(
            s,
            headline=clean_text(s.headline),
            body=clean_text(s.body),
            section=clean_text(s.section) if s.section else None,
            sources=tuple(SourceLink(clean_text(x.name) or x.url, x.url) for x in s.sources),
        )
        for s in issue.stories
    )
    return replace(
        issue,
        title=clean_text(issue.title),
        preheader=clean_text(issue.preheader),
        intro=clean_text(issue.intro),
        image_alt=clean_text(issue.image_alt),
        image_credit=clean_text(issue.image_credit),
        stories=stories,
    )


def _group_sections(
    stories: Sequence[IssueStory], default: str
) -> tuple[tuple[str, tuple[IssueStory, ...]], ...]:
    # Sections in the order the editor first used them in the issue.
    groups: dict[str, list[IssueStory]] = {}
    for story in stories:
        groups.setdefault(story.section or default, []).append(story)
    return tuple((name, tuple(items)) for name, items in groups.items())


def _anchors(stories: Sequence[IssueStory]) -> dict[int, str]:
    """Each story's anchor, made unique and safe for an id even if the draft's is not.

    Keyed by id(): _clean_issue made every story a distinct object, even repeated ones.
    """
    seen: set[str] = set()
    out: dict[int, str] = {}
    for number, story in enumerate(stories, start=1):
        # The email's rule, so its links to the web page land on the story.
        anchor = story_anchor(story.anchor, number, seen)
        out[id(story)] = anchor
    return out


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    # Names without Latin letters (a Japanese section name) still need a stable file name.
    return slug or "topic-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def _section_slugs(entries: Sequence[_Entry], order: Sequence[str]) -> dict[str, str]:
    names = {name for e in entries for name, _ in e.sections}
    ranked = [n for n in order if n in names] + sorted(names - set(order), key=str.casefold)
    slugs: dict[str, str] = {}
    used: set[str] = set()
    for name in ranked:
        slug, n = slugify(name), 2
        while slug in used:
            slug, n = f"{slugify(name)}-{n}", n + 1
        used.add(slug)
        slugs[name] = slug
    return slugs


def _paragraphs(body: str) -> list[str]:
    parts = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body.strip())]
    return [p for p in parts if p]


def excerpt(body: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(body.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    # Cut at a space when there is one near the end (not for Japanese, which has none).
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.、。") + "…"


def long_date(day: date, pattern: str = DEFAULT_FORMAT) -> str:
    """A date in the site's style (digest.date_format)."""
    return format_date(day, pattern)


def _issue_label(issue: Issue) -> str:
    return f"Vol {issue.volume}, No. {issue.number}"


def _image(
    entry: _Entry, site: SiteInfo, issues_dir: Path | None
) -> tuple[dict[str, Any] | None, Page | None]:
    """The lead image: a file beside the issue is resized and copied (the copy the email's
    web version shows); a URL is shown only from our host. The credit reads as in the
    email and the PDF."""
    issue = entry.issue
    if not issue.image:
        return None, None
    credit = image_credit(issue.image_credit, site.lang)
    info: dict[str, Any] = {"alt": issue.image_alt, "credit": credit, "src": None, "href": None}
    if "://" in issue.image or issue.image.startswith("//"):
        url = safe_url(issue.image)
        if url is None:
            return None, None
        if urlsplit(url).netloc == urlsplit(site.base_url).netloc:
            info["src"] = url
        else:
            info["href"] = url  # a link, not a load from another host
        return info, None
    if issues_dir is None:
        return None, None
    source = local_image_path(issues_dir / entry.slug, issue.image)
    name = lead_image_name(issue.image)
    if source is None or not name:
        return None, None
    info["src"] = name
    return info, Page(f"{entry.slug}/{name}", source=source, lead_image=True)


def _pdf(entry: _Entry, issues_dir: Path | None) -> tuple[dict[str, Any] | None, Page | None]:
    """The issue's PDF, made at publication in its folder, published beside its page."""
    if issues_dir is None:
        return None, None
    name = pdf_name(entry.issue.date)
    source = issues_dir / entry.slug / name
    if not source.is_file():
        return None, None
    info = {"href": name, "length": source.stat().st_size}
    return info, Page(f"{entry.slug}/{name}", source=source)


def _story_view(entry: _Entry, story: IssueStory, *, root: str) -> dict[str, Any]:
    anchor = entry.anchors[id(story)]
    return {
        "anchor": anchor,
        "href": f"{root}{entry.slug}/index.html#{anchor}",
        "headline": story.headline,
        "lang": entry.langs[id(story)],
        "paragraphs": _paragraphs(story.body),
        "sources": [{"name": s.name, "url": safe_url(s.url)} for s in story.sources],
    }


def _issue_view(entry: _Entry, *, root: str, slugs: Mapping[str, str], tz: str) -> dict[str, Any]:
    issue = entry.issue
    return {
        "slug": entry.slug,
        "href": f"{root}{entry.slug}/index.html",
        "date": issue.date.isoformat(),
        "date_long": entry.long(issue.date),
        "title": issue.title,
        "label": _issue_label(issue),
        "preheader": issue.preheader,
        "intro": _paragraphs(issue.intro),
        "published_at": entry.published.published_at.isoformat(),
        "published_long": entry.long(entry.published.published_at.astimezone(ZoneInfo(tz)).date()),
        "corrections": [
            {
                "date": c.date.isoformat(),
                "date_long": entry.long(c.date),
                "note": clean_text(c.note),
            }
            for c in entry.published.corrections
        ],
        "sections": [
            {
                "name": name,
                "id": f"section-{slugs[name]}",
                "topic_href": f"{root}topics/{slugs[name]}/index.html",
                "stories": [_story_view(entry, s, root=root) for s in stories],
            }
            for name, stories in entry.sections
        ],
    }


def _link(entry: _Entry | None, root: str) -> dict[str, str] | None:
    if entry is None:
        return None
    return {
        "href": f"{root}{entry.slug}/index.html",
        "title": entry.issue.title,
        "date_long": entry.long(entry.issue.date),
    }


def _issue_pages(
    entry: _Entry,
    older: _Entry | None,
    newer: _Entry | None,
    site: SiteInfo,
    slugs: Mapping[str, str],
    issues_dir: Path | None,
) -> list[Page]:
    root = "../"
    image, image_page = _image(entry, site, issues_dir)
    pdf, pdf_page = _pdf(entry, issues_dir)
    context = {
        "site": _site_context(site),
        "root": root,
        "page": "issue",
        "canonical": _absolute(site.base_url, f"{entry.slug}/"),
        "issue": _issue_view(entry, root=root, slugs=slugs, tz=site.timezone)
        | {"image": image, "pdf": pdf},
        "prev": _link(older, root),
        "next": _link(newer, root),
    }
    page = Page(f"{entry.slug}/index.html", "issue.html", context)
    return [p for p in (page, image_page, pdf_page) if p is not None]


def _headlines(entry: _Entry, root: str) -> dict[str, Any]:
    issue = entry.issue
    return {
        "href": f"{root}{entry.slug}/index.html",
        "date": issue.date.isoformat(),
        "date_long": entry.long(issue.date),
        "title": issue.title,
        "label": _issue_label(issue),
        "corrected": bool(entry.published.corrections),
        "stories": [
            {
                "headline": s.headline,
                "lang": entry.langs[id(s)],
                "href": f"{root}{entry.slug}/index.html#{entry.anchors[id(s)]}",
            }
            for s in issue.stories
        ],
    }


def _years(entries: Sequence[_Entry]) -> list[dict[str, Any]]:
    counts: dict[int, int] = {}
    for entry in entries:
        counts[entry.issue.date.year] = counts.get(entry.issue.date.year, 0) + 1
    return [
        {"year": y, "count": counts[y], "file": f"{y}.html"} for y in sorted(counts, reverse=True)
    ]


def _without_counts(years: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    # Pages of one year link to the others without their counts, so that publishing an
    # issue does not rewrite the page of every past year.
    return [{"year": y["year"], "file": y["file"]} for y in years]


def _index_page(entries: Sequence[_Entry], site: SiteInfo) -> Page:
    newest = list(reversed(entries))
    recent = newest[:RECENT_ON_INDEX]
    earlier: dict[int, list[dict[str, str]]] = {}
    for e in newest[RECENT_ON_INDEX:]:
        earlier.setdefault(e.issue.date.year, []).append(
            {
                "href": f"{e.slug}/index.html",
                "date": e.issue.date.isoformat(),
                "label": f"No. {e.issue.number}, {e.issue.date.day} {e.issue.date:%b}",
            }
        )
    context = {
        "site": _site_context(site),
        "root": "",
        "page": "index",
        "canonical": site.base_url,
        "issues": [_headlines(e, "") for e in recent],
        "earlier": [{"year": y, "issues": items} for y, items in earlier.items()],
        "years": _years(entries),
        "count": len(entries),
    }
    return Page("index.html", "index.html", context)


def _parts(items: Sequence[Any], weights: Sequence[int], budget: int) -> list[list[Any]]:
    """`items` (oldest first) cut into runs of at most `budget` by weight, so pages stay small."""
    parts: list[list[Any]] = [[]]
    total = 0
    for item, weight in zip(items, weights, strict=True):
        if parts[-1] and total + weight > budget:
            parts.append([])
            total = 0
        parts[-1].append(item)
        total += weight
    return [p for p in parts if p]


def _part_file(year: int, number: int) -> str:
    return f"{year}.html" if number == 1 else f"{year}-{number}.html"


def _months(days: Sequence[date]) -> str:
    first, last = min(days), max(days)
    return f"{first:%B}" if first.month == last.month else f"{first:%B}–{last:%B}"


def _part_links(year: int, parts: Sequence[Sequence[date]], current: int) -> list[dict[str, Any]]:
    if len(parts) < 2:
        return []
    return [
        {"file": _part_file(year, n), "label": _months(days), "current": n == current}
        for n, days in enumerate(parts, start=1)
    ]


def _year_pages(entries: Sequence[_Entry], site: SiteInfo) -> list[Page]:
    pages = []
    years = _years(entries)
    for year in years:
        of_year = [e for e in entries if e.issue.date.year == year["year"]]
        parts = _parts(of_year, [len(e.issue.stories) for e in of_year], HEADLINES_PER_PAGE)
        days = [[e.issue.date for e in part] for part in parts]
        for number, part in enumerate(parts, start=1):
            path = f"archive/{_part_file(year['year'], number)}"
            context = {
                "site": _site_context(site),
                "root": "../",
                "page": "year",
                "year": year["year"],
                "canonical": _absolute(site.base_url, path),
                "months": _months(days[number - 1]) if len(parts) > 1 else "",
                "parts": _part_links(year["year"], days, number),
                "issues": [_headlines(e, "../") for e in reversed(part)],
                "years": _without_counts(years),
            }
            pages.append(Page(path, "year.html", context))
    return pages


def _topic_story(entry: _Entry, story: IssueStory, root: str) -> dict[str, Any]:
    return {
        "headline": story.headline,
        "lang": entry.langs[id(story)],
        "href": f"{root}{entry.slug}/index.html#{entry.anchors[id(story)]}",
        "excerpt": excerpt(story.body),
        "date": entry.issue.date.isoformat(),
        "date_long": entry.long(entry.issue.date),
        "issue": entry.issue.title,
    }


def _topic_pages(entries: Sequence[_Entry], site: SiteInfo, slugs: Mapping[str, str]) -> list[Page]:
    pages: list[Page] = []
    summary = []
    for name, slug in slugs.items():
        # (entry, stories of this section), newest issue first.
        hits = [(e, stories) for e in reversed(entries) for n, stories in e.sections if n == name]
        total = sum(len(stories) for _, stories in hits)
        years: dict[int, int] = {}
        for e, stories in hits:
            years[e.issue.date.year] = years.get(e.issue.date.year, 0) + len(stories)
        year_links = [{"year": y, "count": c, "file": f"{y}.html"} for y, c in years.items()]
        summary.append(
            {
                "name": name,
                "href": f"{slug}/index.html",
                "count": total,
                "latest": hits[0][0].long(hits[0][0].issue.date),
            }
        )
        root = "../../"
        recent = [_topic_story(e, s, root) for e, stories in hits for s in stories]
        pages.append(
            Page(
                f"topics/{slug}/index.html",
                "topic.html",
                {
                    "site": _site_context(site),
                    "root": root,
                    "page": "topic",
                    "name": name,
                    "canonical": _absolute(site.base_url, f"topics/{slug}/"),
                    "stories": recent[:RECENT_ON_TOPIC],
                    "total": total,
                    "years": year_links,
                },
            )
        )
        for year in years:
            of_year = [(e, st) for e, st in reversed(hits) if e.issue.date.year == year]
            parts = _parts(of_year, [len(st) for _, st in of_year], EXCERPTS_PER_PAGE)
            days = [[e.issue.date for e, _ in part] for part in parts]
            for number, part in enumerate(parts, start=1):
                groups = [
                    {
                        "title": e.issue.title,
                        "date_long": e.long(e.issue.date),
                        "href": f"{root}{e.slug}/index.html",
                        "stories": [_topic_story(e, s, root) for s in stories],
                    }
                    for e, stories in reversed(part)
                ]
                path = f"topics/{slug}/{_part_file(year, number)}"
                pages.append(
                    Page(
                        path,
                        "topic_year.html",
                        {
                            "site": _site_context(site),
                            "root": root,
                            "page": "topic",
                            "name": name,
                            "year": year,
                            "topic_href": "index.html",
                            "canonical": _absolute(site.base_url, path),
                            "months": _months(days[number - 1]) if len(parts) > 1 else "",
                            "parts": _part_links(year, days, number),
                            "groups": groups,
                            "years": _without_counts(year_links),
                        },
                    )
                )
    pages.append(
        Page(
            "topics/index.html",
            "topics.html",
            {
                "site": _site_context(site),
                "root": "../",
                "page": "topics",
                "canonical": _absolute(site.base_url, "topics/"),
                "topics": summary,
            },
        )
    )
    return pages


def _search_shards(entries: Sequence[_Entry]) -> list[Page]:
    """The search index, one file per year, newest year first.

    Split by year so that a reader sees recent matches before the older years have loaded,
    and publishing an issue rewrites only its year's file. Each file is a JSON object
    wrapped in a call, `digestSearchShard({...});`, so that a <script> tag can load it from
    disk too. The object: {"version", "year", "issues": {date: title}, "stories": rows},
    a row being [date, anchor, headline, section, text, sources], newest issue first.
    """
    by_year: dict[int, list[_Entry]] = {}
    for entry in reversed(entries):
        by_year.setdefault(entry.issue.date.year, []).append(entry)
    shards = []
    for year, of_year in by_year.items():
        stories = [
            [
                entry.slug,
                entry.anchors[id(story)],
                story.headline,
                name,
                " ".join(story.body.split()),
                " ".join(s.name for s in story.sources),
            ]
            for entry in of_year
            for name, items in entry.sections
            for story in items
        ]
        data = json.dumps(
            {
                "version": 2,
                "year": year,
                "issues": {e.slug: e.issue.title for e in of_year},
                "dates": {e.slug: e.long(e.issue.date) for e in of_year},
                "stories": stories,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        shards.append(Page(f"search/{year}.js", data=f"digestSearchShard({data});\n".encode()))
    return shards


def _feed_page(
    entries: Sequence[_Entry],
    site: SiteInfo,
    slugs: Mapping[str, str],
    limit: int,
    issues_dir: Path | None,
) -> Page:
    newest = list(reversed(entries))[:limit]
    feed_entries = []
    for entry in newest:
        url = _absolute(site.base_url, f"{entry.slug}/")
        view = _issue_view(entry, root=site.base_url, slugs=slugs, tz=site.timezone)
        image, _ = _image(entry, site, issues_dir)
        if image and image["src"] and "://" not in image["src"]:
            image = image | {"src": url + image["src"]}
        view["image"] = image
        pdf, _ = _pdf(entry, issues_dir)
        feed_entries.append(
            {
                "id": url,
                "url": url,
                "pdf": pdf | {"href": url + pdf["href"]} if pdf else None,
                "issue": view,
                "published": _rfc3339(entry.published.published_at),
                "updated": _rfc3339(entry.published.updated_at),
            }
        )
    # The feed's date comes from the issues, never the clock, so an unchanged site stays so.
    updated = max((e.published.updated_at for e in entries), default=None)
    context = {
        "site": _site_context(site),
        "entries": feed_entries,
        "updated": _rfc3339(updated) if updated else "1970-01-01T00:00:00Z",
        "self_url": _absolute(site.base_url, "feed.xml"),
    }
    return Page("feed.xml", "feed.xml", context)


def _sitemap_page(pages: Sequence[Page], entries: Sequence[_Entry], site: SiteInfo) -> Page:
    """Every reading page of the site; issue pages carry their last change."""
    updated = {e.slug: e.published.updated_at.date().isoformat() for e in entries}
    latest = max(updated.values(), default=None)
    urls: list[dict[str, str]] = []
    for page in pages:
        if not page.path.endswith(".html") or page.path == "search.html":
            continue
        path = page.path.removesuffix("index.html")
        url = {"loc": _absolute(site.base_url, path)}
        lastmod = updated.get(path.rstrip("/")) or (latest if path == "" else None)
        urls.append(url | {"lastmod": lastmod} if lastmod else url)
    return Page("sitemap.xml", "sitemap.xml", {"urls": urls})


def _absolute(base_url: str, path: str) -> str:
    return (base_url if base_url.endswith("/") else base_url + "/") + path


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
