"""The editor's draft: issues/DATE/draft.yaml, merged on every run and never clobbered.

    refresh_draft   lock -> read bytes -> parse -> merge candidates (pure) -> re-read and
                    compare (conflict?) -> atomic write with draft.yaml.bak -> unlock
    set_status      the same, but only the `status:` value of the named candidates changes
    load_issue      draft -> models.Issue (stories resolved, picked candidates become stories)
    check_project   drafts -> every problem with file and line (digest/check.py)

The file has three parts, and only the program's parts are ever rewritten:

    # >>> digest status ... # <<<     rewritten (counts, failing and quiet feeds)
    header keys, `stories`, comments  the editor's: copied byte for byte, never re-emitted
    candidates:                       the program's list; `status` and any comment in it are
                                      the editor's and survive

Reading and writing the YAML itself (the fast candidate-list parser and its ruamel.yaml
fallback) is digest/draftfile.py; its names are importable from here too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from digest._util.fs import atomic_write, exclusive_lock
from digest.config import Config
from digest.editorial.draftfile import (  # noqa: F401  (re-exported: digest.editorial.draft is the public face)
    CANDIDATE_KEYS,
    END_KEY,
    HEADER_KEYS,
    STORY_KEYS,
    DraftCandidate,
    DraftFile,
    DraftStory,
    as_text,
    emit_block_fast,
    emit_block_rt,
    line_ending,
    parse_block_fast,
    parse_draft,
    plain_ok,
    read_draft,
    split_comment,
    split_draft,
    text_lines,
    with_line_ending,
    yaml_scalar,
)
from digest.errors import DigestError, DraftConflict, DraftError, LockBusy
from digest.models import (
    CANDIDATE_STATUSES,
    Candidate,
    DraftSummary,
    FeedHealth,
    Issue,
    IssueStory,
    IssueWindow,
    SourceLink,
)

DRAFT_NAME = "draft.yaml"
PUBLISHED_NAME = "published.json"  # written by archive.publish, read by the checks
LOCK_NAME = ".draft.lock"
LOCK_WAIT_S = 5.0
QUIET_DAYS = 7  # a feed without items for this long is listed as quiet
TOKYO = "Asia/Tokyo"

STATUS_BEGIN = "# >>> digest status"
STATUS_END = "# <<< digest status"


# --- the issue and its window -------------------------------------------------------------


def _cadence_dates(config: Config, year: int) -> list[date]:
    days = sorted(set(config.cadence.days))
    return [date(year, month, day) for month in range(1, 13) for day in days]


def next_issue_date(config: Config, today: date) -> date:
    """The first cadence date on or after `today` (an issue day drafts its own issue)."""
    for year in (today.year, today.year + 1):
        for day in _cadence_dates(config, year):
            if day >= today:
                return day
    raise AssertionError("a cadence has at least one day a year")


def issue_window(
    config: Config, issue_date: date, *, since: date | None = None, until: date | None = None
) -> IssueWindow:
    """Volume, number and the news window of the issue dated `issue_date`.

    The window runs from local midnight `window_days` before the issue date to local
    midnight of the issue date (exclusive), in the cadence time zone; `since` and `until`
    (exclusive) replace either end.
    """
    tz = config.tz
    first = since or issue_date - timedelta(days=config.cadence.window_days)
    last = until or issue_date
    if last <= first:
        raise DraftError(
            f"the window {first} to {last} is empty; --until must be after --since"
        )
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last, time(0), tzinfo=tz).astimezone(UTC)
    earlier = [d for d in _cadence_dates(config, issue_date.year) if d < issue_date]
    return IssueWindow(
        date=issue_date,
        start=start,
        end=end,
        volume=issue_date.year - config.digest.first_year + 1,
        number=len(earlier) + 1,
    )


def issue_dir(config: Config, issue_date: date) -> Path:
    return config.issue_dir(issue_date)


def draft_path(config: Config, issue_date: date) -> Path:
    return issue_dir(config, issue_date) / DRAFT_NAME


def issue_title(config: Config, window: IssueWindow) -> str:
    return config.digest.title.format(volume=window.volume, number=window.number)


def window_text(config: Config, window: IssueWindow) -> str:
    """The window for people: local dates, plus the same moments in Tokyo time."""
    from zoneinfo import ZoneInfo

    tz, tokyo = config.tz, ZoneInfo(TOKYO)
    start, end = window.start.astimezone(tz), window.end.astimezone(tz)
    last_day = (end - timedelta(seconds=1)).date()
    t_start, t_end = window.start.astimezone(tokyo), window.end.astimezone(tokyo)
    return (
        f"{start.date()} to {last_day} ({config.cadence.timezone}); "
        f"Tokyo: {t_start:%Y-%m-%d %H:%M} to {t_end:%Y-%m-%d %H:%M} JST"
    )


def published_text(moment: datetime, config: Config) -> str:
    """A candidate's time in the cadence zone with Tokyo time beside it."""
    from zoneinfo import ZoneInfo

    local = moment.astimezone(config.tz)
    tokyo = moment.astimezone(ZoneInfo(TOKYO))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} / {tokyo:%m-%d %H:%M} JST"


