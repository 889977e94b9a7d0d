"""The real-news development set (benchmarks/data/devset/items*.jsonl) as items.

Every file named items*.jsonl is read, so a set added later is measured without a change
here. A link seen twice (two helpers transcribed the same item) is kept once.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from support.repo import REPO

from digest.models import Item

DEVSET = REPO / "benchmarks" / "data" / "devset"
LABELS = ("POSITIVE", "NEGATIVE", "BORDERLINE")


@dataclass(frozen=True)
class Row:
    """One labelled item of the development set."""

    item: Item
    label: str
    stratum: str
    kind: str
    event: str
    reason: str
    source_file: str


def load_devset(folder: Path = DEVSET) -> list[Row]:
    rows: list[Row] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("items*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            raw = json.loads(line)
            if raw["label"] not in LABELS:
                raise ValueError(f"{path.name}:{number}: unknown label {raw['label']!r}")
            if raw["link"] in seen:
                continue
            seen.add(raw["link"])
            rows.append(_row(raw, path.name))
    return rows


def _row(raw: dict[str, str], source_file: str) -> Row:
    published = datetime.fromisoformat(raw["published"]).astimezone(UTC)
    item = Item(
        id=raw["id"],
        feed=raw["outlet"],
        url=raw["link"],
        # The store holds plain text: the feed parser has already decoded entities.
        title=html.unescape(raw["title"]),
        summary=html.unescape(raw["summary"] or ""),
        published=published,
        lang="ja" if raw.get("lang") == "ja" else "en",
        kind="press",
    )
    return Row(
        item=item,
        label=raw["label"],
        stratum=raw["stratum"],
        kind=raw.get("kind") or "",
        event=raw.get("event") or "",
        reason=raw.get("reason") or "",
        source_file=source_file,
    )


def issue_of(moment: datetime) -> date:
    """The issue (1st or 15th) whose two-week window holds `moment` (UTC days)."""
    day = moment.astimezone(UTC).date()
    if day.day < 15:
        return day.replace(day=15)
    first_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_next


def windows(rows: list[Row]) -> dict[date, list[Row]]:
    """Rows grouped by issue window, in date order."""
    out: dict[date, list[Row]] = {}
    for row in sorted(rows, key=lambda r: r.item.published):
        out.setdefault(issue_of(row.item.published), []).append(row)
    return dict(sorted(out.items()))
