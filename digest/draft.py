"""The editor's draft: issues/DATE/draft.yaml, merged on every run and never clobbered.

    refresh_draft   lock -> read bytes -> parse -> merge candidates (pure) -> re-read and
                    compare (conflict?) -> atomic write with draft.yaml.bak -> unlock
    set_status      the same, but only the `status:` value of the named candidates changes
    load_issue      draft -> models.Issue (stories resolved, picked candidates become stories)
    check_project   drafts -> every problem with file and line (the last section below)

The file has three parts, and only the program's parts are ever rewritten:

    # >>> digest status ... # <<<     rewritten (counts, failing and quiet feeds)
    header keys, `stories`, comments  the editor's: copied byte for byte, never re-emitted
    candidates:                       the program's list; `status` and any comment in it are
                                      the editor's and survive

Why the split: ruamel.yaml's round trip keeps comments and formatting but needs seconds
per thousand candidates. The header and stories are small: they are parsed round-trip
(for values and line numbers) and written back verbatim. The candidate list is read by a
strict line parser when it is in the layout this module writes (editor comments included,
each kept with its candidate), and by ruamel.yaml round-trip, slower but faithful, when
the editor has used other YAML styles in it (block scalars, flow lists, other indents).
"""

from __future__ import annotations

import difflib
import functools
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from digest.config import Config
from digest.errors import DigestError, DraftConflict, DraftError, LockBusy
from digest.fsutil import atomic_write, exclusive_lock
from digest.models import (
    CANDIDATE_STATUSES,
    Candidate,
    DraftSummary,
    FeedHealth,
    Issue,
    IssueStory,
    IssueWindow,
    Problem,
    SourceLink,
)

DRAFT_NAME = "draft.yaml"
LOCK_NAME = ".draft.lock"
LOCK_WAIT_S = 5.0
QUIET_DAYS = 7  # a feed without items for this long is listed as quiet
TOKYO = "Asia/Tokyo"

HEADER_KEYS = ("title", "date", "window", "image", "image_alt", "image_credit", "preheader",
               "intro", "stories", "candidates")
STORY_KEYS = ("headline", "body", "sources", "section")
CANDIDATE_KEYS = ("id", "status", "title", "url", "source", "published", "score", "section",
                  "why", "also", "summary", "lang", "held_from")
_LIST_KEYS = frozenset({"why", "also"})

STATUS_BEGIN = "# >>> digest status"
STATUS_END = "# <<< digest status"


# --- the issue and its window -------------------------------------------------------------


def _cadence_dates(config: Config, year: int) -> list[date]:
    days = sorted(set(config.cadence.days))
    return [date(year, month, day) for month in range(1, 13) for day in days]


def next_issue_date(config: Config, today: date) -> date:
    """The first cadence date on or after `today` (an issue day drafts its own issue)."""
    for year in (today.year, today.year + 1):
        for day in _cadence_dates(config, year):
            if day >= today:
                return day
    raise AssertionError("a cadence has at least one day a year")


def issue_window(
    config: Config, issue_date: date, *, since: date | None = None, until: date | None = None
) -> IssueWindow:
    """Volume, number and the news window of the issue dated `issue_date`.

    The window runs from local midnight `window_days` before the issue date to local
    midnight of the issue date (exclusive), in the cadence time zone; `since` and `until`
    (exclusive) replace either end.
    """
    tz = config.tz
    first = since or issue_date - timedelta(days=config.cadence.window_days)
    last = until or issue_date
    if last <= first:
        raise DraftError(
            f"the window {first} to {last} is empty; --until must be after --since"
        )
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last, time(0), tzinfo=tz).astimezone(UTC)
    earlier = [d for d in _cadence_dates(config, issue_date.year) if d < issue_date]
    return IssueWindow(
        date=issue_date,
        start=start,
        end=end,
        volume=issue_date.year - config.digest.first_year + 1,
        number=len(earlier) + 1,
    )


def issue_dir(config: Config, issue_date: date) -> Path:
    return config.issues_dir / issue_date.isoformat()


def draft_path(config: Config, issue_date: date) -> Path:
    return issue_dir(config, issue_date) / DRAFT_NAME


def issue_title(config: Config, window: IssueWindow) -> str:
    return config.digest.title.format(volume=window.volume, number=window.number)


def window_text(config: Config, window: IssueWindow) -> str:
    """The window for people: local dates, plus the same moments in Tokyo time."""
    from zoneinfo import ZoneInfo

    tz, tokyo = config.tz, ZoneInfo(TOKYO)
    start, end = window.start.astimezone(tz), window.end.astimezone(tz)
    last_day = (end - timedelta(seconds=1)).date()
    t_start, t_end = window.start.astimezone(tokyo), window.end.astimezone(tokyo)
    return (
        f"{start.date()} to {last_day} ({config.cadence.timezone}); "
        f"Tokyo: {t_start:%Y-%m-%d %H:%M} to {t_end:%Y-%m-%d %H:%M} JST"
    )


def published_text(moment: datetime, config: Config) -> str:
    """A candidate's time in the cadence zone with Tokyo time beside it."""
    from zoneinfo import ZoneInfo

    local = moment.astimezone(config.tz)
    tokyo = moment.astimezone(ZoneInfo(TOKYO))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} / {tokyo:%m-%d %H:%M} JST"


# --- what a draft holds -------------------------------------------------------------------


@dataclass(frozen=True)
class DraftCandidate:
    """One entry of `candidates:` as the file holds it (lines are 1-based, None if new)."""

    id: str
    status: str = "new"
    title: str = ""
    url: str = ""
    source: str = ""
    published: str = ""
    score: float = 0.0
    section: str | None = None
    why: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    summary: str = ""
    lang: str = "en"
    held_from: str | None = None
    extra: tuple[tuple[str, Any], ...] = ()
    line: int | None = None
    key_lines: tuple[tuple[str, int], ...] = ()
    # The editor's comments, kept with the candidate: (key, lines above it, comment after
    # its value); key "" is above the entry, END_KEY below it.
    comments: tuple[tuple[str, str, str], ...] = ()
    # An entry in a YAML style of the editor's: ruamel.yaml's nodes, written back by it.
    node: Any = field(default=None, compare=False, repr=False)

    def line_of(self, key: str) -> int | None:
        return dict(self.key_lines).get(key, self.line)


END_KEY = "$end"


@dataclass(frozen=True)
class DraftStory:
    """One entry of `stories:`; `raw` keeps every key the editor wrote."""

    headline: str
    body: str
    sources: tuple[str, ...]
    section: str | None
    line: int | None
    key_lines: tuple[tuple[str, int], ...] = ()
    source_lines: tuple[int | None, ...] = ()
    unknown: tuple[tuple[str, int | None], ...] = ()

    def line_of(self, key: str) -> int | None:
        return dict(self.key_lines).get(key, self.line)


