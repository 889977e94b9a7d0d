"""The editor's draft on disk: issues/DATE/draft.yaml read and written under its lock.

    refresh_draft   lock -> read -> refuse if published, unreadable, invalid or hand-edited
                    below the marker -> merge (pure, digest.editorial.merge) -> write the
                    program's part after the editor's, which is copied byte for byte
    set_status      lock -> read -> refuse if invalid -> one `id: status` line recorded in
                    `decisions:` (digest.editorial.decide) -> write
    load_issue      read -> refuse if invalid -> Issue (digest.editorial.issue)

Every write is atomic, keeps draft.yaml.bak and is refused if the file changed on disk
since it was read. The layout of the file is digest.editorial.draftfile; the issue
sequence (dates, windows, numbers) digest.editorial.calendar.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from digest._util.fs import atomic_write, exclusive_lock
from digest.config import Config
from digest.editorial import calendar
from digest.editorial.calendar import issue_title, skipped_text, window_text
from digest.editorial.decide import with_decision
from digest.editorial.draftfile import (
    BEGIN,
    DraftFile,
    joined,
    notes_of,
    parse_draft,
    program_text,
    read_draft,
)
from digest.editorial.issue import issue_from_draft
from digest.editorial.merge import Merged, from_candidate, merge_candidates, status_counts
from digest.editorial.schema import DECISIONS, DraftCandidate
from digest.errors import DigestError, DraftConflict, DraftError, DraftInvalid, LockBusy
from digest.models import (
    Candidate,
    DraftSummary,
    FeedHealth,
    Issue,
    IssueWindow,
    Selection,
)

DRAFT_NAME = "draft.yaml"
PUBLISHED_NAME = "published.json"  # written by archive.publish, read by the checks
LOCK_NAME = ".draft.lock"
LOCK_WAIT_S = 5.0
QUIET_DAYS = 7  # a feed without items for this long is listed as quiet

__all__ = ["DraftCandidate", "DraftFile", "read_draft"]


# --- where drafts are, and the issue sequence they make ------------------------------------


def issue_dir(config: Config, issue_date: date) -> Path:
    return config.issue_dir(issue_date)


def draft_path(config: Config, issue_date: date) -> Path:
    return issue_dir(config, issue_date) / DRAFT_NAME


def dated_files(config: Config, name: str) -> list[tuple[date, Path]]:
    """Every issues/YYYY-MM-DD/<name> that exists, oldest first (other folders ignored)."""
    found = []
    for path in config.issues_dir.glob(f"*/{name}"):
        try:
            found.append((date.fromisoformat(path.parent.name), path))
        except ValueError:
            continue
    return sorted(found)


def draft_dates(config: Config) -> list[date]:
    return [day for day, _ in dated_files(config, DRAFT_NAME)]


def published_dates(config: Config) -> list[date]:
    return [day for day, _ in dated_files(config, PUBLISHED_NAME)]


def is_published(config: Config, issue_date: date) -> bool:
    return (issue_dir(config, issue_date) / PUBLISHED_NAME).exists()


def next_issue_date(config: Config, today: date) -> date:
    """The next unpublished issue (see calendar.next_issue_date)."""
    return calendar.next_issue_date(
        config, today, drafted=draft_dates(config), published=published_dates(config)
    )


def due_issue_date(config: Config, today: date) -> date:
    """The issue the scheduler drafts on `today`: the first unpublished cadence date on or
    after it (an unfinished earlier draft is the editor's to finish, not the scheduler's)."""
    return calendar.next_issue_date(config, today, published=published_dates(config))


def issue_window(
    config: Config, issue_date: date, *, since: date | None = None, until: date | None = None
) -> IssueWindow:
    """The window, volume and number of `issue_date` given the issues on disk."""
    published = published_dates(config)
    return calendar.issue_window(
        config,
        issue_date,
        existing={*draft_dates(config), *published},
        published=published,
        since=since,
        until=until,
    )


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
    if _read_bytes(path) != before:
        raise DraftConflict(
            "the draft changed on disk while digest was writing it (saved in an editor?);"
            " nothing was written and your version is kept; run the command again",
            path=path,
        )
    atomic_write(path, text.encode("utf-8", "surrogatepass"), backup=before is not None)


def refuse_if_invalid(current: DraftFile, doing: str) -> None:
    """A draft with a schema error is neither used nor rewritten: say where and what to do."""
    if current.errors:
        first = current.errors[0]
        others = len(current.errors) - 1
        more = f" (and {others} more: `digest check`)" if others else ""
        raise DraftInvalid(
            f"{first.message}{more}; {doing} stopped and the draft is unchanged",
            path=first.path,
            line=first.line,
        )


def refuse_if_published(config: Config, issue_date: date) -> None:
    if is_published(config, issue_date):
        raise DraftError(
            f"the issue of {issue_date} is published and its draft is final; to correct it,"
            f" edit the draft and run `digest publish --date {issue_date} --force --note"
            ' "what changed"`; `digest draft` without --date works on the next issue',
            path=draft_path(config, issue_date),
        )


# --- a new draft, and a refresh -----------------------------------------------------------


def new_editor_part(config: Config, window: IssueWindow) -> str:
    """The editor's part of a brand-new draft: keys with help, no decisions, no stories."""
    skipped = skipped_text(window)
    note = f"# Note: {skipped}.\n" if skipped else ""
    return f"""\
# Editor's draft of {issue_title(config, window)} ({window.date}).
# News window: {window_text(config, window)}.
{note}# Everything above the line `{BEGIN}` is yours: `digest draft` never
# changes it. Decide on candidates (listed below that line) under `decisions:`, one
# `id: picked|held|rejected` a line (the preview's buttons add them too); held ones move on
# to the next issue. Check with `digest check`; preview with `digest preview`.

date: {window.date.isoformat()}
image: ""           # a file in this folder or an https:// URL
image_alt: ""       # what the image shows, for screen readers
image_credit: ""    # e.g. "Image Source: Kyodo"
preheader: ""       # the line inboxes show after the subject
intro: ""

decisions:          # candidate id: picked, held or rejected; one a line

# Each story: a short wire-style headline (90 characters at most), one paragraph of
# 40-200 words, and its sources (candidate ids or URLs). A picked candidate without a
# story is published with its own title and summary.
#
#   - headline: Japan, US agree to co-develop interceptor
#     body: >
#       One paragraph ...
#     sources: [c3f9a1c2d4, https://example.com/story]
#     section: Security
stories: []

"""


