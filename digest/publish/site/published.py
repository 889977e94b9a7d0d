"""Published issues: the frozen record in issues/DATE/published.json and its format.

    draft.load_issue --freeze--> Published (published_at, content hash, corrections)
    Published <--published_to_json / published_from_json--> published.json (format 1)

An issue changes after publication only through `publish --force --note`, which records
a correction; the content hash catches an edit by hand. Fields added to the format later
(layout, headlines_label) are written only when they differ from their default, so the
hash of every issue published before them stays the same.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from pathlib import Path

from digest.config import Config
from digest.editorial import draft
from digest.errors import PublishError
from digest.models import Issue, IssueStory, SourceLink

PUBLISHED_NAME = draft.PUBLISHED_NAME
FORMAT_VERSION = 1
# Fields of Issue that came after the format, with the default an older file implies.
LATER_FIELDS = {"layout": "standard", "headlines_label": ""}


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


def content_hash(issue: Issue) -> str:
    """A hash of what readers see; publication time and corrections are not part of it."""
    content = asdict(replace(issue, published_at=None, corrections=()))
    for name, default in LATER_FIELDS.items():
        if content.get(name) == default:
            del content[name]
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def freeze(
    issue: Issue,
    *,
    now: datetime,
    today: date,
    previous: Published | None = None,
    note: str | None = None,
) -> Published:
    """The issue as it is published now: first publication, or a correction of `previous`."""
    corrections = previous.corrections if previous else ()
    if previous is not None and note:
        corrections = (*corrections, Correction(date=today, at=now, note=note))
    # An issue imported from an earlier series carries its own publication date.
    published_at = previous.published_at if previous else (issue.published_at or now)
    frozen = replace(
        issue,
        published_at=published_at,
        corrections=tuple((c.date.isoformat(), c.note) for c in corrections),
    )
    return Published(
        issue=frozen,
        published_at=published_at,
        content_hash=content_hash(issue),
        corrections=corrections,
    )


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
        **{
            name: getattr(issue, name)
            for name, default in LATER_FIELDS.items()
            if getattr(issue, name) != default
        },
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
            Correction(
                date=date.fromisoformat(c["date"]),
                at=datetime.fromisoformat(c["at"]),
                note=c["note"],
            )
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
            layout=str(data.get("layout", LATER_FIELDS["layout"])),
            headlines_label=str(data.get("headlines_label", "")),
            published_at=published_at,
            corrections=tuple((c.date.isoformat(), c.note) for c in corrections),
        )
        stored_hash = data["content_hash"]
    except json.JSONDecodeError as exc:
        raise PublishError(
            f"is not valid JSON ({exc.msg}); restore it from version control",
            path=path,
            line=exc.lineno,
        ) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PublishError(
            f"is not a published issue ({type(exc).__name__}: {exc}); "
            "restore it from version control",
            path=path,
        ) from exc
    # A published issue changes only through `publish --force --note`, which records why;
    # an edit by hand would change the archive with no note for readers.
    if stored_hash != content_hash(issue):
        raise PublishError(
            f"was edited after the issue was published (its content no longer matches its "
            f"content hash); undo the edit, then correct the issue in its draft and run "
            f'`digest publish --date {issue.date.isoformat()} --force --note "what was '
            f'corrected"`',
            path=path,
        )
    return Published(
        issue=issue, published_at=published_at, content_hash=stored_hash, corrections=corrections
    )


def read_published(path: Path) -> Published:
    """The Published of one published.json; a PublishError names the file."""
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
    """issues/DATE/published.json."""
    return config.issue_dir(issue_date) / PUBLISHED_NAME


def refuse_if_published(config: Config, issue_date: date) -> None:
    """Stop a stage that would rewrite a published issue's email files from its draft."""
    path = published_path(config, issue_date)
    if path.exists():
        day = issue_date.isoformat()
        raise PublishError(
            f"the issue of {day} is published, so its email files are final; to change it, "
            f'edit its draft and run `digest publish --date {day} --force --note "what was '
            'corrected"`',
            path=path,
        )