@dataclass(frozen=True)
class DraftFile:
    """A parsed draft: the editor's part verbatim, its values, and the candidate list."""

    path: Path
    text: str
    head: str  # everything before `candidates:` (verbatim)
    block: str  # the `candidates:` key and its list
    tail: str  # top-level keys after the list (verbatim)
    header: Mapping[str, Any]
    header_lines: Mapping[str, int]
    stories: tuple[DraftStory, ...]
    candidates: tuple[DraftCandidate, ...]
    fast: bool  # the candidate list is in this module's own layout
    block_head: str = ""  # comments between `candidates:` and the first entry
    # The list as ruamel.yaml read it (slow path only), reused when writing it back.
    rt_block: Any = field(default=None, compare=False, repr=False)
    stories_line: int | None = None
    problems: tuple[tuple[int | None, str], ...] = ()  # shape problems found while reading

    def by_id(self) -> dict[str, DraftCandidate]:
        out: dict[str, DraftCandidate] = {}
        for cand in self.candidates:
            out.setdefault(cand.id, cand)
        return out

    def referenced(self) -> set[str]:
        return {source for story in self.stories for source in story.sources}


# --- reading ------------------------------------------------------------------------------


_CANDIDATES_LINE = re.compile(r"^candidates[ \t]*:", re.M)
_NEXT_TOP = re.compile(r"^(?:[A-Za-z_][\w-]*[ \t]*:(?:[ \t]|$)|---|\.\.\.)", re.M)


def text_lines(text: str) -> list[str]:
    """Lines with their endings, split at \\n only (YAML's breaks, unlike str.splitlines)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def split_draft(text: str) -> tuple[str, str, str]:
    """Cut the text into (head, candidates block, tail) at top-level keys."""
    found = _CANDIDATES_LINE.search(text)
    if found is None:
        return text, "", ""
    begin = found.start()
    after = text.find("\n", begin)
    following = _NEXT_TOP.search(text, after + 1) if after >= 0 else None
    if following is None:
        return text[:begin], text[begin:], ""
    end = following.start()
    # Comments and blank lines right above the next key belong to that key.
    block_lines = text_lines(text[begin:end])
    keep = len(block_lines)
    while keep > 1 and (not block_lines[keep - 1].strip() or block_lines[keep - 1].startswith("#")):
        keep -= 1
    block = "".join(block_lines[:keep])
    return text[:begin], block, text[begin + len(block):]


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _yaml_error(path: Path, exc: YAMLError, what: str = "does not parse") -> DraftError:
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    mark = problem_mark or context_mark
    # An unclosed quote or bracket is found at the end of the file; the fix is where it opened.
    if context_mark is not None and "end of stream" in problem:
        mark = context_mark
    if context and context_mark is not None and mark is not context_mark:
        problem = f"{problem} ({context} that starts on line {context_mark.line + 1})"
    elif context:
        problem = f"{context}: {problem}"
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return DraftError(
        f"{what}: {problem}; fix the indentation or quoting there (put text containing"
        " ': ' or ' #' in double quotes). The file was left as it is.",
        path=path, line=line, column=column,
    )


def _load_yaml(path: Path, text: str) -> Any:
    try:
        return _yaml().load(text)
    except MarkedYAMLError as exc:
        raise _yaml_error(path, exc) from exc
    except YAMLError as exc:
        raise _yaml_error(path, exc) from exc


def parse_draft(path: Path, text: str, *, previous: DraftFile | None = None) -> DraftFile:
    """Parse a draft's text; a DraftError names file, line and column when it is not YAML.

    With `previous` (an earlier parse of the same file), an unchanged candidate list is
    reused rather than parsed again: the preview re-renders on every save.
    """
    path = Path(path)
    head, block, tail = split_draft(text)
    block_lines = block.count("\n") + (1 if block and not block.endswith("\n") else 0)
    head_lines = head.count("\n")
    try:
        data = _yaml().load(head + tail)
    except YAMLError as exc:
        # Report the error as the whole file shows it, then refuse.
        _load_yaml(path, text)
        raise _yaml_error(path, exc) from exc
    if data is None:
        data = CommentedMap()
    if tail.strip():  # keys after the list: put their line numbers back where they are
        _shift_lines(data, head_lines, block_lines)
    if not isinstance(data, CommentedMap):
        raise DraftError(
            "is not a draft: the top level must be keys such as `title:` and `stories:`;"
            " restore it from draft.yaml.bak", path=path, line=1, column=1,
        )
    problems: list[tuple[int | None, str]] = []
    if previous is not None and previous.fast and block and previous.block == block:
        shift = head_lines - previous.head.count("\n")
        candidates = [_shifted(c, shift) for c in previous.candidates] if shift else list(
            previous.candidates)
        fast, block_head, rt_block = True, previous.block_head, None
    else:
        entries, fast, block_head, rt_block = _parse_block(path, block, head_lines)
        candidates = [_candidate(entry) for entry in entries]
    stories, stories_line, story_problems = _stories(data)
    problems += story_problems
    if "candidates" in data:
        problems.append((_key_line(data, "candidates"), "a second `candidates:` list; the"
                         " program keeps the first, merge the two and delete this one"))
    header = {k: v for k, v in data.items() if k != "stories"}
    header_lines = {str(k): _key_line(data, k) or 1 for k in data}
    return DraftFile(
        path=path, text=text, head=head, block=block, tail=tail, header=header,
        header_lines=header_lines, stories=tuple(stories), candidates=tuple(candidates),
        fast=fast, block_head=block_head, stories_line=stories_line, problems=tuple(problems),
        rt_block=rt_block,
    )


def read_draft(path: Path) -> DraftFile:
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError as exc:
        raise DraftError("no draft yet; run `digest draft --date "
                         f"{path.parent.name}` to create it", path=path) from exc
    except UnicodeDecodeError as exc:
        raise DraftError(f"is not UTF-8 text ({exc.reason}); save it as UTF-8",
                         path=path) from exc
    return parse_draft(path, text)


def _key_line(node: Any, key: Any) -> int | None:
    try:
        return int(node.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return None


def _item_line(node: Any, index: int) -> int | None:
    try:
        return int(node.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def _text(value: Any) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _texts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(_text(v) for v in value if v is not None and _text(v))
    return (_text(value),) if _text(value) else ()


def _stories(
    data: CommentedMap,
) -> tuple[list[DraftStory], int | None, list[tuple[int | None, str]]]:
    raw = data.get("stories")
    line = _key_line(data, "stories")
    problems: list[tuple[int | None, str]] = []
    if raw is None:
        return [], line, problems
    if not isinstance(raw, list):
        problems.append((line, "`stories` must be a list of `- headline: ...` entries"))
        return [], line, problems
    stories = []
    for index, node in enumerate(raw):
        item_line = _item_line(raw, index) or line
        if not isinstance(node, dict):
            problems.append((item_line, "a story must be keys: headline, body, sources, section"))
            continue
        sources_node = node.get("sources")
        sources = _texts(sources_node)
        source_lines = tuple(
            (_item_line(sources_node, i) if isinstance(sources_node, list) else None)
            or _key_line(node, "sources") or item_line
            for i in range(len(sources))
        )
        unknown = tuple((str(k), _key_line(node, k)) for k in node if k not in STORY_KEYS)
        section = _text(node.get("section")) or None
        stories.append(DraftStory(
            headline=_text(node.get("headline")),
            body=_text(node.get("body")),
            sources=sources,
            section=section,
            line=item_line,
            key_lines=tuple((str(k), _key_line(node, k) or item_line) for k in node),
            source_lines=source_lines,
            unknown=unknown,
        ))
    return stories, line, problems


def _shift_lines(node: Any, start: int, by: int) -> None:
    """Move ruamel.yaml's recorded positions at or below line `start` (0-based) down."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return
    if lc.line is not None and lc.line >= start:
        lc.line += by
    for position in (lc.data or {}).values():
        if position[0] >= start:
            position[0] += by
        if len(position) > 2 and position[2] >= start:
            position[2] += by
    children = node.values() if isinstance(node, dict) else node if isinstance(
        node, list) else ()
    for child in children:
        _shift_lines(child, start, by)


