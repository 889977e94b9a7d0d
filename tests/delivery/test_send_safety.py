"""A list send that cannot mail anyone twice or stop at one bad address, with a real aiosmtpd:
a non-ASCII and a refused address, a deleted store, the subscriber CSV read as CSV,
operating-system errors as one line."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from test_send import (
    ISSUE,
    NOW,
    Inbox,
    free_port,
    publish_issue,
    subscribers,
    write_project,
)

from digest.cli import main
from digest.config import Config
from digest.delivery.lifecycle import list_issue
from digest.delivery.send import SendReport, send_list
from digest.delivery.sendlog import read_sent_file, sent_file
from digest.delivery.subscribers import read_rows, read_subscribers
from digest.errors import SendError

UMLAUT = "jürgen@example.de"


def list_send(config: Config, csv_path: Path) -> SendReport:
    outgoing = list_issue(config, ISSUE, now=NOW)
    return send_list(config, outgoing, read_subscribers(csv_path), now=NOW)


def mixed_list(path: Path) -> Path:
    path.write_text(
        "email,name\n"
        + "".join(f"reader{n:02d}@example.net,Reader {n}\n" for n in range(3))
        + f'{UMLAUT},"Jürgen\u2028Müller"\n'
        + "".join(f"reader{n:02d}@example.net,Reader {n}\n" for n in range(3, 6)),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def plain_smtp_server() -> Iterator[tuple[Inbox, int]]:
    """aiosmtpd without SMTPUTF8, as many servers are."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_a_non_ascii_and_a_refused_address_fail_alone_and_the_rest_get_one_copy(
    tmp_path, plain_smtp_server
):
    inbox, port = plain_smtp_server
    config = write_project(tmp_path / "p", port=port)
    publish_issue(config)
    csv_path = mixed_list(tmp_path / "list.csv")
    inbox.refuse_rcpt = {"reader04@example.net"}

    report = list_send(config, csv_path)
    again = list_send(config, csv_path)

    others = {f"reader{n:02d}@example.net" for n in range(6)} - {"reader04@example.net"}
    assert inbox.copies() == Counter(dict.fromkeys(others, 1))
    reasons = dict(report.failed)
    assert set(reasons) == {UMLAUT, "reader04@example.net"} and report.stopped is None
    assert "SMTPUTF8" in reasons[UMLAUT] and "550" in reasons["reader04@example.net"]
    summary = str(report)
    assert f"failed {UMLAUT}: " in summary and "failed reader04@example.net: 550" in summary
    # Failed addresses are tried again by the next run; nobody else gets a second copy.
    assert again.sent == () and {a for a, _ in again.failed} == set(reasons)
    assert inbox.copies() == Counter(dict.fromkeys(others, 1))
    lines = read_sent_file(sent_file(config, ISSUE))
    assert (UMLAUT, "failed") in lines and lines.count(("reader00@example.net", "sent")) == 1


def test_smtputf8_is_used_when_the_server_offers_it(tmp_path):
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    try:
        config = write_project(tmp_path / "p", port=port)
        publish_issue(config)
        report = list_send(config, mixed_list(tmp_path / "list.csv"))
    finally:
        controller.stop()
    assert report.ok and UMLAUT in report.sent and len(report.sent) == 7
    assert inbox.copies()[UMLAUT] == 1
    (data,) = [d for _, rcpts, d in inbox.messages if rcpts == [UMLAUT]]
    # The header travels as UTF-8 (RFC 6532), the name folded onto one line.
    assert 'To: "Jürgen Müller" <jürgen@example.de>'.encode() in data


