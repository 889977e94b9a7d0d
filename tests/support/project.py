"""A real project on disk whose feeds are the demo's sample feeds served by FeedServer, and
`digest` run as a real process on it: for the tests that kill, fill and lock things."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ruamel.yaml import YAML
from support.feedserver import FeedServer, Route

from digest.demo import samples
from digest.demo.run import demo_config_text


@dataclass
class Project:
    root: Path
    server: FeedServer

    @property
    def store(self) -> Path:
        return self.root / "state" / "digest.sqlite"


@contextmanager
def served_project(root: Path, *, now: datetime, latency_s: float = 0.0) -> Iterator[Project]:
    """feeds.yaml pointing at the sample feeds on a local FeedServer (with `latency_s`)."""
    root.mkdir(parents=True, exist_ok=True)
    feeds = samples.write_sample_feeds(root.parent / f"{root.name}-feeds", now=now)
    with FeedServer() as server:
        for feed in feeds:
            route = Route(
                body=feed.path.read_bytes(), content_type=feed.content_type, latency_s=latency_s
            )
            server.add(f"/{feed.filename}", route)
        (root / "feeds.yaml").write_text(demo_config_text(feeds, server.url("/")), "utf-8")
        configure(root, {"schedule": {"jitter_minutes": 0}})
        yield Project(root, server)


def configure(project: Path, settings: dict[str, dict[str, object]]) -> None:
    """Set keys of feeds.yaml sections, e.g. {"schedule": {"jitter_minutes": 0}}."""
    yaml = YAML(typ="rt")
    path = project / "feeds.yaml"
    document = yaml.load(path.read_text(encoding="utf-8"))
    for section, values in settings.items():
        document.setdefault(section, {}).update(values)
    out = io.StringIO()
    yaml.dump(document, out)
    path.write_text(out.getvalue(), encoding="utf-8")


def digest(*args: str, project: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`digest ARGS --project PROJECT` as its own process."""
    return subprocess.run(
        [sys.executable, "-m", "digest", *args, "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def start_digest(*args: str, project: Path, log: Path | None = None) -> subprocess.Popen[str]:
    """`digest ARGS` started in the background, its output going to `log` (default: none).

    A file, not a pipe: a worker the process forked may outlive a SIGKILL and hold a pipe
    open, which would hang a reader (the parse pool's hygiene is not what these tests test).
    """
    with open(log or os.devnull, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "digest", *args, "--project", str(project)],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error: ...` line of a failed command; fails on a traceback or more lines."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    # "error: PATH: what" or, for draft and lock errors, "PATH: error: what"
    assert len(lines) == 1 and "error: " in lines[0], result.stderr
    return lines[0]


def store_rows(store: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the store's tables, read as a second process would."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    finally:
        conn.close()


def item_ids(store: Path) -> set[str]:
    return {row[0] for row in store_rows(store).get("items", [])}


def file_hashes(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """SHA-256 of every file under `root` (paths relative), except those under `skip`."""
    hashes = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if not relative.startswith(skip):
            hashes[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def leftovers(root: Path) -> list[Path]:
    """Temporary files of interrupted writes still on disk."""
    return [p for p in root.rglob("*") if p.name.endswith((".digest-tmp", ".tmp"))]
