"""`digest schedule`: the unattended job. APScheduler jobs that call the pipeline.

    start   take .digest/schedule.lock (a second scheduler on the project refuses to start)
            open the job store .digest/schedule.sqlite (jobs and their next run survive restarts)
            plan the jobs from `schedule:` of feeds.yaml; keep a stored job whose settings did
            not change (so a run missed while we were down is still due), replace the others
    run     fetch   wake every `wake_every_minutes` (+- `jitter_minutes`), fetch the feeds due
            draft   on `draft_cron` in `timezone`, then mail the editors (or log the notice)
                    once per wall-clock time across DST changes, as cron does
            one worker thread: a draft never runs in the middle of a fetch; each job at most
            once at a time; missed runs are coalesced into one run if no later than
            `misfire_grace_hours`, never replayed as a burst
    stop    SIGTERM/SIGINT: no new runs, the running job finishes, exit status 0
    once    `--once fetch|draft` (for cron): one job body under the same lock, then exit

Jobs are stored by reference ("module:function") with the project folder as their only
argument; each run reloads feeds.yaml, so edits to feeds and rules apply without a restart.
Each run logs exactly one summary line on the `digest.schedule` logger.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TypeVar
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest import jobstore
from digest._util.cron import cron_trigger
from digest._util.fs import exclusive_lock
from digest.config import Config, ScheduleSettings, load_config
from digest.delivery.notices import draft_notice, notify_editors
from digest.errors import ConfigError, DigestError, LockBusy
from digest.jobstore import PlannedJob
from digest.models import DraftSummary

log = logging.getLogger("digest.schedule")

LOCK_NAME = "schedule.lock"
FETCH_JOB = "digest.schedule:fetch_job"
DRAFT_JOB = "digest.schedule:draft_job"
T = TypeVar("T")


@dataclass(frozen=True)
class JobFuncs:
    """Which functions the jobs run, as "module:function" references taking the project folder.

    Tests pass their own to check the scheduling without the whole pipeline.
    """

    fetch: str = FETCH_JOB
    draft: str = DRAFT_JOB


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
    return fetch, draft


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
    from digest.editorial import draft

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
    import importlib

    refs = {"fetch": funcs.fetch, "draft": funcs.draft}
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
            scheduler.resume()
            tz = ZoneInfo(config.schedule.timezone)
            log.info(
                "scheduler started: %s",
                "; ".join(
                    f"{job.name}, next {_when(job.next_run_time, tz)}"
                    for job in scheduler.get_jobs()
                ),
            )
            while not stop.wait(1.0):
                pass
        finally:
            jobstore.stop_scheduler(scheduler)
    log.info("scheduler stopped")


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
    """One scheduler per project: an flock on .digest/schedule.lock, holding our pid."""
    path = config.state_dir / LOCK_NAME
    try:
        with exclusive_lock(path, wait_s=wait_s):
            path.write_text(f"{os.getpid()}\n", encoding="utf-8")
            yield
    except BlockingIOError:
        holder = _read_pid(path)
        who = f" (pid {holder})" if holder else ""
        raise LockBusy(
            f"another scheduler is already running on this project{who}; "
            "stop it first, or use `digest schedule --list` to see its jobs",
            path=path,
        ) from None


def _read_pid(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(encoding="utf-8").strip()
    return ""


# -- the jobs -------------------------------------------------------------------------------


_OUTCOMES = ("fetched", "not_modified", "unchanged", "skipped", "failed", "gone", "not_due")


def fetch_job(project_dir: str) -> bool:
    """Fetch every feed into the store and log one line; False if the run failed."""
    from digest import pipeline

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
    from digest import pipeline

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


def _attempt(job: str, body: Callable[[], T]) -> T | None:
    """The job's result, or None after logging its failure as the run's one line."""
    try:
        return body()
    except DigestError as exc:
        log.error("%s failed: %s", job, exc)
    except Exception:
        log.exception("%s failed unexpectedly", job)
    return None
