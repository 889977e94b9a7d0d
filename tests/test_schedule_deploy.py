"""deploy/: the systemd unit and the crontab run real `digest` commands, and the unit is
hardened (checked by systemd-analyze when it is installed)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from support.repo import REPO

from digest._util.cron import cron_trigger
from digest.cli import main
from digest.config import ScheduleSettings

ROOT = REPO
UNIT = ROOT / "deploy" / "alliance-digest.service"
CRONTAB = ROOT / "deploy" / "crontab"
INSTALLED_DIGEST = "/srv/alliance/.venv/bin/digest"


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def assert_runs_as_cli(argv: list[str]) -> None:
    """The arguments are valid for our CLI (--help stops before anything runs)."""
    result = CliRunner().invoke(main, [*argv, "--help"])
    assert result.exit_code == 0, (argv, result.output)


def test_unit_runs_the_scheduler_and_stops_it_with_sigterm():
    settings = unit_settings()
    (exec_start,) = settings["ExecStart"]
    binary, *argv = shlex.split(exec_start)
    assert binary == INSTALLED_DIGEST and argv[:1] == ["schedule"]
    assert_runs_as_cli(argv)
    assert settings["KillSignal"] == ["SIGTERM"] and settings["Restart"] == ["on-failure"]
    assert "PYTHONUNBUFFERED=1" in settings["Environment"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("RestrictNamespaces", "yes"),
        ("SystemCallFilter", "@system-service"),
        ("ReadWritePaths", "/srv/alliance"),
    ],
)
def test_unit_is_hardened(key, value):
    assert value in unit_settings().get(key, []), f"{key}={value} missing from {UNIT.name}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_unit_and_rates_it_well_exposed(tmp_path):
    # verify wants ExecStart to exist: point it at this checkout's digest.
    unit = tmp_path / UNIT.name
    digest = Path(sys.executable).with_name("digest")
    unit.write_text(
        UNIT.read_text(encoding="utf-8").replace(INSTALLED_DIGEST, str(digest)), encoding="utf-8"
    )
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0, verify.stderr
    # Exposure on systemd's 0-10 scale, times ten: 2.0 or less is rated OK.
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert security.returncode == 0, security.stdout[-2000:] + security.stderr


def crontab_jobs() -> list[tuple[str, list[str]]]:
    """(the five time fields, the digest arguments) of each job line."""
    jobs = []
    for line in CRONTAB.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or "=" in line.split()[0]:
            continue
        fields = line.split()
        command = shlex.split(line.split(">>")[0])[5:]
        binary, *argv = (part.replace("$PROJECT", "/srv/alliance") for part in command)
        assert binary == INSTALLED_DIGEST, line
        jobs.append((" ".join(fields[:5]), argv))
    return jobs


def test_crontab_runs_each_job_once_under_the_lock():
    jobs = crontab_jobs()
    assert [argv[argv.index("--once") + 1] for _, argv in jobs] == ["fetch", "draft"]
    for when, argv in jobs:
        cron_trigger(when, ZoneInfo("America/New_York"))  # a valid crontab time
        assert_runs_as_cli(argv)
    # The draft line matches the scheduler's default issue days.
    assert jobs[1][0] == ScheduleSettings().draft_cron
