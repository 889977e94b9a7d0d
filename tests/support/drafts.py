"""A small real project and candidates for the draft tests (editorial, preview, cli)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from digest.config import Config, load_config
from digest.editorial import draft
from digest.models import Candidate, FeedHealth, Outlet, Selection

NOW = datetime(2026, 11, 14, 12, 0, tzinfo=UTC)
DECISIONS = "decisions:          # candidate id: picked, held or rejected; one a line"
ISSUE = date(2026, 11, 15)

FEEDS_YAML = """\
digest:
  first_year: 2022
cadence:
  days: [1, 15]
  window_days: 14
  timezone: America/New_York
feeds:
  - name: Kyodo News
    url: https://english.kyodonews.net/rss/all.xml
"""


def make_config(project_dir: Path, extra: str = "") -> Config:
    """A small real project: feeds.yaml in a temporary folder (shared by the draft tests)."""
    (project_dir / "feeds.yaml").write_text(FEEDS_YAML + extra, encoding="utf-8")
    return load_config(project_dir)


def cand(n: int, score: float = 10.0, **changes: object) -> Candidate:
    values: dict[str, object] = {
        "id": f"c{n:04d}",
        "title": f"Japan and US hold talks on alliance matter {n}",
        "url": f"https://news.example.com/{n}",
        "source": "Kyodo News",
        "published": datetime(2026, 11, 10, 3, 30, tzinfo=UTC) + timedelta(minutes=n),
        "score": score,
        "why": ("alliance phrase in title: alliance (+3.0)",),
        "section": "Security",
        "summary": f"Officials met in Tokyo to discuss matter {n}.",
        "also": (Outlet("NHK World", f"https://nhk.example.jp/{n}"),),
    }
    values.update(changes)
    return Candidate(**values)  # type: ignore[arg-type]


def refresh(
    config: Config,
    candidates: Sequence[Candidate] | Selection,
    *,
    issue: date = ISSUE,
    health: Sequence[FeedHealth] = (),
    now: datetime = NOW,
) -> draft.DraftSummary:
    window = draft.issue_window(config, issue)
    return draft.refresh_draft(config, window, candidates, health=health, now=now)
