"""A real project on disk for the publish tests: feeds.yaml and an editor's draft.yaml
(bilingual), optionally with a lead image beside it. For tests that run `digest` itself."""

from __future__ import annotations

import io
import json
import shutil
from datetime import date
from pathlib import Path

from PIL import Image
from support.repo import REPO
from support.samples import STORIES

ISSUE_DATE = date(2026, 12, 1)


def lead_photo(width: int = 2400, height: int = 1260) -> bytes:
    """A camera-sized JPEG: a navy-to-red gradient with some grain."""
    gradient = Image.linear_gradient("L").rotate(90).resize((width, height))
    red = gradient.point(lambda v: 20 + v * 150 // 255)
    green = Image.effect_noise((width, height), 12).point(lambda v: 30 + v // 10)
    blue = gradient.point(lambda v: 61 + (255 - v) * 40 // 255)
    out = io.BytesIO()
    Image.merge("RGB", (red, green, blue)).save(out, "JPEG", quality=92)
    return out.getvalue()


def write_project(
    folder: Path,
    *,
    layout: str = "standard",
    label: str = "",
    image: bool = True,
    issue_date: date = ISSUE_DATE,
) -> Path:
    """feeds.yaml and issues/DATE/draft.yaml (and lead.jpg); returns the draft's path."""
    shutil.copy(REPO / "feeds.yaml", folder / "feeds.yaml")
    issue_dir = folder / "issues" / issue_date.isoformat()
    issue_dir.mkdir(parents=True, exist_ok=True)
    if image:
        (issue_dir / "lead.jpg").write_bytes(lead_photo())
    lines = [
        f"date: {issue_date.isoformat()}",
        "image: " + ("lead.jpg" if image else '""'),
        'image_alt: "Flags of the United States and Japan at a ministerial meeting"',
        'image_credit: "U.S. Department of Defense"',
        'preheader: "Interceptors, a joint headquarters milestone and critical minerals"',
        'intro: "A bi-monthly roundup of news on the alliance from US and Japanese sources."',
        f"layout: {layout}",
    ]
    if label:
        lines.append(f"headlines_label: {json.dumps(label)}")
    lines.append("stories:")
    for headline, body, section, sources in STORIES:
        lines += [
            f"  - headline: {json.dumps(headline, ensure_ascii=False)}",
            f"    body: {json.dumps(body, ensure_ascii=False)}",
            f"    sources: [{', '.join(url for _, url in sources)}]",
            f"    section: {json.dumps(section)}",
        ]
    path = issue_dir / "draft.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
