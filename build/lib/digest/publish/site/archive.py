"""Published issues -> the archive: a static site any web server or object store can host.

    publish(config, date, now, force, note)
        draft.load_issue --freeze--> Published (published_at, content hash, corrections)
        --render.render_issue / write_rendered--> issues/DATE/email files
        --> issues/DATE/published.json (written last: a failed render freezes nothing)
        --> build_site
    build_site(config, now)
        issues/*/published.json --load_published--> [Published]
        --plan_site (pure)--> [Page]: every file of the site with the context it is made from
        --write_site--> site/, rendering and writing only pages whose inputs changed
                        (input keys kept in site/.digest-manifest.json)

Site layout (every link is relative, so the site works from disk and from its base URL)::

    index.html              newest issues with their headlines; older ones by year
    archive/YYYY.html       every issue of a year with its headlines
    YYYY-MM-DD/index.html   one issue: headline list, stories with anchors, sources, prev/next
    topics/index.html       the sections; topics/SLUG/index.html newest stories of a section,
                            topics/SLUG/YYYY.html that section's stories of a year
    search.html             search over search/YYYY.js (the index, a JSON object per year)
    feed.xml, sitemap.xml   absolute URLs under config.site.base_url
    assets/                 site.css, print.css, search.js

Nothing is loaded from another host and no subscriber data is ever read: the site is made
from published.json files alone.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2

from digest._util.fs import atomic_write, exclusive_lock
from digest.config import Config
from digest.editorial import draft
from digest.errors import LockBusy, PublishError
from digest.models import Issue, IssueStory, SourceLink
from digest.publish.email import render
from digest.publish.templates import TemplateSet, templates_for

PUBLISHED_NAME = draft.PUBLISHED_NAME
MANIFEST_NAME = ".digest-manifest.json"
FORMAT_VERSION = 1
# Bump when the way pages are built changes outside the templates, so every page is redone.
BUILD_VERSION = "1"
RECENT_ON_INDEX = 8  # with headlines; older issues by number and date (pages < 60 KB)
RECENT_ON_TOPIC = 30
HEADLINES_PER_PAGE = 160  # a year's issues are split over pages beyond this
EXCERPTS_PER_PAGE = 80  # the same for a topic's stories of a year
EXCERPT_CHARS = 220
ASSETS = ("site.css", "print.css", "search.js")


# --- frozen issues -------------------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """A note added when an issue was re-published, shown on its page with its date."""

    date: date
    at: datetime
    note: str


@dataclass(frozen=True)
class Published:
    """An issue as frozen in issues/DATE/published.json."""

    issue: Issue
    published_at: datetime
    content_hash: str
    corrections: tuple[Correction, ...] = ()

    @property
    def updated_at(self) -> datetime:
        return max([self.published_at, *(c.at for c in self.corrections)])


@dataclass(frozen=True)
class SiteReport:
    """What build_site did, path by path (paths relative to the site folder)."""

    site_dir: Path
    issues: int
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...] = ()

    def __str__(self) -> str:
        return (f"{self.site_dir}: {self.issues} issue(s), {len(self.written)} file(s) written, "
                f"{len(self.unchanged)} unchanged, {len(self.removed)} removed")


def content_hash(issue: Issue) -> str:
    """A hash of what readers see; publication time and corrections are not part of it."""
    content = asdict(replace(issue, published_at=None, corrections=()))
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def freeze(issue: Issue, *, now: datetime, today: date, previous: Published | None = None,
           note: str | None = None) -> Published:
    """The issue as it is published now: first publication, or a correction of `previous`."""
    corrections = previous.corrections if previous else ()
    if previous is not None and note:
        corrections = (*corrections, Correction(date=today, at=now, note=note))
    published_at = previous.published_at if previous else now
    frozen = replace(
        issue,
        published_at=published_at,
        corrections=tuple((c.date.isoformat(), c.note) for c in corrections),
    )
    return Published(issue=frozen, published_at=published_at,
                     content_hash=content_hash(issue), corrections=corrections)


def published_to_json(published: Published) -> str:
    """The published.json text: simple on purpose, other stages read it."""
    issue = published.issue
    data = {
        "format": FORMAT_VERSION,
        "date": issue.date.isoformat(),
        "title": issue.title,
        "volume": issue.volume,
        "number": issue.number,
        "preheader": issue.preheader,
        "intro": issue.intro,
        "image": issue.image,
        "image_alt": issue.image_alt,
        "image_credit": issue.image_credit,
        "published_at": published.published_at.isoformat(),
        "content_hash": published.content_hash,
        "corrections": [
            {"date": c.date.isoformat(), "at": c.at.isoformat(), "note": c.note}
            for c in published.corrections
        ],
        "stories": [
            {
                "headline": s.headline,
                "body": s.body,
                "section": s.section,
                "anchor": s.anchor,
                "sources": [{"name": link.name, "url": link.url} for link in s.sources],
            }
            for s in issue.stories
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def published_from_json(text: str, path: Path) -> Published:
    """Parse a published.json; a PublishError names the file and what is wrong."""
    try:
        data = json.loads(text)
        stories = tuple(
            IssueStory(
                headline=s["headline"],
                body=s["body"],
                section=s.get("section"),
                anchor=s["anchor"],
                sources=tuple(SourceLink(name=x["name"], url=x["url"]) for x in s["sources"]),
            )
            for s in data["stories"]
        )
        corrections = tuple(
            Correction(date=date.fromisoformat(c["date"]), at=datetime.fromisoformat(c["at"]),
                       note=c["note"])
            for c in data.get("corrections", ())
        )
        published_at = datetime.fromisoformat(data["published_at"])
        issue = Issue(
            date=date.fromisoformat(data["date"]),
            title=data["title"],
            volume=int(data["volume"]),
            number=int(data["number"]),
            stories=stories,
            preheader=data.get("preheader", ""),
            intro=data.get("intro", ""),
            image=data.get("image"),
            image_alt=data.get("image_alt", ""),
            image_credit=data.get("image_credit", ""),
            published_at=published_at,
            corrections=tuple((c.date.isoformat(), c.note) for c in corrections),
        )
        stored_hash = data["content_hash"]
    except json.JSONDecodeError as exc:
        raise PublishError(f"is not valid JSON ({exc.msg}); restore it from version control",
                           path=path, line=exc.lineno) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PublishError(f"is not a published issue ({type(exc).__name__}: {exc}); "
                           "restore it from version control", path=path) from exc
    # A published issue changes only through `publish --force --note`, which records why;
    # an edit by hand would change the archive with no note for readers.
    if stored_hash != content_hash(issue):
        raise PublishError(
            f"was edited after the issue was published (its content no longer matches its "
            f"content hash); undo the edit, then correct the issue in its draft and run "
            f"`digest publish --date {issue.date.isoformat()} --force --note \"what was "
            f"corrected\"`", path=path)
    return Published(issue=issue, published_at=published_at, content_hash=stored_hash,
                     corrections=corrections)


def read_published(path: Path) -> Published:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PublishError(f"cannot be read ({exc.strerror})", path=path) from exc
    return published_from_json(text, Path(path))


def load_published(config: Config) -> list[Published]:
    """Every published issue of the project, oldest first."""
    paths = sorted(config.issues_dir.glob(f"*/{PUBLISHED_NAME}"))
    return sorted((read_published(p) for p in paths), key=lambda p: p.issue.date)


def published_path(config: Config, issue_date: date) -> Path:
    return config.issue_dir(issue_date) / PUBLISHED_NAME


def refuse_if_published(config: Config, issue_date: date) -> None:
    """Stop a stage that would rewrite a published issue's email files from its draft."""
    path = published_path(config, issue_date)
    if path.exists():
        day = issue_date.isoformat()
        raise PublishError(
            f"the issue of {day} is published, so its email files are final; to change it, "
            f"edit its draft and run `digest publish --date {day} --force --note \"what was "
            "corrected\"`", path=path)