def _shifted(cand: DraftCandidate, lines: int) -> DraftCandidate:
    return replace(cand, line=None if cand.line is None else cand.line + lines,
                   key_lines=tuple((k, n + lines) for k, n in cand.key_lines))


def _candidate(entry: Mapping[str, Any]) -> DraftCandidate:
    values: dict[str, Any] = entry["values"]
    line = entry["line"]
    try:
        score = float(values.get("score") or 0.0)
    except (TypeError, ValueError):
        score = 0.0
    extra = tuple((k, v) for k, v in values.items() if k not in CANDIDATE_KEYS)
    held = values.get("held_from")
    cand = DraftCandidate(
        id=_text(values.get("id")),
        status=_text(values.get("status")) or "new",
        title=_text(values.get("title")),
        url=_text(values.get("url")),
        source=_text(values.get("source")),
        published=_text(values.get("published")),
        score=score,
        section=_text(values.get("section")) or None,
        why=_texts(values.get("why")),
        also=_texts(values.get("also")),
        summary=_text(values.get("summary")),
        lang=_text(values.get("lang")) or "en",
        held_from=_text(held) if held else None,
        extra=extra,
        line=line,
        key_lines=tuple(entry["key_lines"].items()),
        comments=tuple((k, above, after)
                       for k, (above, after) in entry.get("comments", {}).items()),
        node=entry.get("node"),
    )
    return cand


# --- the candidate list: the fast line format and the round-trip fallback ----------------

# Characters YAML will not take raw, or reads as line breaks: always escaped.
_UNSAFE_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]"
)
_PLAIN_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}
_PLAIN_CHARS = re.compile(r"^[^\x00-\x1f\"\\`]+$")
_FLOAT = re.compile(r"^-?\d+(?:\.\d+)?$")


def plain_ok(value: str) -> bool:
    """True if `value` reads back as the same string when written as a plain YAML scalar."""
    return bool(
        value
        and value[0].isalpha()
        and value[-1] not in " :"
        and _PLAIN_CHARS.match(value)
        and not _UNSAFE_CHARS.search(value)
        and ": " not in value
        and " #" not in value
        and value.lower() not in _PLAIN_RESERVED
    )


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


@functools.lru_cache(maxsize=65536)
def yaml_scalar(value: str | float | None) -> str:
    """A scalar as this module writes it: plain when safe, else JSON-style double quotes."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value == value else "0"
    text = str(value)
    if plain_ok(text):
        return text
    return _UNSAFE_CHARS.sub(_escape, json.dumps(text, ensure_ascii=False))


@functools.lru_cache(maxsize=65536)
def _scalar_value(raw: str) -> tuple[bool, Any]:
    """(ok, value) of one scalar written the way yaml_scalar writes them."""
    raw = raw.strip()
    if raw == "" or raw in ("~", "null"):
        return True, None
    first = raw[0]
    if first == '"':
        try:
            value = json.loads(raw)
        except ValueError:
            return False, None
        return isinstance(value, str), value
    if first == "'":
        inner = raw[1:-1]
        if len(raw) < 2 or raw[-1] != "'" or "'" in inner.replace("''", ""):
            return False, None
        value = inner.replace("''", "'")
        return not _UNSAFE_CHARS.search(value), value
    if _FLOAT.match(raw):
        return True, float(raw)
    return plain_ok(raw), raw


_KEY = re.compile(r"[A-Za-z_][\w-]*")
_KNOWN_KEYS = frozenset(CANDIDATE_KEYS)
_COMMENT_LINE = re.compile(r"[ \t]*#").match


_DECODER = json.JSONDecoder()
_COMMENT_AFTER = re.compile(r"^[ \t]+#")


def split_comment(raw: str) -> tuple[str, str] | None:
    """The text after `key:` cut into (value, comment after it); None if it is unusual."""
    stripped = raw.strip()
    if not stripped or stripped[0] == "#":
        return "", raw.rstrip()
    if stripped[0] == '"':
        try:
            end = _DECODER.raw_decode(stripped)[1]
        except ValueError:
            return None
    elif stripped[0] == "'":
        end = 1
        while True:
            end = stripped.find("'", end)
            if end < 0:
                return None
            if stripped.startswith("''", end):
                end += 2
                continue
            end += 1
            break
    else:
        end = stripped.find(" #")
        if end < 0:
            return stripped, ""
        end = len(stripped[:end].rstrip())
    rest = stripped[end:]
    if rest and not _COMMENT_AFTER.match(rest):
        return None
    return stripped[:end], rest


def _is_note(line: str) -> bool:
    return not line or line.isspace() or bool(_COMMENT_LINE(line))


def parse_block_fast(block: str, first_line: int) -> tuple[list[dict[str, Any]], str] | None:
    """Parse a candidate list laid out the way this module writes it; None if it is not.

    Returns the entries and the comment lines above the first one. An entry is
    {"values", "line", "key_lines", "comments"}: the editor's whole-line comments are kept
    with the key (or entry) below them, end-of-line comments with their key. An entry in
    another YAML style (a block scalar, a flow list ...) is read by ruamel.yaml alone and
    carries its node as "node"; None means the list itself has another shape.
    """
    lines = block.split("\n")
    parts = split_comment(lines[0].rstrip("\r")[len("candidates:"):]) if lines[0].startswith(
        "candidates:") else None
    if parts is None or parts[0] not in ("", "[]") or parts[1]:
        return None
    starts = [i for i in range(1, len(lines)) if lines[i].startswith("  - ")]
    first = starts[0] if starts else len(lines)
    if not all(_is_note(line) for line in lines[1:first]) or (parts[0] == "[]" and starts):
        return None
    block_head = "".join(line.rstrip("\r") + "\n" for line in lines[1:first]
                         if line.strip())
    # Comments right above an entry belong to it, not to the entry before.
    ends = []
    for index, begin in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(lines)
        if index + 1 < len(starts):
            while end - 1 > begin and _is_note(lines[end - 1]):
                end -= 1
        ends.append(end)
    entries = []
    previous_end = first
    for end in ends:
        chunk = lines[previous_end:end]
        number = first_line + previous_end
        entry = _parse_entry(chunk, number)
        if entry is None:
            entry = _parse_entry_rt(chunk, number)
            if entry is None:
                return None
        entries.append(entry)
        previous_end = end
    return entries, block_head


def _parse_entry(lines: list[str], number: int) -> dict[str, Any] | None:
    """One entry (with the comment lines above it) in this module's layout, else None."""
    values: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    comments: dict[str, list[str]] = {}
    entry = {"values": values, "line": None, "key_lines": key_lines, "comments": comments}
    above: list[str] = []
    list_key: str | None = None
    number -= 1
    for line in lines:
        number += 1
        if not line or line.isspace():
            continue
        if line[-1] == "\r":
            line = line[:-1]
        # The common lines first: `    key: value`, `      - item`, `  - key: value`.
        if line.startswith("    ") and line[4] not in " #" and entry["line"] is not None:
            where = None
        elif list_key is not None and line.startswith("      - "):
            ok, value = _scalar_value(line[8:])
            if not ok or not isinstance(value, str) or above:
                return None
            values[list_key].append(value)
            continue
        elif _COMMENT_LINE(line):
            above.append(line + "\n")
            continue
        elif line.startswith("  - ") and entry["line"] is None:
            entry["line"] = number
            where = ""
        else:
            return None
        list_key = None
        key, colon, raw = line[4:].partition(":")
        if not colon or key in values or (raw and raw[0] != " ") or (
            key not in _KNOWN_KEYS and not _KEY.fullmatch(key)
        ):
            return None
        if "#" in raw:
            parts = split_comment(raw)
            if parts is None:
                return None
            text, after = parts
        else:
            text, after = raw.strip(), ""
        if text == "[]":
            if key not in _LIST_KEYS:
                return None
            value: Any = []
        else:
            ok, value = _scalar_value(text)
            if not ok:
                return None
            if key in _LIST_KEYS:
                if value is not None:
                    return None
                value, list_key = [], key
        values[key] = value
        key_lines[key] = number
        if where is None:
            where = key
        if above or after:
            comments[where] = ["".join(above), after]
            above = []
    if above:
        comments[END_KEY] = ["".join(above), ""]
    return entry


