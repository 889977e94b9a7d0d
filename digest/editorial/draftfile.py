"""issues/DATE/draft.yaml: two parts, each written by one side only.

    the editor's part    everything above the program's marker line: `date`, the header
                         keys, `decisions:` (candidate id: picked | held | rejected) and
                         `stories:`. The program writes it once, from a template, and after
                         that only adds or changes one `id: status` line of `decisions:`
                         when asked to (the preview's buttons); every other byte stays.
    the program's part   from the marker line to the end: the title, the news window, the
                         feed health, `candidates:` and `near_misses:`. `digest draft`
                         rewrites it whole; its last line carries a checksum, so a hand edit
                         there is noticed and the rewrite refused instead of losing it.

Why this layout rather than a YAML round trip: the program never has to re-emit text the
editor wrote, so nothing the editor wrote can be reformatted or lost, and the code needs no
comment-preserving YAML emitter at all (the one it replaces was 877 lines).

    read_draft     bytes -> guard (size, UTF-8, anchors, depth) -> DraftFile with every
                   schema problem located (DraftInvalid only for text that is refused)
    program_text   values -> the program's part, scalars double-quoted so any text is safe
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.editorial.located import YamlRefused, check_size, parse_located
from digest.editorial.schema import (
    DraftCandidate,
    DraftStory,
    EditorPart,
    ProgramPart,
    read_editor_part,
    read_program_part,
)
from digest.errors import DraftInvalid
from digest.models import Problem

BEGIN = "# ==== digest: candidates"
END = "# ==== digest: end"
BOM = "\ufeff"
PROGRAM_DEPTH = 5  # candidates > entry > also > outlet
_CHECKSUM = re.compile(r"sha256:([0-9a-f]{16})")


@dataclass(frozen=True)
class DraftFile:
    """A read draft: both parts' text as on disk, their values and every problem found."""

    path: Path
    editor_text: str  # the editor's part, exactly as on disk (without a BOM)
    program_text: str  # the program's part, markers included ("" when there is none)
    editor: EditorPart
    program: ProgramPart
    program_line: int | None = None  # line of the program's marker
    program_edited: bool = False  # its checksum does not match: edited by hand
    problems: tuple[Problem, ...] = ()
    bom: str = ""
    newline: str = "\n"

    @property
    def candidates(self) -> tuple[DraftCandidate, ...]:
        return self.program.candidates

    @property
    def stories(self) -> tuple[DraftStory, ...]:
        return self.editor.stories

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    def status(self, cand: DraftCandidate) -> str:
        """The editor's decision on a candidate; a carried-over candidate stays held."""
        decision = self.editor.decisions.get(cand.id)
        if decision is not None and decision.status != "new":
            return decision.status
        return "held" if cand.held_from and decision is None else "new"

    def by_id(self) -> dict[str, DraftCandidate]:
        out: dict[str, DraftCandidate] = {}
        for cand in self.candidates:
            out.setdefault(cand.id, cand)
        return out

    def referenced(self) -> set[str]:
        return {source for story in self.stories for source in story.sources}


def split(text: str) -> tuple[str, str]:
    """(editor's part, program's part): the program's starts at its marker line."""
    if text.startswith(BEGIN):
        return "", text
    at = text.find("\n" + BEGIN)
    return (text, "") if at < 0 else (text[: at + 1], text[at + 1 :])


def checksum(body: str) -> str:
    normalised = body.replace("\r\n", "\n")
    return hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _body_and_sum(program: str) -> tuple[str, str | None]:
    """The program's part without its end line, and the checksum the end line holds."""
    end = program.rfind("\n" + END)
    if end < 0:
        return program, None
    found = _CHECKSUM.search(program[end:])
    return program[: end + 1], found.group(1) if found else None


def decode(path: Path, data: bytes) -> str:
    try:
        check_size(data)
        text = data.decode("utf-8")
    except YamlRefused as exc:
        raise DraftInvalid(exc.message, path=path) from exc
    except UnicodeDecodeError as exc:
        raise DraftInvalid(
            f"is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8", path=path
        ) from exc
    if "\x00" in text:
        raise DraftInvalid("holds a NUL character; it is not a text file", path=path)
    return text


def parse_draft(path: Path, text: str) -> DraftFile:
    """Read a draft's text; refused text raises DraftInvalid, schema problems are collected."""
    bom = BOM if text.startswith(BOM) else ""
    editor_text, program_text = split(text[len(bom) :])
    problems: list[Problem] = []

    def report(line: int | None, message: str) -> None:
        problems.append(Problem(str(path), line, message))

    program_line = editor_text.count("\n") + 1 if program_text else None
    try:
        editor_root = parse_located(editor_text)
        program, program_problems = _read_program(str(path), program_text, program_line or 1)
    except YamlRefused as exc:
        raise DraftInvalid(exc.message, path=path, line=exc.line) from exc
    editor = read_editor_part(editor_root, report)
    problems += program_problems
    edited = False
    if program_text:
        body, stored = _body_and_sum(program_text)
        edited = stored != checksum(body)
        if edited:
            problems.append(
                Problem(
                    str(path),
                    program_line,
                    "the candidate section (from this line on) was edited by hand, and"
                    " `digest draft` rewrites it; move your changes above this line"
                    " (`decisions:` or `stories:`), or delete the section to have it rebuilt",
                    "warning",
                )
            )
    return DraftFile(
        path=path,
        editor_text=editor_text,
        program_text=program_text,
        editor=editor,
        program=program,
        program_line=program_line,
        program_edited=edited,
        problems=tuple(problems),
        bom=bom,
        newline="\r\n" if "\r\n" in editor_text else "\n",
    )


