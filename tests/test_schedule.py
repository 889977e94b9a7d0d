"""digest schedule: real APScheduler runs with short intervals, and real processes for the
lock and the signals. Job functions are passed in, so no feed is fetched."""

from __future__ import annotations

import itertools
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.repo import REPO

from digest._util.cron import WallClockCron, _cron_weekdays
from digest.config import Config, load_config, read_config
from digest.errors import LockBusy, StoreError
from digest.jobstore import due_time_cap, open_scheduler, stop_scheduler
from digest.schedule import (
    JobFuncs,
    format_job_list,
    list_jobs,
    plan_jobs,
    run_once,
    scheduled_run,
    serve,
)

NY = ZoneInfo("America/New_York")
ROOT = REPO

JOBS_MODULE = '''
"""Job functions for the scheduler tests: each appends a line to fired.log."""
import os
import time
from pathlib import Path


def _append(project_dir, line):
    with open(Path(project_dir) / "fired.log", "a", encoding="utf-8") as handle:
        handle.write(line + "\\n")
        handle.flush()


def record_fetch(project_dir):
    _append(project_dir, "fetch")


def record_draft(project_dir):
    _append(project_dir, "draft")


def failing_fetch(project_dir):
    _append(project_dir, "failed")
    return False


def slow_fetch(project_dir):
    # A job in the middle of its work when the signal comes: it must be let finish.
    _append(project_dir, "start")
    time.sleep(float(os.environ.get("SLOW_FETCH_S", "1.5")))
    _append(project_dir, "end")
'''

RECORD = JobFuncs(fetch="sched_jobs:record_fetch", draft="sched_jobs:record_draft")
SLOW = JobFuncs(fetch="sched_jobs:slow_fetch", draft="sched_jobs:record_draft")


@pytest.fixture
def jobs_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "jobs"
    folder.mkdir()
    (folder / "sched_jobs.py").write_text(JOBS_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    return folder


def make_project(
    root: Path,
    *,
    every_hours: float = 1.0,
    cron: str = "0 7 1,15 * *",
    grace_hours: float = 24.0,
    backup_keep: int = 0,  # most tests watch fetch and draft only
    extra: str = "",
) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "feeds.yaml").write_text(
        textwrap.dedent(f"""\
        feeds:
          - name: Example
            url: https://example.org/feed.xml
        schedule:
          fetch_every_hours: {every_hours}
          jitter_minutes: 0
          draft_cron: "{cron}"
          timezone: America/New_York
          misfire_grace_hours: {grace_hours}
        backup:
          keep: {backup_keep}
        """)
        + extra,
        encoding="utf-8",
    )
    return load_config(root)


def fired(config: Config) -> list[str]:
    path = config.project_dir / "fired.log"
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Running:
    """`serve` in a thread, stopped (and joined) on exit."""

    def __init__(self, config: Config, funcs: JobFuncs) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(config, funcs), daemon=True)

    def _run(self, config: Config, funcs: JobFuncs) -> None:
        try:
            serve(config, self.stop, funcs)
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the scheduler did not stop"
        if self.error is not None:
            raise self.error


@pytest.fixture(autouse=True)
def _info_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO, logger="digest.schedule")
    yield


# -- planning --------------------------------------------------------------------------------