def _parse_entry_rt(lines: list[str], number: int) -> dict[str, Any] | None:
    """One entry read by ruamel.yaml (it keeps any style and comment); None if not YAML."""
    # Blank lines around the entry are the layout's, not the entry's: ruamel.yaml would
    # keep them and they would pile up run after run.
    while lines and not lines[0].strip():
        lines, number = lines[1:], number + 1
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    try:
        data = _yaml().load("candidates:\n" + "\n".join(lines) + "\n")
    except YAMLError:
        return None  # the whole list is read again, for an error with its true position
    seq = data.get("candidates") if isinstance(data, CommentedMap) else None
    if not isinstance(seq, CommentedSeq) or len(seq) != 1 or not isinstance(seq[0],
                                                                            CommentedMap):
        return None
    _shift_lines(data, 1, number - 2)
    node = seq[0]
    line = _item_line(seq, 0)
    return {"values": {str(k): v for k, v in node.items()}, "line": line,
            "key_lines": {str(k): _key_line(node, k) or line for k in node},
            "node": (data, seq)}


def _parse_block_rt(path: Path, block: str, offset: int) -> tuple[CommentedMap, CommentedSeq]:
    """The candidate list read round-trip (keeps the editor's comments); line numbers true."""
    data = _load_yaml(path, "\n" * offset + block)
    seq = data.get("candidates") if isinstance(data, CommentedMap) else None
    if seq is None:
        seq = CommentedSeq()
        data["candidates"] = seq
    if not isinstance(seq, CommentedSeq):
        raise DraftError("`candidates` must be a list of `- id: ...` entries; restore it from"
                         " draft.yaml.bak", path=path, line=offset + 1, column=1)
    return data, seq


def _parse_block(path: Path, block: str, offset: int) -> tuple[list[dict[str, Any]], bool, str,
                                                               Any]:
    if not block:
        return [], True, "", None
    fast = parse_block_fast(block, offset + 1)
    if fast is not None:
        return fast[0], True, fast[1], None
    data, seq = _parse_block_rt(path, block, offset)
    entries = []
    for index, node in enumerate(seq):
        line = _item_line(seq, index)
        if not isinstance(node, dict):
            raise DraftError("each candidate must be keys such as `id:` and `status:`",
                             path=path, line=line)
        values = {str(k): v for k, v in node.items()}
        key_lines = {str(k): _key_line(node, k) or line for k in node}
        entries.append({"values": values, "line": line, "key_lines": key_lines})
    return entries, False, "", (data, seq)


def _candidate_fields(cand: DraftCandidate) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = [
        ("id", cand.id), ("status", cand.status), ("title", cand.title), ("url", cand.url),
        ("source", cand.source), ("published", cand.published), ("score", float(cand.score)),
        ("section", cand.section), ("why", list(cand.why)), ("also", list(cand.also)),
        ("summary", cand.summary),
    ]
    if cand.lang != "en":
        pairs.append(("lang", cand.lang))
    if cand.held_from:
        pairs.append(("held_from", cand.held_from))
    return pairs + list(cand.extra)


def _emit_value(out: list[str], lead: str, key: str, value: Any, after: str = "") -> bool:
    if isinstance(value, list):
        if not value:
            out.append(f"{lead}{key}: []{after}\n")
            return True
        out.append(f"{lead}{key}:{after}\n")
        out.extend(f"      - {yaml_scalar(str(v))}\n" for v in value)
        return True
    if value is None or isinstance(value, (str, float)):
        scalar = yaml_scalar(value)
        out.append(f"{lead}{key}: {scalar}{after}\n" if scalar else f"{lead}{key}:{after}\n")
        return True
    return False


def emit_block_fast(candidates: Sequence[DraftCandidate], block_head: str = "") -> str | None:
    """The candidate list in this module's layout; None if an editor's value does not fit it."""
    if not candidates:
        return f"candidates: []\n{block_head}"
    out = ["candidates:\n", block_head]
    for cand in candidates:
        if cand.node is not None:
            out.append(_dump_entry(cand))
            continue
        notes = {key: (above, after) for key, above, after in cand.comments}
        for index, (key, value) in enumerate(_candidate_fields(cand)):
            above, after = notes.get(key, ("", ""))
            if index == 0:
                out.append(notes.get("", ("", ""))[0])
                after = after or notes.get("", ("", ""))[1]
            out.append(above)
            if not _emit_value(out, "  - " if index == 0 else "    ", key, value, after):
                return None
        out.append(notes.get(END_KEY, ("", ""))[0])
        out.append("\n")
    return "".join(out)


def _cmap(cand: DraftCandidate) -> CommentedMap:
    """A new entry for ruamel.yaml to write, quoted the way the fast parser reads it back."""
    node = CommentedMap()
    for key, value in _candidate_fields(cand):
        if isinstance(value, list):
            node[key] = CommentedSeq(value)
        elif isinstance(value, str) and not plain_ok(value):
            node[key] = DoubleQuotedScalarString(value)
        else:
            node[key] = value
    return node


def _refresh_node(node: CommentedMap, cand: DraftCandidate) -> None:
    node["score"] = float(cand.score)
    node["why"] = CommentedSeq(cand.why)
    node["also"] = CommentedSeq(cand.also)
    if cand.held_from and "held_from" not in node:
        node["held_from"] = cand.held_from