@functools.lru_cache(maxsize=4)
def _read_program(path: str, text: str, first_line: int) -> tuple[ProgramPart, list[Problem]]:
    """The program's part; remembered, since it changes only when `digest draft` runs and
    the preview and a decision re-read the same text many times."""
    problems: list[Problem] = []

    def report(line: int | None, message: str) -> None:
        problems.append(Problem(path, line, message))

    root = parse_located(text, first_line=first_line, max_depth=PROGRAM_DEPTH) if text else None
    return read_program_part(root, report), problems


def forget_read_programs() -> None:
    """Drop the remembered program parts (benchmarks time a cold read with it)."""
    _read_program.cache_clear()


def read_draft(path: Path) -> DraftFile:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise DraftInvalid(
            f"no draft here; run `digest draft --date {path.parent.name}`", path=path
        ) from exc
    return parse_draft(path, decode(path, data))


def joined(current: DraftFile, editor_text: str | None = None, program: str | None = None) -> str:
    """The file's text from its two parts, in the file's own line ending."""
    editor = current.editor_text if editor_text is None else editor_text
    rest = current.program_text if program is None else program
    if rest and editor and not editor.endswith("\n"):
        editor += current.newline
    if program is not None and current.newline != "\n":
        rest = rest.replace("\n", current.newline)
    return current.bom + editor + rest


# --- writing the program's part -----------------------------------------------------------

# What YAML takes unescaped inside double quotes; everything else is written as \uXXXX.
_NOT_PRINTABLE = re.compile(
    "[^\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


def quoted(value: str) -> str:
    """`value` as a double-quoted YAML scalar that reads back as exactly `value`."""
    text = json.dumps(value, ensure_ascii=False)
    return _NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_PLAIN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def key_text(cand_id: str) -> str:
    """A candidate id as a key or value: plain when it is a plain word, else quoted."""
    return (
        cand_id if _PLAIN_ID.fullmatch(cand_id) and cand_id not in _YAML_WORDS else quoted(cand_id)
    )


_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})


def _entry(cand: DraftCandidate) -> list[str]:
    lines = [
        f"  - id: {key_text(cand.id)}",
        f"    title: {quoted(cand.title)}",
        f"    url: {quoted(cand.url)}",
        f"    source: {quoted(cand.source)}",
        f"    published: {quoted(cand.published)}",
    ]
    if not cand.dated:
        lines.append("    undated: true  # the feed gave no date: this is when it was fetched")
    lines.append(f"    score: {cand.score:g}")
    if cand.section:
        lines.append(f"    section: {quoted(cand.section)}")
    if cand.why:
        lines.append("    why:")
        lines.extend(f"      - {quoted(w)}" for w in cand.why)
    if cand.also:
        lines.append("    also:  # every other copy of this story")
        for outlet in cand.also:
            lines.append(f"      - outlet: {quoted(outlet.name)}")
            lines.append(f"        url: {quoted(outlet.url)}")
    lines.append(f"    summary: {quoted(cand.summary)}")
    lines.append(f"    lang: {quoted(cand.lang)}")
    if cand.held_from:
        lines.append(f"    held_from: {quoted(cand.held_from)}")
    return lines


def notes_of(program: str) -> list[str]:
    """The comment block at the top of a program's part, without the marker and the "# "."""
    notes = []
    for line in program.replace("\r\n", "\n").splitlines()[1:]:
        if not line.startswith("#"):
            break
        notes.append(line[2:] if line.startswith("# ") else line[1:])
    return notes


def program_text(
    notes: Sequence[str],
    candidates: Sequence[DraftCandidate],
    near_misses: Sequence[DraftCandidate],
) -> str:
    """The program's part: a comment block of `notes`, the candidates and the near misses."""
    lines = [f"{BEGIN} (written by `digest draft`; a change below this line is refused) ===="]
    lines += [f"# {note}".rstrip() for note in notes]
    lines.append("candidates:" if candidates else "candidates: []")
    for cand in candidates:
        lines += _entry(cand)
    lines.append(
        "near_misses:  # just below the threshold; decide one to take it in"
        if near_misses
        else "near_misses: []"
    )
    for cand in near_misses:
        lines += _entry(cand)
    body = "\n".join(lines) + "\n"
    return body + f"{END} sha256:{checksum(body)} ====\n"