def test_plan_follows_the_schedule_section(tmp_path):
    config = make_project(tmp_path, every_hours=3, cron="30 6 * * 1", backup_keep=5)
    config = config.__class__(
        **{
            **config.__dict__,
            "schedule": config.schedule.__class__(
                fetch_every_hours=3,
                jitter_minutes=10,
                draft_cron="30 6 * * 1",
                timezone="Asia/Tokyo",
                misfire_grace_hours=6,
            ),
        }
    )
    fetch, draft, backup = plan_jobs(config)
    assert (backup.id, backup.name, backup.run_at_start) == (
        "backup",
        "backup every 24 h, keep 5",
        True,
    )
    assert [job.id for job in plan_jobs(make_project(tmp_path / "none"))] == ["fetch", "draft"]
    assert (fetch.id, fetch.name, fetch.misfire_grace_s) == (
        "fetch",
        "fetch every 3 h +-10 min",
        6 * 3600,
    )
    assert fetch.trigger.interval == timedelta(hours=3) and fetch.trigger.jitter == 600
    assert fetch.run_at_start and not draft.run_at_start
    monday = draft.trigger.get_next_fire_time(None, datetime(2026, 11, 25, tzinfo=UTC))
    assert monday == datetime(2026, 11, 30, 6, 30, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.mark.parametrize(
    ("weekdays", "expected"),
    [
        ("1", "mon"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("5-0", "sun,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("sat,sun", "sun,sat"),
        ("*", "*"),
    ],
)
def test_cron_weekdays_count_from_sunday_as_in_crontab(weekdays, expected):
    assert _cron_weekdays(weekdays) == expected


def test_bad_cron_is_a_config_error_with_its_line(tmp_path):
    (tmp_path / "feeds.yaml").write_text(
        "feeds:\n  - name: A\n    url: https://example.org/a\n"
        "schedule:\n  draft_cron: '0 7 32 * *'\n",
        encoding="utf-8",
    )
    config, problems = read_config(tmp_path / "feeds.yaml")
    assert config is None
    assert [(p.line, p.message.split(":")[0]) for p in problems] == [(5, "schedule.draft_cron")]


def test_a_late_draft_run_is_for_the_day_it_was_due():
    config = Config()
    trigger = plan_jobs(config)[1].trigger
    due = datetime(2026, 12, 1, 7, 0, tzinfo=NY)
    assert scheduled_run(trigger, due + timedelta(hours=13), timedelta(hours=24)) == due
    assert scheduled_run(trigger, due, timedelta(hours=24)) == due
    assert scheduled_run(trigger, due + timedelta(hours=25), timedelta(hours=24)) is None
    assert scheduled_run(trigger, due - timedelta(seconds=1), timedelta(hours=24)) is None


def fire_times(trigger: object, start: datetime, count: int) -> list[datetime]:
    times: list[datetime] = []
    previous = None
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, start if previous is None else previous)
        assert fire is not None
        times.append(fire.astimezone(UTC))
        previous = fire
    return times


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_draft_stays_at_7_new_york_time_across_dst():
    trigger = plan_jobs(Config())[1].trigger
    assert fire_times(trigger, utc(2026, 2, 20), 2) == [utc(2026, 3, 1, 12), utc(2026, 3, 15, 11)]
    assert fire_times(trigger, utc(2026, 10, 10), 2) == [
        utc(2026, 10, 15, 11),
        utc(2026, 11, 1, 12),
    ]


def test_cron_fires_once_when_clocks_fall_back_or_spring_forward():
    fall = plan_jobs(make_config_with_cron("30 1 * * *"))[1].trigger
    # 01:30 happens twice on 2026-11-01 (05:30 and 06:30 UTC): one run, as cron does.
    assert fire_times(fall, datetime(2026, 10, 31, 12, tzinfo=NY), 3) == [
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 2, 6, 30),
        utc(2026, 11, 3, 6, 30),
    ]
    spring = plan_jobs(make_config_with_cron("30 2 * * *"))[1].trigger
    # 02:30 does not happen on 2026-03-08: one run, an hour later (03:30 EDT).
    assert fire_times(spring, datetime(2026, 3, 7, 12, tzinfo=NY), 3) == [
        utc(2026, 3, 8, 7, 30),
        utc(2026, 3, 9, 6, 30),
        utc(2026, 3, 10, 6, 30),
    ]


def test_fetch_interval_is_elapsed_time_across_dst():
    config = make_config_with_cron("0 7 1,15 * *")
    fetch = plan_jobs(config)[0].trigger
    for start in (datetime(2026, 3, 7, 20, tzinfo=NY), datetime(2026, 10, 31, 20, tzinfo=NY)):
        times = fire_times(fetch, start, 6)
        assert {b - a for a, b in itertools.pairwise(times)} == {timedelta(hours=3)}


def make_config_with_cron(cron: str) -> Config:
    from digest.config import ScheduleSettings

    return Config(schedule=ScheduleSettings(fetch_every_hours=3, jitter_minutes=0, draft_cron=cron))


def test_list_before_and_after_the_first_start(tmp_path, jobs_path):
    config = make_project(tmp_path / "p", every_hours=5)
    before = list_jobs(config, RECORD, now=datetime(2026, 11, 24, 12, tzinfo=UTC))
    assert [(r.id, r.stored) for r in before] == [("fetch", False), ("draft", False)]
    assert before[1].next_run == datetime(2026, 12, 1, 7, tzinfo=NY)
    text = format_job_list(before, NY)
    assert "draft  next 2026-12-01 07:00 EST" in text and "planned" in text

    with Running(config, RECORD):
        wait_for(lambda: fired(config) == ["fetch"], "the first fetch at start")
    after = list_jobs(config, RECORD)
    stored = open_scheduler(config)
    stored.start(paused=True)
    assert type(stored.get_job("draft").trigger) is WallClockCron  # survives the job store
    stop_scheduler(stored, wait=False)
    assert [(r.id, r.stored) for r in after] == [("fetch", True), ("draft", True)]
    assert after[0].next_run is not None and after[0].next_run > datetime.now(UTC)
    assert "planned" not in format_job_list(after, NY)


# -- running ---------------------------------------------------------------------------------


def test_jobs_fire_on_their_interval_one_at_a_time(tmp_path, jobs_path, caplog):
    config = make_project(tmp_path / "p", every_hours=0.3 / 3600)
    with Running(config, RECORD):
        wait_for(lambda: len(fired(config)) >= 4, "four fetches")
    assert set(fired(config)) == {"fetch"}
    (started,) = [r.message for r in caplog.records if "started" in r.message]
    assert started.startswith("scheduler started: fetch every 0.3 s, next ")
    assert re.search(
        r"; draft at cron '0 7 1,15 \* \*' America/New_York, "
        r"next \d{4}-\d\d-(01|15) 07:00 E[SD]T$",
        started,
    ), started


def test_missed_runs_are_made_up_once_after_a_restart(tmp_path, jobs_path, caplog):
    config = make_project(tmp_path / "p", every_hours=1)
    with Running(config, RECORD):
        wait_for(lambda: fired(config) == ["fetch"], "the first fetch at start")
    (config.project_dir / "fired.log").unlink()

    # The server was down: five fetches and one draft were due while nothing ran.
    now = datetime.now(UTC)
    scheduler = open_scheduler(config)
    scheduler.start(paused=True)
    scheduler.modify_job("fetch", next_run_time=now - timedelta(hours=5, minutes=1))
    scheduler.modify_job("draft", next_run_time=now - timedelta(hours=2))
    stop_scheduler(scheduler, wait=False)

    with Running(config, RECORD):
        wait_for(lambda: sorted(fired(config)) == ["draft", "fetch"], "the make-up runs")
        time.sleep(1.0)  # room for a burst of replays, which must not come
        rows = {r.id: r for r in list_jobs(config, RECORD)}
    assert sorted(fired(config)) == ["draft", "fetch"]
    assert rows["fetch"].next_run is not None and rows["fetch"].next_run > now
    assert rows["draft"].next_run is not None and rows["draft"].next_run > now + timedelta(days=1)


def test_a_run_missed_beyond_the_grace_time_is_skipped_and_logged(tmp_path, jobs_path, caplog):
    config = make_project(tmp_path / "p", every_hours=1, grace_hours=1)
    with Running(config, RECORD):
        wait_for(lambda: fired(config) == ["fetch"], "the first fetch at start")
    scheduler = open_scheduler(config)
    scheduler.start(paused=True)
    scheduler.modify_job("draft", next_run_time=datetime.now(UTC) - timedelta(hours=3))
    stop_scheduler(scheduler, wait=False)

    with Running(config, RECORD):
        wait_for(lambda: any("was missed" in r.message for r in caplog.records), "the warning")
    assert fired(config) == ["fetch"]


def test_changed_settings_replace_the_stored_job(tmp_path, jobs_path):
    config = make_project(tmp_path / "p", every_hours=1)
    with Running(config, RECORD):
        wait_for(lambda: fired(config) == ["fetch"], "the first fetch at start")
    changed = make_project(tmp_path / "p", every_hours=2, cron="0 8 * * *")
    rows = list_jobs(changed, RECORD)
    assert [r.stored for r in rows] == [False, False]
    with Running(changed, RECORD):
        wait_for(lambda: fired(config) == ["fetch", "fetch"], "a fetch for the new setting")
    assert [r.name for r in list_jobs(changed, RECORD)] == [
        "fetch every 2 h",
        "draft at cron '0 8 * * *' America/New_York",
    ]


def test_a_second_scheduler_in_the_same_process_refuses(tmp_path, jobs_path):
    config = make_project(tmp_path / "p")
    with Running(config, RECORD):
        wait_for(lambda: fired(config) == ["fetch"], "the first scheduler")
        with pytest.raises(LockBusy, match=f"already running.*pid {os.getpid()}"):
            serve(config, threading.Event(), RECORD)


def test_run_once_runs_one_job_under_the_lock(tmp_path, jobs_path):
    config = make_project(tmp_path / "p")
    assert run_once(config, "draft", funcs=RECORD) == 0
    failing = JobFuncs(fetch="sched_jobs:failing_fetch", draft=RECORD.draft)
    assert run_once(config, "fetch", funcs=failing) == 1
    assert fired(config) == ["draft", "failed"]
    with Running(config, RECORD):
        wait_for(lambda: fired(config)[-1:] == ["fetch"], "the scheduler")
        with pytest.raises(LockBusy):
            run_once(config, "draft", funcs=RECORD, wait_s=0.2)
    assert fired(config) == ["draft", "failed", "fetch"]


def test_a_broken_job_store_is_a_clear_error(tmp_path, jobs_path):
    config = make_project(tmp_path / "p")
    config.cache_dir.mkdir()
    (config.cache_dir / "schedule.sqlite").write_text("not a database", encoding="utf-8")
    with pytest.raises(StoreError, match="can be rebuilt: delete this file") as caught:
        serve(config, threading.Event(), RECORD)
    assert caught.value.path == config.cache_dir / "schedule.sqlite"
    with pytest.raises(StoreError):
        list_jobs(config, RECORD)


# -- real processes --------------------------------------------------------------------------

DRIVER = """
import sys
from digest.config import load_config
from digest.schedule import JobFuncs, run_scheduler
funcs = JobFuncs(fetch="sched_jobs:" + sys.argv[2], draft="sched_jobs:record_draft")
sys.exit(run_scheduler(load_config(sys.argv[1]), funcs=funcs))
"""


def start_scheduler(config: Config, jobs: Path, fetch: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(jobs), str(ROOT)]),
        "SLOW_FETCH_S": "1.5",
    }
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(config.project_dir), fetch],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_lets_the_running_job_finish_then_exits_0(tmp_path, jobs_path, signum):
    config = make_project(tmp_path / "p", every_hours=1)
    process = start_scheduler(config, jobs_path, "slow_fetch")
    try:
        wait_for(lambda: fired(config) == ["start"], "the job to start")
        process.send_signal(signum)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert fired(config) == ["start", "end"]
    # Quiet: a start line, the signal, the stop; APScheduler's own lines stay out.
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert "digest.schedule: scheduler started: fetch every 1 h, next " in lines[0]
    assert f"received {signal.Signals(signum).name}: finishing the running job" in lines[1]
    assert lines[2].endswith("digest.schedule: scheduler stopped")


