"""The issue sequence: windows that tile time, numbers that count published issues."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from support.drafts import FEEDS_YAML, cand, make_config, refresh

from digest.config import Config, load_config
from digest.editorial import calendar, draft, draftfile
from digest.errors import ConfigError, UsageError


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


def two_years(config: Config) -> list[date]:
    return calendar.cadence_dates(config, 2026) + calendar.cadence_dates(config, 2027)


def windows(config: Config, days: list[date]) -> list[tuple[datetime, datetime]]:
    out = []
    for n, day in enumerate(days):
        w = calendar.issue_window(config, day, existing=days[:n], published=days[:n])
        out.append((w.start, w.end))
    return out


def test_windows_over_two_years_are_contiguous_and_disjoint(config: Config) -> None:
    days = two_years(config)
    spans = windows(config, days)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start == end  # no gap, no overlap: every moment in exactly one issue
    assert all(start < end for start, end in spans)
    # The 16th-31st of a 31-day month belong to the 1st's issue (they fell in no issue).
    dec_16 = datetime(2026, 12, 16, 12, tzinfo=UTC)
    owners = [days[n] for n, (s, e) in enumerate(spans) if s <= dec_16 < e]
    assert owners == [date(2027, 1, 1)]


def test_the_cut_off_is_midnight_new_york_across_daylight_saving(config: Config) -> None:
    march = calendar.cutoff(config, date(2026, 3, 15))  # EDT
    january = calendar.cutoff(config, date(2026, 1, 15))  # EST
    assert march == datetime(2026, 3, 15, 4, tzinfo=UTC)
    assert january == datetime(2026, 1, 15, 5, tzinfo=UTC)


def test_a_configured_cut_off_time(tmp_path: Path) -> None:
    text = FEEDS_YAML.replace("  window_days: 14\n", '  window_days: 14\n  cutoff: "18:30"\n')
    (tmp_path / "feeds.yaml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path)
    assert calendar.cutoff(config, date(2026, 12, 1)) == datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    (tmp_path / "feeds.yaml").write_text(text.replace("18:30", "25:00"), encoding="utf-8")
    with pytest.raises(ConfigError, match="HH:MM"):
        load_config(tmp_path)


def test_a_skipped_date_widens_the_next_window_and_is_named(config: Config) -> None:
    days = [date(2026, 11, 15), date(2026, 12, 15)]  # no issue on 2026-12-01
    w = calendar.issue_window(config, days[1], existing=days[:1], published=days[:1])
    assert w.start == calendar.cutoff(config, days[0])
    assert w.end == calendar.cutoff(config, days[1])
    assert w.skipped == (date(2026, 12, 1),)
    assert "2026-12-01" in calendar.skipped_text(w)


def test_the_first_issue_reaches_back_window_days(config: Config) -> None:
    w = calendar.issue_window(config, date(2026, 12, 15))
    assert w.start == calendar.cutoff(config, date(2026, 12, 1))
    assert w.skipped == ()


def test_numbers_count_published_issues_across_a_skipped_slot_and_a_new_year(
    config: Config,
) -> None:
    published = [date(2026, 11, 1), date(2026, 11, 15), date(2026, 12, 15)]  # 12-01 skipped
    number = calendar.issue_number
    assert number(config, date(2026, 11, 1), published) == 1
    assert number(config, date(2026, 12, 15), published) == 3  # not 4: the slot is no issue
    assert number(config, date(2027, 1, 1), published) == 1
    w = calendar.issue_window(config, date(2027, 1, 1), existing=published, published=published)
    assert (w.volume, w.number) == (6, 1)  # 2027 - 2022 + 1
    assert calendar.issue_title(config, w) == "US-Japan Alliance Digest Vol 6.1"


def test_a_draft_dated_late_in_december_is_numbered_by_what_was_published(config: Config) -> None:
    published = calendar.cadence_dates(config, 2026)[:22]
    assert calendar.issue_number(config, date(2026, 12, 28), published) == 23


def test_first_number_continues_a_running_series(config: Config) -> None:
    config = replace(config, digest=replace(config.digest, first_number=7))
    assert calendar.issue_number(config, date(2026, 11, 15), []) == 7
    assert calendar.issue_number(config, date(2026, 12, 1), [date(2026, 11, 15)]) == 8
    assert calendar.issue_number(config, date(2027, 1, 1), [date(2026, 11, 15)]) == 1


def test_next_issue_is_the_next_unpublished_one(config: Config) -> None:
    nxt = calendar.next_issue_date
    assert nxt(config, date(2026, 12, 1)) == date(2026, 12, 1)  # an issue day drafts its own
    assert nxt(config, date(2026, 12, 2)) == date(2026, 12, 15)
    # The editor is late: the 12-01 draft is not published yet on 12-03.
    assert nxt(config, date(2026, 12, 3), drafted=[date(2026, 12, 1)]) == date(2026, 12, 1)
    # Published early: the next one.
    assert nxt(config, date(2026, 12, 1), published=[date(2026, 12, 1)]) == date(2026, 12, 15)


def test_since_and_until_override_the_window(config: Config) -> None:
    w = calendar.issue_window(
        config, date(2026, 12, 15), since=date(2026, 11, 20), until=date(2026, 12, 10)
    )
    assert w.start == calendar.cutoff(config, date(2026, 11, 20))
    assert w.end == calendar.cutoff(config, date(2026, 12, 10))
    with pytest.raises(UsageError, match="empty"):
        calendar.issue_window(config, date(2026, 12, 15), since=date(2026, 12, 16))


def test_window_text_shows_tokyo_time(config: Config) -> None:
    w = calendar.issue_window(config, date(2026, 12, 15))
    text = calendar.window_text(config, w)
    assert "2026-12-01 00:00 to 2026-12-15 00:00 America/New_York" in text
    assert "Tokyo: 2026-12-01 14:00 to 2026-12-15 14:00 JST" in text


def test_drafts_on_disk_make_the_sequence(config: Config) -> None:
    refresh(config, [cand(1)], issue=date(2026, 11, 15))
    w = draft.issue_window(config, date(2026, 12, 15))
    assert w.start == calendar.cutoff(config, date(2026, 11, 15))  # after the existing draft
    assert w.skipped == (date(2026, 12, 1),)
    assert w.number == 1  # nothing published yet
    refresh(config, [cand(2)], issue=date(2026, 12, 15), now=datetime(2026, 12, 14, tzinfo=UTC))
    text = draft.draft_path(config, date(2026, 12, 15)).read_text(encoding="utf-8")
    editor, program = draftfile.split(text)
    assert "no issue for 2026-12-01" in editor.splitlines()[2]  # the header says so
    assert "no issue for 2026-12-01" in program
