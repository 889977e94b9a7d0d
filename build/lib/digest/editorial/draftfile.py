"""The draft file's YAML: issues/DATE/draft.yaml read into values, the candidate list written.

    parse_draft     text -> DraftFile: the editor's part (head, tail) kept verbatim and read
                    round-trip for values and line numbers; the `candidates:` list read by
                    parse_block_fast, or by ruamel.yaml when the editor used other styles
    emit_block_*    candidates -> the `candidates:` list's text (fast layout, or ruamel.yaml
                    keeping the editor's styles and comments)

Why a line parser: ruamel.yaml's round trip keeps comments and formatting but needs seconds
per thousand candidates. The list is read by a strict line parser when it is in the layout
this module writes (editor comments included, each kept with its candidate); an entry in
another YAML style (block scalars, flow lists, other indents) is read and written back by
ruamel.yaml alone, and a list of another shape by ruamel.yaml whole. Either way the values
read are the values ruamel.yaml reads (tests/test_draft_roundtrip.py proves it).
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from digest.config import item_line, key_line
from digest.errors import DraftError

HEADER_KEYS = ("title", "date", "window", "image", "image_alt", "image_credit", "preheader",
               "intro", "stories", "candidates")
STORY_KEYS = ("headline", "body", "sources", "section")
CANDIDATE_KEYS = ("id", "status", "title", "url", "source", "published", "score", "section",
                  "why", "also", "summary", "lang", "held_from")
_LIST_KEYS = frozenset({"why", "also"})


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
    """One entry of `stories:`, with the line of each key for the checks' messages."""

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
_NEXT_TOP = re.compile(r"^(?:[A-Za-z_][\w-]*[ \t]*:(?:[ \t\r]|$)|---|\.\.\.)", re.M)  # \r: CRLF


