"""The draft's schema: located YAML nodes -> typed values, every mismatch a located problem.

    read_editor_part    the editor's keys: date, image..., decisions, stories
    read_program_part   the program's keys: candidates, near_misses

Each value is checked for its type (text, a list, a mapping, a date, a decision); a wrong
one becomes a Problem with its line and what to do, and the value is left out. Nothing is
ever raised for content: the caller decides whether a problem stops it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from digest.editorial.located import Node
from digest.models import Outlet

HEADER_TEXT_KEYS = (
    "image",
    "image_alt",
    "image_credit",
    "preheader",
    "intro",
    "layout",  # "standard" or "digest" (the printed digest's one paragraph per story)
    "headlines_label",  # the label above the headline list, e.g. "Summit Headlines:"
    "published",  # an issue imported from an earlier series: its own publication date
)
EDITOR_KEYS = ("date", *HEADER_TEXT_KEYS, "decisions", "stories")
STORY_KEYS = ("headline", "body", "sources", "section")
DECISIONS = ("picked", "held", "rejected", "new")
PROGRAM_KEYS = ("candidates", "near_misses")
CANDIDATE_KEYS = (
    "id",
    "title",
    "url",
    "source",
    "published",
    "undated",
    "score",
    "section",
    "why",
    "also",
    "summary",
    "lang",
    "held_from",
)
OUTLET_KEYS = ("outlet", "url")

Report = Callable[[int | None, str], None]


@dataclass(frozen=True)
class DraftStory:
    """One entry of `stories:`, with the line of each key for the checks' messages."""

    headline: str
    body: str
    sources: tuple[str, ...]
    section: str | None
    line: int
    key_lines: Mapping[str, int] = field(default_factory=dict)
    source_lines: tuple[int, ...] = ()

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


@dataclass(frozen=True)
class Decision:
    """`id: status` under `decisions:`; `value` locates the status for an in-place edit."""

    id: str
    status: str
    line: int
    value: Node


@dataclass(frozen=True)
class EditorPart:
    """The values of the part of draft.yaml only the editor writes."""

    header: Mapping[str, str] = field(default_factory=dict)
    header_lines: Mapping[str, int] = field(default_factory=dict)
    date: date | None = None
    decisions: Mapping[str, Decision] = field(default_factory=dict)
    decisions_node: Node | None = None
    decisions_key: Node | None = None
    stories: tuple[DraftStory, ...] = ()
    stories_line: int | None = None


@dataclass(frozen=True)
class DraftCandidate:
    """One entry of the program's candidate list."""

    id: str
    title: str = ""
    url: str = ""
    source: str = ""
    published: str = ""
    dated: bool = True
    score: float = 0.0
    section: str | None = None
    why: tuple[str, ...] = ()
    also: tuple[Outlet, ...] = ()
    summary: str = ""
    lang: str = "en"
    held_from: str | None = None
    line: int | None = None
    key_lines: Mapping[str, int] = field(default_factory=dict, compare=False)

    def line_of(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)


@dataclass(frozen=True)
class ProgramPart:
    candidates: tuple[DraftCandidate, ...] = ()
    near_misses: tuple[DraftCandidate, ...] = ()


def suggest(key: str, valid: Sequence[str]) -> str:
    near = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    return f"did you mean `{near[0]}`?" if near else f"valid keys: {', '.join(valid)}"


# Keys of the one-part drafts written before the editor's and the program's parts split.
_OLD_LAYOUT = {
    "candidates": "the candidate list is now the program's, below the `# ==== digest:"
    " candidates` line: write each decision as `ID: picked` under `decisions:`, delete this"
    " list and run `digest draft`",
    "title": "the title comes from feeds.yaml (`digest.title`, `first_year`,"
    " `first_number`); delete this line",
    "window": "the window is computed and shown below the marker line; delete this line",
}


def _advice(name: str, valid: Sequence[str]) -> str:
    old = _OLD_LAYOUT.get(name) if "decisions" in valid else None
    return old or suggest(name, valid)


def _kind(node: Node) -> str:
    return {"map": "a mapping", "seq": "a list"}.get(node.kind, "text")


