"""A standard five-field crontab line as an APScheduler 3 trigger, following the wall clock.

No business logic: the scheduler and the config check both use it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class WallClockCron(CronTrigger):  # type: ignore[misc]
    """A cron trigger that fires once per wall-clock time, as cron does.

    On the night clocks fall back, APScheduler 3 fires a time that occurs twice (01:30 in
    America/New_York) twice; the second one is skipped here. A time that does not occur
    (02:30 when clocks spring forward) fires once, an hour later.
    """

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime | None:
        fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        if (fire is not None and previous_fire_time is not None
                and _wall_time(fire, self.timezone) == _wall_time(previous_fire_time,
                                                                  self.timezone)):
            fire = super().get_next_fire_time(fire, fire)
        return fire


def _wall_time(moment: datetime, timezone: Any) -> tuple[int, ...]:
    return moment.astimezone(timezone).timetuple()[:6]


def cron_trigger(expr: str, timezone: ZoneInfo) -> CronTrigger:
    """A trigger for a standard crontab line, weekdays as cron means them (0 or 7 = Sunday).

    APScheduler 3's own from_crontab counts weekdays from Monday, so '1' would be Tuesday.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields, got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return WallClockCron(minute=minute, hour=hour, day=day, month=month,
                         day_of_week=_cron_weekdays(weekday), timezone=timezone)


def _cron_weekdays(field_text: str) -> str:
    if field_text in ("*", "?"):
        return "*"
    days: set[int] = set()
    for token in field_text.lower().split(","):
        span, _, step_text = token.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first, last = (_weekday(part) for part in span.split("-", 1))
        else:
            first = _weekday(span)
            last = 6 if step_text else first
        if last < first:  # '5-0' or 'fri-sun' wraps over the weekend
            last += 7
        if step < 1:
            raise ValueError(f"bad step in weekday {token!r}")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_WEEKDAYS[d] for d in sorted(days))


def _weekday(text: str) -> int:
    if text in _WEEKDAYS:
        return _WEEKDAYS.index(text)
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)  # 7 is Sunday too; callers take it modulo 7
    raise ValueError(f"weekday {text!r} is not 0-7 or sun-sat")
