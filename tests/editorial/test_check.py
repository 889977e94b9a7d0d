"""`digest check` on drafts: every problem in one list, each with file and line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.drafts import ISSUE, NOW, cand, make_config, refresh

from digest.config import Config
from digest.editorial import check, draft, draftfile
from digest.errors import DraftInvalid

LONG = (
    "Japan and the United States agree to expand joint production of air defense "
    "interceptors in a landmark deal"
)
WORDS_60 = " ".join(["word"] * 60)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


def _write_editor_part(config: Config, text: str) -> Path:
    """Replace the editor's part of the draft, keeping the program's."""
    path = draft.draft_path(config, ISSUE)
    _, program = draftfile.split(path.read_text(encoding="utf-8"))
    path.write_text(text + program, encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _found(problems: list, path: Path, needle: str) -> list[tuple[int | None, str, str]]:
    return [
        (p.line, p.severity, p.message)
        for p in problems
        if needle in p.message and p.path == str(path)
    ]


def test_every_kind_of_problem_is_listed_with_its_line(config: Config) -> None:
    refresh(config, [cand(1), cand(2), cand(3)])
    published = config.issues_dir / "2026-11-01"
    published.mkdir(parents=True)
    (published / "published.json").write_text(
        json.dumps(
            {"stories": [{"sources": [{"name": "X", "url": "https://old.example.com/done"}]}]}
        )
    )
    path = _write_editor_part(
        config,
        f"""\
date: 2026-11-15
preheder: typo here
stories:
  - headline: {LONG}
    body: {WORDS_60}
    sources: [c0001, not-a-candidate]
  - headline: Short one
    body: Too short to be a paragraph.
    sources: ["https://news.example.com/1/", "https://x.example.com/a?utm_source=tw&id=3"]
  - body: {WORDS_60}
    sources: ["https://old.example.com/done"]
    colour: red
  - headline: No body
