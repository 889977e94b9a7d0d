"""The editor's draft: each side writes its own part, proven on real files."""

from __future__ import annotations

import json
import multiprocessing
from datetime import date, timedelta
from pathlib import Path

import pytest
from support.drafts import DECISIONS, ISSUE, NOW, cand, make_config, refresh

from digest._util.fs import exclusive_lock
from digest.config import Config, load_config
from digest.editorial import draft, draftfile
from digest.editorial.merge import from_candidate, merge_candidates
from digest.errors import DraftConflict, DraftError, DraftInvalid, LockBusy
from digest.models import Outlet, Selection


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


def path_of(config: Config, issue: date = ISSUE) -> Path:
    return draft.draft_path(config, issue)


def statuses(config: Config, issue: date = ISSUE) -> dict[str, str]:
    current = draft.read_draft(path_of(config, issue))
    return {c.id: current.status(c) for c in current.candidates}


def listed(config: Config, issue: date = ISSUE) -> list[str]:
    return [c.id for c in draft.read_draft(path_of(config, issue)).candidates]


def edit(config: Config, old: str, new: str, issue: date = ISSUE) -> str:
    """Edit the draft as an editor would; the new text is returned."""
    path = path_of(config, issue)
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text


def editor_part(config: Config, issue: date = ISSUE) -> str:
    return draftfile.split(path_of(config, issue).read_text(encoding="utf-8"))[0]


# --- a new draft ---------------------------------------------------------------------------


def test_a_new_draft_has_the_editors_keys_then_the_programs_list(config: Config) -> None:
    summary = refresh(config, [cand(1, 5.0), cand(2, 9.0), cand(3, 7.0)])
    text = path_of(config).read_text(encoding="utf-8")
    editor, program = draftfile.split(text)
    assert "date: 2026-11-15" in editor and "decisions:" in editor and "stories: []" in editor
    assert "candidates:" not in editor
    assert program.startswith(draftfile.BEGIN)
    assert "US-Japan Alliance Digest Vol 5.1" in program  # 2026 - 2022 + 1
    assert "Tokyo:" in program and "JST" in program
    assert listed(config) == ["c0002", "c0003", "c0001"]  # best first
    assert summary.added == 3 and dict(summary.counts)["new"] == 3
    current = draft.read_draft(path_of(config))
    assert not current.problems and not current.program_edited
    first = current.by_id()["c0001"]
    assert first.also == (Outlet("NHK World", "https://nhk.example.jp/1"),)  # outlet and link


def test_undated_items_are_marked(config: Config) -> None:
    refresh(config, [cand(1, dated=False), cand(2)])
    text = path_of(config).read_text(encoding="utf-8")
    assert text.count("undated: true") == 1
    assert not draft.read_draft(path_of(config)).by_id()["c0001"].dated


def test_near_misses_are_listed_with_their_reasons(config: Config) -> None:
    near = cand(9, 2.5, why=("pair far apart: US, Japan (+1.5)",))
    refresh(config, Selection(candidates=(cand(1),), near_misses=(near,)))
    current = draft.read_draft(path_of(config))
    assert [c.id for c in current.program.near_misses] == ["c0009"]
    assert current.program.near_misses[0].why == ("pair far apart: US, Japan (+1.5)",)


# --- the editor's part is never rewritten ---------------------------------------------------


