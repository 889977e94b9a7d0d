"""Plain-text wrapping for a monospace reader: columns counted as a terminal counts them
(East Asian wide characters take two), lines broken only at spaces and between Japanese
characters, and never before or after the punctuation Japanese forbids there (kinsoku).

No business logic: the email's text part and any other plain-text output use it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from digest._util.text import WIDE

TEXT_WIDTH = 72

# Japanese line-breaking rules (kinsoku): what may not start, or end, a line.
_NO_LINE_START = set(
    "、。，．,.・：；？！?!ー）〕］｝〉》」』】〙〗"
    "ゝゞぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々"
)
_NO_LINE_END = set("（〔［｛〈《「『【〘〖")
_TOKEN = re.compile(rf"\s+|[{WIDE}]|[^\s{WIDE}]+")


def display_width(text: str) -> int:
    """Columns `text` takes in a monospace terminal (East Asian wide characters take two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _units(text: str) -> list[tuple[str, bool]]:
    """Unbreakable units and whether a space precedes each: words, or CJK characters
    kept with the punctuation that may not start or end a line."""
    units: list[tuple[str, bool]] = []
    space = False
    for token in _TOKEN.findall(text):
        if token.isspace():
            space = True
            continue
        glue = (
            bool(units)
            and not space
            and (
                token[0] in _NO_LINE_START
                or units[-1][0][-1] in _NO_LINE_END
                or (not _is_wide(token) and not _is_wide(units[-1][0][-1]))
            )
        )
        if glue:
            units[-1] = (units[-1][0] + token, units[-1][1])
        else:
            units.append((token, space))
        space = False
    return units


def _is_wide(text: str) -> bool:
    return unicodedata.east_asian_width(text[0]) in "WF"


def wrap_text(
    text: str, width: int = TEXT_WIDTH, indent: str = "", subsequent: str | None = None
) -> str:
    """Wrap at `width` columns, breaking only at spaces and between Japanese characters:
    hyphenated words and URLs stay whole (a longer one gets a line of its own)."""
    subsequent = indent if subsequent is None else subsequent
    room = max(width - display_width(subsequent), 8)
    lines: list[str] = []
    line: list[str] = []
    used = display_width(indent)
    for unit, space_before in _pieces(_units(text), room):
        size = display_width(unit)
        gap = 1 if line and space_before else 0
        if line and used + gap + size > width:
            lines.append(("" if lines else indent) + "".join(line))
            line, used, gap = [], display_width(subsequent), 0
        line.append(" " + unit if gap else unit)
        used += gap + size
    if line or not lines:
        lines.append(("" if lines else indent) + "".join(line))
    return "\n".join(lines[:1] + [subsequent + ln for ln in lines[1:]])


def _pieces(units: list[tuple[str, bool]], room: int) -> Iterable[tuple[str, bool]]:
    # A run of letters longer than a line is cut (nothing else could keep 72 columns);
    # a URL is kept whole so that it stays clickable.
    for unit, space_before in units:
        if display_width(unit) <= room or "://" in unit:
            yield unit, space_before
            continue
        piece = ""
        for ch in unit:
            if piece and display_width(piece + ch) > room:
                yield piece, space_before
                piece, space_before = "", False
            piece += ch
        yield piece, space_before


def underline(text: str, char: str = "-", width: int = TEXT_WIDTH) -> str:
    """A rule as wide as `text` is on screen, at most `width` columns."""
    return char * min(display_width(text), width)