def _dump_entry(cand: DraftCandidate) -> str:
    """An entry of the editor's own style, refreshed and written back by ruamel.yaml."""
    data, seq = cand.node
    _refresh_node(seq[0], cand)
    buffer = io.StringIO()
    _yaml().dump(data, buffer)
    text = buffer.getvalue().split("\n", 1)[1]  # without the `candidates:` line
    return text if text.endswith("\n\n") else text.rstrip("\n") + "\n\n"


def emit_block_rt(path: Path, old_block: str, offset: int,
                  candidates: Sequence[DraftCandidate], *,
                  parsed: tuple[CommentedMap, CommentedSeq] | None = None) -> str:
    """The new list through ruamel.yaml, moving each editor comment with its candidate."""
    data, seq = parsed if parsed is not None else _parse_block_rt(path, old_block, offset)
    nodes: dict[str, tuple[int, CommentedMap]] = {}
    for index, node in enumerate(seq):
        if isinstance(node, CommentedMap):
            nodes.setdefault(_text(node.get("id")), (index, node))
    new_seq = CommentedSeq()
    new_seq.ca.comment = seq.ca.comment
    for new_index, cand in enumerate(candidates):
        known = nodes.get(cand.id)
        if known is None:
            new_seq.append(_cmap(cand))
            continue
        old_index, node = known
        _refresh_node(node, cand)
        new_seq.append(node)
        if old_index in seq.ca.items:
            new_seq.ca.items[new_index] = seq.ca.items[old_index]
    data["candidates"] = new_seq
    buffer = io.StringIO()
    _yaml().dump(data, buffer)
    # The blank lines that kept line numbers true when reading are not part of the list.
    text = buffer.getvalue().lstrip("\n")
    return text if text.endswith("\n") else text + "\n"


# --- the merge (pure) ---------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def link_key(url: str) -> str:
    """A URL reduced to what identifies the page: scheme, www., fragment, trailing / dropped."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    return f"{host}{path}?{parts.query}" if parts.query else f"{host}{path}"


def _outlet_text(name: str, url: str) -> str:
    return f"{name}: {url}"


def draft_candidate(cand: Candidate, config: Config, *, status: str = "new") -> DraftCandidate:
    return DraftCandidate(
        id=cand.id, status=status, title=_clean(cand.title), url=cand.url,
        source=_clean(cand.source), published=published_text(cand.published, config),
        score=round(float(cand.score), 2), section=cand.section,
        why=tuple(_clean(w) for w in cand.why),
        also=tuple(_outlet_text(_clean(o.name), o.url) for o in cand.also),
        summary=_clean(cand.summary), lang=cand.lang,
    )


def _clean(text: str) -> str:
    # Lone surrogates cannot be written as UTF-8; everything else is kept.
    return re.sub("[\ud800-\udfff]", "\ufffd", text or "").strip()


def sort_key(cand: DraftCandidate) -> tuple[bool, float, str]:
    """Best first; rejected ones sink to the bottom, where they stay to be remembered."""
    return (cand.status == "rejected", -cand.score, cand.id)


@dataclass(frozen=True)
class Merged:
    """The merged candidate list, best first, and how many candidates are new to it."""

    candidates: tuple[DraftCandidate, ...]
    added: int


def merge_candidates(
    existing: Sequence[DraftCandidate],
    incoming: Sequence[DraftCandidate],
    *,
    carried: Sequence[DraftCandidate] = (),
    referenced: set[str] | frozenset[str] = frozenset(),
) -> Merged:
    """The new candidate list. Pure: no file, no clock.

    Known candidates (same id, or same link) keep everything the editor wrote; only score,
    why and also are refreshed. New ones are added as `new`; `carried` ones (held in the
    previous issue) are added as `held`. A `new` candidate that is no longer proposed
    is dropped unless a story refers to it; every other status is kept, so a rejected
    candidate is remembered and never comes back.
    """
    fresh = {c.id: c for c in incoming}
    fresh_by_link = {link_key(c.url): c for c in incoming if c.url}
    referenced_links = {link_key(r) for r in referenced if "://" in r}
    kept: list[DraftCandidate] = []
    seen_ids: set[str] = set()
    seen_links: set[str] = set()
    for cand in existing:
        match = fresh.get(cand.id) or (fresh_by_link.get(link_key(cand.url)) if cand.url else None)
        if match is not None:
            cand = replace(cand, score=match.score, why=match.why, also=match.also)
            seen_ids.add(match.id)
        elif cand.status == "new" and cand.id and cand.id not in referenced and (
            link_key(cand.url) not in referenced_links
        ):
            continue
        kept.append(cand)
        seen_ids.add(cand.id)
        if cand.url:
            seen_links.add(link_key(cand.url))
    added = 0
    for cand in [*incoming, *carried]:
        if cand.id in seen_ids or (cand.url and link_key(cand.url) in seen_links):
            continue
        kept.append(cand)
        seen_ids.add(cand.id)
        seen_links.add(link_key(cand.url))
        added += 1
    return Merged(candidates=tuple(sorted(kept, key=sort_key)), added=added)


def status_counts(candidates: Sequence[DraftCandidate]) -> dict[str, int]:
    counts = {status: 0 for status in CANDIDATE_STATUSES}
    for cand in candidates:
        counts[cand.status] = counts.get(cand.status, 0) + 1
    return counts


def status_block(
    candidates: Sequence[DraftCandidate], stories: int, health: Sequence[FeedHealth], *,
    added: int, now: datetime, notes: Sequence[str] = (),
) -> str:
    """The comment block at the top: counts, failing and quiet feeds."""
    counts = status_counts(candidates)
    listed = ", ".join(f"{n} {s}" for s, n in counts.items() if n or s in CANDIDATE_STATUSES)
    lines = [
        f"{STATUS_BEGIN} (rewritten by every `digest draft`; write your notes elsewhere)",
        f"# Refreshed {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {added} new candidate(s) this run.",
        f"# {len(candidates)} candidates ({listed}); {stories} story(ies).",
    ]
    failing = [h for h in health if h.failing]
    quiet = [h for h in health if not h.failing and h.quiet_days is not None
             and h.quiet_days >= QUIET_DAYS]
    if failing:
        lines.append(f"# Failing feeds ({len(failing)}):")
        for h in failing:
            why = "gone" if h.gone else f"{h.consecutive_failures} failure(s)"
            detail = f": {h.last_error}" if h.last_error else ""
            lines.append(f"#   - {h.feed} ({why}{detail})".replace("\n", " ")[:160])
    if quiet:
        lines.append(f"# Quiet feeds ({len(quiet)}): no items for {QUIET_DAYS}+ days:")
        lines.extend(f"#   - {h.feed} ({h.quiet_days} days)" for h in quiet)
    if not failing and not quiet:
        lines.append("# Every feed is working.")
    lines.extend(f"# Note: {note}".replace("\n", " ") for note in notes)
    lines.append(STATUS_END)
    return "\n".join(lines) + "\n"


def replace_status_block(head: str, block: str) -> str:
    """Put the status block where the old one was (or at the very top)."""
    lines = text_lines(head)
    begin = next((i for i, ln in enumerate(lines) if ln.startswith(STATUS_BEGIN)), None)
    if begin is not None:
        end = next((i for i in range(begin, len(lines)) if lines[i].startswith(STATUS_END)), None)
        if end is not None and all(ln.startswith("#") for ln in lines[begin:end + 1]):
            return "".join(lines[:begin]) + block + "".join(lines[end + 1:])
    return block + head


def new_draft_head(config: Config, window: IssueWindow) -> str:
    """The editor's part of a brand-new draft: header keys with help, and no stories yet."""
    title = issue_title(config, window)
    return f"""\

# Editor's draft of {title} ({window.date}).
# Yours to edit: the header keys, `stories`, and each candidate's `status`
# (new, picked, rejected, held). `digest draft` keeps everything you write and only
# refreshes the candidates' score, why and also. Held candidates move on to the next
# issue. Check before publishing with `digest check`; preview with `digest preview`.

title: {yaml_scalar(title)}
date: {window.date.isoformat()}
window: {yaml_scalar(window_text(config, window))}
image: ""           # a file in this folder or an https:// URL
image_alt: ""       # what the image shows, for screen readers
image_credit: ""    # e.g. "Image Source: Kyodo"
preheader: ""       # the line inboxes show after the subject
intro: ""

# Each story: a short wire-style headline (90 characters at most), one paragraph of
# 40-200 words, and its sources (candidate ids or URLs). A picked candidate without a
# story is published with its own title and summary.
#
#   - headline: Japan, US agree to co-develop interceptor
#     body: >
#       One paragraph ...
#     sources: [k3f9a1c2, https://example.com/story]
#     section: Security
stories: []

"""


