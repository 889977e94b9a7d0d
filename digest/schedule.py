"""`digest schedule`: the unattended job. APScheduler jobs that call the pipeline.

    start   take .digest/schedule.lock, an flock the kernel drops when we die (a second
            scheduler on the project refuses to start; a restart after SIGKILL does not)
            open the job store .digest/schedule.sqlite (jobs and their next run survive restarts)
            plan the jobs from `schedule:` of feeds.yaml; keep a stored job whose settings did
            not change (so a run missed while we were down is still due), replace the others
    run     fetch   wake every `wake_every_minutes` (+- `jitter_minutes`), fetch the feeds due
            draft   on `draft_cron` in `timezone`, then mail the editors (or log the notice)
                    once per wall-clock time across DST changes, as cron does
            backup  every `backup.every_hours` (daily), keeping the newest `backup.keep`
            one worker thread: a draft never runs in the middle of a fetch; each job at most
            once at a time; missed runs are coalesced into one run if no later than
            `misfire_grace_hours`, never replayed as a burst
    clock   a clock stepped backwards leaves stored next runs far ahead: every minute each
            is capped at its trigger's next time from now (now + the interval for fetch)
    stop    SIGTERM/SIGINT: no new runs, the running job finishes, exit status 0
    once    `--once fetch|draft` (for cron): one job body under the same lock, then exit

Jobs are stored by reference ("module:function") with the project folder as their only
argument; each run reloads feeds.yaml, so edits to feeds and rules apply without a restart.
Each run logs exactly one summary line on the `digest.schedule` logger.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest import jobstore, pipeline
from digest._util.cron import cron_trigger
from digest._util.fs import exclusive_lock, lock_holder
from digest.backup import BackupReport, make_backup, prune_backups
from digest.config import Config, ScheduleSettings, load_config
from digest.delivery.notices import draft_notice, notify_editors
from digest.editorial import draft
from digest.errors import ConfigError, DigestError, LockBusy, os_error, store_error
from digest.jobstore import PlannedJob
from digest.models import DraftSummary
from digest.paths import SCHEDULE_LOCK, STATE_DIR, STORE_NAME

log = logging.getLogger("digest.schedule")

LOCK_NAME = SCHEDULE_LOCK
FETCH_JOB = "digest.schedule:fetch_job"
DRAFT_JOB = "digest.schedule:draft_job"
BACKUP_JOB = "digest.schedule:backup_job"
CLOCK_CHECK_S = 60.0
T = TypeVar("T")


@dataclass(frozen=True)
class JobFuncs:
    """Which functions the jobs run, as "module:function" references taking the project folder.

    Tests pass their own to check the scheduling without the whole pipeline.
    """

    fetch: str = FETCH_JOB
    draft: str = DRAFT_JOB
    backup: str = BACKUP_JOB


@dataclass(frozen=True)
class JobRow:
    """A line of `digest schedule --list`."""

    id: str
    name: str
    next_run: datetime | None
    stored: bool


# -- planning (pure) -------------------------------------------------------------------------


def draft_trigger(settings: ScheduleSettings) -> CronTrigger:
    """The draft job's trigger; a bad cron expression is a ConfigError naming the setting."""
    try:
        return cron_trigger(settings.draft_cron, ZoneInfo(settings.timezone))
    except ValueError as exc:
        raise ConfigError(
            f"schedule.draft_cron: {settings.draft_cron!r} is not a cron expression ({exc}); "
            "use five fields: minute hour day month weekday, e.g. '0 7 1,15 * *'"
        ) from exc


def plan_jobs(config: Config, funcs: JobFuncs = JobFuncs()) -> tuple[PlannedJob, ...]:
    """The jobs the `schedule:` section asks for."""
    settings = config.schedule
    grace = int(settings.misfire_grace_hours * 3600)
    every = (
        timedelta(hours=settings.fetch_every_hours)
        if settings.fetch_every_hours
        else timedelta(minutes=settings.wake_every_minutes)
    )
    fetch = PlannedJob(
        id="fetch",
        func=funcs.fetch,
        trigger=IntervalTrigger(
            seconds=every.total_seconds(),
            jitter=settings.jitter_minutes * 60 or None,
            timezone=ZoneInfo(settings.timezone),
        ),
        name=f"fetch every {_duration(every)}"
        + (f" +-{settings.jitter_minutes} min" if settings.jitter_minutes else ""),
        misfire_grace_s=grace,
        run_at_start=True,
    )
    draft = PlannedJob(
        id="draft",
        func=funcs.draft,
        trigger=draft_trigger(settings),
        name=f"draft at cron '{settings.draft_cron}' {settings.timezone}",
        misfire_grace_s=grace,
    )
    if config.backup.keep == 0:
        return fetch, draft
    return fetch, draft, backup_plan(config, funcs)


