"""Property tests: the fast candidate-list parser and emitter agree with ruamel.yaml.

The draft's `candidates:` list is read and written by a line parser of its own (for
speed). Hypothesis writes lists the way an editor might (any quoting style, block
scalars, flow lists, comments at the end of a line and above a key, keys reordered or
deleted, CRLF line ends, a byte-order mark) and the tests check that the fast path reads
the values ruamel.yaml reads, and that a rewrite keeps every value and every comment.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from digest.editorial import draft, draftfile

PATH = Path("/nonexistent/issues/2026-11-15/draft.yaml")
HEAD = 'title: "Vol 4.22"\nstories: []  # none yet\n\n'
VALUE_KEYS = (
    "id",
    "status",
    "title",
    "url",
    "source",
    "published",
    "score",
    "section",
    "summary",
    "lang",
    "held_from",
)
# Text an editor or a feed could produce: YAML's indicators, quotes, CJK, emoji, tabs, breaks.
ALPHABET = st.sampled_from(
    list("abcXYZ019 :#'\"-?[]{},&*!|>%@`~\\/.\t\n日米首脳会談、。🇯🇵é\u00a0\u3000")
)
TEXT = st.text(ALPHABET, max_size=30) | st.text(max_size=20)
# DRAFT_EXAMPLES=5000 for a longer hunt than the suite's quick one.
SETTINGS = settings(
    max_examples=int(os.environ.get("DRAFT_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _ruamel() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def reference(text: str) -> list[dict[str, Any]]:
    """The candidate list as ruamel.yaml reads the whole file, normalised like the draft."""
    data = _ruamel().load(text)
    out = []
    for node in data.get("candidates") or []:
        values = {str(k): v for k, v in node.items()}
        out.append(view(draftfile._candidate({"values": values, "line": None, "key_lines": {}})))
    return out


def view(cand: draft.DraftCandidate) -> dict[str, Any]:
    """What a candidate holds, without where it sits in the file."""
    values = {key: getattr(cand, key) for key in VALUE_KEYS}
    values.update(
        why=cand.why, also=cand.also, extra=tuple((k, draft.as_text(v)) for k, v in cand.extra)
    )
    return values


# --- values written by this module ---------------------------------------------------------


@SETTINGS
@given(TEXT)
def test_any_string_written_as_a_scalar_reads_back_the_same(value: str) -> None:
    scalar = draft.yaml_scalar(value)
    assert draftfile._scalar_value(scalar) == (True, value)
    loaded = YAML(typ="safe").load(f"key: {scalar}\n")["key"]
    assert loaded == value


candidates_written = st.builds(
    draft.DraftCandidate,
    id=st.text("abcdef0123456789", min_size=1, max_size=8),
    status=st.sampled_from(["new", "picked", "rejected", "held"]),
    title=TEXT.map(str.strip),
    url=TEXT.map(str.strip),
    source=TEXT.map(str.strip),
    published=TEXT.map(str.strip),
    summary=TEXT.map(str.strip),
    score=st.floats(0, 99, allow_nan=False).map(lambda f: round(f, 2)),
    section=st.none() | TEXT.map(str.strip).filter(bool),
    why=st.lists(TEXT.map(str.strip).filter(bool), max_size=3).map(tuple),
    also=st.lists(TEXT.map(str.strip).filter(bool), max_size=3).map(tuple),
)


@SETTINGS
@given(st.lists(candidates_written, max_size=4))
def test_the_fast_layout_reads_back_through_both_parsers(
    cands: list[draft.DraftCandidate],
) -> None:
    block = draft.emit_block_fast(cands)
    assert block is not None
    current = draft.parse_draft(PATH, HEAD + block)
    assert current.fast
    assert all(c.node is None for c in current.candidates)  # no entry needed the fallback
    assert [view(c) for c in current.candidates] == [view(c) for c in cands]
    assert reference(HEAD + block) == [view(c) for c in cands]


# --- lists in the editor's own styles ------------------------------------------------------

STYLES = ("plain", "single", "double", "literal", "folded")


def styled(value: str, style: str) -> Any:
    if style == "single":
        return SingleQuotedScalarString(value)
    if style == "double":
        return DoubleQuotedScalarString(value)
    # Block scalars hold printable text only (ruamel.yaml would write others unreadably).
    block = value.strip() and value.replace("\n", "").isprintable()
    if style == "literal" and block:
        return LiteralScalarString(value.strip() + "\n")
    if style == "folded" and block:
        return FoldedScalarString(value.strip() + "\n")
    return value  # ruamel.yaml picks plain when it can, else quotes


@st.composite
def editor_entry(draw: st.DrawFn, index: int) -> CommentedMap:
    """One candidate as an editor may leave it: styles, comments, keys moved or deleted."""
    values: dict[str, Any] = {
        "id": f"id{index}",
        "status": draw(st.sampled_from(["new", "picked", "rejected", "held", ""])),
        "title": draw(TEXT),
        "url": draw(TEXT),
        "source": draw(TEXT),
        "published": draw(TEXT),
        "score": draw(st.sampled_from([0, 1.5, 7, 12.25])),
        "section": draw(st.none() | TEXT),
        "summary": draw(TEXT),
        "why": draw(st.lists(TEXT, max_size=2)),
        "also": draw(st.lists(TEXT, max_size=2)),
    }
    keys = list(values)
    if draw(st.booleans()):
        keys = draw(st.permutations(keys))
    deleted = draw(st.sets(st.sampled_from([k for k in keys if k != "id"]), max_size=3))
    node = CommentedMap()
    for key in keys:
        if key in deleted:
            continue
        value = values[key]
        if isinstance(value, list):
            seq = CommentedSeq(styled(v, draw(st.sampled_from(STYLES[:3]))) for v in value)
            if value and draw(st.booleans()):
                seq.fa.set_flow_style()
            node[key] = seq
        elif isinstance(value, str):
            node[key] = styled(value, draw(st.sampled_from(STYLES)))
        else:
            node[key] = value
    for key in list(node):
        if isinstance(node[key], (LiteralScalarString, FoldedScalarString)):
            continue  # a comment after `|` is legal but ruamel.yaml does not place it
        if draw(st.integers(0, 4)) == 0:
            node.yaml_add_eol_comment(f"# note {index} {key}: ok?", key)
        elif draw(st.integers(0, 5)) == 0:
            node.yaml_set_comment_before_after_key(key, before=f"above {index} {key}", indent=4)
    return node


@st.composite
def editor_draft(draw: st.DrawFn) -> str:
    count = draw(st.integers(0, 4))
    seq = CommentedSeq(draw(editor_entry(i)) for i in range(count))
    data = CommentedMap(candidates=seq)
    buffer = io.StringIO()
    yaml = _ruamel()
    if draw(st.integers(0, 3)) == 0:  # the whole list in another indentation (`- id:`)
        yaml.indent(mapping=2, sequence=2, offset=0)
    yaml.dump(data, buffer)
    text = HEAD + buffer.getvalue()
    try:  # ruamel.yaml's emitter has corners it cannot read back ("?'" in a flow list)
        _ruamel().load(text)
    except YAMLError:
        assume(False)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.integers(0, 5)) == 0:
        text = "\ufeff" + text
    return text


def comments_of(text: str) -> list[str]:
    """The generated comments in a text (values never hold these words after `# `)."""
    return re.findall(r"# ((?:note|above) \d+ [a-z_]+)", text)


@SETTINGS
@given(editor_draft())
def test_the_fast_parser_reads_what_ruamel_reads(text: str) -> None:
    current = draft.parse_draft(PATH, text)
    assert [view(c) for c in current.candidates] == reference(text)


@SETTINGS
@given(editor_draft(), st.data())
def test_a_rewrite_keeps_every_value_and_comment_and_settles(
    text: str, data: st.DataObject
) -> None:
    current = draft.parse_draft(PATH, text)
    # A refresh changes only score, why and also; everything else must come back as it was.
    refreshed = [
        replace(
            c,
            score=data.draw(st.sampled_from([c.score, 3.0, 4.75])),
            why=data.draw(st.sampled_from([c.why, ("new reason: +1",)])),
            also=c.also,
        )
        for c in current.candidates
    ]
    block = draft._emit(current, refreshed)
    out = draft.with_line_ending(
        current.head + block + current.tail, draft.line_ending(current.text)
    )
    assert [view(c) for c in refreshed] == reference(out)
    assert sorted(comments_of(out)) == sorted(comments_of(text))
    if "\r\n" in text:
        assert "\n" not in out.replace("\r\n", "")
    # Rewrites settle: the first may move an entry into the fast layout (and its quoting),
    # after that the file stays as it is.
    texts = [out]
    for _ in range(2):
        again = draft.parse_draft(PATH, texts[-1])
        assert [view(c) for c in again.candidates] == [view(c) for c in refreshed]
        assert sorted(comments_of(again.text)) == sorted(comments_of(out))
        block = draft._emit(again, again.candidates)
        texts.append(
            draft.with_line_ending(again.head + block + again.tail, draft.line_ending(texts[-1]))
        )
    assert texts[2] == texts[1]


@SETTINGS
@given(editor_draft(), st.data())
def test_a_status_edit_changes_that_status_and_nothing_else(text: str, data: st.DataObject) -> None:
    current = draft.parse_draft(PATH, text)
    assume(current.candidates)
    target = data.draw(st.sampled_from([c.id for c in current.candidates]))
    status = data.draw(st.sampled_from(["new", "picked", "rejected", "held"]))
    # Only a status (or, with no status, an id as the entry's last key) written as a block
    # scalar is left to the editor.
    keys = dict(current.by_id()[target].key_lines)
    line = keys.get("status", keys["id"])
    block_style = draft.text_lines(current.text)[line - 1].split(":", 1)[1].strip()[:1] in (
        "|",
        ">",
    )
    try:
        edited = draft.with_statuses(current, {target: status})
    except draft.DraftError:
        assert block_style  # only a block-scalar status is left to the editor
        return
    after = draft.parse_draft(PATH, edited)
    expected = [
        dict(view(c), status=status) if c.id == target else view(c) for c in current.candidates
    ]
    assert [view(c) for c in after.candidates] == expected
    assert comments_of(edited) == comments_of(text)
