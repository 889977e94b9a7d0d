"""YAML text -> a tree of located nodes, refusing what a draft never needs before it costs.

    guard   more than MAX_BYTES, an anchor or alias (the alias bomb), nesting deeper than
            the draft's schema, more than one document: refused with the line, before any
            value is built
    build   ruamel.yaml's event stream (its documented `YAML.parse`) -> Node: every scalar
            stays text, with its line and its character span, so the schema decides types
            and an edit can replace exactly one value

Nothing here constructs Python objects from tags, so no tag or value can run code or explode.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
)

MAX_BYTES = 2_000_000
MAX_DEPTH = 4  # mapping > stories > story > sources: the deepest a draft goes

Kind = Literal["scalar", "map", "seq"]


class YamlRefused(Exception):
    """The text is not YAML a draft may hold; `line` is 1-based (None: the whole file)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class Node:
    """One YAML node: a scalar's text, or a mapping's (key, value) pairs, or a list's items."""

    kind: Kind
    line: int  # 1-based, of the node's first character
    start: int  # character offsets in the parsed text
    end: int
    text: str = ""  # scalars only
    plain: bool = False  # a plain (unquoted) scalar: `~`, `null` and empty mean nothing
    flow: bool = False  # collections only: written as {...} or [...]
    pairs: list[tuple[Node, Node]] | None = None
    items: list[Node] | None = None

    @property
    def is_null(self) -> bool:
        return self.kind == "scalar" and self.plain and self.text in ("", "~", "null", "Null")


def check_size(data: bytes, what: str = "the draft") -> None:
    if len(data) > MAX_BYTES:
        raise YamlRefused(
            f"{what} is {len(data) / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} MB a draft"
            " may be; move long text out of it or start it again with `digest draft`",
            None,
        )


def parse_located(text: str, *, first_line: int = 1, max_depth: int = MAX_DEPTH) -> Node | None:
    """The document of `text` as located nodes (None for an empty document).

    `first_line` is the line number of the text's first line in its file.
    """
    check_size(text.encode("utf-8", "surrogatepass"))
    offset = first_line - 1
    stack: list[tuple[Node, list[Node]]] = []
    root: Node | None = None
    documents = 0
    try:
        for event in YAML(typ="rt").parse(io.StringIO(text)):
            line = event.start_mark.line + 1 + offset
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                raise YamlRefused(
                    "uses a YAML anchor or alias (& or *); a draft has no use for them:"
                    " write the value out in full",
                    line,
                )
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise YamlRefused(
                        "holds a second YAML document (a `---` line); a draft is one"
                        " document: delete the `---` line and what follows it or merge them",
                        line,
                    )
                continue
            if isinstance(event, CollectionStartEvent):
                if len(stack) >= max_depth:
                    raise YamlRefused(
                        f"nests deeper than a draft goes ({max_depth} levels); check the"
                        " indentation here",
                        line,
                    )
                kind: Kind = "map" if isinstance(event, MappingStartEvent) else "seq"
                node = Node(
                    kind,
                    line,
                    event.start_mark.index,
                    event.end_mark.index,
                    flow=bool(event.flow_style),
                    pairs=[] if kind == "map" else None,
                    items=[] if kind == "seq" else None,
                )
                root = _attach(stack, node, root)
                stack.append((node, []))
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                node, _ = stack.pop()
                node.end = event.end_mark.index
            elif isinstance(event, ScalarEvent):
                scalar = Node(
                    "scalar",
                    line,
                    event.start_mark.index,
                    event.end_mark.index,
                    text=event.value,
                    plain=event.style is None,
                )
                root = _attach(stack, scalar, root)
    except YamlRefused as exc:
        if exc.line is not None and exc.line <= offset:
            exc.line = first_line
        raise
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = mark.line + 1 + offset if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        column = f" (column {mark.column + 1})" if mark is not None else ""
        raise YamlRefused(
            f"is not valid YAML{column}: {what}; check the indentation and quoting here", where
        ) from exc
    except (YAMLError, RecursionError, ValueError) as exc:
        raise YamlRefused(f"is not valid YAML ({exc}); check the file's last edits", None) from exc
    return root


def _attach(stack: list[tuple[Node, list[Node]]], node: Node, root: Node | None) -> Node | None:
    """Put `node` into the collection being built (as a key, a value or an item)."""
    if not stack:
        return node
    parent, pending = stack[-1]
    if parent.kind == "seq":
        assert parent.items is not None
        parent.items.append(node)
    elif pending:
        assert parent.pairs is not None
        parent.pairs.append((pending.pop(), node))
    else:
        pending.append(node)
    return root