# --- the merge (pure) ---------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def link_key(url: str) -> str:
    """A URL reduced to what identifies the page: scheme, www., fragment, trailing / dropped."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    return f"{host}{path}?{parts.query}" if parts.query else f"{host}{path}"


def _outlet_text(name: str, url: str) -> str:
    return f"{name}: {url}"


def draft_candidate(cand: Candidate, config: Config, *, status: str = "new") -> DraftCandidate:
    return DraftCandidate(
        id=cand.id, status=status, title=_clean(cand.title), url=cand.url,
        source=_clean(cand.source), published=published_text(cand.published, config),
        score=round(float(cand.score), 2), section=cand.section,
        why=tuple(_clean(w) for w in cand.why),
        also=tuple(_outlet_text(_clean(o.name), o.url) for o in cand.also),
        summary=_clean(cand.summary), lang=cand.lang,
    )


def _clean(text: str) -> str:
    # Lone surrogates cannot be written as UTF-8; everything else is kept.
    return re.sub("[\ud800-\udfff]", "\ufffd", text or "").strip()


def sort_key(cand: DraftCandidate) -> tuple[bool, float, str]:
    """Best first; rejected ones sink to the bottom, where they stay to be remembered."""
    return (cand.status == "rejected", -cand.score, cand.id)


@dataclass(frozen=True)
class Merged:
    """The merged candidate list, best first, and how many candidates are new to it."""

    candidates: tuple[DraftCandidate, ...]
    added: int


def merge_candidates(
    existing: Sequence[DraftCandidate],
    incoming: Sequence[DraftCandidate],
    *,
    carried: Sequence[DraftCandidate] = (),
    referenced: set[str] | frozenset[str] = frozenset(),
) -> Merged:
    """The new candidate list. Pure: no file, no clock.

    Known candidates (same id, or same link) keep everything the editor wrote; only score,
    why and also are refreshed. New ones are added as `new`; `carried` ones (held in the
    previous issue) are added as `held`. A `new` candidate that is no longer proposed
    is dropped unless a story refers to it; every other status is kept, so a rejected
    candidate is remembered and never comes back.
    """
    fresh = {c.id: c for c in incoming}
    fresh_by_link = {link_key(c.url): c for c in incoming if c.url}
    referenced_links = {link_key(r) for r in referenced if "://" in r}
    kept: list[DraftCandidate] = []
    seen_ids: set[str] = set()
    seen_links: set[str] = set()
    for cand in existing:
        match = fresh.get(cand.id) or (fresh_by_link.get(link_key(cand.url)) if cand.url else None)
        if match is not None:
            # The id is the program's: one the editor deleted comes back from the match.
            cand = replace(cand, id=cand.id or match.id, score=match.score, why=match.why,
                           also=match.also)
            seen_ids.add(match.id)
        elif cand.status == "new" and cand.id and cand.id not in referenced and (
            link_key(cand.url) not in referenced_links
        ):
            continue
        kept.append(cand)
        seen_ids.add(cand.id)
        if cand.url:
            seen_links.add(link_key(cand.url))
    added = 0
    for cand in [*incoming, *carried]:
        if cand.id in seen_ids or (cand.url and link_key(cand.url) in seen_links):
            continue
        kept.append(cand)
        seen_ids.add(cand.id)
        seen_links.add(link_key(cand.url))
        added += 1
    return Merged(candidates=tuple(sorted(kept, key=sort_key)), added=added)


def status_counts(candidates: Sequence[DraftCandidate]) -> dict[str, int]:
    counts = {status: 0 for status in CANDIDATE_STATUSES}
    for cand in candidates:
        counts[cand.status] = counts.get(cand.status, 0) + 1
    return counts


def status_block(
    candidates: Sequence[DraftCandidate], stories: int, health: Sequence[FeedHealth], *,
    added: int, now: datetime, notes: Sequence[str] = (),
) -> str:
    """The comment block at the top: counts, failing and quiet feeds."""
    counts = status_counts(candidates)
    listed = ", ".join(f"{n} {s}" for s, n in counts.items() if n or s in CANDIDATE_STATUSES)
    lines = [
        f"{STATUS_BEGIN} (rewritten by every `digest draft`; write your notes elsewhere)",
        f"# Refreshed {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {added} new candidate(s) this run.",
        f"# {len(candidates)} candidates ({listed}); {stories} story(ies).",
    ]
    failing = [h for h in health if h.failing]
    quiet = [h for h in health if not h.failing and h.quiet_days is not None
             and h.quiet_days >= QUIET_DAYS]
    if failing:
        lines.append(f"# Failing feeds ({len(failing)}):")
        for h in failing:
            why = "gone" if h.gone else f"{h.consecutive_failures} failure(s)"
            detail = f": {h.last_error}" if h.last_error else ""
            lines.append(f"#   - {h.feed} ({why}{detail})".replace("\n", " ")[:160])
    if quiet:
        lines.append(f"# Quiet feeds ({len(quiet)}): no items for {QUIET_DAYS}+ days:")
        lines.extend(f"#   - {h.feed} ({h.quiet_days} days)" for h in quiet)
    if not failing and not quiet:
        lines.append("# Every feed is working.")
    lines.extend(f"# Note: {note}".replace("\n", " ") for note in notes)
    lines.append(STATUS_END)
    return "\n".join(lines) + "\n"


def replace_status_block(head: str, block: str) -> str:
    """Put the status block where the old one was (or at the very top)."""
    lines = text_lines(head)
    begin = next((i for i, ln in enumerate(lines) if ln.startswith(STATUS_BEGIN)), None)
    if begin is not None:
        end = next((i for i in range(begin, len(lines)) if lines[i].startswith(STATUS_END)), None)
        if end is not None and all(ln.startswith("#") for ln in lines[begin:end + 1]):
            return "".join(lines[:begin]) + block + "".join(lines[end + 1:])
    return block + head


def new_draft_head(config: Config, window: IssueWindow) -> str:
    """The editor's part of a brand-new draft: header keys with help, and no stories yet."""
    title = issue_title(config, window)
    return f"""\

# Editor's draft of {title} ({window.date}).
# Yours to edit: the header keys, `stories`, and each candidate's `status`
# (new, picked, rejected, held). `digest draft` keeps everything you write and only
# refreshes the candidates' score, why and also. Held candidates move on to the next
# issue. Check before publishing with `digest check`; preview with `digest preview`.

title: {yaml_scalar(title)}
date: {window.date.isoformat()}
window: {yaml_scalar(window_text(config, window))}
image: ""           # a file in this folder or an https:// URL
image_alt: ""       # what the image shows, for screen readers
image_credit: ""    # e.g. "Image Source: Kyodo"
preheader: ""       # the line inboxes show after the subject
intro: ""

# Each story: a short wire-style headline (90 characters at most), one paragraph of
# 40-200 words, and its sources (candidate ids or URLs). A picked candidate without a
# story is published with its own title and summary.
#
#   - headline: Japan, US agree to co-develop interceptor
#     body: >
#       One paragraph ...
#     sources: [k3f9a1c2, https://example.com/story]
#     section: Security
stories: []

"""