# --- reading and writing under the lock ---------------------------------------------------


@contextmanager
def draft_lock(config: Config, issue_date: date) -> Iterator[None]:
    lock = issue_dir(config, issue_date) / LOCK_NAME
    try:
        with exclusive_lock(lock, wait_s=LOCK_WAIT_S):
            yield
    except BlockingIOError as exc:
        raise LockBusy(
            f"another digest run is writing this draft (lock {lock} held for over"
            f" {LOCK_WAIT_S:.0f} s); wait for it to finish and run again",
            path=draft_path(config, issue_date),
        ) from exc


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_checked(path: Path, before: bytes | None, text: str) -> None:
    """Write `text` unless the file changed since it was read as `before`."""
    now_bytes = _read_bytes(path)
    if now_bytes != before:
        raise DraftConflict(
            "the draft changed on disk while digest was writing it (saved in an editor?);"
            " nothing was written and your version is kept; run the command again",
            path=path,
        )
    atomic_write(path, text, backup=before is not None)


def dated_files(config: Config, name: str) -> list[tuple[date, Path]]:
    """Every issues/YYYY-MM-DD/<name> that exists, oldest first (other folders ignored)."""
    found = []
    for path in config.issues_dir.glob(f"*/{name}"):
        try:
            found.append((date.fromisoformat(path.parent.name), path))
        except ValueError:
            continue
    return sorted(found)


def _previous_draft(config: Config, issue_date: date) -> Path | None:
    earlier = [path for day, path in dated_files(config, DRAFT_NAME) if day < issue_date]
    return earlier[-1] if earlier else None


def held_from_previous(config: Config, issue_date: date) -> tuple[list[DraftCandidate], list[str]]:
    """Candidates held in the previous issue's draft, marked with where they came from."""
    path = _previous_draft(config, issue_date)
    if path is None:
        return [], []
    try:
        previous = read_draft(path)
    except DigestError as exc:
        return [], [f"held candidates of {path} were not carried over: {exc}"]
    held = [
        replace(c, status="held", held_from=c.held_from or path.parent.name, line=None,
                key_lines=())
        for c in previous.candidates if c.status == "held" and c.id
    ]
    return held, []


def refresh_draft(
    config: Config,
    window: IssueWindow,
    candidates: Sequence[Candidate],
    *,
    health: Sequence[FeedHealth],
    now: datetime,
) -> DraftSummary:
    """Create or refresh the draft of `window.date`, keeping every edit of the editor."""
    path = draft_path(config, window.date)
    with draft_lock(config, window.date):
        before = _read_bytes(path)
        if before is None:
            current = parse_draft(path, new_draft_head(config, window) + "candidates: []\n")
        else:
            current = read_draft(path)
        incoming = _incoming(candidates, current, config)
        carried, notes = held_from_previous(config, window.date)
        merged = merge_candidates(current.candidates, incoming, carried=carried,
                                  referenced=current.referenced())
        block = _emit(current, merged.candidates)
        top = status_block(merged.candidates, len(current.stories), health, added=merged.added,
                           now=now, notes=notes)
        head = current.head
        if head and not head.endswith("\n"):  # the editor deleted the list: start it anew
            head += "\n"
        write_checked(path, before, replace_status_block(head, top) + block + current.tail)
    counts = status_counts(merged.candidates)
    return DraftSummary(path=str(path), added=merged.added, counts=tuple(counts.items()),
                        stories=len(current.stories))


def _incoming(candidates: Sequence[Candidate], current: DraftFile,
              config: Config) -> list[DraftCandidate]:
    """Candidates for the merge; known ones only carry what a refresh may change."""
    ids = {c.id for c in current.candidates}
    links = {link_key(c.url) for c in current.candidates if c.url}
    out = []
    for cand in candidates:
        if cand.id in ids or link_key(cand.url) in links:
            out.append(DraftCandidate(
                id=cand.id, url=cand.url, score=round(float(cand.score), 2),
                why=tuple(_clean(w) for w in cand.why),
                also=tuple(_outlet_text(_clean(o.name), o.url) for o in cand.also)))
        else:
            out.append(draft_candidate(cand, config))
    return out


def _emit(current: DraftFile, candidates: Sequence[DraftCandidate]) -> str:
    if current.fast:
        fast = emit_block_fast(candidates, current.block_head)
        if fast is not None:
            return fast
    offset = current.head.count("\n")
    block = current.block or "candidates: []\n"
    return emit_block_rt(current.path, block, offset, candidates, parsed=current.rt_block)


_STATUS_VALUE = re.compile(r"^(\s*(?:-\s+)?status\s*:\s*)(\"[^\"]*\"|'[^']*'|[^\s#]+)?(.*)$")


def with_statuses(current: DraftFile, changes: Mapping[str, str]) -> str:
    """The draft text with only the named candidates' `status:` values changed."""
    lines = text_lines(current.text)
    by_id = current.by_id()
    inserts: list[tuple[int, str]] = []
    for cand_id, status in changes.items():
        cand = by_id.get(cand_id)
        if cand is None:
            raise DraftError(f"has no candidate {cand_id!r}; run `digest draft` to add it",
                             path=current.path)
        status_line = dict(cand.key_lines).get("status")
        if status_line is not None:
            index = status_line - 1
            ending = "\n" if lines[index].endswith("\n") else ""
            m = _STATUS_VALUE.match(lines[index].rstrip("\r\n"))
            if m is None:
                raise DraftError(
                    f"cannot set the status of {cand_id!r}: its entry is not in block style;"
                    " change it by hand", path=current.path, line=status_line)
            lines[index] = f"{m.group(1)}{status}{m.group(3)}{ending}"
            continue
        id_line = dict(cand.key_lines).get("id")
        if id_line is None:
            raise DraftError(f"cannot set the status of {cand_id!r}; change it by hand",
                             path=current.path, line=cand.line)
        id_text = lines[id_line - 1]
        column = id_text.index("id")
        inserts.append((id_line, " " * column + f"status: {status}\n"))
    for index, text in sorted(inserts, reverse=True):
        lines.insert(index, text)
    return "".join(lines)