def issue_url(config: Config, issue_date: date) -> str:
    """The issue's public page: the 'view in browser' link of its email."""
    return _absolute(config.site.base_url, f"{issue_date.isoformat()}/")


def publish(
    config: Config,
    issue_date: date,
    *,
    now: datetime,
    force: bool = False,
    note: str | None = None,
) -> Path:
    """Freeze the issue, render its final email files, rebuild the site; return the issue page."""
    path = published_path(config, issue_date)
    note = (note or "").strip() or None
    try:
        with exclusive_lock(config.state_dir / "publish.lock", wait_s=10.0):
            previous = read_published(path) if path.exists() else None
            _check_republish(previous, path, force=force, note=note)
            issue = draft.load_issue(config, issue_date)
            today = now.astimezone(config.tz).date()
            published = freeze(issue, now=now, today=today, previous=previous, note=note)
            rendered = render.render_issue(published.issue, config, now=now)
            render.write_rendered(rendered, path.parent)
            atomic_write(path, published_to_json(published))
            build_site(config, now=now)
    except BlockingIOError as exc:
        raise LockBusy("another `digest publish` is running; try again when it has finished",
                       path=config.state_dir / "publish.lock") from exc
    return config.site_dir / issue_date.isoformat() / "index.html"


def _check_republish(previous: Published | None, path: Path, *, force: bool,
                     note: str | None) -> None:
    if previous is None:
        if note:
            raise PublishError(
                "--note is for corrections of an issue already published; this issue is not "
                "published yet, so publish it without --note", path=path)
        return
    when = previous.published_at.isoformat(timespec="minutes")
    day = previous.issue.date.isoformat()
    if not force:
        raise PublishError(
            f"this issue was already published at {when}; to correct it run "
            f"`digest publish --date {day} --force --note \"what was corrected\"`", path=path)
    if not note:
        raise PublishError(
            f"re-publishing the issue of {day} (published at {when}) needs a correction note "
            "for readers: add --note \"what was corrected\"", path=path)