def line_ending(text: str) -> str:
    """The file's line break: "\r\n" if its first line ends so (saved on Windows), else "\n"."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def with_line_ending(text: str, ending: str) -> str:
    """`text` with every line break made `ending`, so a rewrite never mixes the two."""
    text = text.replace("\r\n", "\n")
    return text if ending == "\n" else text.replace("\n", ending)


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
    if "'\\t'" in problem:  # ruamel.yaml shows the tab as '\t'
        advice = "replace the tab with spaces (YAML takes no tabs outside quotes)"
    else:
        advice = ("fix the indentation or quoting there (put text containing ': ' or ' #'"
                  " in double quotes)")
    return DraftError(f"{what}: {problem}; {advice}. The file was left as it is.",
                      path=path, line=line, column=column)


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
    # A byte-order mark (Notepad writes one) is not content; the status block goes on top.
    text = text.removeprefix("\ufeff")
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
        candidates = [entry.get("candidate") or _candidate(entry) for entry in entries]
    stories, stories_line, story_problems = _stories(data)
    problems += story_problems
    if "candidates" in data:
        problems.append((key_line(data, "candidates"), "a second `candidates:` list; the"
                         " program keeps the first, merge the two and delete this one"))
    header = {k: v for k, v in data.items() if k != "stories"}
    header_lines = {str(k): key_line(data, k) or 1 for k in data}
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


def as_text(value: Any) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def as_texts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(as_text(v) for v in value if v is not None and as_text(v))
    return (as_text(value),) if as_text(value) else ()


def _stories(
    data: CommentedMap,
) -> tuple[list[DraftStory], int | None, list[tuple[int | None, str]]]:
    raw = data.get("stories")
    line = key_line(data, "stories")
    problems: list[tuple[int | None, str]] = []
    if raw is None:
        return [], line, problems
    if not isinstance(raw, list):
        problems.append((line, "`stories` must be a list of `- headline: ...` entries"))
        return [], line, problems
    stories = []
    for index, node in enumerate(raw):
        story_line = item_line(raw, index) or line
        if not isinstance(node, dict):
            problems.append((story_line, "a story must be keys: headline, body, sources, section"))
            continue
        sources_node = node.get("sources")
        sources = (as_texts(sources_node) if isinstance(sources_node, list)
                   else _source_words(as_text(sources_node)))
        source_lines = tuple(
            (item_line(sources_node, i) if isinstance(sources_node, list) else None)
            or key_line(node, "sources") or story_line
            for i in range(len(sources))
        )
        unknown = tuple((str(k), key_line(node, k)) for k in node if k not in STORY_KEYS)
        section = as_text(node.get("section")) or None
        stories.append(DraftStory(
            headline=as_text(node.get("headline")),
            body=as_text(node.get("body")),
            sources=sources,
            section=section,
            line=story_line,
            key_lines=tuple((str(k), key_line(node, k) or story_line) for k in node),
            source_lines=source_lines,
            unknown=unknown,
        ))
    return stories, line, problems


def _source_words(text: str) -> tuple[str, ...]:
    """`sources: c0001, https://...` written without brackets: the ids and links in it."""
    words = (w.strip(",") for w in text.split())
    return tuple(p for w in words for p in ([w] if "://" in w else w.split(",")) if p)


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
        id=as_text(values.get("id")),
        status=as_text(values.get("status")) or "new",
        title=as_text(values.get("title")),
        url=as_text(values.get("url")),
        source=as_text(values.get("source")),
        published=as_text(values.get("published")),
        score=score,
        section=as_text(values.get("section")) or None,
        why=as_texts(values.get("why")),
        also=as_texts(values.get("also")),
        summary=as_text(values.get("summary")),
        lang=as_text(values.get("lang")) or "en",
        held_from=as_text(held) if held else None,
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
_PLAIN_CHARS = re.compile(r"[^\x00-\x1f\"\\`]+")  # fullmatch: `$` would pass a final \n
_FLOAT = re.compile(r"^-?\d+(?:\.\d+)?$")


def plain_ok(value: str) -> bool:
    """True if `value` reads back as the same string when written as a plain YAML scalar."""
    return bool(
        value
        and value[0].isalpha()
        and value[-1] not in " :"
        and _PLAIN_CHARS.fullmatch(value)
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
    raw = raw.strip(" \t")  # YAML's white space only: a no-break space is content
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
    stripped = raw.strip(" \t")
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
        end = len(stripped[:end].rstrip(" \t"))
    rest = stripped[end:]
    if rest and not _COMMENT_AFTER.match(rest):
        return None
    return stripped[:end], rest


def _is_note(line: str) -> bool:
    return not line or line.isspace() or bool(_COMMENT_LINE(line))


def _is_entry_note(line: str) -> bool:
    """A blank line, or a comment no deeper than an entry's keys (a block scalar's is)."""
    if not line or line.isspace():
        return True
    return bool(_COMMENT_LINE(line)) and len(line) - len(line.lstrip(" ")) <= 4


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
    # Comments right above an entry belong to it, not to the entry before; a `#` line
    # indented deeper than the entry's keys may be the text of a block scalar: it stays.
    ends = []
    for index, begin in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(lines)
        if index + 1 < len(starts):
            while end - 1 > begin and _is_entry_note(lines[end - 1]):
                end -= 1
        ends.append(end)
    entries = []
    previous_end = first
    for end in ends:
        chunk = lines[previous_end:end]
        number = first_line + previous_end
        entry = _parse_entry_cached("\n".join(chunk), number)
        if entry is None:
            entry = _parse_entry_rt(chunk, number)
            if entry is None:
                return None
        entries.append(entry)
        previous_end = end
    return entries, block_head


@functools.lru_cache(maxsize=8192)
def _parse_entry_cached(chunk: str, number: int) -> dict[str, Any] | None:
    """_parse_entry with its candidate, remembered: the preview re-reads the list on every
    save, where all but the entry the editor touched are as they were (never mutated)."""
    entry = _parse_entry(chunk.split("\n"), number)
    if entry is not None:
        entry["candidate"] = _candidate(entry)
    return entry


def forget_parsed_entries() -> None:
    """Drop the remembered entries (benchmarks time a cold read, as a new process does)."""
    _parse_entry_cached.cache_clear()


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
            text, after = raw.strip(" \t"), ""
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
        # Lines above the entry's first key are above the entry ("" key); the comment
        # after a value stays with its key wherever the emitter puts that key.
        if above:
            comments[key if where is None else ""] = ["".join(above), ""]
            above = []
        if after:
            comments.setdefault(key, ["", ""])[1] = after
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
    line = item_line(seq, 0)
    return {"values": {str(k): v for k, v in node.items()}, "line": line,
            "key_lines": {str(k): key_line(node, k) or line for k in node},
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
        line = item_line(seq, index)
        if not isinstance(node, dict):
            raise DraftError("each candidate must be keys such as `id:` and `status:`",
                             path=path, line=line)
        values = {str(k): v for k, v in node.items()}
        key_lines = {str(k): key_line(node, k) or line for k in node}
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


def _score(score: float) -> float | int:
    # Written as the fast layout writes it: 9, not 9.0.
    return int(score) if float(score).is_integer() else round(float(score), 2)


def _refreshed_list(node: CommentedMap, key: str, values: Sequence[str]) -> None:
    """Put the new list under `key`, quoted like the fast layout, losing no comment.

    ruamel.yaml keeps a comment with the list item above it: an item kept keeps its
    comment; the comment of an item that is gone, and the lines below the last item
    (they are above the next key), move below the new list.
    """
    old = node.get(key)
    new = CommentedSeq(DoubleQuotedScalarString(v) if not plain_ok(v) else v for v in values)
    node[key] = new
    if not isinstance(old, CommentedSeq):
        return
    new.ca.comment = old.ca.comment
    where = {value: index for index, value in enumerate(values)}
    moved: list[str] = []
    trailing = ""
    for index, item in enumerate(old):
        token = (old.ca.items.get(index) or [None])[0]
        if token is None:
            continue
        eol, _, below = token.value.partition("\n")
        if index == len(old) - 1:
            trailing, below = below, ""
        if as_text(item) in where:
            new.ca.items[where[as_text(item)]] = [
                CommentToken(f"{eol}\n{below}", CommentMark(0)), None, None, None]
            continue
        if eol.strip():
            moved.append(f"    {eol.strip()}\n")
        moved.append(below)
    footer = "".join(moved) + trailing
    if not footer.strip():
        return
    if values:
        last = new.ca.items.get(len(values) - 1)
        text = last[0].value if last else "\n"
        new.ca.items[len(values) - 1] = [CommentToken(text + footer, CommentMark(0)),
                                         None, None, None]
        return
    slots = node.ca.items.setdefault(key, [None, None, None, None])
    eol = slots[2].value if slots[2] is not None else ""
    if not eol.strip():  # the first moved line becomes the comment after `[]`
        eol, footer = footer.lstrip(" \n"), ""
    slots[2] = CommentToken(eol + footer, CommentMark(0))


def _refresh_node(node: CommentedMap, cand: DraftCandidate) -> None:
    """Only what a refresh may change: score, why, also (and a deleted id or held_from)."""
    if not as_text(node.get("id")) and cand.id:
        if "id" in node:
            node["id"] = cand.id
        else:
            node.insert(0, "id", cand.id)
    if node.get("score") != _score(cand.score):
        node["score"] = _score(cand.score)
    for key in ("why", "also"):
        values = getattr(cand, key)
        if as_texts(node.get(key)) != values:
            _refreshed_list(node, key, values)
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
    by_url: dict[str, tuple[int, CommentedMap]] = {}
    for index, node in enumerate(seq):
        if isinstance(node, CommentedMap):
            nodes.setdefault(as_text(node.get("id")), (index, node))
            by_url.setdefault(as_text(node.get("url")), (index, node))
    new_seq = CommentedSeq()
    new_seq.ca.comment = seq.ca.comment
    for new_index, cand in enumerate(candidates):
        # By url too: the merge gives an entry whose id the editor deleted its id back.
        known = nodes.get(cand.id) or (by_url.get(cand.url) if cand.url else None)
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

