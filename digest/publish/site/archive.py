"""Publishing an issue and building the archive: the stage's contract, as one transaction.

    publish(config, date, now, force, note)
        issues/DATE/.publishing.json   the intent, written first (force, note): a re-run of
                                       `digest publish` after a crash completes it
        draft.load_issue --freeze--> Published
        --render email + PDF--> issues/DATE/.publish-staging/ --swap--> issues/DATE/
        --build_site (pages rendered aside, swapped in)--> site/
        --> issues/DATE/published.json   written last: it is what says "published"
        intent removed
    build_site(config, now)
        issues/*/published.json --plan_site (pure)--> [Page] --write_site--> site/

A crash anywhere leaves either the previous state or a visible intent that
`digest status` reports with the command that finishes it; `digest publish` again
finishes it without --force. Running `digest publish` on a complete, unchanged publish
does nothing and says so; a publish that an older version left half-done (published.json
without its page or PDF) is completed the same way.

Modules: published.py (the frozen issue and its JSON), plan.py (the site plan, pure),
writer.py (files), pdf.py (the PDF). Their public names are re-exported here.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from digest._util.fs import atomic_write, exclusive_lock, sweep_leftovers
from digest.config import Config
from digest.editorial import draft
from digest.errors import LockBusy, PublishError
from digest.publish.email import render
from digest.publish.email.view import pdf_name
from digest.publish.site import pdf
from digest.publish.site.plan import (
    BUILD_VERSION,
    EXCERPT_CHARS,
    Page,
    SiteInfo,
    excerpt,
    long_date,
    plan_site,
    slugify,
)
from digest.publish.site.published import (
    FORMAT_VERSION,
    PUBLISHED_NAME,
    Correction,
    Published,
    content_hash,
    freeze,
    load_published,
    published_from_json,
    published_path,
    published_to_json,
    read_published,
    refuse_if_published,
)
from digest.publish.site.writer import (
    ASSETS,
    MANIFEST_NAME,
    SiteReport,
    asset_pages,
    iter_site_files,
    template_fingerprint,
    write_site,
)
from digest.publish.templates import templates_for

__all__ = [
    "ASSETS",
    "BUILD_VERSION",
    "EXCERPT_CHARS",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "PUBLISHED_NAME",
    "Correction",
    "Page",
    "Published",
    "SiteInfo",
    "SiteReport",
    "asset_pages",
    "build_site",
    "content_hash",
    "excerpt",
    "freeze",
    "half_done_publishes",
    "issue_url",
    "iter_site_files",
    "load_published",
    "long_date",
    "plan_site",
    "publish",
    "published_from_json",
    "published_path",
    "published_to_json",
    "read_published",
    "refuse_if_published",
    "slugify",
    "template_fingerprint",
    "write_site",
]

INTENT_NAME = ".publishing.json"
STAGING_NAME = ".publish-staging"
EMAIL_FILES = ("email.html", "email.txt", "email.eml")


@dataclass(frozen=True)
class Intent:
    """A publish under way, as recorded before anything is changed."""

    force: bool
    note: str | None
    started_at: datetime


@dataclass(frozen=True)
class HalfDone:
    """A publish that did not finish, and the command that finishes it."""

    issue_date: date
    started_at: datetime | None
    command: str


def issue_url(config: Config, issue_date: date) -> str:
    """The issue's public page: the 'view in browser' link of its email."""
    return config.site.base_url.rstrip("/") + f"/{issue_date.isoformat()}/"


def publish(
    config: Config,
    issue_date: date,
    *,
    now: datetime,
    force: bool = False,
    note: str | None = None,
) -> Path:
    """Freeze the issue, make its email files and PDF, rebuild the site; return the page."""
    lock = config.cache_dir / "publish.lock"
    try:
        with exclusive_lock(lock, wait_s=10.0):
            _publish_locked(config, issue_date, now=now, force=force, note=note)
    except BlockingIOError as exc:
        raise LockBusy(
            "another `digest publish` is running; try again when it has finished", path=lock
        ) from exc
    return config.site_dir / issue_date.isoformat() / "index.html"


def _publish_locked(
    config: Config, issue_date: date, *, now: datetime, force: bool, note: str | None
) -> None:
    folder = config.issue_dir(issue_date)
    path = published_path(config, issue_date)
    note = (note or "").strip() or None
    sweep_leftovers(folder)  # what a killed write of the last run left, intent included
    intent = read_intent(folder)
    previous = read_published(path) if path.exists() else None
    issue = draft.load_issue(config, issue_date)
    unchanged = previous is not None and previous.content_hash == content_hash(issue)
    if (
        previous is not None
        and unchanged
        and not (force or note)
        and (intent is None or _intent_written(previous, intent))
    ):
        _complete(config, previous, now=now)  # nothing changed: only finish what lacks
        (folder / INTENT_NAME).unlink(missing_ok=True)
        return
    if intent is not None:  # a publish was cut short: finish what it set out to do
        force, note = force or intent.force, note or intent.note
    _check_republish(previous, path, force=force, note=note)
    if intent is None:
        _write_intent(folder, Intent(force=force, note=note, started_at=now))
    today = now.astimezone(config.tz).date()
    published = freeze(issue, now=now, today=today, previous=previous, note=note)
    staging = folder / STAGING_NAME
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _stage_issue_files(config, published, staging, now=now)
    for staged in sorted(staging.iterdir()):
        os.replace(staged, folder / staged.name)
    build_site(config, now=now, pending=published)
    atomic_write(path, published_to_json(published))  # the issue is published from here on
    shutil.rmtree(staging, ignore_errors=True)
    (folder / INTENT_NAME).unlink(missing_ok=True)