def test_a_refresh_copies_the_editors_part_byte_for_byte(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    edit(config, 'intro: ""', "intro: 'A busy fortnight.'   # my note\n# another note")
    edit(config, DECISIONS, DECISIONS + "\n  c0001: picked   # strong")
    before = editor_part(config)
    refresh(config, [cand(1), cand(2), cand(3)], now=NOW + timedelta(hours=3))
    assert editor_part(config) == before
    assert statuses(config) == {"c0001": "picked", "c0002": "new", "c0003": "new"}


def test_a_rerun_with_the_same_news_leaves_the_file_as_it_was(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    before = path_of(config).read_bytes()
    refresh(config, [cand(1), cand(2)])
    assert path_of(config).read_bytes() == before


def test_a_rejected_candidate_stays_listed_last_and_decided(config: Config) -> None:
    refresh(config, [cand(1, 9.0), cand(2, 5.0)])
    draft.set_status(config, ISSUE, {"c0001": "rejected"}, now=NOW)
    refresh(config, [cand(1, 9.0), cand(2, 5.0)])
    assert listed(config) == ["c0002", "c0001"]
    assert statuses(config)["c0001"] == "rejected"


def test_decided_and_referenced_candidates_stay_when_they_leave_the_store(config: Config) -> None:
    refresh(config, [cand(1), cand(2), cand(3)])
    edit(config, DECISIONS, DECISIONS + "\n  c0001: picked")
    edit(config, "stories: []", "stories:\n  - headline: H\n    body: B\n    sources: [c0002]")
    refresh(config, [cand(4)])
    assert set(listed(config)) == {"c0001", "c0002", "c0004"}  # c0003 was only `new`


def test_only_max_candidates_undecided_are_listed_plus_every_decided_one(tmp_path: Path) -> None:
    config = make_config(tmp_path, "rules:\n  max_candidates: 3\n")
    refresh(config, [cand(n, float(n)) for n in range(1, 11)])
    assert listed(config) == ["c0010", "c0009", "c0008"]
    # A low one found with `digest candidates` and decided by hand is listed by the refresh.
    edit(config, DECISIONS, DECISIONS + "\n  c0001: picked")
    refresh(config, [cand(n, float(n)) for n in range(1, 11)])
    assert listed(config) == ["c0001", "c0010", "c0009", "c0008"]
    assert "6 more below these" in path_of(config).read_text(encoding="utf-8")


def test_held_candidates_carry_over_into_the_next_issue(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    draft.set_status(config, ISSUE, {"c0001": "held"}, now=NOW)
    refresh(config, [cand(3)], issue=date(2026, 12, 1))
    current = draft.read_draft(path_of(config, date(2026, 12, 1)))
    held = current.by_id()["c0001"]
    assert held.held_from == "2026-11-15" and current.status(held) == "held"


def test_writes_keep_the_previous_version_as_backup(config: Config) -> None:
    refresh(config, [cand(1)])
    first = path_of(config).read_bytes()
    refresh(config, [cand(1), cand(2)])
    assert (path_of(config).parent / "draft.yaml.bak").read_bytes() == first


def test_a_save_during_the_run_is_detected_and_kept(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(config, [cand(1)])
    path = path_of(config)
    real = draft.program_text

    def save_meanwhile(*args: object, **kwargs: object) -> str:
        path.write_text(path.read_text(encoding="utf-8") + "# saved meanwhile\n", encoding="utf-8")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(draft, "program_text", save_meanwhile)
    with pytest.raises(DraftConflict):
        refresh(config, [cand(1), cand(2)])
    assert path.read_text(encoding="utf-8").endswith("# saved meanwhile\n")


def test_a_second_run_waits_for_the_lock_then_gives_up(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(config, [cand(1)])
    monkeypatch.setattr(draft, "LOCK_WAIT_S", 0.2)
    lock = path_of(config).parent / draft.LOCK_NAME
    with exclusive_lock(lock), pytest.raises(LockBusy):
        refresh(config, [cand(2)])


def _refresh_in_child(project: str, n: int) -> None:
    config = load_config(Path(project))
    refresh(config, [cand(1), cand(n)])


def test_two_processes_refreshing_at_once_lose_nothing(config: Config) -> None:
    refresh(config, [cand(1)])
    edit(config, DECISIONS, DECISIONS + "\n  c0001: picked")
    before = editor_part(config)
    ctx = multiprocessing.get_context("spawn")
    children = [
        ctx.Process(target=_refresh_in_child, args=(str(config.project_dir), n)) for n in (2, 3)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert editor_part(config) == before
    assert "c0001" in listed(config)


# --- the program's part: hand edits are noticed, never overwritten --------------------------


def test_an_edit_in_the_programs_part_is_refused_and_kept(config: Config) -> None:
    refresh(config, [cand(1)])
    text = edit(config, "    score: 10\n", "    score: 10\n    stauts: picked\n")
    with pytest.raises(DraftInvalid) as caught:
        refresh(config, [cand(1), cand(2)])
    assert path_of(config).read_text(encoding="utf-8") == text
    current = draft.read_draft(path_of(config))
    assert caught.value.line == current.program_line
    assert "edited by hand" in caught.value.message


def test_a_draft_whose_programs_part_was_deleted_gets_a_new_one(config: Config) -> None:
    refresh(config, [cand(1)])
    path = path_of(config)
    editor = editor_part(config)
    path.write_text(editor + "# my last line, no newline", encoding="utf-8")
    refresh(config, [cand(1), cand(2)])
    text = path.read_text(encoding="utf-8")
    assert text.startswith(editor + "# my last line, no newline\n")
    assert listed(config) == ["c0001", "c0002"]


def test_crlf_and_a_bom_are_kept(config: Config) -> None:
    refresh(config, [cand(1)])
    path = path_of(config)
    text = path.read_text(encoding="utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    refresh(config, [cand(1), cand(2)])
    draft.set_status(config, ISSUE, {"c0002": "picked"}, now=NOW)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line break is CRLF
    assert statuses(config)["c0002"] == "picked"


# --- recording a decision -------------------------------------------------------------------


def test_set_status_adds_one_line_and_changes_nothing_else(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    before = editor_part(config).splitlines()
    draft.set_status(config, ISSUE, {"c0002": "picked"}, now=NOW)
    after = editor_part(config).splitlines()
    assert len(after) == len(before) + 1
    assert [line for line in after if line not in before] == ["  c0002: picked"]
    draft.set_status(config, ISSUE, {"c0002": "held", "c0001": "rejected"}, now=NOW)
    assert statuses(config) == {"c0002": "held", "c0001": "rejected"}
    assert "  c0002: held" in editor_part(config).splitlines()


@pytest.mark.parametrize(
    "written",
    ["decisions: {}", "decisions: {c0001: held}", "decisions: ~", "decisions:\n  c0001: held  # x"],
)
def test_set_status_edits_each_form_of_decisions(config: Config, written: str) -> None:
    refresh(config, [cand(1), cand(2)])
    edit(config, DECISIONS, written)
    draft.set_status(config, ISSUE, {"c0002": "picked"}, now=NOW)
    assert statuses(config)["c0002"] == "picked"


def test_set_status_without_a_decisions_key_appends_one(config: Config) -> None:
    refresh(config, [cand(1)])
    edit(config, DECISIONS + "\n", "")
    draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    assert statuses(config)["c0001"] == "picked"


def test_set_status_refuses_an_unknown_id_or_status_and_writes_nothing(config: Config) -> None:
    refresh(config, [cand(1)])
    before = path_of(config).read_bytes()
    with pytest.raises(DraftError, match="no candidate"):
        draft.set_status(config, ISSUE, {"nope": "picked"}, now=NOW)
    with pytest.raises(DraftInvalid, match="unknown status"):
        draft.set_status(config, ISSUE, {"c0001": "pickd"}, now=NOW)
    assert path_of(config).read_bytes() == before


# --- a published issue is final --------------------------------------------------------------


def test_a_published_issue_is_never_refreshed(config: Config) -> None:
    refresh(config, [cand(1)])
    (path_of(config).parent / draft.PUBLISHED_NAME).write_text("{}", encoding="utf-8")
    before = path_of(config).read_bytes()
    with pytest.raises(DraftError, match="--force --note"):
        refresh(config, [cand(1), cand(2)])
    with pytest.raises(DraftError, match="--force --note"):
        draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    assert path_of(config).read_bytes() == before


# --- merge (pure) ------------------------------------------------------------------------------


def test_merge_matches_a_known_candidate_by_link_and_keeps_its_id(config: Config) -> None:
    old = from_candidate(cand(1), config)
    new = from_candidate(cand(7, url="https://www.news.example.com/1/", score=3.0), config)
    merged = merge_candidates([old], [new], decided={"c0001": "picked"})
    assert [(c.id, c.score) for c in merged.candidates] == [("c0001", 3.0)]


# --- the issue from the draft ----------------------------------------------------------------


def test_load_issue_resolves_stories_sections_and_picked_candidates(config: Config) -> None:
    refresh(
        config,
        [cand(1, section="Economy"), cand(2, section="Security"), cand(3, title="Picked alone")],
    )
    edit(config, DECISIONS, DECISIONS + "\n  c0003: picked")
    edit(
        config,
        "stories: []",
        "stories:\n"
        "  - headline: Talks resume\n"
        "    body: Officials met.\n"
        "    sources: [c0001, https://nhk.example.jp/2]\n",
    )
    issue = draft.load_issue(config, ISSUE)
    assert issue.title == "US-Japan Alliance Digest Vol 5.1" and issue.number == 1
    first, second = issue.stories
    assert first.section == "Economy"  # its first source candidate's section
    assert [s.name for s in first.sources] == ["Kyodo News", "NHK World"]
    assert second.headline == "Picked alone" and second.section == "Security"


def test_a_story_citing_a_candidate_by_link_takes_its_section(config: Config) -> None:
    refresh(config, [cand(1, section="Okinawa & Bases")])
    edit(
        config,
        "stories: []",
        "stories:\n  - headline: H\n    body: B\n    sources: [https://news.example.com/1]\n",
    )
    assert draft.load_issue(config, ISSUE).stories[0].section == "Okinawa & Bases"


def test_load_issue_without_a_draft_says_what_to_run(config: Config) -> None:
    with pytest.raises(DraftInvalid, match="digest draft --date 2026-11-15"):
        draft.load_issue(config, ISSUE)


def test_counts_for_status(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    counts = draft.draft_counts(config)
    assert counts is not None and counts["counts"]["picked"] == 1 and counts["counts"]["new"] == 1


def test_past_decisions_for_relevance(config: Config) -> None:
    from digest.editorial.history import past_decisions

    refresh(config, [cand(1), cand(2), cand(3)])
    draft.set_status(config, ISSUE, {"c0001": "picked", "c0002": "rejected"}, now=NOW)
    found = past_decisions(config, date(2026, 12, 1))
    assert sorted((d.status, d.title) for d in found) == [
        ("picked", cand(1).title),
        ("rejected", cand(2).title),
    ]
    assert past_decisions(config, ISSUE) == ()  # only drafts before the date


def test_published_json_stays_readable(config: Config) -> None:
    refresh(config, [cand(1)])
    (path_of(config).parent / draft.PUBLISHED_NAME).write_text(json.dumps({}), encoding="utf-8")
    assert draft.published_dates(config) == [ISSUE]
