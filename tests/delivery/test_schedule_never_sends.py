"""The scheduler's jobs never send to a list: they are the fetch, the draft and the backup, and the
list send is out of the scheduler's import graph (an import-linter contract, `make lint`)."""

from __future__ import annotations

import tomllib

from support.repo import REPO

from digest.config import Config
from digest.schedule import BACKUP_JOB, DRAFT_JOB, FETCH_JOB, plan_jobs


def test_the_planned_jobs_are_only_fetch_draft_and_backup() -> None:
    assert {job.func for job in plan_jobs(Config())} == {FETCH_JOB, DRAFT_JOB, BACKUP_JOB}


def test_the_list_send_is_forbidden_to_the_scheduler_by_contract() -> None:
    settings = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = settings["tool"]["importlinter"]["contracts"]
    assert any(
        c["type"] == "forbidden"
        and c["source_modules"] == ["digest.schedule"]
        and "digest.delivery.send" in c["forbidden_modules"]
        for c in contracts
    )
