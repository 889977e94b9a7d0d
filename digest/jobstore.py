"""The scheduler's machinery: APScheduler 3 with a SQLite job store and one worker.

    open    `open_scheduler`: the job store file, one worker thread (a draft never runs in the
            middle of a fetch), each job at most once at a time, missed runs coalesced
    sync    `sync_jobs`: the store holds exactly the planned jobs; an unchanged one keeps its
            stored next run, so a run missed while we were down is still due
    clock   `cap_due_times`: no stored next run beyond what its trigger allows from now
    stop    `stop_scheduler`: pause, detach the job store, then shut down (see its docstring)

Everything here is APScheduler wiring; what the jobs are and when they run is schedule.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest.config import Config
from digest.errors import StoreError

JOBSTORE_NAME = "schedule.sqlite"


@dataclass(frozen=True)
class PlannedJob:
    """One job as feeds.yaml asks for it; `name` spells out its settings, so a change shows."""

    id: str
    func: str
    trigger: BaseTrigger
    name: str
    misfire_grace_s: int
    run_at_start: bool = False  # when first stored: a new install fetches straight away


def jobstore_path(config: Config) -> Path:
    return config.cache_dir / JOBSTORE_NAME


def jobstore_url(config: Config) -> str:
    return f"sqlite:///{jobstore_path(config).resolve()}"


def open_scheduler(config: Config) -> Any:
    """A BackgroundScheduler on the project's job store, not started."""
    # APScheduler and SQLAlchemy take a while to import: only a running scheduler pays it.
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    jobstore_path(config).parent.mkdir(parents=True, exist_ok=True)
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=jobstore_url(config))},
        # One worker: jobs run one after the other, so a draft never sees half a fetch.
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=ZoneInfo(config.schedule.timezone),
    )


def start_paused(scheduler: Any, config: Config) -> None:
    """Open the job store without running anything yet."""
    from sqlalchemy.exc import SQLAlchemyError  # as above

    try:
        scheduler.start(paused=True)
    except SQLAlchemyError as exc:
        why = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StoreError(
            f"cannot open the scheduler's job store ({why}); it holds only the jobs' next "
            "run times and can be rebuilt: delete this file and start again, the jobs are "
            "planned anew from feeds.yaml",
            path=jobstore_path(config),
        ) from exc


def stop_scheduler(scheduler: Any, *, wait: bool = True) -> None:
    """Stop without losing a run that falls due while stopping.

    APScheduler 3's loop processes due jobs once more after `shutdown()` has stopped the
    executor: the job is not run, yet its next run time moves on. So, with its public API
    only: `pause()` (the loop processes nothing while paused), `remove_jobstore()` (the
    jobs stay in the file, out of the loop's reach), then `shutdown()`, which lets the
    running job finish.
    """
    scheduler.pause()
    scheduler.remove_jobstore("default", shutdown=True)
    scheduler.shutdown(wait=wait)


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


def due_time_cap(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The latest a job's next run may be at `now`: now + the interval (and its jitter) for
    an interval trigger, the next fire time from now for any other."""
    if isinstance(trigger, IntervalTrigger):
        interval: timedelta = trigger.interval
        return now + interval + timedelta(seconds=trigger.jitter or 0)
    cap: datetime | None = trigger.get_next_fire_time(None, now)
    return cap


def cap_due_times(
    scheduler: Any, plan: tuple[PlannedJob, ...], now: datetime
) -> list[tuple[str, datetime, datetime]]:
    """Bring back every stored next run later than its cap; return (job, was, now due).

    A clock set back a day leaves the stored next runs a day ahead: without this the
    scheduler would run nothing until the clock caught up.
    """
    capped = []
    for planned in plan:
        job = scheduler.get_job(planned.id)
        cap = due_time_cap(planned.trigger, now)
        if job is None or job.next_run_time is None or cap is None:
            continue
        if job.next_run_time > cap:
            capped.append((planned.id, job.next_run_time, cap))
            scheduler.modify_job(planned.id, next_run_time=cap)
    return capped


def stored_next_runs(config: Config, names: set[str]) -> dict[str, datetime | None]:
    """The next run of each stored job whose name is in `names` (none before the first start)."""
    if not jobstore_path(config).exists():
        return {}
    scheduler = open_scheduler(config)
    start_paused(scheduler, config)
    try:
        return {job.id: job.next_run_time for job in scheduler.get_jobs() if job.name in names}
    finally:
        stop_scheduler(scheduler, wait=False)
