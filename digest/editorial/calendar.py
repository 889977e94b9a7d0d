"""The issue sequence: which issue comes next, the news window each covers, its volume and number.

Pure: the issues that exist (drafted or published) are passed in, nothing is read here.

    window   an issue's news starts exactly where the previous existing issue's ended (its
             cut-off) and ends at its own cut-off, so every moment belongs to one issue; the
             first issue reaches back `window_days`. Cadence dates skipped in between widen
             the window and are named, so the draft can say so.
    cut-off  `cadence.cutoff` (default 00:00) on the issue date, in `cadence.timezone`.
    volume   year - `digest.first_year` + 1.
    number   1 + the issues already published that year (never a calendar slot); in the
             year of the project's first published issue, counted from `digest.first_number`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from digest.config import Config
from digest.errors import UsageError
from digest.models import IssueWindow

TOKYO = ZoneInfo("Asia/Tokyo")


def cadence_dates(config: Config, year: int) -> list[date]:
    """The issue dates of one year, in order."""
    days = sorted(set(config.cadence.days))
    return [date(year, month, day) for month in range(1, 13) for day in days]


def next_cadence_date(config: Config, today: date) -> date:
    """The first cadence date on or after `today` (an issue day drafts its own issue)."""
    for year in (today.year, today.year + 1):
        for day in cadence_dates(config, year):
            if day >= today:
                return day
    raise AssertionError("a cadence has at least one day a year")


def next_issue_date(
    config: Config, today: date, *, drafted: Iterable[date] = (), published: Iterable[date] = ()
) -> date:
    """The issue `digest draft` works on without --date: the next unpublished one.

    That is an unpublished draft dated after the last published issue and before the next
    cadence date (an issue the editor is still finishing), else the first cadence date on
    or after `today` that is not published yet.
    """
    done = set(published)
    upcoming = next_cadence_date(config, today)
    while upcoming in done:
        upcoming = next_cadence_date(config, upcoming + timedelta(days=1))
    last = max(done, default=None)
    unfinished = [
        d for d in drafted if d not in done and (last is None or d > last) and d < upcoming
    ]
    return min(unfinished, default=upcoming)


def cutoff_time(config: Config) -> time:
    hours, minutes = config.cadence.cutoff.split(":")
    return time(int(hours), int(minutes))


def cutoff(config: Config, day: date) -> datetime:
    """The moment (UTC) an issue dated `day` stops taking news and the next one starts."""
    return datetime.combine(day, cutoff_time(config), tzinfo=config.tz).astimezone(UTC)


def skipped_dates(config: Config, previous: date, issue_date: date) -> tuple[date, ...]:
    """Cadence dates strictly between two issues: no issue was made for them."""
    years = range(previous.year, issue_date.year + 1)
    return tuple(d for y in years for d in cadence_dates(config, y) if previous < d < issue_date)


def issue_number(config: Config, issue_date: date, published: Iterable[date]) -> int:
    """1 + the issues published earlier in the same year (from `first_number` in the
    year this project first published)."""
    done = sorted(set(published))
    earlier = [d for d in done if d.year == issue_date.year and d < issue_date]
    first_year = done[0].year if done else issue_date.year
    base = config.digest.first_number if issue_date.year == first_year else None
    return (base or 1) + len(earlier)


def issue_window(
    config: Config,
    issue_date: date,
    *,
    existing: Iterable[date] = (),
    published: Iterable[date] = (),
    since: date | None = None,
    until: date | None = None,
) -> IssueWindow:
    """Volume, number and news window of the issue dated `issue_date`.

    `existing` are the dates of issues drafted or published; `since` and `until` (dates,
    until exclusive) override either end for a one-off.
    """
    before = [d for d in existing if d < issue_date]
    previous = max(before) if before else None
    if previous is not None:
        start = cutoff(config, previous)
        skipped = skipped_dates(config, previous, issue_date)
    else:
        start = cutoff(config, issue_date - timedelta(days=config.cadence.window_days))
        skipped = ()
    end = cutoff(config, issue_date)
    if since is not None:
        start, skipped = cutoff(config, since), ()
    if until is not None:
        end = cutoff(config, until)
    if end <= start:
        raise UsageError(
            f"the window {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC is empty;"
            " --until must be after --since"
        )
    return IssueWindow(
        date=issue_date,
        start=start,
        end=end,
        volume=issue_date.year - config.digest.first_year + 1,
        number=issue_number(config, issue_date, published),
        skipped=skipped,
    )


def issue_title(config: Config, window: IssueWindow) -> str:
    return config.digest.title.format(volume=window.volume, number=window.number)


def window_text(config: Config, window: IssueWindow) -> str:
    """The window for people: local times, and the same moments in Tokyo."""
    tz = config.tz
    start, end = window.start.astimezone(tz), window.end.astimezone(tz)
    t_start, t_end = window.start.astimezone(TOKYO), window.end.astimezone(TOKYO)
    return (
        f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} {config.cadence.timezone}"
        f" (Tokyo: {t_start:%Y-%m-%d %H:%M} to {t_end:%Y-%m-%d %H:%M} JST)"
    )


def skipped_text(window: IssueWindow) -> str:
    """Why a window is wider than the cadence, or "" when it is not."""
    if not window.skipped:
        return ""
    days = ", ".join(d.isoformat() for d in window.skipped)
    return f"no issue for {days}: this issue's window covers the news of the skipped date(s) too"


def published_text(moment: datetime, config: Config) -> str:
    """A candidate's time in the cadence zone with Tokyo time beside it."""
    local = moment.astimezone(config.tz)
    tokyo = moment.astimezone(TOKYO)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} / {tokyo:%m-%d %H:%M} JST"
