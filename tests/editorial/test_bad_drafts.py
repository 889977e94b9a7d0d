"""Whatever the editor writes, no command crashes and nothing the editor wrote is lost.

Every kind of bad draft runs through the real `digest` commands in their own processes:
each reports file:line without a traceback, and the file stays byte for byte as it was.
A property test then mutates valid drafts at random and runs every command on them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.drafts import DECISIONS, ISSUE, NOW, cand, make_config, refresh

from digest.cli import main
from digest.config import Config
from digest.editorial import check, draft, draftfile
from digest.errors import DigestError
from digest.publish import preview

STORY = (
    "stories:\n"
    "  - headline: Tokyo and Washington open talks on shipbuilding\n"
    "    body: Officials met to discuss repairs of US Navy ships in Japanese yards.\n"
    "    sources: [c0002]\n"
)

# name -> (what replaces what in a valid draft, the text on the line the error must name)
BAD = {
    "misspelt key": (('intro: ""', 'intro: ""\nstauts: picked'), "stauts: picked"),
    "misspelt story key": (
        ("    body: Officials", "    headlin: x\n    body: Officials"),
        "headlin: x",
    ),
    "mapping as headline": (
        ("headline: Tokyo and Washington open talks on shipbuilding", "headline: {a: b}"),
        "headline: {a: b}",
    ),
    "list as intro": (('intro: ""', "intro: [a, b]"), "intro: [a, b]"),
    "impossible date": (("date: 2026-11-15", "date: 2026-12-32"), "date: 2026-12-32"),
    "duplicate decision": (
        (DECISIONS, DECISIONS + "\n  c0001: picked\n  c0001: rejected"),
        "c0001: rejected",
    ),
    "unknown decision": ((DECISIONS, DECISIONS + "\n  c0001: pickd"), "c0001: pickd"),
    "duplicate key": (('intro: ""', 'intro: ""\nintro: "again"'), 'intro: "again"'),
    "alias bomb": (
        ('intro: ""', 'a: &a ["x", "x"]\nb: &b [*a, *a]\nc: [*b, *b]\nintro: ""'),
        "a: &a",
    ),
    "deep nesting": (('intro: ""', 'intro: [[[[[["deep"]]]]]]'), "[[[[[["),
    "second document": (('intro: ""', 'intro: ""\n---\nmore: 1'), "---"),
    "broken yaml": (('intro: ""', "intro: 'unclosed\nimage_alt: x"), None),
    "sources as text": (("    sources: [c0002]", "    sources: c0002"), "sources: c0002"),
}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    config = make_config(tmp_path)
    refresh(config, [cand(1), cand(2), cand(3)])
    path = draft.draft_path(config, ISSUE)
    path.write_text(path.read_text(encoding="utf-8").replace("stories: []\n", STORY), "utf-8")
    return config


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def _digest(config: Config, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args, "--project", str(config.project_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("case", sorted(BAD))
def test_every_kind_of_bad_draft_is_reported_and_left_as_it_was(config: Config, case: str) -> None:
    (old, new), needle = BAD[case]
    path = draft.draft_path(config, ISSUE)
    text = path.read_text(encoding="utf-8")
    assert old in text
    bad = text.replace(old, new, 1).encode("utf-8")
    path.write_bytes(bad)
    day = ISSUE.isoformat()
    # draft and check in their own processes; render and publish in this one, where an
    # escaping exception would show as result.exception.
    results: dict[str, tuple[int, str]] = {}
    for command in ("draft", "check"):
        done = _digest(config, command, "--date", day)
        results[command] = (done.returncode, done.stdout + done.stderr)
    for command in ("render", "publish"):
        invoked = CliRunner().invoke(
            main, [command, "--date", day, "--project", str(config.project_dir)]
        )
        assert invoked.exception is None or isinstance(invoked.exception, SystemExit), command
        results[command] = (invoked.exit_code, invoked.output)
    for command, (code, output) in results.items():
        assert "Traceback" not in output, (command, output)
        assert code in (1, 2), (command, output)
        if needle is not None:
            assert f"{path}:{_line_of(bad.decode(), needle)}" in output, (command, output)
    for command in ("draft", "check"):
        code, output = results[command]
        assert code == 2 and f"{path}:" in output and ": error: " in output, command
    assert path.read_bytes() == bad


def test_an_edit_below_the_marker_stops_the_refresh_and_is_kept(config: Config) -> None:
    path = draft.draft_path(config, ISSUE)
    bad = path.read_text(encoding="utf-8").replace("    score: 10\n", "    stauts: picked\n", 1)
    path.write_text(bad, encoding="utf-8")
    result = _digest(config, "draft", "--date", ISSUE.isoformat())
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "edited by hand" in result.stderr
    assert path.read_text(encoding="utf-8") == bad


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("over 2 MB", b"intro: '" + b"x" * 2_100_000 + b"'\n"),
        ("not UTF-8", b"intro: \xff\xfe\n"),
        ("a NUL byte", b"intro: a\x00b\n"),
    ],
)
def test_files_that_are_not_a_draft_are_refused_before_parsing(
    config: Config, name: str, data: bytes
) -> None:
    path = draft.draft_path(config, ISSUE)
    path.write_bytes(data)
    result = _digest(config, "draft", "--date", ISSUE.isoformat())
    assert result.returncode == 2, name
    assert "Traceback" not in result.stderr and f"{path}: error: " in result.stderr
    assert path.read_bytes() == data


def test_draft_refuses_a_published_issue_and_says_how_to_correct_it(config: Config) -> None:
    path = draft.draft_path(config, ISSUE)
    (path.parent / draft.PUBLISHED_NAME).write_text("{}", encoding="utf-8")
    before = path.read_bytes()
    result = _digest(config, "draft", "--date", ISSUE.isoformat())
    assert result.returncode == 1 and "publish --date 2026-11-15 --force --note" in result.stderr
    assert path.read_bytes() == before


# --- the property: random edits of a valid draft ---------------------------------------------

SIGNIFICANT = [*list(":-#&*!|>[]{}'\",? \t\n"), "~", "null", "2026-02-30", "c0001", "picked"]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(lines) - 1, 0)))
        kind = draw(st.sampled_from(["insert", "delete", "duplicate", "replace", "indent"]))
        line = lines[at]
        col = draw(st.integers(0, len(line)))
        if kind == "insert":
            piece = draw(st.sampled_from(SIGNIFICANT) | st.text(max_size=3))
            lines[at] = line[:col] + piece + line[col:]
        elif kind == "delete" and line:
            lines[at] = line[:col] + line[col + 1 :]
        elif kind == "duplicate":
            lines.insert(at, line)
        elif kind == "replace":
            lines[at] = line[:col] + draw(st.text(max_size=12)) + "\n"
        else:
            lines[at] = "  " + line
    return "".join(lines)


def _run_everything(config: Config) -> None:
    """Every command's library call on the draft as it is; only DigestErrors may escape."""
    window = draft.issue_window(config, ISSUE)
    calls = [
        lambda: check.check_project(config, ISSUE),
        lambda: draft.load_issue(config, ISSUE),
        lambda: draft.refresh_draft(
            config, window, [cand(1), cand(2), cand(4)], health=(), now=NOW
        ),
        lambda: draft.set_status(config, ISSUE, {"c0003": "picked"}, now=NOW),
        lambda: draft.draft_counts(config),
        lambda: preview.build_state(
            config, ISSUE, draft.draft_path(config, ISSUE).read_bytes(), now=NOW
        ),
    ]
    path = draft.draft_path(config, ISSUE)
    for call in calls:
        before = path.read_bytes()
        editor_before = draftfile.split(before.decode("utf-8", "replace"))[0]
        try:
            call()
        except DigestError:
            assert path.read_bytes() == before  # a refused write leaves the file alone
            continue
        after = path.read_bytes().decode("utf-8", "replace")
        editor_after = draftfile.split(after)[0]
        if after.encode() != before:
            # No line the editor wrote is lost: the old editor's part is still there, in
            # order, with at most one decision line added.
            old_lines = editor_before.splitlines()
            new_lines = editor_after.splitlines()
            assert len(new_lines) - len(old_lines) in (0, 1)
            it = iter(new_lines)
            assert all(
                any(line == new or _same_but_status(line, new) for new in it) for line in old_lines
            ), (editor_before, editor_after)


def _same_but_status(old: str, new: str) -> bool:
    """A decision line whose value changed (the one edit the program makes)."""
    return old.split(":", 1)[0] == new.split(":", 1)[0] and "c0003" in old


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_edits_never_crash_a_command_or_lose_a_line(
    config: Config, data: st.DataObject
) -> None:
    path = draft.draft_path(config, ISSUE)
    valid = path.read_text(encoding="utf-8")
    editor, program = draftfile.split(valid)
    # Most edits land in the editor's part; some in the program's.
    if data.draw(st.integers(0, 4)) == 0:
        text = editor + data.draw(mutated(program))
    else:
        text = data.draw(mutated(editor)) + program
    path.write_text(text, encoding="utf-8")
    try:
        _run_everything(config)
    finally:
        path.write_text(valid, encoding="utf-8")
        for extra in path.parent.glob("draft.yaml.bak"):
            extra.unlink()