def set_status(config: Config, issue_date: date, changes: Mapping[str, str], *,
               now: datetime) -> None:
    """Set candidates' statuses (id -> new, picked, rejected or held), touching nothing else."""
    del now  # statuses carry no time; the parameter keeps every writer's signature alike
    bad = {s for s in changes.values() if s not in CANDIDATE_STATUSES}
    if bad:
        raise DraftError(f"unknown status {sorted(bad)[0]!r}; use one of "
                         f"{', '.join(CANDIDATE_STATUSES)}")
    path = draft_path(config, issue_date)
    with draft_lock(config, issue_date):
        before = _read_bytes(path)
        current = read_draft(path)
        text = with_statuses(current, changes)
        if not current.fast or any(c.node is not None for c in current.candidates):
            parse_draft(path, text)
        write_checked(path, before, text)


def candidate_ids(config: Config, issue_date: date) -> list[str]:
    """The draft's candidate ids, best first (rejected ones left out)."""
    current = read_draft(draft_path(config, issue_date))
    return [c.id for c in current.candidates if c.id and c.status != "rejected"]


def draft_counts(config: Config) -> dict[str, Any] | None:
    """The newest draft's counts for `digest status`; None when there is no draft."""
    paths = sorted(config.issues_dir.glob(f"*/{DRAFT_NAME}"))
    if not paths:
        return None
    try:
        current = read_draft(paths[-1])
    except DigestError as exc:
        return {"path": str(paths[-1]), "counts": {}, "stories": 0, "error": str(exc)}
    return {"path": str(paths[-1]), "counts": status_counts(current.candidates),
            "stories": len(current.stories)}


# --- the issue as published ---------------------------------------------------------------


def _host_name(url: str) -> str:
    host = urlsplit(url).netloc.lower().removeprefix("www.")
    return host or url


def _anchor(headline: str, index: int, taken: set[str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", headline.lower()).strip("-")[:60].strip("-")
    base = slug or f"story-{index + 1}"
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


@dataclass(frozen=True)
class Resolver:
    """Turns a story source (candidate id or URL) into a link named by its outlet."""

    by_id: Mapping[str, DraftCandidate]
    names_by_link: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, current: DraftFile) -> Resolver:
        names: dict[str, str] = {}
        for cand in current.candidates:
            for text in cand.also:
                name, _, url = text.rpartition(": ")
                if name and "://" in url:
                    names.setdefault(link_key(url), name)
        for cand in current.candidates:
            if cand.url:
                names[link_key(cand.url)] = cand.source or _host_name(cand.url)
        return cls(by_id=current.by_id(), names_by_link=names)

    def link(self, source: str) -> SourceLink | None:
        cand = self.by_id.get(source)
        if cand is not None and cand.url:
            return SourceLink(name=cand.source or _host_name(cand.url), url=cand.url)
        if is_url(source):
            name = self.names_by_link.get(link_key(source)) or _host_name(source)
            return SourceLink(name=name, url=source)
        return None


def is_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def picked_without_story(current: DraftFile) -> list[DraftCandidate]:
    """Picked candidates no story refers to, best first: they become stories themselves."""
    referenced = current.referenced()
    links = {link_key(r) for r in referenced if is_url(r)}
    return [c for c in current.candidates if c.status == "picked" and c.id not in referenced
            and link_key(c.url) not in links]


def issue_from_draft(current: DraftFile, config: Config, issue_date: date) -> Issue:
    """Resolve a parsed draft into the Issue the renderers take."""
    window = issue_window(config, issue_date)
    resolver = Resolver.of(current)
    taken: set[str] = set()
    stories: list[IssueStory] = []
    for story in current.stories:
        links = tuple(link for s in story.sources if (link := resolver.link(s)) is not None)
        section = story.section
        if section is None and story.sources and story.sources[0] in resolver.by_id:
            section = resolver.by_id[story.sources[0]].section
        stories.append(IssueStory(headline=story.headline, body=story.body, sources=links,
                                  section=section, anchor=_anchor(story.headline, len(stories),
                                                                  taken)))
    for cand in picked_without_story(current):
        link = resolver.link(cand.id)
        stories.append(IssueStory(
            headline=cand.title, body=cand.summary, sources=(link,) if link else (),
            section=cand.section, anchor=_anchor(cand.title, len(stories), taken),
        ))
    header = current.header
    preheader = _text(header.get("preheader")) or " · ".join(s.headline for s in stories[:2])
    image = _text(header.get("image")) or None
    return Issue(
        date=issue_date,
        title=_text(header.get("title")) or issue_title(config, window),
        volume=window.volume,
        number=window.number,
        stories=tuple(stories),
        preheader=preheader,
        intro=_text(header.get("intro")),
        image=image,
        image_alt=_text(header.get("image_alt")),
        image_credit=_text(header.get("image_credit")),
    )


def load_issue(config: Config, issue_date: date) -> Issue:
    """The issue of `issue_date` from its draft (DraftError if missing or broken)."""
    return issue_from_draft(read_draft(draft_path(config, issue_date)), config, issue_date)


def draft_dates(config: Config) -> list[date]:
    return [day for day, _ in dated_files(config, DRAFT_NAME)]


def suggest(key: str, valid: Sequence[str]) -> str:
    near = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    return f"did you mean `{near[0]}`?" if near else f"valid keys: {', '.join(valid)}"



# --- checks before publishing (`digest check`) --------------------------------------------

MAX_HEADLINE = 90
BODY_WORDS = (40, 200)
RECENT_ISSUES = 6
PUBLISHED_NAME = "published.json"
_TRACKING = re.compile(
    r"^(utm_\w*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|twclid|igshid|mc_cid|mc_eid"
    r"|_hsenc|_hsmi|mkt_tok|oly_enc_id|oly_anon_id|vero_id|_ga|_gl|ocid|cmpid|s_cid)$",
    re.IGNORECASE,
)
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"')\]]+")
_CJK = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")


def word_count(text: str) -> float:
    """Words of a paragraph; a Japanese character counts as half a word."""
    return sum(0.5 if re.match(f"[{_CJK}]", w) else 1 for w in _WORD.findall(text))


def tracking_params(url: str) -> list[str]:
    query = urlsplit(url).query
    names = [part.split("=", 1)[0] for part in query.split("&") if part]
    return [name for name in names if _TRACKING.match(name)]