# --- reading and writing under the lock ---------------------------------------------------


@contextmanager
def draft_lock(config: Config, issue_date: date) -> Iterator[None]:
    lock = issue_dir(config, issue_date) / LOCK_NAME
    try:
        with exclusive_lock(lock, wait_s=LOCK_WAIT_S):
            yield
    except BlockingIOError as exc:
        raise LockBusy(
            f"another digest run is writing this draft (lock {lock} held for over"
            f" {LOCK_WAIT_S:.0f} s); wait for it to finish and run again",
            path=draft_path(config, issue_date),
        ) from exc


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_checked(path: Path, before: bytes | None, text: str) -> None:
    """Write `text` unless the file changed since it was read as `before`."""
    now_bytes = _read_bytes(path)
    if now_bytes != before:
        raise DraftConflict(
            "the draft changed on disk while digest was writing it (saved in an editor?);"
            " nothing was written and your version is kept; run the command again",
            path=path,
        )
    atomic_write(path, text, backup=before is not None)


def dated_files(config: Config, name: str) -> list[tuple[date, Path]]:
    """Every issues/YYYY-MM-DD/<name> that exists, oldest first (other folders ignored)."""
    found = []
    for path in config.issues_dir.glob(f"*/{name}"):
        try:
            found.append((date.fromisoformat(path.parent.name), path))
        except ValueError:
            continue
    return sorted(found)


