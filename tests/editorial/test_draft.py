"""The editor's draft: every merge rule proven on real files in a temporary project."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from digest._util.fs import exclusive_lock
from digest.config import Config, load_config
from digest.editorial import check, draft
from digest.errors import DraftConflict, DraftError, LockBusy
from digest.models import Candidate, FeedHealth, Outlet

NOW = datetime(2026, 11, 14, 12, 0, tzinfo=UTC)
ISSUE = date(2026, 11, 15)

FEEDS_YAML = """\
digest:
  first_year: 2023
cadence:
  days: [1, 15]
  window_days: 14
  timezone: America/New_York
feeds:
  - name: Kyodo News
    url: https://english.kyodonews.net/rss/all.xml
"""


def make_config(project_dir: Path) -> Config:
    """A small real project: feeds.yaml in a temporary folder (shared by the draft tests)."""
    (project_dir / "feeds.yaml").write_text(FEEDS_YAML, encoding="utf-8")
    return load_config(project_dir)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


def cand(n: int, score: float = 10.0, **changes: object) -> Candidate:
    values: dict[str, object] = {
        "id": f"c{n:04d}",
        "title": f"Japan and US hold talks on alliance matter {n}",
        "url": f"https://news.example.com/{n}",
        "source": "Kyodo News",
        "published": datetime(2026, 11, 10, 3, 30, tzinfo=UTC) + timedelta(minutes=n),
        "score": score,
        "why": ("alliance phrase in title: alliance (+3.0)",),
        "section": "Security",
        "summary": f"Officials met in Tokyo to discuss matter {n}.",
        "also": (Outlet("NHK World", f"https://nhk.example.jp/{n}"),),
    }
    values.update(changes)
    return Candidate(**values)  # type: ignore[arg-type]


def refresh(
    config: Config,
    candidates: Sequence[Candidate],
    *,
    issue: date = ISSUE,
    health: Sequence[FeedHealth] = (),
    now: datetime = NOW,
) -> draft.DraftSummary:
    window = draft.issue_window(config, issue)
    return draft.refresh_draft(config, window, candidates, health=health, now=now)


def statuses(config: Config, issue: date = ISSUE) -> dict[str, str]:
    current = draft.read_draft(draft.draft_path(config, issue))
    return {c.id: c.status for c in current.candidates}


# --- the issue and its window --------------------------------------------------------------


def test_volume_number_and_window_in_new_york_time(config: Config) -> None:
    window = draft.issue_window(config, date(2026, 11, 15))
    assert (window.volume, window.number) == (4, 22)
    # Nov 1 00:00 EDT (UTC-4) to Nov 15 00:00 EST (UTC-5): the DST change is honoured.
    assert window.start == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 15, 5, 0, tzinfo=UTC)
    assert draft.issue_window(config, date(2026, 12, 1)).number == 23
    assert draft.issue_window(config, date(2023, 1, 1)).volume == 1


def test_since_and_until_replace_the_window(config: Config) -> None:
    window = draft.issue_window(config, ISSUE, since=date(2026, 10, 20), until=date(2026, 11, 10))
    assert window.start == datetime(2026, 10, 20, 4, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 10, 5, 0, tzinfo=UTC)
    with pytest.raises(DraftError, match="empty"):
        draft.issue_window(config, ISSUE, since=date(2026, 11, 10), until=date(2026, 11, 1))


def test_next_issue_date_takes_today_if_it_is_an_issue_day(config: Config) -> None:
    assert draft.next_issue_date(config, date(2026, 11, 15)) == date(2026, 11, 15)
    assert draft.next_issue_date(config, date(2026, 11, 16)) == date(2026, 12, 1)
    assert draft.next_issue_date(config, date(2026, 12, 20)) == date(2027, 1, 1)


def test_window_text_shows_tokyo_time(config: Config) -> None:
    text = draft.window_text(config, draft.issue_window(config, ISSUE))
    assert text.startswith("2026-11-01 to 2026-11-14 (America/New_York)")
    assert "Tokyo: 2026-11-01 13:00 to 2026-11-15 14:00 JST" in text


# --- creating and refreshing ------------------------------------------------------------------


def test_new_draft_has_header_candidates_best_first_and_a_status_block(config: Config) -> None:
    health = [
        FeedHealth("NHK", "https://nhk.example.jp/rss", None, "HTTP 503", 3, 0, None),
        FeedHealth("Asahi", "https://asahi.example.jp/rss", NOW, None, 0, 0, 12),
    ]
    summary = refresh(config, [cand(1, 5.0), cand(2, 9.5), cand(3, 7.0)], health=health)
    path = draft.draft_path(config, ISSUE)
    assert summary.path == str(path) and summary.added == 3 and summary.stories == 0
    text = path.read_text(encoding="utf-8")
    data = YAML(typ="safe").load(text)  # a plain YAML document for any tool
    assert data["title"] == "US-Japan Alliance Digest Vol 4.22"
    assert str(data["date"]) == "2026-11-15"
    assert data["stories"] == []
    assert [c["id"] for c in data["candidates"]] == ["c0002", "c0003", "c0001"]
    first = data["candidates"][0]
    assert first["status"] == "new" and first["score"] == 9.5
    assert first["also"] == ["NHK World: https://nhk.example.jp/2"]
    assert "JST" in first["published"]
    assert "3 candidates (3 new, 0 picked, 0 rejected, 0 held)" in text
    assert "NHK (3 failure(s): HTTP 503)" in text and "Asahi (12 days)" in text


EDITED_HEAD = """\
# My own note at the very top: call Tanaka-san before Friday.
title: US-Japan Alliance Digest Vol 4.22   # keep this number!
date: 2026-11-15
window: the usual
image: https://img.example.com/summit.jpg
image_credit: 'Image Source: Kyodo'
preheader: Summit week
intro: |
  A busy fortnight.

  Two paragraphs, even.