def backup_plan(config: Config, funcs: JobFuncs = JobFuncs()) -> PlannedJob:
    """A backup every `backup.every_hours`, the first when the job is first stored."""
    every = timedelta(hours=config.backup.every_hours)
    return PlannedJob(
        id="backup",
        func=funcs.backup,
        trigger=IntervalTrigger(seconds=every.total_seconds(), timezone=UTC),
        name=f"backup every {_duration(every)}, keep {config.backup.keep}",
        misfire_grace_s=int(config.schedule.misfire_grace_hours * 3600),
        run_at_start=True,
    )


def _duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"


def scheduled_run(trigger: BaseTrigger, now: datetime, grace: timedelta) -> datetime | None:
    """The latest fire time of `trigger` in (now - grace, now]: the run a late job makes up."""
    latest = None
    fire = trigger.get_next_fire_time(None, now - grace)
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


def draft_issue_date(config: Config, now: datetime) -> date:
    """The issue a draft run at `now` is for: the next issue on the day the run was due.

    A draft made up hours after a downtime still drafts the issue it was scheduled for.
    """

    settings = config.schedule
    tz = ZoneInfo(settings.timezone)
    due = scheduled_run(
        draft_trigger(settings), now.astimezone(tz), timedelta(hours=settings.misfire_grace_hours)
    )
    day = (due or now).astimezone(tz).date()
    return draft.due_issue_date(config, day)


# -- the scheduler --------------------------------------------------------------------------


def list_jobs(
    config: Config, funcs: JobFuncs = JobFuncs(), *, now: datetime | None = None
) -> tuple[JobRow, ...]:
    """The planned jobs with their next run: the stored one if the scheduler has run before."""
    now = now or datetime.now(UTC)
    plan = plan_jobs(config, funcs)
    stored = jobstore.stored_next_runs(config, {p.name for p in plan})
    rows = []
    for planned in plan:
        if planned.id in stored:
            rows.append(JobRow(planned.id, planned.name, stored[planned.id], True))
        else:
            first = now if planned.run_at_start else planned.trigger.get_next_fire_time(None, now)
            rows.append(JobRow(planned.id, planned.name, first, False))
    return tuple(rows)


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def format_job_list(rows: tuple[JobRow, ...], tz: ZoneInfo) -> str:
    lines = []
    for row in rows:
        when = _when(row.next_run, tz)
        note = "" if row.stored else "  (planned; stored when `digest schedule` starts)"
        lines.append(f"{row.id:<6} next {when:<22} {row.name}{note}")
    return "\n".join(lines)


def run_scheduler(config: Config, *, list_only: bool = False, funcs: JobFuncs = JobFuncs()) -> int:
    """Run the jobs until SIGTERM or SIGINT (exit status 0), or print them with `list_only`.

    Raises LockBusy when another scheduler runs on the same project.
    """
    if list_only:
        print(format_job_list(list_jobs(config, funcs), ZoneInfo(config.schedule.timezone)))
        return 0
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info(
            "received %s: finishing the running job, then stopping", signal.Signals(signum).name
        )
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        serve(config, stop, funcs)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def run_once(
    config: Config, job: str, *, funcs: JobFuncs = JobFuncs(), wait_s: float = 3600.0
) -> int:
    """Run one job now, for cron: holds the scheduler lock (waiting up to `wait_s` for a
    running job or scheduler), so runs never overlap. Exit status 1 if the job failed."""

    refs = {"fetch": funcs.fetch, "draft": funcs.draft, "backup": funcs.backup}
    if job not in refs:
        raise ConfigError(f"unknown job {job!r}; use one of: {', '.join(refs)}")
    module, _, name = refs[job].partition(":")
    body = getattr(importlib.import_module(module), name)
    _setup_logging()
    with scheduler_lock(config, wait_s=wait_s):
        ok = body(str(config.project_dir.resolve()))
    return 0 if ok is not False else 1


def serve(config: Config, stop: threading.Event, funcs: JobFuncs = JobFuncs()) -> None:
    """Hold the lock and run the jobs until `stop` is set; the running job is let finish."""
    _setup_logging()
    plan = plan_jobs(config, funcs)
    with scheduler_lock(config):
        scheduler = jobstore.open_scheduler(config)
        scheduler.add_listener(_on_missed, EVENT_JOB_MISSED)
        jobstore.start_paused(scheduler, config)
        try:
            jobstore.sync_jobs(scheduler, config, plan)
            _cap_due_times(scheduler, plan)
            scheduler.resume()
            tz = ZoneInfo(config.schedule.timezone)
            log.info(
                "scheduler started: %s",
                "; ".join(
                    f"{job.name}, next {_when(job.next_run_time, tz)}"
                    for job in scheduler.get_jobs()
                ),
            )
            checked = time.monotonic()
            while not stop.wait(1.0):
                if time.monotonic() - checked >= CLOCK_CHECK_S:
                    checked = time.monotonic()
                    _cap_due_times(scheduler, plan)
        finally:
            jobstore.stop_scheduler(scheduler)
    log.info("scheduler stopped")