def test_a_second_scheduler_process_refuses_to_start(tmp_path, jobs_path):
    config = make_project(tmp_path / "p")
    first = start_scheduler(config, jobs_path, "record_fetch")
    try:
        wait_for(lambda: fired(config) == ["fetch"], "the first scheduler's first fetch")
        second = subprocess.run(
            [sys.executable, "-m", "digest", "schedule", "--project", str(config.project_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert second.returncode == 1
        assert (
            f"another scheduler is already running on this project (pid {first.pid} "
            "digest schedule since 20" in second.stderr
        )
        assert second.stderr.count("\n") == 1  # one line, no traceback
        listed = subprocess.run(
            [
                sys.executable,
                "-m",
                "digest",
                "schedule",
                "--list",
                "--project",
                str(config.project_dir),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert listed.returncode == 0, listed.stderr
        assert "draft  next 2026" in listed.stdout or "draft  next 20" in listed.stdout
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
        assert first.returncode == 0
    finally:
        if first.poll() is None:
            first.kill()


def test_a_killed_scheduler_leaves_no_stale_lock(tmp_path, jobs_path):
    config = make_project(tmp_path / "p", every_hours=1)
    first = start_scheduler(config, jobs_path, "slow_fetch")
    try:
        wait_for(lambda: fired(config) == ["start"], "the job to start")
        # APScheduler stores the next run just after handing the job to its worker.
        wait_for(lambda: _stored_fetch_later_than(config, minutes=50), "the next run stored")
        first.send_signal(signal.SIGKILL)  # a power cut or the OOM killer, mid-job
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    second = start_scheduler(config, jobs_path, "slow_fetch")
    try:
        # The kernel dropped the dead process's lock: the new scheduler starts at once and
        # keeps the stored plan (the next fetch an hour after the one that was cut off).
        wait_for(lambda: "scheduler started" in _read_stderr_line(second), "the restart")
        (fetch_row, _) = list_jobs(config, SLOW)
        assert fetch_row.stored and fetch_row.next_run is not None
        assert fetch_row.next_run > datetime.now(UTC) + timedelta(minutes=50)
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=30)
        assert second.returncode == 0
    finally:
        if second.poll() is None:
            second.kill()
    assert fired(config) == ["start"]


def _stored_fetch_later_than(config: Config, *, minutes: int) -> bool:
    (fetch_row, _) = list_jobs(config, SLOW)
    later = datetime.now(UTC) + timedelta(minutes=minutes)
    return fetch_row.stored and fetch_row.next_run is not None and fetch_row.next_run > later


def _read_stderr_line(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    return process.stderr.readline()


# -- a clock stepped backwards ---------------------------------------------------------------


def test_due_times_are_capped_at_what_the_trigger_allows_from_now():
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    fetch, draft = plan_jobs(make_config_with_cron("0 7 1,15 * *"))[:2]
    assert due_time_cap(fetch.trigger, now) == now + timedelta(hours=3)
    assert due_time_cap(draft.trigger, now) == datetime(2026, 12, 1, 7, tzinfo=NY)


def test_a_clock_set_back_a_day_does_not_silence_the_scheduler(tmp_path, jobs_path, caplog):
    config = make_project(tmp_path / "p", every_hours=1)
    with Running(config, RECORD):
        wait_for(lambda: fired(config) == ["fetch"], "the first fetch at start")
    # The clock was a day ahead when these were stored, and has been set back since.
    scheduler = open_scheduler(config)
    scheduler.start(paused=True)
    ahead = datetime.now(UTC) + timedelta(days=1)
    scheduler.modify_job("fetch", next_run_time=ahead)
    stop_scheduler(scheduler, wait=False)

    with Running(config, RECORD):
        wait_for(lambda: "clock was set back" in caplog.text, "the capped due time")
        rows = {r.id: r for r in list_jobs(config, RECORD)}
    fetch_next = rows["fetch"].next_run
    assert fetch_next is not None and fetch_next <= datetime.now(UTC) + timedelta(hours=1)
    assert "fetch: its next run" in caplog.text
