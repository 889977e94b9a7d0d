"""`digest check` on drafts: every problem in one list, each with file and line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_draft import ISSUE, NOW, cand, make_config, refresh

from digest.config import Config
from digest.editorial import check, draft

LONG = (
    "Japan and the United States agree to expand joint production of air defense "
    "interceptors in a landmark deal"
)
WORDS_60 = " ".join(["word"] * 60)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


def _write_editor_part(config: Config, text: str) -> Path:
    path = draft.draft_path(config, ISSUE)
    head, block, tail = draft.split_draft(path.read_text(encoding="utf-8"))
    status = head[: head.index("\n", head.index(draft.STATUS_END)) + 1]
    path.write_text(status + text + block + tail, encoding="utf-8")
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
title: Vol 4.22
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
    at = _line_of(path, "title: Vol 4.22") - 1  # lines below count from the title
    assert _found(problems, path, "unknown key `preheder`") == [
        (at + 2, "error", "unknown key `preheder`; did you mean `preheader`?")
    ]
    assert _found(problems, path, "headline is")[0][:2] == (at + 4, "error")
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
            " or set candidates' status to picked",
        )
    ]
    draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    assert check.check_project(config, ISSUE) == []


def test_candidate_problems(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    path = draft.draft_path(config, ISSUE)
    text = path.read_text(encoding="utf-8")
    text = text.replace("  - id: c0002\n    status: new\n", "  - id: c0002\n    status: piked\n")
    text = text.replace("  - id: c0001\n", "  - id: c0001\n    notes: call them\n")
    path.write_text(text, encoding="utf-8")
    problems = check.check_project(config, ISSUE)
    messages = {p.message: p.line for p in problems}
    assert messages["status 'piked' of 'c0002' is unknown; did you mean `picked`?"] == _line_of(
        path, "status: piked"
    )
    assert messages[next(m for m in messages if "unknown key `notes`" in m)] == _line_of(
        path, "notes: call them"
    )


def test_a_broken_draft_is_one_problem_with_line_and_column(config: Config) -> None:
    path = draft.draft_path(config, ISSUE)
    path.parent.mkdir(parents=True)
    path.write_text("title: ok\nstories:\n  - headline: a: b\n", encoding="utf-8")
    problems = check.check_project(config, ISSUE)
    assert len(problems) == 1
    assert problems[0].line == 3 and problems[0].message.startswith("column 16: ")


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
    broken = "title: ok\nintro: 'unclosed\n"
    path.write_text(broken, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["draft", "--project", str(config.project_dir), "--date", ISSUE.isoformat()]
    )
    assert result.exit_code == 1
    assert f"{path}:2:8: does not parse" in result.output
    assert "Traceback" not in result.output
    assert path.read_text(encoding="utf-8") == broken


def test_sources_written_without_brackets_are_each_a_source(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    path = _write_editor_part(
        config,
        f"""\
title: Vol 4.22
stories:
  - headline: Two outlets, one story
    body: {WORDS_60}
    sources: c0001, c0002
""",
    )
    assert _found(check.check_project(config, ISSUE), path, "source") == []
    issue = draft.load_issue(config, ISSUE)
    assert [link.url for link in issue.stories[0].sources] == [
        "https://news.example.com/1",
        "https://news.example.com/2",
    ]