def _notes(
    config: Config,
    window: IssueWindow,
    merged: Merged,
    counts: Mapping[str, int],
    health: Sequence[FeedHealth],
    *,
    now: datetime,
    extra: Sequence[str],
) -> list[str]:
    """The comment block at the top of the program's part."""
    listed = ", ".join(f"{n} {s}" for s, n in counts.items())
    notes = [
        f"{issue_title(config, window)}, dated {window.date}",
        f"News window: {window_text(config, window)}",
    ]
    if skipped := skipped_text(window):
        notes.append(f"Note: {skipped}")
    notes.append(
        f"Refreshed {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC:"
        f" {len(merged.candidates)} listed ({listed})"
    )
    if merged.unlisted:
        notes.append(
            f"{merged.unlisted} more below these: `digest candidates --date {window.date} --all`"
            " or the preview's search"
        )
    failing = [h for h in health if h.failing]
    quiet = [h for h in health if not h.failing and (h.quiet_days or 0) >= QUIET_DAYS]
    for h in failing:
        why = "gone" if h.gone else f"{h.consecutive_failures} failure(s)"
        detail = f": {h.last_error}" if h.last_error else ""
        notes.append(f"Failing feed: {h.feed} ({why}{detail})".replace("\n", " ")[:160])
    notes += [f"Quiet feed: {h.feed} (no items for {h.quiet_days} days)" for h in quiet]
    notes += [note.replace("\n", " ") for note in extra]
    notes.append("To take a candidate, add `ID: picked` under `decisions:` above.")
    return notes


def held_from_previous(config: Config, issue_date: date) -> tuple[list[DraftCandidate], list[str]]:
    """Candidates held in the previous issue's draft, marked with where they came from."""
    earlier = [path for day, path in dated_files(config, DRAFT_NAME) if day < issue_date]
    if not earlier:
        return [], []
    path = earlier[-1]
    try:
        previous = read_draft(path)
    except DigestError as exc:
        return [], [f"held candidates of {path} were not carried over: {exc}"]
    held = [
        replace(c, held_from=c.held_from or path.parent.name, line=None, key_lines={})
        for c in previous.candidates
        if previous.status(c) == "held"
    ]
    return held, []


def as_selection(found: Selection | Sequence[Candidate]) -> Selection:
    """Relevance's answer as a Selection (a plain list of candidates has no near misses)."""
    return found if isinstance(found, Selection) else Selection(candidates=tuple(found))


