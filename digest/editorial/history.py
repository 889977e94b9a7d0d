"""What editors decided in earlier drafts, for relevance to learn from.

    past_decisions   issues/*/draft.yaml before a date -> EditorDecision per decided candidate

A draft that cannot be read is skipped: history is a hint, never a reason to stop a run.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, cast

from digest.config import Config
from digest.editorial.draft import DRAFT_NAME, dated_files
from digest.editorial.draftfile import read_draft
from digest.errors import DigestError
from digest.models import EditorDecision

Verdict = Literal["picked", "rejected", "held"]


def past_decisions(config: Config, before: date) -> tuple[EditorDecision, ...]:
    """Every candidate an editor picked, held or rejected in drafts dated before `before`."""
    out: list[EditorDecision] = []
    for day, path in dated_files(config, DRAFT_NAME):
        if day >= before:
            continue
        try:
            current = read_draft(path)
        except DigestError:
            continue
        for cand in current.candidates:
            status = current.status(cand)
            if status in ("picked", "rejected", "held"):
                out.append(
                    EditorDecision(
                        issue_date=day,
                        title=cand.title,
                        summary=cand.summary,
                        source=cand.source,
                        status=cast(Verdict, status),
                    )
                )
    return tuple(out)