stories:
  # Lead story first.
  - headline: Leaders agree on co-development
    body: >
      Folded text
      that the editor wrote.
    sources: [c0002, "https://other.example.org/a"]
    section: Security
"""


def _edit(config: Config, mutate: object) -> str:
    path = draft.draft_path(config, ISSUE)
    text = path.read_text(encoding="utf-8")
    new = mutate(text)  # type: ignore[operator]
    path.write_text(new, encoding="utf-8")
    return new


def _replace_editor_part(text: str) -> str:
    head, block, tail = draft.split_draft(text)
    status_end = head.index(draft.STATUS_END)
    status = head[: head.index("\n", status_end) + 1]
    return status + EDITED_HEAD + "\n" + block + tail


def test_rerun_keeps_edits_comments_order_and_statuses(config: Config) -> None:
    refresh(config, [cand(1, 5.0), cand(2, 9.5), cand(3, 7.0)])
    _edit(config, _replace_editor_part)
    draft.set_status(config, ISSUE, {"c0001": "picked", "c0003": "held"}, now=NOW)
    before = draft.draft_path(config, ISSUE).read_text(encoding="utf-8")
    head_before = draft.split_draft(before)[0]

    updated = cand(3, 11.0, why=("new rule: Quad (+4.0)",), title="Rewritten by the wire")
    summary = refresh(config, [cand(1, 5.0), cand(2, 9.5), updated, cand(4, 8.0)])

    after = draft.draft_path(config, ISSUE).read_text(encoding="utf-8")
    head_after = draft.split_draft(after)[0]
    # The editor's part is byte for byte the same below the status block.
    strip = lambda h: h[h.index(draft.STATUS_END) :].split("\n", 1)[1]  # noqa: E731
    assert strip(head_after) == strip(head_before)
    assert "# My own note at the very top" in after
    assert summary.added == 1 and summary.stories == 1
    current = draft.read_draft(draft.draft_path(config, ISSUE))
    by_id = current.by_id()
    assert statuses(config) == {"c0003": "held", "c0002": "new", "c0004": "new", "c0001": "picked"}
    assert [c.id for c in current.candidates] == ["c0003", "c0002", "c0004", "c0001"]
    assert by_id["c0003"].score == 11.0 and by_id["c0003"].why == ("new rule: Quad (+4.0)",)
    # Only score, why and also are refreshed: the title stays as the file had it.
    assert by_id["c0003"].title == "Japan and US hold talks on alliance matter 3"
    assert current.header["intro"] == "A busy fortnight.\n\nTwo paragraphs, even.\n"
    assert current.stories[0].sources == ("c0002", "https://other.example.org/a")


def test_a_rejected_candidate_never_comes_back(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    draft.set_status(config, ISSUE, {"c0001": "rejected"}, now=NOW)
    # Proposed again, under its id and under a new id with the same link.
    summary = refresh(config, [cand(1), cand(2), cand(9, url="https://news.example.com/1/")])
    assert summary.added == 0
    assert statuses(config) == {"c0002": "new", "c0001": "rejected"}
    # Even when it has left the store, the rejection is remembered.
    refresh(config, [cand(2)])
    assert refresh(config, [cand(1), cand(2)]).added == 0
    assert statuses(config)["c0001"] == "rejected"


def test_picked_and_referenced_candidates_stay_when_they_leave_the_store(config: Config) -> None:
    refresh(config, [cand(1), cand(2), cand(3), cand(4)])
    draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    _edit(
        config,
        lambda t: t.replace(
            "stories: []", "stories:\n  - headline: H\n    body: B\n    sources: [c0002]"
        ),
    )
    refresh(config, [cand(4)])
    assert statuses(config) == {"c0001": "new", "c0002": "new", "c0004": "new"} | {
        "c0001": "picked"
    }
    # c0003 was only `new` and is no longer proposed: it is dropped.
    assert "c0003" not in statuses(config)


def test_held_candidates_carry_over_into_the_next_issue(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    draft.set_status(config, ISSUE, {"c0002": "held"}, now=NOW)
    nxt = date(2026, 12, 1)
    summary = refresh(config, [cand(5)], issue=nxt, now=NOW + timedelta(days=17))
    assert summary.added == 2
    current = draft.read_draft(draft.draft_path(config, nxt))
    by_id = current.by_id()
    assert by_id["c0002"].status == "held" and by_id["c0002"].held_from == "2026-11-15"
    assert "c0001" not in by_id
    # Once the editor decides in the new issue, the decision stands on re-runs.
    draft.set_status(config, nxt, {"c0002": "rejected"}, now=NOW)
    refresh(config, [cand(5)], issue=nxt)
    assert statuses(config, nxt)["c0002"] == "rejected"


def test_writes_keep_the_previous_version_as_backup(config: Config) -> None:
    refresh(config, [cand(1)])
    path = draft.draft_path(config, ISSUE)
    first = path.read_bytes()
    refresh(config, [cand(1), cand(2)], now=NOW + timedelta(hours=1))
    assert path.with_name("draft.yaml.bak").read_bytes() == first
    assert path.read_bytes() != first
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


class SavesWhileIterated(Sequence[FeedHealth]):
    """Feed health whose reading coincides with the editor saving the draft."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text

    def __len__(self) -> int:
        return 0

    def __getitem__(self, index: int) -> FeedHealth:  # type: ignore[override]
        raise IndexError(index)

    def __iter__(self) -> Iterator[FeedHealth]:
        self.path.write_text(self.text, encoding="utf-8")
        return iter(())


