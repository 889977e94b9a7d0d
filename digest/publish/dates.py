"""The one date style of every output: the email, the PDF, the archive and its search.

`digest.date_format` in feeds.yaml names it ({month} {day}, {year} by default); a
Japanese digest writes dates the Japanese way whatever the pattern.
"""

from __future__ import annotations

from datetime import date

DEFAULT_FORMAT = "{month} {day}, {year}"


def format_date(day: date, pattern: str = DEFAULT_FORMAT, lang: str = "en") -> str:
    """`day` written in the organisation's style (`pattern` was checked by the config)."""
    if lang == "ja":
        return f"{day.year}年{day.month}月{day.day}日"
    return pattern.format_map(
        {
            "month": f"{day:%B}",
            "mon": f"{day:%b}",
            "day": day.day,
            "month_number": day.month,
            "year": day.year,
        }
    )