# --- the site, planned in memory -----------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One file of the site: a template and its JSON-able context, or raw bytes."""

    path: str
    template: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    data: bytes | None = None
    source: Path | None = None  # a file copied as is (a lead image)

    def key(self, template_fingerprint: str) -> str:
        digest = hashlib.sha256(BUILD_VERSION.encode())
        if self.template is not None:
            digest.update(template_fingerprint.encode())
            digest.update(self.template.encode())
            digest.update(json.dumps(self.context, sort_keys=True, ensure_ascii=False,
                                     default=str).encode("utf-8"))
        if self.data is not None:
            digest.update(self.data)
        if self.source is not None:
            digest.update(self.source.read_bytes())
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

    @classmethod
    def from_config(cls, config: Config) -> SiteInfo:
        base = config.site.base_url if config.site.base_url.endswith("/") else (
            config.site.base_url + "/")
        return cls(title=config.site.title, organisation=config.digest.organisation,
                   program=config.digest.program, contact_url=config.digest.contact_url,
                   base_url=base, lang=config.digest.lang, timezone=config.cadence.timezone)


@functools.cache
def _site_context(site: SiteInfo) -> dict[str, Any]:
    return asdict(site)  # shared by every page, never changed


@dataclass(frozen=True)
class _Entry:
    """A published issue with what its pages need precomputed."""

    published: Published
    sections: tuple[tuple[str, tuple[IssueStory, ...]], ...]

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
        return {id(s): render.detect_lang(s.headline + " " + s.body) for s in self.issue.stories}


def plan_site(published: Sequence[Published], site: SiteInfo, *, section_order: Sequence[str] = (),
              default_section: str = "Other", issues_dir: Path | None = None,
              feed_entries: int = 50) -> list[Page]:
    """Every file of the site, decided from the published issues alone (no I/O but images)."""
    issues = sorted((replace(p, issue=_clean_issue(p.issue)) for p in published),
                    key=lambda p: p.issue.date)
    entries = [_Entry(p, _group_sections(p.issue.stories, default_section)) for p in issues]
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
    pages.append(Page("search.html", "search.html", {
        "site": _site_context(site), "root": "", "page": "search",
        "shards": [shard.path for shard in shards]}))
    pages.extend(shards)
    pages.append(_feed_page(entries, site, slugs, feed_entries, issues_dir))
    pages.append(_sitemap_page(pages, entries, site))
    return pages