def _previous_draft(config: Config, issue_date: date) -> Path | None:
    earlier = [path for day, path in dated_files(config, DRAFT_NAME) if day < issue_date]
    return earlier[-1] if earlier else None


def held_from_previous(config: Config, issue_date: date) -> tuple[list[DraftCandidate], list[str]]:
    """Candidates held in the previous issue's draft, marked with where they came from."""
    path = _previous_draft(config, issue_date)
    if path is None:
        return [], []
    try:
        previous = read_draft(path)
    except DigestError as exc:
        return [], [f"held candidates of {path} were not carried over: {exc}"]
    held = [
        replace(c, status="held", held_from=c.held_from or path.parent.name, line=None,
                key_lines=())
        for c in previous.candidates if c.status == "held" and c.id
    ]
    return held, []


def refresh_draft(
    config: Config,
    window: IssueWindow,
    candidates: Sequence[Candidate],
    *,
    health: Sequence[FeedHealth],
    now: datetime,
) -> DraftSummary:
    """Create or refresh the draft of `window.date`, keeping every edit of the editor."""
    path = draft_path(config, window.date)
    with draft_lock(config, window.date):
        before = _read_bytes(path)
        if before is None:
            current = parse_draft(path, new_draft_head(config, window) + "candidates: []\n")
        else:
            current = read_draft(path)
        incoming = _incoming(candidates, current, config)
        carried, notes = held_from_previous(config, window.date)
        merged = merge_candidates(current.candidates, incoming, carried=carried,
                                  referenced=current.referenced())
        block = _emit(current, merged.candidates)
        top = status_block(merged.candidates, len(current.stories), health, added=merged.added,
                           now=now, notes=notes)
        head = current.head
        if head and not head.endswith("\n"):  # the editor deleted the list: start it anew
            head += "\n"
        text = replace_status_block(head, top) + block + current.tail
        write_checked(path, before, with_line_ending(text, line_ending(current.text)))
    counts = status_counts(merged.candidates)
    return DraftSummary(path=str(path), added=merged.added, counts=tuple(counts.items()),
                        stories=len(current.stories))


def _incoming(candidates: Sequence[Candidate], current: DraftFile,
              config: Config) -> list[DraftCandidate]:
    """Candidates for the merge; known ones only carry what a refresh may change."""
    ids = {c.id for c in current.candidates}
    links = {link_key(c.url) for c in current.candidates if c.url}
    out = []
    for cand in candidates:
        if cand.id in ids or link_key(cand.url) in links:
            out.append(DraftCandidate(
                id=cand.id, url=cand.url, score=round(float(cand.score), 2),
                why=tuple(_clean(w) for w in cand.why),
                also=tuple(_outlet_text(_clean(o.name), o.url) for o in cand.also)))
        else:
            out.append(draft_candidate(cand, config))
    return out


