"""Irreplaceable state: the move of a pre-split project, backup while a fetch runs, restore."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.project import (
    Project,
    digest,
    item_ids,
    one_line_error,
    served_project,
    start_digest,
    store_rows,
)

from digest._util.fs import exclusive_lock
from digest.backup import prune_backups
from digest.config import load_config
from digest.ingest.store import Store

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    with served_project(tmp_path_factory.mktemp("backup") / "project", now=NOW) as project:
        yield project


def test_a_backup_taken_while_a_fetch_runs_restores_whole(served: Project, tmp_path: Path) -> None:
    for route in served.server.routes.values():
        route.latency_s = 0.4  # a fetch of about two seconds
    fetch = start_digest("fetch", project=served.root)
    try:
        deadline = time.monotonic() + 60
        while not (served.store.exists() and item_ids(served.store)):
            assert time.monotonic() < deadline and fetch.poll() is None, "no item stored"
            time.sleep(0.02)
        made = digest("backup", str(tmp_path / "backups"), project=served.root)
        still_fetching = fetch.poll() is None
        assert fetch.wait(120) == 0
    finally:
        if fetch.poll() is None:
            fetch.kill()
    assert made.returncode == 0, made.stderr
    assert still_fetching  # the backup really overlapped the fetch
    (backup,) = (tmp_path / "backups").glob("digest-backup-*")
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    assert {"feeds.yaml", "state/digest.sqlite"} <= set(manifest["files"])
    assert f"{manifest['items']} stored items" in made.stdout

    # Into an empty folder: the project comes back as it was at the backup.
    fresh = tmp_path / "restored"
    fresh.mkdir()
    restored = digest("restore", str(backup), project=fresh)
    assert restored.returncode == 0, restored.stderr
    copy = store_rows(fresh / "state" / "digest.sqlite")  # integrity_check passes
    assert len(copy["items"]) == manifest["items"] > 0
    final = store_rows(served.store)
    assert set(copy["items"]) <= set(final["items"])  # a snapshot of the live store
    assert (fresh / "feeds.yaml").read_bytes() == (served.root / "feeds.yaml").read_bytes()
    status = digest("status", project=fresh)
    assert status.returncode == 0, status.stderr


def test_restore_asks_before_replacing_and_keeps_what_was_there(
    served: Project, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    shutil.copytree(served.root, project)
    assert digest("fetch", project=project).returncode == 0
    made = digest("backup", project=project)
    assert made.returncode == 0, made.stderr
    (backup,) = (project / "backups").glob("digest-backup-*")
    items = item_ids(project / "state" / "digest.sqlite")

    with Store.open(project / "state" / "digest.sqlite") as store:
        store.prune(datetime(2100, 1, 1, tzinfo=UTC))  # the store loses every item
    refused = digest("restore", str(backup), project=project)
    assert refused.returncode == 2
    assert "run again with --yes" in one_line_error(refused)
    assert item_ids(project / "state" / "digest.sqlite") == set()  # untouched

    with exclusive_lock(project / ".digest" / "schedule.lock", holder="digest schedule"):
        busy = digest("restore", str(backup), "--yes", project=project)
    assert busy.returncode == 1 and "stop it, then restore" in one_line_error(busy)

    done = digest("restore", str(backup), "--yes", project=project)
    assert done.returncode == 0, done.stderr
    assert item_ids(project / "state" / "digest.sqlite") == items
    saved = [p for p in (project / "backups").glob("digest-backup-*") if p != backup]
    assert len(saved) == 1 and "the previous state is kept as" in done.stdout
    assert item_ids(saved[0] / "state" / "digest.sqlite") == set()


def test_a_tampered_backup_is_refused(served: Project, tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(served.root, project)
    assert digest("backup", str(tmp_path / "b"), project=project).returncode == 0
    (backup,) = (tmp_path / "b").glob("digest-backup-*")
    (backup / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    result = digest("restore", str(backup), "--yes", project=project)
    assert result.returncode == 1
    assert "feeds.yaml is missing or differs" in one_line_error(result)


def test_prune_keeps_the_newest_backups(served: Project, tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(served.root, project)
    for _ in range(3):
        assert digest("backup", str(tmp_path / "b"), project=project).returncode == 0
    backups = sorted((tmp_path / "b").glob("digest-backup-*"))
    assert len(backups) == 3
    assert prune_backups(tmp_path / "b", keep=2) == backups[:1]
    assert sorted((tmp_path / "b").glob("digest-backup-*")) == backups[1:]


def test_the_scheduled_backup_job_keeps_the_newest(served: Project, tmp_path: Path) -> None:
    from digest.schedule import backup_job

    project = tmp_path / "p"
    shutil.copytree(served.root, project)
    with open(project / "feeds.yaml", "a", encoding="utf-8") as handle:
        handle.write("backup:\n  keep: 2\n  dir: kept\n")
    for _ in range(3):
        assert backup_job(str(project))
    assert len(list((project / "kept").glob("digest-backup-*"))) == 2


# -- a project from before the split -------------------------------------------------------------


def test_a_pre_split_project_moves_its_store_and_key_into_state(
    served: Project, tmp_path: Path
) -> None:
    project = tmp_path / "old"
    project.mkdir()
    shutil.copy2(served.root / "feeds.yaml", project / "feeds.yaml")
    legacy = project / ".digest"
    with Store.open(legacy / "digest.sqlite") as store:
        store.conn.execute("INSERT INTO feeds (name, url) VALUES ('Old Feed', 'https://x/')")
        # Still open, so the row sits in the WAL beside the file: the move must carry it.
        (legacy / "unsubscribe.key").write_bytes(b"k" * 32)
        config = load_config(project)
    assert (project / "state" / "unsubscribe.key").read_bytes() == b"k" * 32
    rows = store_rows(project / "state" / "digest.sqlite")
    assert rows["feeds"][0][:2] == ("Old Feed", "https://x/")
    assert (legacy / "digest.sqlite.moved-to-state").is_file()  # kept, never deleted
    assert not (legacy / "digest.sqlite").exists()
    assert config.state_dir == project / "state"
    load_config(project)  # a second load has nothing to move
    assert sorted(p.name for p in (project / "state").iterdir()) == [
        "digest.sqlite",
        "unsubscribe.key",
    ]
    with sqlite3.connect(project / "state" / "digest.sqlite") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 2