# Characters XML 1.0 forbids (feed.xml would not parse) plus invisible direction overrides.
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\u202a-\u202e"
                           "\u2066-\u2069\ud800-\udfff]")


def clean_text(text: str) -> str:
    return _UNSAFE_CHARS.sub(" ", unicodedata.normalize("NFC", text))


def _clean_issue(issue: Issue) -> Issue:
    """The issue with text safe for HTML and XML and links only where they are http(s)."""
    stories = tuple(
        replace(s, headline=clean_text(s.headline), body=clean_text(s.body),
                section=clean_text(s.section) if s.section else None,
                sources=tuple(SourceLink(clean_text(x.name) or x.url, x.url) for x in s.sources))
        for s in issue.stories
    )
    return replace(issue, title=clean_text(issue.title), preheader=clean_text(issue.preheader),
                   intro=clean_text(issue.intro), image_alt=clean_text(issue.image_alt),
                   image_credit=clean_text(issue.image_credit), stories=stories)


def _group_sections(stories: Sequence[IssueStory],
                    default: str) -> tuple[tuple[str, tuple[IssueStory, ...]], ...]:
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
        anchor = render.story_anchor(story.anchor, number, seen)
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


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _issue_label(issue: Issue) -> str:
    return f"Vol {issue.volume}, No. {issue.number}"


def _image(entry: _Entry, site: SiteInfo, issues_dir: Path | None) -> tuple[dict | None,
                                                                         Page | None]:
    """The lead image: a file beside the issue is copied; a URL is shown only from our host."""
    issue = entry.issue
    if not issue.image:
        return None, None
    info = {"alt": issue.image_alt, "credit": issue.image_credit, "src": None, "href": None}
    if "://" in issue.image or issue.image.startswith("//"):
        url = render.safe_url(issue.image)
        if url is None:
            return None, None
        if urlsplit(url).netloc == urlsplit(site.base_url).netloc:
            info["src"] = url
        else:
            info["href"] = url  # a link, not a load from another host
        return info, None
    if issues_dir is None:
        return None, None
    source = issues_dir / entry.slug / issue.image
    name = render.lead_image_name(issue.image)
    inside = (issues_dir / entry.slug).resolve() in source.resolve().parents
    if not inside or not source.is_file() or not name:
        return None, None
    info["src"] = name
    return info, Page(f"{entry.slug}/{name}", source=source)


def _story_view(entry: _Entry, story: IssueStory, *, root: str) -> dict[str, Any]:
    anchor = entry.anchors[id(story)]
    return {
        "anchor": anchor,
        "href": f"{root}{entry.slug}/index.html#{anchor}",
        "headline": story.headline,
        "lang": entry.langs[id(story)],
        "paragraphs": _paragraphs(story.body),
        "sources": [{"name": s.name, "url": render.safe_url(s.url)} for s in story.sources],
    }


def _issue_view(entry: _Entry, *, root: str, slugs: Mapping[str, str],
                tz: str) -> dict[str, Any]:
    issue = entry.issue
    return {
        "slug": entry.slug,
        "href": f"{root}{entry.slug}/index.html",
        "date": issue.date.isoformat(),
        "date_long": long_date(issue.date),
        "title": issue.title,
        "label": _issue_label(issue),
        "preheader": issue.preheader,
        "intro": _paragraphs(issue.intro),
        "published_at": entry.published.published_at.isoformat(),
        "published_long": long_date(entry.published.published_at.astimezone(ZoneInfo(tz)).date()),
        "corrections": [{"date": c.date.isoformat(), "date_long": long_date(c.date),
                         "note": clean_text(c.note)} for c in entry.published.corrections],
        "sections": [
            {"name": name, "id": f"section-{slugs[name]}",
             "topic_href": f"{root}topics/{slugs[name]}/index.html",
             "stories": [_story_view(entry, s, root=root) for s in stories]}
            for name, stories in entry.sections
        ],
    }


