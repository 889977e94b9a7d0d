"""The gate before a send: which issue may go, rendered from what, and why not.

    proof (--to)   the draft as it is now, rendered in memory (never a stale email.eml);
                   refused while `digest check` finds errors, unless forced, and then its
                   subject says PROOF WITH ERRORS. A published issue is proofed as
                   published (from published.json).
    list (--list)  only a published issue: the one named by --date, else the latest
                   published; rendered from its published.json, whose content hash is
                   checked, so the list gets exactly what the archive shows.

Every refusal says why and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from digest.config import Config
from digest.editorial import check, draft
from digest.errors import SendError
from digest.models import Issue, Problem
from digest.publish.email import render
from digest.publish.site import archive


@dataclass(frozen=True)
class Outgoing:
    """An issue ready to personalise: what it is, and its rendered message."""

    issue_date: date
    title: str
    stories: int
    eml: bytes
    published: bool
    errors: tuple[Problem, ...] = ()

    @property
    def with_errors(self) -> bool:
        return bool(self.errors)


def check_errors(config: Config, issue_date: date) -> tuple[Problem, ...]:
    return tuple(p for p in check.check_project(config, issue_date) if p.severity == "error")


def _outgoing(
    config: Config,
    issue: Issue,
    *,
    now: datetime,
    published: bool,
    errors: tuple[Problem, ...] = (),
) -> Outgoing:
    rendered = render.render_issue(issue, config, now=now)
    return Outgoing(issue.date, issue.title, len(issue.stories), rendered.eml, published, errors)


def proof_issue(
    config: Config, issue_date: date, *, now: datetime, force: bool = False
) -> Outgoing:
    """The issue for a proof: as published if it is, else the draft as it is now."""
    path = archive.published_path(config, issue_date)
    if path.exists():
        return _outgoing(config, archive.read_published(path).issue, now=now, published=True)
    errors = check_errors(config, issue_date)
    if errors and not force:
        raise SendError(
            f"no proof sent: `digest check` finds {len(errors)} error(s) in the draft: "
            f"{_shown(errors)}; fix the draft, or add --force to send a proof marked "
            "PROOF WITH ERRORS"
        )
    issue = draft.load_issue(config, issue_date)
    return _outgoing(config, issue, now=now, published=False, errors=errors)


def latest_published(config: Config) -> date | None:
    dates = sorted(
        p.parent.name
        for p in config.issues_dir.glob(f"*/{archive.PUBLISHED_NAME}")
        if _is_date(p.parent.name)
    )
    return date.fromisoformat(dates[-1]) if dates else None


def list_issue(config: Config, issue_date: date | None, *, now: datetime) -> Outgoing:
    """The issue for a list send: only a published one."""
    if issue_date is None:
        issue_date = latest_published(config)
        if issue_date is None:
            raise SendError(
                "not sent: no issue is published yet, and a list gets only a published "
                "issue; run `digest check`, then `digest publish --date DATE`, then send",
                path=config.issues_dir,
            )
    path = archive.published_path(config, issue_date)
    if not path.exists():
        day = issue_date.isoformat()
        raise SendError(
            f"not sent: the issue of {day} is not published, and a list gets only a "
            f"published issue; run `digest check --date {day}`, then `digest publish "
            f"--date {day}`, then send again (for a proof use --to)",
        )
    return _outgoing(config, archive.read_published(path).issue, now=now, published=True)


def _shown(problems: tuple[Problem, ...]) -> str:
    shown = "; ".join(str(p) for p in problems[:3])
    return shown + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")


def _is_date(name: str) -> bool:
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True
