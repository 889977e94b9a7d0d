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
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest._util.cron import cron_trigger
from digest._util.fs import exclusive_lock
from digest.config import Config, ScheduleSettings, load_config
from digest.errors import ConfigError, DigestError, LockBusy, StoreError
from digest.models import DraftSummary

log = logging.getLogger("digest.schedule")

LOCK_NAME = "schedule.lock"
JOBSTORE_NAME = "schedule.sqlite"
FETCH_JOB = "digest.schedule:fetch_job"
DRAFT_JOB = "digest.schedule:draft_job"
TOP_CANDIDATES = 8
T = TypeVar("T")


@dataclass(frozen=True)
class JobFuncs:
    """Which functions the jobs run, as "module:function" references taking the project folder.

    Tests pass their own to check the scheduling without the whole pipeline.
    """

    fetch: str = FETCH_JOB
    draft: str = DRAFT_JOB


@dataclass(frozen=True)
class PlannedJob:
    """One job as feeds.yaml asks for it; `name` spells out its settings, so a change shows."""

    id: str
    func: str
    trigger: BaseTrigger
    name: str
    misfire_grace_s: int
    run_at_start: bool = False  # when first stored: a new install fetches straight away


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


def jobstore_url(config: Config) -> str:
    return f"sqlite:///{(config.state_dir / JOBSTORE_NAME).resolve()}"


def _scheduler(config: Config) -> Any:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.base import STATE_RUNNING

    class Scheduler(BackgroundScheduler):  # type: ignore[misc]
        # APScheduler 3 also processes due jobs once while shutting down (its loop wakes
        # with the state already "stopped"): the job is not run, yet its next run time is
        # moved on, so a run due at that moment would be lost instead of made up.
        def _process_jobs(self) -> float | None:
            if self.state != STATE_RUNNING:
                return None
            return super()._process_jobs()  # type: ignore[no-any-return]

    config.state_dir.mkdir(parents=True, exist_ok=True)
    return Scheduler(
        jobstores={"default": SQLAlchemyJobStore(url=jobstore_url(config))},
        # One worker: jobs run one after the other, so a draft never sees half a fetch.
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=ZoneInfo(config.schedule.timezone),
    )