def _link(entry: _Entry | None, root: str) -> dict[str, str] | None:
    if entry is None:
        return None
    return {"href": f"{root}{entry.slug}/index.html", "title": entry.issue.title,
            "date_long": long_date(entry.issue.date)}


def _issue_pages(entry: _Entry, older: _Entry | None, newer: _Entry | None, site: SiteInfo,
                 slugs: Mapping[str, str], issues_dir: Path | None) -> list[Page]:
    root = "../"
    image, image_page = _image(entry, site, issues_dir)
    context = {
        "site": _site_context(site), "root": root, "page": "issue",
        "canonical": _absolute(site.base_url, f"{entry.slug}/"),
        "issue": _issue_view(entry, root=root, slugs=slugs, tz=site.timezone) | {"image": image},
        "prev": _link(older, root), "next": _link(newer, root),
    }
    page = Page(f"{entry.slug}/index.html", "issue.html", context)
    return [page, image_page] if image_page else [page]


def _headlines(entry: _Entry, root: str) -> dict[str, Any]:
    issue = entry.issue
    return {
        "href": f"{root}{entry.slug}/index.html", "date": issue.date.isoformat(),
        "date_long": long_date(issue.date), "title": issue.title, "label": _issue_label(issue),
        "corrected": bool(entry.published.corrections),
        "stories": [{"headline": s.headline, "lang": entry.langs[id(s)],
                     "href": f"{root}{entry.slug}/index.html#{entry.anchors[id(s)]}"}
                    for s in issue.stories],
    }


def _years(entries: Sequence[_Entry]) -> list[dict[str, Any]]:
    counts: dict[int, int] = {}
    for entry in entries:
        counts[entry.issue.date.year] = counts.get(entry.issue.date.year, 0) + 1
    return [{"year": y, "count": counts[y], "file": f"{y}.html"}
            for y in sorted(counts, reverse=True)]