def test_a_save_during_the_run_is_detected_and_kept(config: Config) -> None:
    refresh(config, [cand(1)])
    path = draft.draft_path(config, ISSUE)
    saved = path.read_text(encoding="utf-8").replace('intro: ""', 'intro: "Saved meanwhile"')
    with pytest.raises(DraftConflict, match="changed on disk") as caught:
        refresh(config, [cand(1), cand(2)], health=SavesWhileIterated(path, saved))
    assert caught.value.path == path
    assert path.read_text(encoding="utf-8") == saved
    assert not path.with_name("draft.yaml.bak").exists()


def test_a_second_run_waits_for_the_lock_then_gives_up(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(config, [cand(1)])
    before = draft.draft_path(config, ISSUE).read_bytes()
    monkeypatch.setattr(draft, "LOCK_WAIT_S", 0.2)
    with exclusive_lock(draft.issue_dir(config, ISSUE) / draft.LOCK_NAME):
        with pytest.raises(LockBusy, match="another digest run"):
            refresh(config, [cand(1), cand(2)])
        with pytest.raises(LockBusy):
            draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    assert draft.draft_path(config, ISSUE).read_bytes() == before


@pytest.mark.parametrize(
    ("broken", "line", "column"),
    [
        ('intro: ok\ntitle: "unclosed\nstories: []\n', 2, 8),
        ("title: ok\nstories:\n  - headline: a\n   body: b\n", 4, 4),
        ("title: ok\ncandidates:\n  - id: x\n    status: new\n     title: y: z\n", 5, 11),
        ("title: ok\nstories:\n\t- headline: a\n", 3, 1),
    ],
)
def test_a_broken_draft_is_reported_with_line_and_column_and_left_alone(
    config: Config, broken: str, line: int, column: int
) -> None:
    path = draft.draft_path(config, ISSUE)
    path.parent.mkdir(parents=True)
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(DraftError) as caught:
        refresh(config, [cand(1)])
    error = caught.value
    assert (error.path, error.line, error.column) == (path, line, column)
    assert "left as it is" in str(error)
    assert str(error).startswith(f"{path}:{line}:{column}: ")
    assert path.read_text(encoding="utf-8") == broken
    assert not path.with_name("draft.yaml.bak").exists()


def test_comments_inside_the_candidate_list_survive_and_travel(config: Config) -> None:
    refresh(config, [cand(1, 5.0), cand(2, 9.0)])
    _edit(
        config,
        lambda t: t.replace("candidates:\n", "candidates:\n# Program-made list below.\n").replace(
            "  - id: c0001\n    status: new\n",
            "  # Promising, but check the numbers.\n"
            "  - id: c0001   # the Kyodo one\n    status: new   # ask Kyodo for the photo\n"
            "    # title from the wire:\n",
        ),
    )
    draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    text = draft.draft_path(config, ISSUE).read_text(encoding="utf-8")
    assert "status: picked   # ask Kyodo for the photo" in text
    refresh(config, [cand(1, 5.0), cand(2, 9.0), cand(3, 7.0)])
    text = draft.draft_path(config, ISSUE).read_text(encoding="utf-8")
    current = draft.read_draft(draft.draft_path(config, ISSUE))
    assert current.fast  # comments do not push the list onto the slow path
    assert [c.id for c in current.candidates] == ["c0002", "c0003", "c0001"]
    c1 = current.by_id()["c0001"]
    assert c1.status == "picked"
    lines = text.splitlines()
    # Each comment is still beside (or above) its own line of c0001.
    assert lines[c1.line_of("status") - 1].endswith("status: picked   # ask Kyodo for the photo")
    assert lines[c1.line_of("id") - 1] == "  - id: c0001   # the Kyodo one"
    assert lines[c1.line_of("id") - 2] == "  # Promising, but check the numbers."
    assert lines[c1.line_of("title") - 2] == "    # title from the wire:"
    assert lines[lines.index("candidates:") + 1] == "# Program-made list below."
    assert YAML(typ="safe").load(text)["candidates"][2]["status"] == "picked"


def test_an_entry_in_another_yaml_style_is_kept_by_the_round_trip(config: Config) -> None:
    refresh(config, [cand(1, 5.0), cand(2, 9.0)])
    _edit(
        config,
        lambda t: t.replace(
            "    summary: Officials met in Tokyo to discuss matter 1.\n",
            "    summary: |  # rewritten by hand\n      Officials met in Tokyo.\n"
            "      Second line.\n",
        ),
    )
    draft.set_status(config, ISSUE, {"c0001": "held"}, now=NOW)
    summary = refresh(config, [cand(1, 12.0), cand(2, 9.0), cand(3, 7.0)])
    assert summary.added == 1
    path = draft.draft_path(config, ISSUE)
    current = draft.read_draft(path)
    by_id = current.by_id()
    # Only that entry goes through ruamel.yaml; the others stay on the fast path.
    assert [c.id for c in current.candidates if c.node is not None] == ["c0001"]
    assert [c.id for c in current.candidates] == ["c0001", "c0002", "c0003"]
    assert by_id["c0001"].summary == "Officials met in Tokyo.\nSecond line."
    assert (by_id["c0001"].status, by_id["c0001"].score) == ("held", 12.0)
    assert "# rewritten by hand" in path.read_text(encoding="utf-8")
    # Runs with the same news change nothing more, on this path too.
    refresh(config, [cand(1, 12.0), cand(2, 9.0), cand(3, 7.0)])
    before = path.read_bytes()
    refresh(config, [cand(1, 12.0), cand(2, 9.0), cand(3, 7.0)])
    assert path.read_bytes() == before


def test_a_list_of_another_shape_is_read_and_written_by_ruamel(config: Config) -> None:
    refresh(config, [cand(1, 5.0), cand(2, 9.0)])
    # The editor re-indented the whole list and added a comment: still one list.
    _edit(
        config,
        lambda t: (
            t.replace("\n  - id:", "\n- id:")
            .replace("\n    ", "\n  ")
            .replace("\n      - ", "\n    - ")
            .replace("- id: c0001\n", "- id: c0001   # keep an eye on it\n")
        ),
    )
    draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    path = draft.draft_path(config, ISSUE)
    assert not draft.read_draft(path).fast
    refresh(config, [cand(1, 5.0), cand(2, 9.0), cand(3, 7.0)])
    current = draft.read_draft(path)
    # ruamel.yaml writes the program's list back in the usual indentation, comments kept,
    # so the next runs read every entry on the fast path again.
    assert current.fast and all(c.node is None for c in current.candidates)
    assert [(c.id, c.status) for c in current.candidates] == [
        ("c0002", "new"),
        ("c0003", "new"),
        ("c0001", "picked"),
    ]
    c1 = current.by_id()["c0001"]
    id_line = path.read_text(encoding="utf-8").splitlines()[c1.line_of("id") - 1]
    assert id_line.startswith("  - id: c0001") and id_line.endswith("# keep an eye on it")
    refresh(config, [cand(1, 5.0), cand(2, 9.0), cand(3, 7.0)])
    before = path.read_bytes()
    refresh(config, [cand(1, 5.0), cand(2, 9.0), cand(3, 7.0)])
    assert path.read_bytes() == before


def test_a_rerun_with_the_same_news_leaves_the_file_as_it_was(config: Config) -> None:
    refresh(config, [cand(1), cand(2, 4.0)])
    _edit(config, _replace_editor_part)
    path = draft.draft_path(config, ISSUE)
    refresh(config, [cand(1), cand(2, 4.0)])
    before = path.read_bytes()
    refresh(config, [cand(1), cand(2, 4.0)])
    assert path.read_bytes() == before


def test_set_status_changes_only_that_value(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    path = draft.draft_path(config, ISSUE)
    before = path.read_text(encoding="utf-8").splitlines()
    draft.set_status(config, ISSUE, {"c0002": "held"}, now=NOW)
    after = path.read_text(encoding="utf-8").splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [("    status: new", "    status: held")]
    with pytest.raises(DraftError, match="unknown status"):
        draft.set_status(config, ISSUE, {"c0002": "maybe"}, now=NOW)
    with pytest.raises(DraftError, match="no candidate 'zzz'"):
        draft.set_status(config, ISSUE, {"zzz": "picked"}, now=NOW)


def test_set_status_adds_a_missing_status_line(config: Config) -> None:
    refresh(config, [cand(1)])
    _edit(config, lambda t: t.replace("    status: new\n", ""))
    draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    assert statuses(config) == {"c0001": "picked"}


def test_set_status_refuses_a_status_it_cannot_edit_and_writes_nothing(config: Config) -> None:
    refresh(config, [cand(1)])
    text = _edit(config, lambda t: t.replace("    status: new", "    status: |\n      new"))
    with pytest.raises(DraftError, match="change it by hand"):
        draft.set_status(config, ISSUE, {"c0001": "picked"}, now=NOW)
    assert draft.draft_path(config, ISSUE).read_text(encoding="utf-8") == text


def _bytes_edit(config: Config, mutate: object) -> bytes:
    path = draft.draft_path(config, ISSUE)
    new = mutate(path.read_bytes())  # type: ignore[operator]
    path.write_bytes(new)
    return new


def test_a_draft_saved_with_crlf_and_a_bom_stays_one_readable_style(config: Config) -> None:
    # Notepad on Windows saves with CRLF line ends and a byte-order mark.
    refresh(config, [cand(1)])
    _bytes_edit(
        config,
        lambda b: (
            b"\xef\xbb\xbf"
            + (b.replace(b'intro: ""\n', b"") + (b"intro:\n  Hello\n"))
            .replace(b"\n", b"\r\n")
            .replace(b"status: new", b"status: picked  # lead story")
        ),
    )
    refresh(config, [cand(1), cand(2, score=30)])
    data = draft.draft_path(config, ISSUE).read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line still ends in CRLF
    assert data.count(draft.STATUS_END.encode()) == 1  # the status block was replaced
    loaded = YAML(typ="safe").load(data.decode("utf-8-sig"))
    assert [c["id"] for c in loaded["candidates"]] == ["c0002", "c0001"]
    assert b"status: picked  # lead story\r\n" in data
    current = draft.read_draft(draft.draft_path(config, ISSUE))
    assert current.fast and current.header["intro"] == "Hello"  # the key below the list
    assert current.header_lines["intro"] == data.split(b"\r\n").index(b"intro:") + 1
    draft.set_status(config, ISSUE, {"c0002": "held"}, now=NOW)
    data = draft.draft_path(config, ISSUE).read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert statuses(config) == {"c0002": "held", "c0001": "picked"}


def test_an_id_the_editor_deleted_comes_back_from_the_link(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    _edit(config, lambda t: t.replace("  - id: c0001\n    status: new\n", "  - status: picked\n"))
    refresh(config, [cand(1), cand(2)])
    assert statuses(config) == {"c0001": "picked", "c0002": "new"}


def test_a_block_scalar_ending_in_a_hash_line_keeps_its_text(config: Config) -> None:
    refresh(config, [cand(1, score=20), cand(2, score=10)])
    _edit(
        config,
        lambda t: t.replace(
            "summary: Officials met in Tokyo to discuss matter 1.",
            "summary: |\n      Officials met in Tokyo.\n      #JapanUS #alliance",
        ),
    )
    refresh(config, [cand(1, score=20), cand(2, score=10)])
    current = draft.read_draft(draft.draft_path(config, ISSUE))
    assert current.by_id()["c0001"].summary == "Officials met in Tokyo.\n#JapanUS #alliance"
    assert current.by_id()["c0002"].comments == ()  # the hashtag line did not move to it


def test_comments_in_an_entry_of_the_editors_style_survive_a_new_why(config: Config) -> None:
    refresh(config, [cand(1)])
    _edit(
        config,
        lambda t: t.replace(
            '    why:\n      - "alliance phrase in title: alliance (+3.0)"\n',
            "    why:\n      - 'alliance phrase in title: alliance (+3.0)'  # fair?\n"
            "    # ask Tokyo desk about this one\n",
        ).replace("summary: Officials", "summary: >\n      Officials"),
    )
    refresh(config, [cand(1, why=("alliance phrase in summary: alliance (+2.0)",))])
    text = draft.draft_path(config, ISSUE).read_text(encoding="utf-8")
    assert "# fair?" in text and "    # ask Tokyo desk about this one\n" in text
    assert draft.read_draft(draft.draft_path(config, ISSUE)).by_id()["c0001"].why == (
        "alliance phrase in summary: alliance (+2.0)",
    )


def test_a_comment_after_a_moved_first_key_stays_with_it(config: Config) -> None:
    refresh(config, [cand(1)])
    _edit(
        config,
        lambda t: t.replace(
            "  - id: c0001\n    status: new\n", "  - status: picked  # lead\n    id: c0001\n"
        ),
    )
    refresh(config, [cand(1)])
    text = draft.draft_path(config, ISSUE).read_text(encoding="utf-8")
    assert "    status: picked  # lead\n" in text


def test_a_tab_is_reported_as_a_tab(config: Config) -> None:
    refresh(config, [cand(1)])
    _edit(config, lambda t: t.replace("    status: new", "    status:\tpicked"))
    with pytest.raises(DraftError, match="replace the tab with spaces") as caught:
        refresh(config, [cand(1)])
    assert caught.value.line is not None


HOSTILE = [
    "plain words",
    "Japan's PM: talks",
    "a # not a comment",
    "trailing space ",
    " leading",
    "null",
    "Yes",
    "123",
    "1e3",
    "-dash",
    "[bracket",
    "{brace}",
    'quote " inside',
    "back\\slash",
    "tab\there",
    "new\nline",
    "日米首脳会談、共同声明を発表",
    "emoji 🇯🇵🇺🇸",
    "bell\x07",
    "del\x7f",
    "nel\x85",
    "ls\u2028ps\u2029",
    "bom\ufeff",
    "",
    "ends with colon:",
    "@at",
    "`tick",
    "%pct",
    "&anchor",
    "*alias",
    "!tag",
    "|pipe",
    ">fold",
    "? q",
    "x: y",
    "'single'",
    "it''s",
    "https://example.com/a?b=c&d=e#frag",
    "~",
    "0x1F",
    ".inf",
    "2026-11-15",
    "12:30",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_every_string_reads_back_the_same_through_both_parsers(value: str) -> None:
    item = draft.DraftCandidate(
        id=value or "x",
        title=value,
        summary=value,
        why=(value,),
        also=(value,),
        source=value,
        url=value,
        published=value,
        section=value or None,
        score=3.25,
    )
    block = draft.emit_block_fast([item])
    assert block is not None
    parsed = draft.parse_block_fast(block, 1)
    assert parsed is not None
    fast = parsed[0]
    safe = YAML(typ="safe").load(block)["candidates"][0]
    for key in ("id", "title", "summary", "source", "url", "published"):
        assert fast[0]["values"][key] == safe[key] == getattr(item, key)
    assert fast[0]["values"]["why"] == safe["why"] == [value]
    assert safe["score"] == 3.25


def test_many_candidates_are_read_by_the_fast_parser(config: Config) -> None:
    refresh(config, [cand(n, float(n % 17)) for n in range(300)])
    current = draft.read_draft(draft.draft_path(config, ISSUE))
    assert current.fast and len(current.candidates) == 300
    safe = YAML(typ="safe").load(current.text)["candidates"]
    assert [c["id"] for c in safe] == [c.id for c in current.candidates]


# --- the issue as published -----------------------------------------------------------------


def test_load_issue_resolves_stories_and_makes_stories_of_picked_candidates(
    config: Config,
) -> None:
    refresh(config, [cand(1, 5.0), cand(2, 9.0), cand(3, 7.0)])
    _edit(config, _replace_editor_part)
    draft.set_status(config, ISSUE, {"c0003": "picked", "c0001": "picked"}, now=NOW)
    _edit(
        config,
        lambda t: t.replace(
            'sources: [c0002, "https://other.example.org/a"]',
            'sources: [c0002, "https://nhk.example.jp/1", "https://other.example.org/a"]',
        ),
    )
    issue = draft.load_issue(config, ISSUE)
    assert (issue.title, issue.volume, issue.number) == ("US-Japan Alliance Digest Vol 4.22", 4, 22)
    assert issue.image == "https://img.example.com/summit.jpg"
    assert issue.image_credit == "Image Source: Kyodo" and issue.preheader == "Summit week"
    lead, *auto = issue.stories
    assert lead.headline == "Leaders agree on co-development"
    assert lead.body == "Folded text that the editor wrote."
    assert [(s.name, s.url) for s in lead.sources] == [
        ("Kyodo News", "https://news.example.com/2"),
        ("NHK World", "https://nhk.example.jp/1"),
        ("other.example.org", "https://other.example.org/a"),
    ]
    assert [s.headline for s in auto] == [
        "Japan and US hold talks on alliance matter 3",
        "Japan and US hold talks on alliance matter 1",
    ]
    assert auto[0].body == "Officials met in Tokyo to discuss matter 3."
    assert len({s.anchor for s in issue.stories}) == 3


def test_load_issue_without_a_draft_says_what_to_run(config: Config) -> None:
    with pytest.raises(DraftError, match="digest draft --date 2026-11-15"):
        draft.load_issue(config, ISSUE)


def test_candidate_ids_and_counts(config: Config) -> None:
    refresh(config, [cand(1, 5.0), cand(2, 9.0)])
    draft.set_status(config, ISSUE, {"c0002": "rejected"}, now=NOW)
    assert draft.candidate_ids(config, ISSUE) == ["c0001"]
    counts = draft.draft_counts(config)
    assert counts is not None and counts["counts"]["rejected"] == 1


def test_published_links_read_defensively(config: Config) -> None:
    for day, body in [
        ("2026-10-15", {"stories": [{"sources": [{"url": "https://a.example/1"}]}]}),
        ("2026-11-01", "not json at all"),
        ("2026-11-20", {"stories": [{"sources": [{"url": "https://late/1"}]}]}),
    ]:
        folder = config.issues_dir / day
        folder.mkdir(parents=True)
        text = body if isinstance(body, str) else json.dumps(body)
        (folder / "published.json").write_text(text, encoding="utf-8")
    assert check.published_links(config, ISSUE) == {"a.example/1": date(2026, 10, 15)}


RUN_IN_CHILD = """
import sys
from datetime import UTC, datetime
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_draft import ISSUE, NOW, cand, refresh
from digest.config import load_config
from digest.editorial.draft import set_status
config = load_config(Path({project!r}))
first, count = int(sys.argv[1]), int(sys.argv[2])
news = [cand(n) for n in [0, *range(100, 115), *range(200, 215)]]  # the same store
for n in range(first, first + count):
    refresh(config, news)
    set_status(config, ISSUE, dict([(cand(n).id, "picked")]), now=NOW)
"""


def test_two_processes_refreshing_at_once_lose_nothing(config: Config) -> None:
    import subprocess
    import sys

    refresh(config, [cand(0)])
    draft.set_status(config, ISSUE, {"c0000": "picked"}, now=NOW)
    script = RUN_IN_CHILD.format(tests=str(Path(__file__).parent), project=str(config.project_dir))
    children = [
        subprocess.Popen([sys.executable, "-c", script, str(first), "15"]) for first in (100, 200)
    ]
    assert [child.wait(timeout=60) for child in children] == [0, 0]
    found = statuses(config)
    # Every pick of both runs survived the other's rewrites: no read-modify-write was
    # interleaved with another.
    expected = {f"c{n:04d}" for n in [0, *range(100, 115), *range(200, 215)]}
    assert found == dict.fromkeys(expected, "picked")
    draft.read_draft(draft.draft_path(config, ISSUE))  # and the file is whole


def test_keys_below_the_list_keep_their_place_and_line_numbers(config: Config) -> None:
    refresh(config, [cand(1), cand(2)])
    path = draft.draft_path(config, ISSUE)
    text = path.read_text(encoding="utf-8").replace("stories: []\n", "")
    text += "# Stories last, the way I like it.\nstories:\n  - headline: Short\n    body: Tiny\n"
    path.write_text(text, encoding="utf-8")
    refresh(config, [cand(1), cand(2), cand(3)])
    after = path.read_text(encoding="utf-8")
    assert after.endswith(
        "# Stories last, the way I like it.\nstories:\n  - headline: Short\n    body: Tiny\n"
    )
    current = draft.read_draft(path)
    assert len(current.candidates) == 3
    story_line = after.splitlines().index("  - headline: Short") + 1
    assert current.stories[0].line == story_line
    assert current.stories[0].line_of("body") == story_line + 1
    found = [p for p in check.check_draft(current, config, ISSUE) if "words" in p.message]
    assert [p.line for p in found] == [story_line + 1]


def test_a_draft_whose_list_was_deleted_gets_a_new_one(config: Config) -> None:
    path = draft.draft_path(config, ISSUE)
    path.parent.mkdir(parents=True)
    path.write_text("title: Mine\nintro: no newline at the end", encoding="utf-8")
    refresh(config, [cand(1)])
    current = draft.read_draft(path)
    assert current.header["intro"] == "no newline at the end"
    assert [c.id for c in current.candidates] == ["c0001"]


def test_a_broken_previous_draft_is_noted_and_does_not_stop_the_next(config: Config) -> None:
    old = draft.draft_path(config, ISSUE)
    old.parent.mkdir(parents=True)
    old.write_text("title: [unclosed\n", encoding="utf-8")
    nxt = date(2026, 12, 1)
    summary = refresh(config, [cand(5)], issue=nxt)
    assert summary.added == 1
    text = draft.draft_path(config, nxt).read_text(encoding="utf-8")
    assert f"# Note: held candidates of {old} were not carried over" in text
    assert old.read_text(encoding="utf-8") == "title: [unclosed\n"


def test_duplicate_candidate_ids_are_reported(config: Config) -> None:
    refresh(config, [cand(1)])
    path = draft.draft_path(config, ISSUE)
    text = path.read_text(encoding="utf-8")
    entry = text[text.index("  - id: c0001") :]
    path.write_text(text + entry.replace("status: new", "status: picked"), encoding="utf-8")
    found = [p for p in check.check_project(config, ISSUE) if "appears twice" in p.message]
    assert len(found) == 1 and found[0].line == text.count("\n") + 1