def _emit(current: DraftFile, candidates: Sequence[DraftCandidate]) -> str:
    if current.fast:
        fast = emit_block_fast(candidates, current.block_head)
        if fast is not None:
            return fast
    offset = current.head.count("\n")
    block = current.block or "candidates: []\n"
    return emit_block_rt(current.path, block, offset, candidates, parsed=current.rt_block)


_STATUS_VALUE = re.compile(r"^(\s*(?:-\s+)?status\s*:\s*)(\"[^\"]*\"|'[^']*'|[^\s#]+)?(.*)$")


def with_statuses(current: DraftFile, changes: Mapping[str, str]) -> str:
    """The draft text with only the named candidates' `status:` values changed."""
    lines = text_lines(current.text)
    by_id = current.by_id()
    inserts: list[tuple[int, str]] = []
    for cand_id, status in changes.items():
        cand = by_id.get(cand_id)
        if cand is None:
            raise DraftError(f"has no candidate {cand_id!r}; run `digest draft` to add it",
                             path=current.path)
        status_line = dict(cand.key_lines).get("status")
        if status_line is not None:
            index = status_line - 1
            ending = lines[index][len(lines[index].rstrip("\r\n")):]  # LF or CRLF
            m = _STATUS_VALUE.match(lines[index].rstrip("\r\n"))
            if m is None or (m.group(2) or "")[:1] in ("|", ">"):
                raise DraftError(
                    f"cannot set the status of {cand_id!r}: its entry is not in block style;"
                    " change it by hand", path=current.path, line=status_line)
            lines[index] = f"{m.group(1)}{status}{m.group(3)}{ending}"
            continue
        id_line = dict(cand.key_lines).get("id")
        if id_line is None:
            raise DraftError(f"cannot set the status of {cand_id!r}; change it by hand",
                             path=current.path, line=cand.line)
        id_text = lines[id_line - 1]
        column = id_text.index("id")
        ending = "\r\n" if id_text.endswith("\r\n") else "\n"
        at = id_line  # the new line goes below `id:`, or below its block scalar's text
        if id_text.split(":", 1)[1].strip()[:1] in ("|", ">"):
            below = [n for _, n in cand.key_lines if n > id_line]
            if not below:
                raise DraftError(f"cannot set the status of {cand_id!r}; add `status:` by"
                                 " hand", path=current.path, line=id_line)
            at = min(below) - 1
        inserts.append((at, " " * column + f"status: {status}{ending}"))
    for index, text in sorted(inserts, reverse=True):
        lines.insert(index, text)
    return "".join(lines)


def set_status(config: Config, issue_date: date, changes: Mapping[str, str], *,
               now: datetime) -> None:
    """Set candidates' statuses (id -> new, picked, rejected or held), touching nothing else."""
    del now  # statuses carry no time; the parameter keeps every writer's signature alike
    bad = {s for s in changes.values() if s not in CANDIDATE_STATUSES}
    if bad:
        raise DraftError(f"unknown status {sorted(bad)[0]!r}; use one of "
                         f"{', '.join(CANDIDATE_STATUSES)}")
    path = draft_path(config, issue_date)
    with draft_lock(config, issue_date):
        before = _read_bytes(path)
        current = read_draft(path)
        text = with_statuses(current, changes)
        # Read the result back before writing it (cheap: unchanged entries are
        # remembered): a status in a style the line edit cannot handle is refused.
        after = parse_draft(path, text, previous=current)
        wanted = [changes.get(c.id, c.status) for c in current.candidates]
        if [c.status for c in after.candidates] != wanted or after.header != current.header:
            first = current.by_id()[next(iter(changes))]
            raise DraftError("cannot set the status here: an entry's `status:` is in a style"
                             " this command does not edit; change it by hand",
                             path=path, line=first.line_of("status"))
        write_checked(path, before, text)


def candidate_ids(config: Config, issue_date: date) -> list[str]:
    """The draft's candidate ids, best first (rejected ones left out)."""
    current = read_draft(draft_path(config, issue_date))
    return [c.id for c in current.candidates if c.id and c.status != "rejected"]


