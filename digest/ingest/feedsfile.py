"""Adding feeds to feeds.yaml as text: every comment, blank line and quote of it is kept.

    feeds.yaml text --feeds_block_end--> the line after the last entry of `feeds:`
    new FeedSources --entry_text-------> YAML lines in the list's own indentation, each
                                         with a comment saying when and how it was checked
    --> the text with the lines inserted, read back by digest.config before it is written

Only the inserted lines are new: the rest of the file is byte-identical, so an editor's
comments (the evidence dates of the default list) survive. A `feeds:` written in flow
style (`[...]`) is refused rather than rewritten.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from digest._util.fs import atomic_write
from digest.config import read_config
from digest.errors import ConfigError
from digest.models import FeedSource

_TOP_LEVEL_KEY = re.compile(r"^[^\s#-][^:]*:")


def append_feeds(path: Path, feeds: Sequence[FeedSource], notes: Sequence[str]) -> None:
    """Append `feeds` (each with its note as a comment) to the `feeds:` list of `path`."""
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    at, indent = _insertion_point(text, lines, path)
    block = "".join(
        line + newline
        for feed, note in zip(feeds, notes, strict=True)
        for line in entry_lines(feed, note, indent)
    )
    if at > 0 and not lines[at - 1].endswith(("\n", "\r")):
        block = newline + block
    new_text = "".join(lines[:at]) + block + "".join(lines[at:])
    _check(new_text, path)
    atomic_write(path, (b"\xef\xbb\xbf" if bom else b"") + new_text.encode("utf-8"))


def entry_lines(feed: FeedSource, note: str, indent: str) -> list[str]:
    """One feed as block-style YAML lines; strings double-quoted (JSON is valid YAML)."""
    pad = indent + "  "
    out = [f"{indent}# {line}" for line in note.splitlines() if line.strip()]
    out += [
        f"{indent}- name: {json.dumps(feed.name, ensure_ascii=False)}",
        f"{pad}url: {json.dumps(feed.url)}",
        f"{pad}lang: {feed.lang}",
        f"{pad}kind: {feed.kind}",
    ]
    if not feed.enabled:
        out.append(f"{pad}enabled: false")
    return out


def _insertion_point(text: str, lines: list[str], path: Path) -> tuple[int, str]:
    """The index of the line to insert before, and the indentation of the list's dashes."""
    try:
        raw = YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise ConfigError(f"cannot be read as YAML ({exc}); fix it first", path=path) from None
    if not isinstance(raw, CommentedMap) or "feeds" not in raw:
        raise ConfigError("has no `feeds:` list to add to; add `feeds:` first", path=path)
    key_line = int(raw.lc.key("feeds")[0])
    feeds = raw["feeds"]
    if feeds is None:
        return key_line + 1, "  "
    if not isinstance(feeds, CommentedSeq) or feeds.fa.flow_style():
        raise ConfigError(
            "`feeds:` is not a block list (one `- name: ...` per entry); write it so to add "
            "feeds with `digest feeds`",
            path=path,
            line=key_line + 1,
        )
    first = lines[int(feeds.lc.item(0)[0])] if feeds else "  - "
    indent = first[: len(first) - len(first.lstrip(" "))]
    end = len(lines)
    for index in range(key_line + 1, len(lines)):
        if _TOP_LEVEL_KEY.match(lines[index]):
            end = index
            break
    # Back over blank lines and comments that lead into the next section.
    while end > key_line + 1 and (
        not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")
    ):
        if lines[end - 1].startswith(indent + "#") and indent:
            break  # an indented comment belongs to the list
        end -= 1
    return end, indent


def _check(text: str, path: Path) -> None:
    """The new text must load as a config; else nothing is written."""
    with tempfile.TemporaryDirectory(prefix="digest-feeds-") as folder:
        trial = Path(folder) / path.name
        trial.write_text(text, encoding="utf-8")
        config, problems = read_config(trial)
    errors = [p for p in problems if p.severity == "error"]
    if config is None or errors:
        first = errors[0].message if errors else "unreadable"
        raise ConfigError(
            f"adding the feed would break the file ({first}); nothing written", path=path
        )
