"""`digest demo`: the whole pipeline, offline, on bundled sample feeds.

    write sample feeds (dated relative to now) -> serve them on 127.0.0.1
    -> feeds.yaml pointing at them -> fetch -> draft -> a stand-in editor picks the top
    candidates -> render the email -> publish the archive

The demo folder is marked as such; an existing folder is reused only if it carries the
mark, so the demo never overwrites a real project.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from digest import paths, pipeline
from digest._util.fs import atomic_write
from digest.config import load_config
from digest.demo import samples
from digest.editorial import draft
from digest.errors import UsageError
from digest.paths import CONFIG_NAME

DEMO_MARK = ".digest-demo"


@dataclass(frozen=True)
class DemoResult:
    email_html: Path
    site_index: Path
    draft: Path
    items: int
    candidates: int
    seconds: float


def prepare_folder(directory: Path) -> None:
    """Create the demo folder, or clear one that an earlier demo made."""
    if directory.exists() and any(directory.iterdir()):
        if not (directory / DEMO_MARK).exists():
            raise UsageError(
                f"{directory} exists and is not a demo folder; give `digest demo` a new "
                "or empty folder so nothing of yours is overwritten"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / DEMO_MARK).write_text("made by `digest demo`; safe to delete\n")


def demo_config_text(feeds: list[samples.SampleFeed], base_url: str) -> str:
    """The project's real feeds.yaml with its feed list swapped for the local sample feeds."""
    yaml = YAML(typ="rt")
    yaml.width = 120
    document = yaml.load(paths.default_config().read_text(encoding="utf-8"))
    entries = CommentedSeq()
    for feed in feeds:
        entry = CommentedMap()
        entry["name"] = feed.name
        entry["url"] = base_url + feed.filename
        entry["lang"] = feed.lang
        entry["kind"] = feed.kind
        entries.append(entry)
    document["feeds"] = entries

    out = StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def stand_in_picks(current: draft.DraftFile, *, lang: str, picks: int) -> list[str]:
    """The ids an editor in a hurry would pick: the best ones written in the issue's language.

    Candidates arrive best first. Other-language ones fill up only if too few remain.
    """
    open_ones = [c for c in current.candidates if current.status(c) != "rejected"]
    same = [c.id for c in open_ones if c.lang == lang]
    other = [c.id for c in open_ones if c.lang != lang]
    return (same + other)[:picks]


def run_demo(directory: Path, *, picks: int, now: datetime) -> DemoResult:
    started = time.perf_counter()
    directory = Path(directory).resolve()
    prepare_folder(directory)
    feed_dir = directory / "sample-feeds"
    feeds = samples.write_sample_feeds(feed_dir, now=now)
    content_types = {feed.filename: feed.content_type for feed in feeds}
    with samples.serve_directory(feed_dir, content_types) as base_url:
        atomic_write(directory / CONFIG_NAME, demo_config_text(feeds, base_url))
        config = load_config(directory)
        run = pipeline.run_fetch(config, now=now, show_progress=False)
    today = now.astimezone(config.tz).date()
    issue_date = draft.next_issue_date(config, today)
    # The sample items span the two weeks before now; the next issue's window may end
    # later, so start the demo's window at now minus the window length.
    since = today - timedelta(days=config.cadence.window_days)
    pipeline.run_draft(config, issue_date, now=now, since=since)
    current = draft.read_draft(draft.draft_path(config, issue_date))
    candidates = current.candidates
    chosen = stand_in_picks(current, lang=config.digest.lang, picks=picks)
    draft.set_status(config, issue_date, dict.fromkeys(chosen, "picked"), now=now)
    pipeline.run_render(config, issue_date, now=now)
    pipeline.run_publish(config, issue_date, now=now)
    issue_dir = draft.issue_dir(config, issue_date)
    return DemoResult(
        email_html=issue_dir / "email.html",
        site_index=config.site_dir / "index.html",
        draft=draft.draft_path(config, issue_date),
        items=sum(report.items for report in run.feeds),
        candidates=len(candidates),
        seconds=time.perf_counter() - started,
    )