def draft_counts(config: Config) -> dict[str, Any] | None:
    """The newest draft's counts for `digest status`; None when there is no draft."""
    paths = sorted(config.issues_dir.glob(f"*/{DRAFT_NAME}"))
    if not paths:
        return None
    try:
        current = read_draft(paths[-1])
    except DigestError as exc:
        return {"path": str(paths[-1]), "counts": {}, "stories": 0, "error": str(exc)}
    return {"path": str(paths[-1]), "counts": status_counts(current.candidates),
            "stories": len(current.stories)}


# --- the issue as published ---------------------------------------------------------------


def _host_name(url: str) -> str:
    host = urlsplit(url).netloc.lower().removeprefix("www.")
    return host or url


def _anchor(headline: str, index: int, taken: set[str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", headline.lower()).strip("-")[:60].strip("-")
    base = slug or f"story-{index + 1}"
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


@dataclass(frozen=True)
class Resolver:
    """Turns a story source (candidate id or URL) into a link named by its outlet."""

    by_id: Mapping[str, DraftCandidate]
    names_by_link: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, current: DraftFile) -> Resolver:
        names: dict[str, str] = {}
        for cand in current.candidates:
            for text in cand.also:
                name, _, url = text.rpartition(": ")
                if name and "://" in url:
                    names.setdefault(link_key(url), name)
        for cand in current.candidates:
            if cand.url:
                names[link_key(cand.url)] = cand.source or _host_name(cand.url)
        return cls(by_id=current.by_id(), names_by_link=names)

    def link(self, source: str) -> SourceLink | None:
        cand = self.by_id.get(source)
        if cand is not None and cand.url:
            return SourceLink(name=cand.source or _host_name(cand.url), url=cand.url)
        if is_url(source):
            name = self.names_by_link.get(link_key(source)) or _host_name(source)
            return SourceLink(name=name, url=source)
        return None


def is_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def picked_without_story(current: DraftFile) -> list[DraftCandidate]:
    """Picked candidates no story refers to, best first: they become stories themselves."""
    referenced = current.referenced()
    links = {link_key(r) for r in referenced if is_url(r)}
    return [c for c in current.candidates if c.status == "picked" and c.id not in referenced
            and link_key(c.url) not in links]


def issue_from_draft(current: DraftFile, config: Config, issue_date: date) -> Issue:
    """Resolve a parsed draft into the Issue the renderers take."""
    window = issue_window(config, issue_date)
    resolver = Resolver.of(current)
    taken: set[str] = set()
    stories: list[IssueStory] = []
    for story in current.stories:
        links = tuple(link for s in story.sources if (link := resolver.link(s)) is not None)
        section = story.section
        if section is None and story.sources and story.sources[0] in resolver.by_id:
            section = resolver.by_id[story.sources[0]].section
        stories.append(IssueStory(headline=story.headline, body=story.body, sources=links,
                                  section=section, anchor=_anchor(story.headline, len(stories),
                                                                  taken)))
    for cand in picked_without_story(current):
        link = resolver.link(cand.id)
        stories.append(IssueStory(
            headline=cand.title, body=cand.summary, sources=(link,) if link else (),
            section=cand.section, anchor=_anchor(cand.title, len(stories), taken),
        ))
    header = current.header
    preheader = as_text(header.get("preheader")) or " · ".join(s.headline for s in stories[:2])
    image = as_text(header.get("image")) or None
    return Issue(
        date=issue_date,
        title=as_text(header.get("title")) or issue_title(config, window),
        volume=window.volume,
        number=window.number,
        stories=tuple(stories),
        preheader=preheader,
        intro=as_text(header.get("intro")),
        image=image,
        image_alt=as_text(header.get("image_alt")),
        image_credit=as_text(header.get("image_credit")),
    )


def load_issue(config: Config, issue_date: date) -> Issue:
    """The issue of `issue_date` from its draft (DraftError if missing or broken)."""
    return issue_from_draft(read_draft(draft_path(config, issue_date)), config, issue_date)


def draft_dates(config: Config) -> list[date]:
    return [day for day, _ in dated_files(config, DRAFT_NAME)]