def published_links(config: Config, issue_date: date) -> dict[str, date]:
    """Links of the last published issues before `issue_date` (link key -> issue date).

    Read defensively: a published.json this code cannot follow is skipped, not fatal.
    """
    issues = [(day, path) for day, path in dated_files(config, PUBLISHED_NAME)
              if day < issue_date]
    links: dict[str, date] = {}
    for day, path in issues[-RECENT_ISSUES:]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for url in _urls_in(data.get("stories") if isinstance(data, dict) else None):
            links.setdefault(link_key(url), day)
    return links


def _urls_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "url" and isinstance(value, str) and is_url(value):
                yield value
            else:
                yield from _urls_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _urls_in(value)


def check_draft(current: DraftFile, config: Config, issue_date: date, *,
                published: Mapping[str, date] | None = None) -> list[Problem]:
    """Every problem of one parsed draft, each with its line."""
    where = str(current.path)
    out: list[Problem] = []

    def add(line: int | None, message: str, severity: str = "error") -> None:
        out.append(Problem(where, line, message, severity))  # type: ignore[arg-type]

    for line, message in current.problems:
        add(line, message)
    for key, line in current.header_lines.items():
        if key not in HEADER_KEYS:
            add(line, f"unknown key `{key}`; {suggest(key, HEADER_KEYS)}")
    written = _text(current.header.get("date"))
    if written and written != issue_date.isoformat():
        add(current.header_lines.get("date"), f"date {written} differs from the issue folder"
            f" {issue_date}; the folder's date is used", "warning")
    by_id: dict[str, DraftCandidate] = {}
    for cand in current.candidates:
        _check_candidate(cand, by_id, add)
    for story in current.stories:
        _check_story(story, by_id, add)
    links: list[tuple[str, int | None]] = []
    resolver = Resolver.of(current)
    for story in current.stories:
        for source, line in zip(story.sources, story.source_lines, strict=False):
            if (link := resolver.link(source)) is not None:
                links.append((link.url, line))
        links += [(url, story.line_of("body")) for url in _URL_IN_TEXT.findall(story.body)]
    for cand in picked_without_story(current):
        _check_auto_story(cand, add)
        if cand.url:
            links.append((cand.url, cand.line_of("url")))
    image = _text(current.header.get("image"))
    if image and is_url(image):
        links.append((image, current.header_lines.get("image")))
    elif image:
        _check_image_file(current, image, add)
    _check_links(links, published or {}, add)
    if not current.stories and not picked_without_story(current):
        add(current.stories_line or 1, "the issue has no stories; write some under `stories:`"
            " or set candidates' status to picked")
    return out


def _check_candidate(cand: DraftCandidate, by_id: dict[str, DraftCandidate], add: Any) -> None:
    if not cand.id:
        add(cand.line, "a candidate without `id`; give it one or delete the entry")
    elif cand.id in by_id:
        add(cand.line, f"candidate id {cand.id!r} appears twice (first on line "
                       f"{by_id[cand.id].line}); delete one of them")
    else:
        by_id[cand.id] = cand
    if cand.status not in CANDIDATE_STATUSES:
        near = difflib.get_close_matches(cand.status, CANDIDATE_STATUSES, n=1, cutoff=0.5)
        choices = ", ".join(CANDIDATE_STATUSES)
        hint = f"did you mean `{near[0]}`?" if near else f"use one of {choices}"
        add(cand.line_of("status"), f"status {cand.status!r} of {cand.id!r} is unknown; {hint}")
    for key, _ in cand.extra:
        add(cand.line_of(key), f"unknown key `{key}` in candidate {cand.id!r}; "
                               f"{suggest(key, CANDIDATE_KEYS)}")


def _check_story(story: DraftStory, by_id: Mapping[str, DraftCandidate], add: Any) -> None:
    for key, line in story.unknown:
        add(line, f"unknown key `{key}` in a story; {suggest(key, STORY_KEYS)}")
    if not story.headline:
        add(story.line, "a story without a headline; add `headline:`")
    elif len(story.headline) > MAX_HEADLINE:
        add(story.line_of("headline"), f"headline is {len(story.headline)} characters; keep it"
                                       f" to {MAX_HEADLINE} or fewer")
    if not story.body:
        add(story.line, "a story without a body; add a one-paragraph `body:`")
    else:
        _check_words(story.body, story.line_of("body"), add)
    for source, line in zip(story.sources, story.source_lines, strict=False):
        cand = by_id.get(source)
        if cand is None and not is_url(source):
            add(line, f"source {source!r} is neither a candidate id of this draft nor an"
                      " http(s) URL; copy the id from `candidates:` or paste the link")
        elif cand is not None and cand.status == "rejected":
            add(line, f"source {source!r} is a rejected candidate", "warning")
    if not story.sources:
        add(story.line, "a story without sources; add `sources: [candidate id or URL]`",
            "warning")


def _check_words(body: str, line: int | None, add: Any) -> None:
    low, high = BODY_WORDS
    words = word_count(body)
    if not low <= words <= high:
        add(line, f"body has {words:.0f} words; aim for {low}-{high}", "warning")


def _check_auto_story(cand: DraftCandidate, add: Any) -> None:
    # A picked candidate without a story is published with its title and summary.
    if len(cand.title) > MAX_HEADLINE:
        add(cand.line_of("title"), f"picked candidate {cand.id!r} becomes a story but its title"
                                   f" is {len(cand.title)} characters (max {MAX_HEADLINE});"
                                   " shorten it or write a story", "warning")
    if not cand.summary:
        add(cand.line, f"picked candidate {cand.id!r} has no summary to publish; write a"
                       " story for it", "warning")


def _check_image_file(current: DraftFile, image: str, add: Any) -> None:
    folder = current.path.parent.resolve()
    target = (folder / image).resolve()
    if folder not in target.parents or not target.is_file():
        add(current.header_lines.get("image"), f"image {image!r} is not a file in "
                                               f"{current.path.parent}; add it or use a URL")


def _check_links(links: Sequence[tuple[str, int | None]], published: Mapping[str, date],
                 add: Any) -> None:
    seen: dict[str, int | None] = {}
    for url, line in links:
        if params := tracking_params(url):
            add(line, f"link {url} keeps tracking parameters ({', '.join(params)}); remove them")
        key = link_key(url)
        if key in seen:
            add(line, f"link {url} is already in this issue (line {seen[key]}); use it once")
        else:
            seen[key] = line
        if key in published:
            add(line, f"link {url} was already published in the issue of {published[key]}")


def check_project(config: Config, issue_date: date | None = None) -> list[Problem]:
    """Every problem of the draft of `issue_date`, or of every draft not yet published."""
    if issue_date is not None:
        days = [issue_date]
    else:
        days = [d for d in draft_dates(config)
                if not (issue_dir(config, d) / PUBLISHED_NAME).exists()]
    problems: list[Problem] = []
    for day in days:
        path = draft_path(config, day)
        try:
            current = read_draft(path)
        except DraftError as exc:
            message = exc.message if exc.column is None else f"column {exc.column}: {exc.message}"
            problems.append(Problem(str(exc.path or path), exc.line, message))
            continue
        problems += check_draft(current, config, day, published=published_links(config, day))
    return problems
