"""Subscriber files: the CSV exports of Mailchimp, Constant Contact or a plain `email` column.

The file is read by the csv module from the file itself, so a quoted field may hold any
line break (U+2028, U+0085, even CR LF) and an error names the row's own line number.
A `status` column marks rows that must not be mailed (unsubscribed, cleaned, bounced ...).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.utils import getaddresses
from pathlib import Path
from typing import Literal

from digest.delivery.smtp import ADDRESS
from digest.errors import SendError

Status = Literal["subscribed", "unsubscribed"]
FORMATS = ("csv", "mailchimp", "constantcontact")
Format = Literal["csv", "mailchimp", "constantcontact"]

_EMAIL_COLUMNS = ("email", "emailaddress", "e-mail", "mail", "address")
_STATUS_COLUMNS = ("status", "memberstatus", "emailstatus", "emailpermissionstatus")
_DROPPED_STATUSES = {
    "unsubscribed",
    "cleaned",
    "bounced",
    "removed",
    "optout",
    "opted out",
    "optedout",
}
# Each service's own column names, so an export can be imported there as it is.
HEADERS: dict[Format, tuple[str, str, str, str]] = {
    "csv": ("email", "first_name", "last_name", "status"),
    "mailchimp": ("Email Address", "First Name", "Last Name", "Status"),
    "constantcontact": ("Email address", "First name", "Last name", "Email status"),
}


@dataclass(frozen=True)
class Recipient:
    """One address to send to, with its unsubscribe token (filled in just before sending)."""

    address: str
    name: str = ""
    token: str = ""

    @property
    def key(self) -> str:
        """The address as the send log and the unsubscribes compare it."""
        return address_key(self.address)


@dataclass(frozen=True)
class SubscriberRow:
    """One row of a subscriber file: an address, a name and whether it may be mailed."""

    address: str
    first_name: str = ""
    last_name: str = ""
    status: Status = "subscribed"
    line: int = 0

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


def address_key(address: str) -> str:
    return address.strip().lower()


def normalize_address(address: str) -> str:
    """The address as it goes on the wire: a non-ASCII domain in its ASCII (IDNA) form.

    A non-ASCII local part stays: only a server offering SMTPUTF8 can take it.
    """
    local, _, domain = address.strip().rpartition("@")
    if domain.isascii():
        return address.strip()
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address.strip()


def read_rows(path: Path) -> tuple[SubscriberRow, ...]:
    """Every row of a subscriber file, unsubscribed ones included, duplicates kept once."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return tuple(_rows(csv.reader(handle), path))
    except FileNotFoundError:
        raise SendError("subscriber list not found; check the file name", path=path) from None
    except UnicodeDecodeError as exc:
        raise SendError(f"is not UTF-8 ({exc.reason}); export it as UTF-8 CSV", path=path) from None
    except csv.Error as exc:
        raise SendError(f"is not a CSV file ({exc}); export it as CSV", path=path) from None
    except OSError as exc:
        raise SendError(
            f"cannot be read ({exc.strerror}); check its permissions", path=path
        ) from None


def _rows(reader: Iterator[list[str]], path: Path) -> Iterator[SubscriberRow]:
    numbered = _numbered(reader)
    first = next(numbered, None)
    if first is None:
        raise SendError("the subscriber list is empty", path=path)
    header_line, header_row = first
    if any(ADDRESS.match(cell.strip()) for cell in header_row):
        header, body = ["email"], _chain(first, numbered)
    else:
        header, body = [_norm(cell) for cell in header_row], numbered
    column = _find(header, _EMAIL_COLUMNS)
    if column is None:
        raise SendError(
            f"no email column in the header ({', '.join(header_row)}); name it `email`",
            path=path,
            line=header_line,
        )
    status = _find(header, _STATUS_COLUMNS)
    name = _find(header, ("name", "fullname"))
    first_name = _find(header, ("firstname", "fname"))
    last_name = _find(header, ("lastname", "lname"))
    seen: set[str] = set()
    for line, row in body:
        if not any(cell.strip() for cell in row):
            continue
        address = _cell(row, column)
        if not ADDRESS.match(address):
            raise SendError(
                f"{address!r} is not an email address; fix or delete the row",
                path=path,
                line=line,
            )
        address = normalize_address(address)
        if address_key(address) in seen:
            continue
        seen.add(address_key(address))
        dropped = status is not None and _cell(row, status).lower() in _DROPPED_STATUSES
        given, family = (
            (_cell(row, name), "")
            if name is not None
            else (_cell(row, first_name), _cell(row, last_name))
        )
        yield SubscriberRow(
            address, given, family, "unsubscribed" if dropped else "subscribed", line
        )


def _numbered(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted field may span lines)."""
    line_num = getattr(reader, "line_num", 0)
    for row in reader:
        yield line_num + 1, row
        line_num = getattr(reader, "line_num", line_num + 1)


def _chain(
    first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


def read_subscribers(path: Path) -> tuple[Recipient, ...]:
    """The addresses of a subscriber file that may be mailed."""
    return tuple(
        Recipient(row.address, row.name) for row in read_rows(path) if row.status == "subscribed"
    )


def parse_addresses(values: Sequence[str]) -> tuple[Recipient, ...]:
    """--to values ('a@x.org', 'Name <a@x.org>', or comma-separated) as recipients."""
    out = []
    for name, address in getaddresses(list(values)):
        if not ADDRESS.match(address):
            raise SendError(f"--to {address or name!r} is not an email address")
        out.append(Recipient(normalize_address(address), name))
    if not out:
        raise SendError("no address given; use --to ADDRESS")
    return tuple(out)


def rows_to_csv(rows: Sequence[SubscriberRow], fmt: Format) -> str:
    """A subscriber file in the column names of `fmt`, one row per address."""

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS[fmt])
    for row in rows:
        writer.writerow((row.address, row.first_name, row.last_name, row.status))
    return out.getvalue()


def _norm(cell: str) -> str:
    return re.sub(r"[\s_]+", "", cell.strip().lower())


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    return next((header.index(n) for n in names if n in header), None)


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""