def _pairs(node: Node, where: str, valid: Sequence[str], report: Report) -> dict[str, Node]:
    """A mapping's values by key; unknown, duplicate and non-text keys reported and left out."""
    out: dict[str, Node] = {}
    first_line: dict[str, int] = {}
    for key, value in node.pairs or []:
        if key.kind != "scalar":
            report(key.line, f"{where} has a key that is {_kind(key)}; keys are plain words")
            continue
        name = key.text
        if name in first_line:
            report(
                key.line,
                f"`{name}` appears twice in {where} (first on line {first_line[name]});"
                " delete one of them",
            )
            continue
        first_line[name] = key.line
        if name not in valid:
            report(key.line, f"unknown key `{name}` in {where}; {_advice(name, valid)}")
            continue
        out[name] = value
    return out


def text_of(node: Node | None, what: str, report: Report) -> str | None:
    """A scalar's text (None for a null); a mapping or list where text belongs is a problem."""
    if node is None or node.is_null:
        return None
    if node.kind != "scalar":
        report(node.line, f"`{what}` must be text, not {_kind(node)}; write it on one line")
        return None
    return node.text


def _texts(node: Node | None, what: str, report: Report) -> list[tuple[str, int]]:
    if node is None or node.is_null:
        return []
    if node.kind != "seq":
        report(node.line, f"`{what}` must be a list, e.g. `{what}: [first, second]`")
        return []
    out = []
    for item in node.items or []:
        text = text_of(item, f"an entry of {what}", report)
        if text is not None:
            out.append((text, item.line))
    return out


def read_editor_part(root: Node | None, report: Report) -> EditorPart:
    if root is None or root.is_null:
        return EditorPart()
    if root.kind != "map":
        report(root.line, "the draft must be a mapping of keys (`date:`, `stories:` ...)")
        return EditorPart()
    values = _pairs(root, "the draft", EDITOR_KEYS, report)
    lines = {key.text: key.line for key, _ in root.pairs or [] if key.kind == "scalar"}
    header: dict[str, str] = {}
    for key in HEADER_TEXT_KEYS:
        text = text_of(values.get(key), key, report)
        if text is not None:
            header[key] = text
    decisions_key = next(
        (k for k, _ in root.pairs or [] if k.kind == "scalar" and k.text == "decisions"), None
    )
    stories_node = values.get("stories")
    return EditorPart(
        header=header,
        header_lines=lines,
        date=_date(values.get("date"), report),
        decisions=_decisions(values.get("decisions"), report),
        decisions_node=values.get("decisions"),
        decisions_key=decisions_key,
        stories=_stories(stories_node, report),
        stories_line=lines.get("stories"),
    )


def _date(node: Node | None, report: Report) -> date | None:
    text = text_of(node, "date", report)
    if text is None or node is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        report(node.line, f"date {text!r} is not a real date; write YYYY-MM-DD, e.g. 2026-12-15")
        return None


def _decisions(node: Node | None, report: Report) -> dict[str, Decision]:
    if node is None or node.is_null:
        return {}
    if node.kind != "map":
        report(node.line, "`decisions` must be a mapping of `candidate id: picked`, one a line")
        return {}
    out: dict[str, Decision] = {}
    for key, value in node.pairs or []:
        if key.kind != "scalar" or not key.text:
            report(key.line, "a decision's key must be a candidate id")
            continue
        if key.text in out:
            report(
                key.line,
                f"candidate {key.text!r} is decided twice (first on line"
                f" {out[key.text].line}); delete one of the lines",
            )
            continue
        status = text_of(value, f"decision for {key.text}", report)
        if status is None:
            report(key.line, f"no decision for {key.text!r}; write one of {', '.join(DECISIONS)}")
            continue
        if status not in DECISIONS:
            near = difflib.get_close_matches(status, DECISIONS, n=1, cutoff=0.5)
            hint = f"did you mean `{near[0]}`?" if near else f"use one of {', '.join(DECISIONS)}"
            report(value.line, f"decision {status!r} for {key.text!r} is unknown; {hint}")
            continue
        out[key.text] = Decision(key.text, status, key.line, value)
    return out