def refresh_draft(
    config: Config,
    window: IssueWindow,
    found: Selection | Sequence[Candidate],
    *,
    health: Sequence[FeedHealth],
    now: datetime,
) -> DraftSummary:
    """Create the draft of `window.date`, or rewrite its program part; the editor's stays."""
    selection = as_selection(found)
    path = draft_path(config, window.date)
    refuse_if_published(config, window.date)
    with draft_lock(config, window.date):
        before = _read_bytes(path)
        if before is None:
            current = _blank(path, new_editor_part(config, window))
        else:
            current = read_draft(path)
            if current.program_edited:
                raise DraftInvalid(
                    "the candidate section was edited by hand and a refresh would lose"
                    " that; move your changes above this line (`decisions:` or `stories:`),"
                    " or delete the section to have it rebuilt; the draft is unchanged",
                    path=path,
                    line=current.program_line,
                )
            refuse_if_invalid(current, "the refresh")
        carried, notes = held_from_previous(config, window.date)
        decided = {k: d.status for k, d in current.editor.decisions.items()}
        merged = merge_candidates(
            current.candidates,
            [from_candidate(c, config) for c in selection.candidates],
            decided=decided,
            referenced=current.referenced(),
            carried=carried,
            near_misses=[from_candidate(c, config) for c in selection.near_misses],
            max_candidates=config.rules.max_candidates,
        )
        statuses = _statuses(current, merged.candidates)
        counts = status_counts(merged.candidates, statuses)
        block = program_text(
            _notes(config, window, merged, counts, health, now=now, extra=notes),
            merged.candidates,
            merged.near_misses,
        )
        write_checked(path, before, joined(current, program=block))
    return DraftSummary(
        path=str(path),
        added=merged.added,
        counts=tuple(counts.items()),
        stories=len(current.stories),
    )


def _blank(path: Path, editor_text: str) -> DraftFile:
    return parse_draft(path, editor_text)


def _statuses(current: DraftFile, candidates: Sequence[DraftCandidate]) -> dict[str, str]:
    return {c.id: current.status(c) for c in candidates}


def set_status(
    config: Config, issue_date: date, changes: Mapping[str, str], *, now: datetime
) -> None:
    """Record the editor's decisions (id -> picked, held, rejected or new) in `decisions:`."""
    del now  # decisions carry no time; the parameter keeps every writer's signature alike
    bad = sorted({s for s in changes.values() if s not in DECISIONS})
    if bad:
        raise DraftInvalid(f"unknown status {bad[0]!r}; use one of {', '.join(DECISIONS)}")
    path = draft_path(config, issue_date)
    refuse_if_published(config, issue_date)
    with draft_lock(config, issue_date):
        before = _read_bytes(path)
        current = read_draft(path)
        refuse_if_invalid(current, "recording the decision")
        known = current.by_id()
        for cand_id, status in changes.items():
            if cand_id not in known and cand_id not in current.editor.decisions:
                raise DraftError(
                    f"has no candidate {cand_id!r}; run `digest draft` to list it, or find it"
                    " with `digest candidates --search`",
                    path=path,
                )
            current = _reparsed(current, with_decision(current, cand_id, status))
        write_checked(path, before, joined(current))


def take_candidate(
    config: Config, issue_date: date, found: Candidate, status: str, *, now: datetime
) -> None:
    """Decide on a candidate the draft does not list (found in the store by a search): the
    decision goes under `decisions:` and the candidate joins the program's list."""
    del now
    if status not in DECISIONS:
        raise DraftInvalid(f"unknown status {status!r}; use one of {', '.join(DECISIONS)}")
    path = draft_path(config, issue_date)
    refuse_if_published(config, issue_date)
    with draft_lock(config, issue_date):
        before = _read_bytes(path)
        current = read_draft(path)
        refuse_if_invalid(current, "recording the decision")
        if current.program_edited:
            raise DraftInvalid(
                "the candidate section was edited by hand; move your changes above it first",
                path=path,
                line=current.program_line,
            )
        decided = _reparsed(current, with_decision(current, found.id, status))
        listed = list(current.candidates)
        if found.id not in current.by_id():
            listed.append(from_candidate(found, config))
        block = program_text(notes_of(current.program_text), listed, current.program.near_misses)
        write_checked(path, before, joined(decided, program=block))


def _reparsed(current: DraftFile, editor_text: str) -> DraftFile:
    return parse_draft(current.path, current.bom + editor_text + current.program_text)


def load_issue(config: Config, issue_date: date) -> Issue:
    """The issue of `issue_date` from its draft (DraftInvalid if missing or invalid)."""
    current = read_draft(draft_path(config, issue_date))
    refuse_if_invalid(current, "reading the issue")
    return issue_from_draft(current, config, issue_window(config, issue_date))


def listed_statuses(config: Config, issue_date: date) -> dict[str, str]:
    """The status of every candidate the draft lists ({} without a readable draft)."""
    try:
        current = read_draft(draft_path(config, issue_date))
    except DigestError:
        return {}
    return _statuses(current, current.candidates)


def draft_counts(config: Config) -> dict[str, Any] | None:
    """The newest draft's counts for `digest status`; None when there is no draft."""
    paths = [path for _, path in dated_files(config, DRAFT_NAME)]
    if not paths:
        return None
    try:
        current = read_draft(paths[-1])
    except DigestError as exc:
        return {"path": str(paths[-1]), "counts": {}, "stories": 0, "error": str(exc)}
    return {
        "path": str(paths[-1]),
        "counts": status_counts(current.candidates, _statuses(current, current.candidates)),
        "stories": len(current.stories),
    }
