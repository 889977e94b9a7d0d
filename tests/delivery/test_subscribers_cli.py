"""`digest subscribers import/export`: the list and its unsubscribes in and out of the store,
in our columns, Mailchimp's and Constant Contact's; `digest send --list` without a file."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime

from click.testing import CliRunner
from test_send import publish_issue, write_project

from digest.cli import main
from digest.delivery import db, roster
from digest.delivery.subscribers import read_rows

LATER = datetime(2026, 12, 2, tzinfo=UTC)


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_import_then_send_skips_unsubscribed_and_export_round_trips(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    project = str(config.project_dir)
    mailchimp = tmp_path / "members.csv"
    mailchimp.write_text(
        "\ufeffEmail Address,First Name,Last Name,Status\n"
        "aki@example.net,Aki,Sato,subscribed\n"
        "bo@example.net,Bo,,unsubscribed\n"
        "cy@example.net,Cy,Lee,subscribed\n",
        encoding="utf-8",
    )
    constant = tmp_path / "contacts.csv"
    constant.write_text(
        "Email address,First name,Last name,Email status\n"
        "di@example.net,Di,,Active\n"
        "AKI@example.net,Aki,Sato,Active\n",
        encoding="utf-8",
    )
    output = run("subscribers", "import", "--project", project, str(mailchimp))
    assert "3 added, 0 updated, 1 recorded as unsubscribed" in output
    output = run("subscribers", "import", "--project", project, str(constant))
    assert "1 added, 1 updated" in output

    with db.open_store(config) as store:
        roster.record_unsubscribe(store.conn, "cy@example.net", LATER, via="one-click")
    # An old export that still lists Cy as subscribed does not bring Cy back.
    assert "stay unsubscribed" in run("subscribers", "import", "--project", project, str(mailchimp))

    publish_issue(config)
    output = run("send", "--project", project, "--list", "--yes")
    assert "2 sent" in output
    assert inbox.copies() == Counter({"aki@example.net": 1, "di@example.net": 1})

    for fmt, header in (
        ("csv", "email,first_name,last_name,status"),
        ("mailchimp", "Email Address,First Name,Last Name,Status"),
        ("constantcontact", "Email address,First name,Last name,Email status"),
    ):
        target = tmp_path / f"export-{fmt}.csv"
        run("subscribers", "export", "--project", project, "--format", fmt, str(target))
        text = target.read_text(encoding="utf-8")
        assert text.splitlines()[0] == header
        rows = {r.address: r.status for r in read_rows(target)}
        assert rows == {
            "aki@example.net": "subscribed",
            "bo@example.net": "unsubscribed",
            "cy@example.net": "unsubscribed",
            "di@example.net": "subscribed",
        }
    printed = run("subscribers", "--project", project, "export")  # the group takes it too
    assert len(list(csv.reader(io.StringIO(printed)))) == 5


def test_send_list_without_a_file_needs_an_imported_list(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    publish_issue(config)
    result = CliRunner().invoke(main, ["send", "--project", str(config.project_dir), "--list"])
    assert result.exit_code == 2 and "digest subscribers import" in result.output
    assert inbox.messages == []