def _stories(node: Node | None, report: Report) -> tuple[DraftStory, ...]:
    if node is None or node.is_null:
        return ()
    if node.kind != "seq":
        report(node.line, "`stories` must be a list: each story starts with `- headline:`")
        return ()
    stories = []
    for item in node.items or []:
        if item.kind != "map":
            report(item.line, "a story must be a mapping with `headline:`, `body:` and `sources:`")
            continue
        values = _pairs(item, "a story", STORY_KEYS, report)
        sources = _texts(values.get("sources"), "sources", report)
        stories.append(
            DraftStory(
                headline=(text_of(values.get("headline"), "headline", report) or "").strip(),
                body=(text_of(values.get("body"), "body", report) or "").strip(),
                sources=tuple(s.strip() for s, _ in sources),
                section=(text_of(values.get("section"), "section", report) or "").strip() or None,
                line=item.line,
                key_lines={k.text: k.line for k, _ in item.pairs or [] if k.kind == "scalar"},
                source_lines=tuple(line for _, line in sources),
            )
        )
    return tuple(stories)


def read_program_part(root: Node | None, report: Report) -> ProgramPart:
    if root is None or root.is_null:
        return ProgramPart()
    if root.kind != "map":
        report(root.line, "the candidate section must be a mapping; rebuild it (see its top)")
        return ProgramPart()
    values = _pairs(root, "the candidate section", PROGRAM_KEYS, report)
    return ProgramPart(
        candidates=_candidates(values.get("candidates"), "candidates", report),
        near_misses=_candidates(values.get("near_misses"), "near_misses", report),
    )


def _candidates(node: Node | None, what: str, report: Report) -> tuple[DraftCandidate, ...]:
    if node is None or node.is_null:
        return ()
    if node.kind != "seq":
        report(node.line, f"`{what}` must be a list")
        return ()
    out = []
    for item in node.items or []:
        if item.kind != "map":
            report(item.line, f"an entry of {what} must be a mapping")
            continue
        values = _pairs(item, f"an entry of {what}", CANDIDATE_KEYS, report)
        cand_id = (text_of(values.get("id"), "id", report) or "").strip()
        if not cand_id:
            report(item.line, f"an entry of {what} without `id`; rebuild the section")
            continue

        def text(key: str, values: dict[str, Node] = values) -> str:
            return text_of(values.get(key), key, report) or ""

        out.append(
            DraftCandidate(
                id=cand_id,
                title=text("title"),
                url=text("url"),
                source=text("source"),
                published=text("published"),
                dated=text("undated") not in ("true", "yes"),
                score=_number(values.get("score"), report),
                section=text("section") or None,
                why=tuple(t for t, _ in _texts(values.get("why"), "why", report)),
                also=_outlets(values.get("also"), report),
                summary=text("summary"),
                lang=text("lang") or "en",
                held_from=text("held_from") or None,
                line=item.line,
                key_lines={k.text: k.line for k, _ in item.pairs or [] if k.kind == "scalar"},
            )
        )
    return tuple(out)


def _number(node: Node | None, report: Report) -> float:
    text = text_of(node, "score", report)
    if text is None or node is None:
        return 0.0
    try:
        return float(text)
    except ValueError:
        report(node.line, f"score {text!r} is not a number")
        return 0.0


def _outlets(node: Node | None, report: Report) -> tuple[Outlet, ...]:
    if node is None or node.is_null:
        return ()
    if node.kind != "seq":
        report(node.line, "`also` must be a list of `outlet:` and `url:` pairs")
        return ()
    out = []
    for item in node.items or []:
        if item.kind != "map":
            report(item.line, "an entry of `also` must have `outlet:` and `url:`")
            continue
        values = _pairs(item, "an entry of also", OUTLET_KEYS, report)
        name = text_of(values.get("outlet"), "outlet", report) or ""
        url = text_of(values.get("url"), "url", report) or ""
        out.append(Outlet(name, url))
    return tuple(out)
