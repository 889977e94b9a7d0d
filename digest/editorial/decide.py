"""Recording a decision (`id: status` under `decisions:`) in the editor's part. Pure.

The only edit the program makes to text the editor owns, and the smallest one: the status
value the parser located is replaced in place, or one `id: status` entry is added to the
`decisions:` mapping (a new line below its last entry, or inside its braces). The result
is read again and must differ from the original in exactly that decision; otherwise the
edit is refused and the editor is told to write it by hand.
"""

from __future__ import annotations

from digest.editorial.draftfile import DraftFile, key_text, parse_draft
from digest.editorial.located import Node
from digest.editorial.schema import DraftStory
from digest.errors import DraftError


def _line_end(text: str, index: int) -> int:
    """The index just after the line break ending the line that holds `index`."""
    at = text.find("\n", index)
    return len(text) if at < 0 else at + 1


def _added(text: str, node: Node | None, key: Node | None, entry: str, newline: str) -> str:
    """`text` with `entry` (`id: status`) added to the decisions mapping `node`."""
    if key is None:  # no `decisions:` yet: a new top-level key at the end of the part
        lead = "" if not text or text.endswith("\n") else newline
        return f"{text}{lead}decisions:{newline}  {entry}{newline}"
    if node is None or node.is_null:
        if node is not None and node.end > node.start:  # `decisions: ~`
            return text[: node.start] + "{" + entry + "}" + text[node.end :]
        at = _line_end(text, key.start)
        lead = "" if text[:at].endswith("\n") else newline
        return f"{text[:at]}{lead}  {entry}{newline}{text[at:]}"
    if node.flow:  # {a: picked} -> {a: picked, id: status}
        close = text.rindex("}", node.start, node.end)
        sep = ", " if node.pairs else ""
        return text[:close] + sep + entry + text[close:]
    last_key, last_value = (node.pairs or [])[-1]
    column = last_key.start - text.rfind("\n", 0, last_key.start) - 1
    at = _line_end(text, max(last_value.end - 1, last_value.start))
    lead = "" if text[:at].endswith("\n") else newline
    return f"{text[:at]}{lead}{' ' * column}{entry}{newline}{text[at:]}"


def with_decision(current: DraftFile, cand_id: str, status: str) -> str:
    """The editor's part with `cand_id` decided as `status` (DraftError if not possible)."""
    text = current.editor_text
    decisions = current.editor.decisions
    found = decisions.get(cand_id)
    if found is not None:
        value = found.value
        edited = text[: value.start] + status + text[value.end :]
    else:
        entry = f"{key_text(cand_id)}: {status}"
        edited = _added(
            text,
            current.editor.decisions_node,
            current.editor.decisions_key,
            entry,
            current.newline,
        )
    _verify(current, edited, cand_id, status)
    return edited


def _verify(current: DraftFile, edited: str, cand_id: str, status: str) -> None:
    """Refuse an edit whose result does not read as the old draft plus this one decision."""
    try:
        after = parse_draft(current.path, current.bom + edited + current.program_text)
    except DraftError:
        after = None
    wanted = {k: d.status for k, d in current.editor.decisions.items()} | {cand_id: status}
    same = (
        after is not None
        and not after.errors
        and {k: d.status for k, d in after.editor.decisions.items()} == wanted
        and after.editor.header == current.editor.header
        and after.editor.date == current.editor.date
        and [_story_values(s) for s in after.stories] == [_story_values(s) for s in current.stories]
    )
    if not same:
        raise DraftError(
            f"cannot record `{cand_id}: {status}` in this draft's `decisions:` (it is written"
            " in a form this command does not edit); add the line by hand",
            path=current.path,
            line=current.editor.header_lines.get("decisions"),
        )


def _story_values(story: DraftStory) -> tuple[object, ...]:
    return (story.headline, story.body, story.sources, story.section)