def test_a_deleted_store_then_a_list_send_sends_nothing_twice(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    publish_issue(config)
    csv_path = subscribers(tmp_path / "list.csv", 12)
    inbox.refuse_data_after = 5  # the first run is cut short by the server

    first = list_send(config, csv_path)
    shutil.rmtree(config.state_dir)  # the store, its send log and the key are gone
    inbox.refuse_data_after = None
    second = list_send(config, csv_path)
    shutil.rmtree(config.state_dir)
    third = list_send(config, csv_path)

    assert len(first.sent) == 5 and first.stopped
    assert len(second.sent) == 7 and len(second.skipped) == 5
    assert third.sent == () and len(third.skipped) == 12
    assert inbox.copies() == Counter({f"reader{n:02d}@example.net": 1 for n in range(12)})


def test_the_subscriber_csv_is_read_as_csv_with_its_own_line_numbers(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(
        (
            "email,First Name,Last Name\r\n"
            'a@example.net,"Aki\u2028Line",Sato\r\n'
            'b@example.net,"Bo\u0085Next",\r\n'
            'c@example.net,"Two\r\nlines",Cy\r\n'
            "d@example.net,Di,\r\n"
        ).encode("utf-8")
    )
    rows = read_rows(path)
    assert [r.address for r in rows] == [f"{x}@example.net" for x in "abcd"]
    assert [r.line for r in rows] == [2, 3, 4, 6]
    assert rows[0].first_name == "Aki\u2028Line" and rows[1].first_name == "Bo\u0085Next"
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write("not-an-address,x,y\r\n")
    with pytest.raises(SendError) as caught:
        read_subscribers(path)
    assert caught.value.line == 7 and str(caught.value).startswith(f"{path}:7:")


def test_operating_system_errors_during_a_send_are_one_line(tmp_path, smtp_server):
    _, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    publish_issue(config)
    csv_path = subscribers(tmp_path / "list.csv", 2)
    outbox = config.issue_dir(ISSUE) / "outbox"
    outbox.write_text("a file where the outbox folder goes\n")  # NotADirectoryError
    args = ["send", "--project", str(config.project_dir), "--list", str(csv_path), "--yes"]

    dry = CliRunner().invoke(main, [*args, "--dry-run"])

    assert dry.exit_code == 1 and "Traceback" not in dry.output
    (line,) = [x for x in dry.output.splitlines() if x.startswith("error:")]
    assert "cannot write the dry run's messages" in line and "outbox" in line
    outbox.unlink()
    sent_file(config, ISSUE).mkdir()  # the issue's send log cannot be read or written
    real = CliRunner().invoke(main, args)
    assert real.exit_code == 1 and "Traceback" not in real.output
    assert "cannot read the issue's send log" in real.output
    assert [x for x in real.output.splitlines() if x.startswith("error:")]


def test_stores_made_before_the_move_keep_their_send_log(tmp_path, smtp_server):
    """A store whose send_log came from the store's own migration 2 is read as it was."""
    import sqlite3

    from digest.ingest.store import MIGRATIONS

    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    publish_issue(config)
    csv_path = subscribers(tmp_path / "list.csv", 3)
    config.state_dir.mkdir()
    conn = sqlite3.connect(config.state_dir / "digest.sqlite")
    # Such a store also has migration 1's tables (feeds, items), which later ones extend.
    conn.executescript(MIGRATIONS[0])
    conn.executescript(
        """
        CREATE TABLE send_log (issue TEXT NOT NULL, address TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
            message_id TEXT NOT NULL, token TEXT NOT NULL, updated TEXT NOT NULL, error TEXT,
            PRIMARY KEY (issue, address)) WITHOUT ROWID;
        INSERT INTO send_log VALUES ('2026-12-01', 'reader01@example.net', 'sent', '<m@x>',
            'abc', '2026-12-01T10:00:00Z', NULL);
        PRAGMA user_version = 2;
        """
    )
    conn.close()
    report = list_send(config, csv_path)
    assert report.skipped == ("reader01@example.net",) and len(report.sent) == 2
    assert "reader01@example.net" not in inbox.copies()


def test_a_non_ascii_domain_travels_in_its_ascii_form():
    from digest.delivery.subscribers import normalize_address

    assert normalize_address("ed@münchen.de") == "ed@xn--mnchen-3ya.de"
    assert normalize_address("jürgen@example.de") == "jürgen@example.de"  # needs SMTPUTF8