def _without_counts(years: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    # Pages of one year link to the others without their counts, so that publishing an
    # issue does not rewrite the page of every past year.
    return [{"year": y["year"], "file": y["file"]} for y in years]


def _index_page(entries: Sequence[_Entry], site: SiteInfo) -> Page:
    newest = list(reversed(entries))
    recent = newest[:RECENT_ON_INDEX]
    earlier: dict[int, list[dict[str, str]]] = {}
    for e in newest[RECENT_ON_INDEX:]:
        earlier.setdefault(e.issue.date.year, []).append({
            "href": f"{e.slug}/index.html", "date": e.issue.date.isoformat(),
            "label": f"No. {e.issue.number}, {e.issue.date.day} {e.issue.date:%b}"})
    context = {"site": _site_context(site), "root": "", "page": "index",
               "canonical": site.base_url, "issues": [_headlines(e, "") for e in recent],
               "earlier": [{"year": y, "issues": items} for y, items in earlier.items()],
               "years": _years(entries), "count": len(entries)}
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
    return [{"file": _part_file(year, n), "label": _months(days), "current": n == current}
            for n, days in enumerate(parts, start=1)]


def _year_pages(entries: Sequence[_Entry], site: SiteInfo) -> list[Page]:
    pages = []
    years = _years(entries)
    for year in years:
        of_year = [e for e in entries if e.issue.date.year == year["year"]]
        parts = _parts(of_year, [len(e.issue.stories) for e in of_year], HEADLINES_PER_PAGE)
        days = [[e.issue.date for e in part] for part in parts]
        for number, part in enumerate(parts, start=1):
            path = f"archive/{_part_file(year['year'], number)}"
            context = {"site": _site_context(site), "root": "../", "page": "year",
                       "year": year["year"],
                       "canonical": _absolute(site.base_url, path),
                       "months": _months(days[number - 1]) if len(parts) > 1 else "",
                       "parts": _part_links(year["year"], days, number),
                       "issues": [_headlines(e, "../") for e in reversed(part)],
                       "years": _without_counts(years)}
            pages.append(Page(path, "year.html", context))
    return pages


def _topic_story(entry: _Entry, story: IssueStory, root: str) -> dict[str, Any]:
    return {"headline": story.headline, "lang": entry.langs[id(story)],
            "href": f"{root}{entry.slug}/index.html#{entry.anchors[id(story)]}",
            "excerpt": excerpt(story.body), "date": entry.issue.date.isoformat(),
            "date_long": long_date(entry.issue.date), "issue": entry.issue.title}


def _topic_pages(entries: Sequence[_Entry], site: SiteInfo,
                 slugs: Mapping[str, str]) -> list[Page]:
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
        summary.append({"name": name, "href": f"{slug}/index.html", "count": total,
                        "latest": long_date(hits[0][0].issue.date)})
        root = "../../"
        recent = [_topic_story(e, s, root) for e, stories in hits for s in stories]
        pages.append(Page(f"topics/{slug}/index.html", "topic.html", {
            "site": _site_context(site), "root": root, "page": "topic", "name": name,
            "canonical": _absolute(site.base_url, f"topics/{slug}/"),
            "stories": recent[:RECENT_ON_TOPIC], "total": total, "years": year_links}))
        for year in years:
            of_year = [(e, st) for e, st in reversed(hits) if e.issue.date.year == year]
            parts = _parts(of_year, [len(st) for _, st in of_year], EXCERPTS_PER_PAGE)
            days = [[e.issue.date for e, _ in part] for part in parts]
            for number, part in enumerate(parts, start=1):
                groups = [{"title": e.issue.title, "date_long": long_date(e.issue.date),
                           "href": f"{root}{e.slug}/index.html",
                           "stories": [_topic_story(e, s, root) for s in stories]}
                          for e, stories in reversed(part)]
                path = f"topics/{slug}/{_part_file(year, number)}"
                pages.append(Page(path, "topic_year.html", {
                    "site": _site_context(site), "root": root, "page": "topic", "name": name,
                    "year": year, "topic_href": "index.html",
                    "canonical": _absolute(site.base_url, path),
                    "months": _months(days[number - 1]) if len(parts) > 1 else "",
                    "parts": _part_links(year, days, number),
                    "groups": groups, "years": _without_counts(year_links)}))
    pages.append(Page("topics/index.html", "topics.html", {
        "site": _site_context(site), "root": "../", "page": "topics",
        "canonical": _absolute(site.base_url, "topics/"), "topics": summary}))
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
        stories = [[entry.slug, entry.anchors[id(story)], story.headline, name,
                    " ".join(story.body.split()), " ".join(s.name for s in story.sources)]
                   for entry in of_year for name, items in entry.sections for story in items]
        data = json.dumps({"version": 2, "year": year,
                           "issues": {e.slug: e.issue.title for e in of_year},
                           "stories": stories}, ensure_ascii=False, separators=(",", ":"))
        shards.append(Page(f"search/{year}.js",
                           data=f"digestSearchShard({data});\n".encode()))
    return shards


def _feed_page(entries: Sequence[_Entry], site: SiteInfo, slugs: Mapping[str, str],
               limit: int, issues_dir: Path | None) -> Page:
    newest = list(reversed(entries))[:limit]
    feed_entries = []
    for entry in newest:
        url = _absolute(site.base_url, f"{entry.slug}/")
        view = _issue_view(entry, root=site.base_url, slugs=slugs, tz=site.timezone)
        image, _ = _image(entry, site, issues_dir)
        if image and image["src"] and "://" not in image["src"]:
            image = image | {"src": url + image["src"]}
        view["image"] = image
        feed_entries.append({
            "id": url, "url": url, "issue": view,
            "published": _rfc3339(entry.published.published_at),
            "updated": _rfc3339(entry.published.updated_at),
        })
    # The feed's date comes from the issues, never the clock, so an unchanged site stays so.
    updated = max((e.published.updated_at for e in entries), default=None)
    context = {"site": _site_context(site), "entries": feed_entries,
               "updated": _rfc3339(updated) if updated else "1970-01-01T00:00:00Z",
               "self_url": _absolute(site.base_url, "feed.xml")}
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


# --- writing -------------------------------------------------------------------------------


def _environment(templates: TemplateSet) -> jinja2.Environment:
    return templates.environment(autoescape=jinja2.select_autoescape(["html", "xml"]))


def template_fingerprint(templates: TemplateSet) -> str:
    """A hash of every template and asset: a change to any of them redoes every page."""
    digest = hashlib.sha256()
    for directory in templates.dirs:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(directory).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def asset_pages(templates: TemplateSet) -> list[Page]:
    return [Page(f"assets/{name}", data=templates.path(name).read_bytes()) for name in ASSETS]


def build_site(config: Config, *, now: datetime, full: bool = False) -> SiteReport:
    """Rebuild config.site_dir from every issues/*/published.json; only changes are written.

    `now` is accepted for symmetry with the other stages; the site itself depends only on
    the published issues, so rebuilding an unchanged archive writes nothing.
    """
    del now
    published = load_published(config)
    site = SiteInfo.from_config(config)
    pages = plan_site(published, site,
                      section_order=[s.name for s in config.rules.sections],
                      default_section=config.rules.default_section,
                      issues_dir=config.issues_dir, feed_entries=config.site.feed_entries)
    templates = templates_for(config.project_dir, "site")
    pages.extend(asset_pages(templates))
    return write_site(pages, config.site_dir, issues=len(published), full=full,
                      templates=templates)


def write_site(pages: Sequence[Page], site_dir: Path, *, issues: int,
               full: bool = False, templates: TemplateSet | None = None) -> SiteReport:
    """Render and write the pages whose inputs changed; remove pages no longer planned."""
    site_dir = Path(site_dir)
    manifest_path = site_dir / MANIFEST_NAME
    old = {} if full else _read_manifest(manifest_path)
    templates = templates or templates_for(None, "site")
    fingerprint = template_fingerprint(templates)
    env = _environment(templates)
    new: dict[str, str] = {}
    written: list[str] = []
    unchanged: list[str] = []
    for page in pages:
        if page.path in new:
            raise PublishError(f"two pages of the site would be written to {page.path}",
                               path=site_dir / page.path)
        key = page.key(fingerprint)
        new[page.path] = key
        target = site_dir / page.path
        if old.get(page.path) == key and target.exists():
            unchanged.append(page.path)
            continue
        _write(target, _content(page, env))
        written.append(page.path)
    removed = [p for p in old if p not in new and _safe_remove(site_dir, p)]
    if written or removed or old != new:
        atomic_write(manifest_path, json.dumps(new, indent=0, sort_keys=True) + "\n")
    return SiteReport(site_dir=site_dir, issues=issues, written=tuple(written),
                      unchanged=tuple(unchanged), removed=tuple(removed))


_INDENT = re.compile(r"\n[ \t]+")


def _content(page: Page, env: jinja2.Environment) -> bytes:
    if page.template is not None:
        text = env.get_template(page.template).render(**page.context)
        # Template indentation is for people; pages have no <pre>, so it can go.
        return _INDENT.sub("\n", text).encode("utf-8")
    if page.source is not None:
        return page.source.read_bytes()
    return page.data or b""


def _write(target: Path, data: bytes) -> None:
    # Pages are replaced by rename, so a web server serving the folder never sends half a
    # page; not fsynced one by one: the whole site can be rebuilt from published.json.
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _safe_remove(site_dir: Path, relative: str) -> bool:
    target = (site_dir / relative).resolve()
    if site_dir.resolve() not in target.parents:
        return False
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    parent = target.parent
    # Drop folders the removal emptied (an unpublished issue's folder).
    while parent != site_dir.resolve() and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent
    return True


def iter_site_files(site_dir: Path) -> Iterator[Path]:
    """The files a web server would serve (the manifest aside)."""
    for path in sorted(Path(site_dir).rglob("*")):
        if path.is_file() and path.name != MANIFEST_NAME and not path.name.startswith("."):
            yield path