def _cap_due_times(scheduler: Any, plan: tuple[PlannedJob, ...]) -> None:
    for job_id, was, now_due in jobstore.cap_due_times(scheduler, plan, datetime.now(UTC)):
        log.warning(
            "%s: its next run (%s) was further ahead than its trigger allows, as after the "
            "clock was set back; it now runs at %s",
            job_id,
            was.isoformat(timespec="seconds"),
            now_due.isoformat(timespec="seconds"),
        )


def _setup_logging() -> None:
    # APScheduler logs several INFO lines per run; our own summary line is the one that counts.
    # Its executors' "was missed" warning is replaced by _on_missed, which says what to do.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.executors").setLevel(logging.ERROR)
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    if "JOURNAL_STREAM" not in os.environ:  # journald stamps lines itself; cron logs do not
        stamped = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        for handler in root.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setFormatter(stamped)


def _on_missed(event: JobExecutionEvent) -> None:
    log.warning(
        "%s: the run due %s was missed by more than schedule.misfire_grace_hours; "
        "it waits for its next time (run `digest %s` to catch up now)",
        event.job_id,
        event.scheduled_run_time,
        event.job_id,
    )


@contextlib.contextmanager
def scheduler_lock(config: Config, *, wait_s: float = 0.0) -> Iterator[None]:
    """One scheduler per project: an flock on the cache folder's schedule.lock.

    The kernel drops it when the scheduler dies, however it dies, so a restart after a
    SIGKILL or a power cut starts at once; the holder line in the file is only shown.
    """
    path = config.cache_dir / LOCK_NAME
    try:
        with exclusive_lock(path, wait_s=wait_s, holder="digest schedule"):
            yield
    except BlockingIOError:
        holder = lock_holder(path)
        who = f" ({holder})" if holder else ""
        raise LockBusy(
            f"another scheduler is already running on this project{who}; "
            "stop it first, or use `digest schedule --list` to see its jobs",
            path=path,
        ) from None


# -- the jobs -------------------------------------------------------------------------------


_OUTCOMES = ("fetched", "not_modified", "unchanged", "skipped", "failed", "gone", "not_due")


def fetch_job(project_dir: str) -> bool:
    """Fetch every feed into the store and log one line; False if the run failed."""

    started = time.monotonic()
    report = _attempt(
        "fetch",
        lambda: pipeline.run_fetch(
            load_config(Path(project_dir)), now=datetime.now(UTC), show_progress=False
        ),
    )
    if report is None:
        return False
    outcomes = ", ".join(
        f"{n} {outcome.replace('_', ' ')}" for outcome in _OUTCOMES if (n := report.count(outcome))
    )
    log.info(
        "fetch: %d feeds: %s; %d new items (%.1f s)",
        len(report.feeds),
        outcomes or "none",
        report.new_items,
        time.monotonic() - started,
    )
    return True


def draft_job(project_dir: str) -> bool:
    """Refresh the draft of the issue due, tell the editors, and log one line.

    When the editors cannot be mailed (no smtp.host), the notice follows that line in the
    same log record.
    """

    def refresh() -> tuple[Config, datetime, date, DraftSummary]:
        config = load_config(Path(project_dir))
        now = datetime.now(UTC)
        issue_date = draft_issue_date(config, now)
        return config, now, issue_date, pipeline.run_draft(config, issue_date, now=now)

    done = _attempt("draft", refresh)
    if done is None:
        return False
    config, now, issue_date, summary = done
    line = (
        f"draft {issue_date.isoformat()}: {summary.added} new candidates, "
        f"{summary.stories} stories, {summary.path}"
    )
    try:
        notice = draft_notice(config, issue_date, summary, now=now) if config.editors else None
        told = notify_editors(config, notice, now=now)
    except DigestError as exc:  # the draft is written; only the mail failed
        log.error("%s; editors NOT notified: %s", line, exc)
        return False
    shown = f"\n{notice.text}" if notice and not config.smtp.host else ""
    log.info("%s; %s%s", line, told, shown)
    return True


def backup_job(project_dir: str) -> bool:
    """Back up what cannot be rebuilt, keep the newest `backup.keep`, and log one line."""

    def back_up() -> tuple[BackupReport, list[Path]]:
        config = load_config(Path(project_dir))
        report = make_backup(config.project_dir, config.backups_dir, now=datetime.now(UTC))
        return report, prune_backups(config.backups_dir, max(config.backup.keep, 1))

    done = _attempt("backup", back_up)
    if done is None:
        return False
    report, removed = done
    log.info("%s; %d older backup(s) removed", report, len(removed))
    return True


def _attempt(job: str, body: Callable[[], T]) -> T | None:
    """The job's result, or None after logging its failure as the run's one line."""
    try:
        return body()
    except DigestError as exc:
        log.error("%s failed: %s", job, exc)
    except OSError as exc:  # disk full, read-only, permission denied: one line, as in the CLI
        log.error("%s failed: %s", job, os_error(exc))
    except sqlite3.Error as exc:
        log.error("%s failed: %s", job, store_error(exc, Path(STATE_DIR) / STORE_NAME))
    except Exception:
        log.exception("%s failed unexpectedly", job)
    return None