def _intent_written(previous: Published, intent: Intent) -> bool:
    """Whether the publish cut short had already written its published.json (killed after
    that write, before removing the intent): a first publication always had, once the file
    exists; a correction had if the file holds it, stamped with the run's start."""
    return not intent.force or previous.updated_at >= intent.started_at


def _stage_issue_files(
    config: Config, published: Published, staging: Path, *, now: datetime
) -> None:
    """The email files and the PDF of the frozen issue, written into `staging`."""
    rendered = render.render_issue(published.issue, config, now=now)
    render.write_rendered(rendered, staging)
    pdf_file = staging / pdf_name(published.issue.date)
    atomic_write(pdf_file, pdf.render_pdf(published.issue, config))


def _complete(config: Config, published: Published, *, now: datetime) -> None:
    """An unchanged, already published issue: make what is missing, rebuild the site."""
    folder = config.issue_dir(published.issue.date)
    missing = [
        n for n in (*EMAIL_FILES, pdf_name(published.issue.date)) if not (folder / n).exists()
    ]
    if missing:
        staging = folder / STAGING_NAME
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        _stage_issue_files(config, published, staging, now=now)
        for name in missing:
            os.replace(staging / name, folder / name)
        shutil.rmtree(staging, ignore_errors=True)
    build_site(config, now=now)


def read_intent(folder: Path) -> Intent | None:
    """The intent of a publish cut short in `folder`, or None."""
    try:
        data = json.loads((folder / INTENT_NAME).read_text(encoding="utf-8"))
        return Intent(
            force=bool(data["force"]),
            note=data.get("note") or None,
            started_at=datetime.fromisoformat(data["started_at"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        # Unreadable (cut short while written: it is written atomically, so only by hand):
        # a plain publish of the draft, which is what it recorded in the first place.
        return Intent(force=False, note=None, started_at=datetime.min)


def _write_intent(folder: Path, intent: Intent) -> None:
    data = {"force": intent.force, "note": intent.note, "started_at": intent.started_at.isoformat()}
    atomic_write(folder / INTENT_NAME, json.dumps(data) + "\n")


def half_done_publishes(config: Config) -> list[HalfDone]:
    """Publishes that did not finish (for `digest status`), each with its finishing command."""
    found = []
    for marker in sorted(config.issues_dir.glob(f"*/{INTENT_NAME}")):
        try:
            day = date.fromisoformat(marker.parent.name)
        except ValueError:
            continue
        intent = read_intent(marker.parent)
        started = intent.started_at if intent and intent.started_at != datetime.min else None
        command = f"digest publish --date {day.isoformat()}"
        found.append(HalfDone(issue_date=day, started_at=started, command=command))
    return found


def _check_republish(
    previous: Published | None, path: Path, *, force: bool, note: str | None
) -> None:
    if previous is None:
        if note:
            raise PublishError(
                "--note is for corrections of an issue already published; this issue is not "
                "published yet, so publish it without --note",
                path=path,
            )
        return
    when = previous.published_at.isoformat(timespec="minutes")
    day = previous.issue.date.isoformat()
    if not force:
        raise PublishError(
            f"this issue was already published at {when} and its draft has changed since; "
            f'to correct it run `digest publish --date {day} --force --note "what was '
            'corrected"`',
            path=path,
        )
    if not note:
        raise PublishError(
            f"re-publishing the issue of {day} (published at {when}) needs a correction note "
            'for readers: add --note "what was corrected"',
            path=path,
        )


def build_site(
    config: Config, *, now: datetime, full: bool = False, pending: Published | None = None
) -> SiteReport:
    """Rebuild config.site_dir from every issues/*/published.json; only changes are written.

    `pending` is an issue being published (its published.json is written after the site).
    `now` is accepted for symmetry with the other stages; the site itself depends only on
    the published issues, so rebuilding an unchanged archive writes nothing.
    """
    del now
    published = _with_pending(load_published(config), pending)
    site = SiteInfo.from_config(config)
    pages = plan_site(
        published,
        site,
        section_order=[s.name for s in config.rules.sections],
        default_section=config.rules.default_section,
        issues_dir=config.issues_dir,
        feed_entries=config.site.feed_entries,
    )
    templates = templates_for(config.project_dir, "site")
    pages.extend(asset_pages(templates))
    return write_site(pages, config.site_dir, issues=len(published), full=full, templates=templates)


def _with_pending(published: Sequence[Published], pending: Published | None) -> list[Published]:
    if pending is None:
        return list(published)
    others = [p for p in published if p.issue.date != pending.issue.date]
    return sorted([*others, pending], key=lambda p: p.issue.date)