""",
    )
    problems = check.check_project(config, ISSUE)
    at = _line_of(path, "date: 2026-11-15") - 1  # lines below count from the date
    assert _found(problems, path, "unknown key `preheder`") == [
        (at + 2, "error", "unknown key `preheder` in the draft; did you mean `preheader`?")
    ]
    # Real issues have run 91-character headlines: a warning, never a block.
    assert _found(problems, path, "headline is")[0][:2] == (at + 4, "warning")
    assert _found(problems, path, "not-a-candidate")[0][:2] == (at + 6, "error")
    assert _found(problems, path, "body has 6 words")[0][:2] == (at + 8, "warning")
    assert _found(problems, path, "already in this issue")[0][:2] == (at + 9, "error")
    assert _found(problems, path, "tracking parameters (utm_source)")[0][:2] == (at + 9, "error")
    assert _found(problems, path, "already published in the issue of 2026-11-01")[0][:2] == (
        at + 11,
        "error",
    )
    assert _found(problems, path, "unknown key `colour`")[0][:2] == (at + 12, "error")
    assert _found(problems, path, "without a headline")[0][:2] == (at + 10, "error")
    assert _found(problems, path, "without a body")[0][:2] == (at + 13, "error")
    assert all(p.path == str(path) and p.line is not None for p in problems)


def test_an_issue_without_stories_is_an_error(config: Config) -> None:
    refresh(config, [cand(1)])
    problems = check.check_project(config, ISSUE)
    path = draft.draft_path(config, ISSUE)
    assert [(p.line, p.message) for p in problems if "no stories" in p.message] == [
        (
            _line_of(path, "stories: []"),
            "the issue has no stories; write some under `stories:`"
            " or pick candidates under `decisions:`",
        )
    ]
    draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    assert check.check_project(config, ISSUE) == []


def test_decision_problems(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    _write_editor_part(
        config,
        "date: 2026-11-15\n"
        "stauts: picked\n"
        "decisions:\n"
        "  c0002: piked\n"
        "  c0001: picked\n"
        "  c0001: held\n"
        "  c9999: picked\n",
    )
    messages = {p.message: p.line for p in check.check_project(config, ISSUE)}
    assert messages["decision 'piked' for 'c0002' is unknown; did you mean `picked`?"] == 4
    assert messages[next(m for m in messages if "unknown key `stauts`" in m)] == 2
    assert messages[next(m for m in messages if "decided twice (first on line 5)" in m)] == 6
    assert messages[next(m for m in messages if "'c9999', which is not a candidate" in m)] == 7


def test_a_broken_draft_is_one_problem_with_line_and_column(config: Config) -> None:
    path = draft.draft_path(config, ISSUE)
    path.parent.mkdir(parents=True)
    path.write_text("intro: ok\nstories:\n  - headline: a: b\n", encoding="utf-8")
    problems = check.check_project(config, ISSUE)
    assert len(problems) == 1
    assert problems[0].line == 3
    assert problems[0].message.startswith("is not valid YAML (column 16): ")


def test_without_a_date_every_unpublished_draft_is_checked(config: Config) -> None:
    refresh(config, [cand(1)])
    refresh(config, [cand(2)], issue=date(2026, 12, 1))
    (draft.issue_dir(config, date(2026, 12, 1)) / "published.json").write_text("{}")
    problems = check.check_project(config)
    assert {Path(p.path).parent.name for p in problems} == {"2026-11-15"}


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("https://a.example/x?utm_medium=email", ["utm_medium"]),
        ("https://a.example/x?fbclid=1&gclid=2&id=3", ["fbclid", "gclid"]),
        ("https://a.example/x?id=utm_source", []),
    ],
)
def test_tracking_parameters(url: str, found: list[str]) -> None:
    assert check.tracking_params(url) == found


def test_check_command_prints_draft_problems(config: Config) -> None:
    from digest.cli import main

    refresh(config, [cand(1)])
    result = CliRunner().invoke(
        main, ["check", "--project", str(config.project_dir), "--date", ISSUE.isoformat()]
    )
    assert result.exit_code == 1
    assert f"{draft.draft_path(config, ISSUE)}:" in result.output
    assert "no stories" in result.output


def test_header_problems_image_outside_the_folder_and_a_wrong_date(config: Config) -> None:
    refresh(config, [cand(1)])
    draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    path = draft.draft_path(config, ISSUE)
    (path.parent / "lead.jpg").write_bytes(b"\xff\xd8")
    (config.project_dir / "secret.jpg").write_bytes(b"\xff\xd8")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('image: ""', "image: lead.jpg"), encoding="utf-8")
    assert check.check_project(config, ISSUE) == []
    path.write_text(
        text.replace('image: ""', "image: ../../secret.jpg").replace(
            "date: 2026-11-15", "date: 2026-11-01"
        ),
        encoding="utf-8",
    )
    found = {(p.line, p.severity) for p in check.check_project(config, ISSUE)}
    assert found == {
        (_line_of(path, "image: ../../secret.jpg"), "error"),
        (_line_of(path, "date: 2026-11-01"), "warning"),
    }


def test_draft_command_reports_a_broken_draft_in_one_line(config: Config) -> None:
    from digest.cli import main

    path = draft.draft_path(config, ISSUE)
    path.parent.mkdir(parents=True)
    broken = "image: ok\nintro: 'unclosed\n"
    path.write_text(broken, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["draft", "--project", str(config.project_dir), "--date", ISSUE.isoformat()]
    )
    assert result.exit_code == 2
    assert f"{path}:3: error: is not valid YAML" in result.output
    assert "Traceback" not in result.output
    assert path.read_text(encoding="utf-8") == broken


def test_sources_must_be_a_list(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    path = _write_editor_part(
        config,
        f"""\
date: 2026-11-15
stories:
  - headline: Two outlets, one story
    body: {WORDS_60}
    sources: c0001, c0002
""",
    )
    assert _found(check.check_project(config, ISSUE), path, "must be a list") == [
        (5, "error", "`sources` must be a list, e.g. `sources: [first, second]`")
    ]


def test_a_mapping_where_a_headline_belongs_is_an_error_not_a_story(config: Config) -> None:
    refresh(config, [cand(1)])
    _write_editor_part(
        config, "stories:\n  - headline: {text: nested}\n    body: b\n    sources: [c0001]\n"
    )
    found = [p for p in check.check_project(config, ISSUE) if "must be text" in p.message]
    assert [(p.line, p.severity) for p in found] == [(2, "error")]
    with pytest.raises(DraftInvalid):
        draft.load_issue(config, ISSUE)