def _start_paused(scheduler: Any, config: Config) -> None:
    """Open the job store without running anything yet."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        scheduler.start(paused=True)
    except SQLAlchemyError as exc:
        why = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StoreError(
            f"cannot open the scheduler's job store ({why}); move the file aside "
            "and start again: the jobs are planned anew from feeds.yaml",
            path=config.state_dir / JOBSTORE_NAME,
        ) from exc


def sync_jobs(scheduler: Any, config: Config, plan: tuple[PlannedJob, ...]) -> None:
    """Make the job store hold exactly the planned jobs, keeping unchanged ones as stored."""
    project = str(config.project_dir.resolve())
    wanted = {p.id for p in plan}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            job.remove()
    for planned in plan:
        stored = scheduler.get_job(planned.id)
        if (
            stored is not None
            and stored.func_ref == planned.func
            and type(stored.trigger) is type(planned.trigger)
            and tuple(stored.args) == (project,)
            and stored.name == planned.name
            and stored.misfire_grace_time == planned.misfire_grace_s
        ):
            continue
        first = {"next_run_time": datetime.now(UTC)} if planned.run_at_start else {}
        scheduler.add_job(
            planned.func,
            trigger=planned.trigger,
            args=(project,),
            id=planned.id,
            name=planned.name,
            misfire_grace_time=planned.misfire_grace_s,
            replace_existing=True,
            **first,
        )


def list_jobs(
    config: Config, funcs: JobFuncs = JobFuncs(), *, now: datetime | None = None
) -> tuple[JobRow, ...]:
    """The planned jobs with their next run: the stored one if the scheduler has run before."""
    now = now or datetime.now(UTC)
    plan = plan_jobs(config, funcs)
    stored: dict[str, Any] = {}
    if (config.state_dir / JOBSTORE_NAME).exists():
        scheduler = _scheduler(config)
        _start_paused(scheduler, config)
        try:
            stored = {
                job.id: job.next_run_time
                for job in scheduler.get_jobs()
                if job.name in {p.name for p in plan}
            }
        finally:
            scheduler.shutdown(wait=False)
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
        scheduler = _scheduler(config)
        scheduler.add_listener(_on_missed, EVENT_JOB_MISSED)
        _start_paused(scheduler, config)
        try:
            sync_jobs(scheduler, config, plan)
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
            scheduler.shutdown(wait=True)
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


# -- the editors' notice --------------------------------------------------------------------


@dataclass(frozen=True)
class DraftNotice:
    """What the editors are told when a draft is ready."""

    subject: str
    text: str


def draft_notice(
    config: Config,
    issue_date: date,
    summary: DraftSummary,
    *,
    now: datetime,
    top: tuple[tuple[float, str, str], ...] | None = None,
    failing: tuple[tuple[str, str], ...] | None = None,
) -> DraftNotice:
    """The notice text: counts, top candidates (score, title, source) and failing feeds.

    `top` and `failing` are read from the draft file and the store unless given.
    """
    if top is None:
        top = top_candidates(Path(summary.path))
    if failing is None:
        failing = failing_feeds(config, now)
    counts = ", ".join(f"{n} {status}" for status, n in summary.counts) or "none"
    lines = [
        f"The draft for {issue_date.isoformat()} is ready: {summary.path}",
        "",
        f"New candidates this run: {summary.added}; by status: {counts}; "
        f"stories: {summary.stories}.",
        "",
        "Top candidates:" if top else "No candidates yet.",
        *(f"  {score:5.1f}  {title}  ({source})" for score, title, source in top),
        "",
        f"Failing feeds ({len(failing)}):" if failing else "All feeds are healthy.",
        *(f"  {name}: {error}" for name, error in failing),
        "",
        "Edit the draft, then: digest render, digest send --to YOU (proof), digest publish.",
    ]
    subject = f"Draft ready: {config.digest.title.split(' Vol')[0]} {issue_date.isoformat()}"
    return DraftNotice(subject=subject, text="\n".join(lines) + "\n")


def top_candidates(
    draft_path: Path, limit: int = TOP_CANDIDATES
) -> tuple[tuple[float, str, str], ...]:
    """The best-scored candidates of a draft that the editor has not rejected."""
    from digest.editorial import draft

    try:
        current = draft.read_draft(draft_path)
    except DigestError:  # the notice must go out even if the draft cannot be read
        return ()
    kept = sorted(
        (c for c in current.candidates if current.status(c) != "rejected"), key=lambda c: -c.score
    )
    return tuple((c.score, c.title, c.source) for c in kept[:limit])


def failing_feeds(config: Config, now: datetime) -> tuple[tuple[str, str], ...]:
    try:
        from digest.ingest.store import Store, store_path

        with Store.open(store_path(config)) as store:
            health = store.feed_health(config.feeds, now)
    except Exception:  # a notice without feed health beats no notice
        return ()
    return tuple(
        (h.feed, h.last_error or ("gone" if h.gone else "failing")) for h in health if h.failing
    )


def notify_editors(config: Config, notice: DraftNotice | None, *, now: datetime) -> str:
    """Mail the notice to config.editors; say what was done (the caller logs the notice
    when no smtp.host is set). Raises SendError when the mail server fails."""
    if not config.editors or notice is None:
        return "no editors listed"
    if not config.smtp.host:
        return "notice logged (no smtp.host set)"
    from digest.delivery.smtp import open_smtp, sender_address

    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = config.digest.sender
    message["To"] = ", ".join(config.editors)
    message["Date"] = formatdate(now.timestamp(), localtime=False)
    message["Message-ID"] = make_msgid(domain=sender_address(config).split("@")[-1])
    message.set_content(notice.text)
    with open_smtp(config.smtp) as smtp:
        smtp.send_message(message)
    return f"{len(config.editors)} editor(s) notified"
