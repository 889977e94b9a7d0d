"""The stages glued in order, nothing else.

    digest fetch    config.feeds --fetch.fetch_into_store--> store (items, feed health)
                    (conditional GETs, parse in a process pool, upsert; one report per feed)
    digest draft    store.items_between(window) + history.past_decisions (earlier drafts)
                    --relevance.select_candidates--> Selection (candidates, near misses)
                    --draft.refresh_draft--> issues/DATE/draft.yaml (the program's part
                    rewritten, the editor's never; a published issue is refused first)
    digest candidates  the same selection, every candidate with its status in the draft
    digest run      fetch, then draft
    digest render   draft.load_issue --render.render_issue--> issues/DATE/email.{html,txt,eml}
    digest publish  check.check_project must find no error, then archive.publish: freeze
                    the issue, render it and its PDF, rebuild site/ (one transaction)
    digest pdf      draft.load_issue --pdf.render_pdf--> issues/DATE/draft.pdf (a proof)

The clock (`now`) is passed in everywhere so every decision can be replayed in tests.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from digest._util.fs import atomic_write
from digest.config import Config
from digest.editorial import check, draft, history
from digest.errors import PublishError, RenderError
from digest.ingest import fetch
from digest.ingest.store import Store, store_path
from digest.models import Candidate, DraftSummary, RunReport
from digest.publish.email import render
from digest.publish.site import archive
from digest.relevance.candidates import select_candidates


def run_fetch(
    config: Config, *, now: datetime, show_progress: bool = False, force: bool = False
) -> RunReport:
    with Store.open(store_path(config)) as store:
        return fetch.fetch_into_store(
            config, store, now=now, show_progress=show_progress, force=force
        )


def run_draft(
    config: Config,
    issue_date: date,
    *,
    now: datetime,
    since: date | None = None,
    until: date | None = None,
) -> DraftSummary:
    draft.refuse_if_published(config, issue_date)
    window = draft.issue_window(config, issue_date, since=since, until=until)
    with Store.open(store_path(config)) as store:
        items = store.items_between(window.start, window.end)
        health = store.feed_health(config.feeds, now)
    decisions = history.past_decisions(config, window.date)
    selection = select_candidates(items, config.rules, now=now, decisions=decisions)
    return draft.refresh_draft(config, window, selection, health=health, now=now)


def run_candidates(
    config: Config, issue_date: date, *, now: datetime, search: str | None = None
) -> list[tuple[Candidate, str | None]]:
    """Every candidate of the issue's window, best first, with its status in the draft
    (None: not listed there); `search` keeps those whose title, summary or source has it."""
    window = draft.issue_window(config, issue_date)
    with Store.open(store_path(config)) as store:
        items = store.items_between(window.start, window.end)
    found = draft.as_selection(select_candidates(items, config.rules, now=now)).candidates
    listed = draft.listed_statuses(config, issue_date)
    needle = (search or "").casefold()
    return [
        (c, listed.get(c.id))
        for c in found
        if needle in f"{c.title}\n{c.summary}\n{c.source}".casefold()
    ]


def run_render(
    config: Config, issue_date: date, *, now: datetime, force: bool = False
) -> list[Path]:
    archive.refuse_if_published(config, issue_date)
    if not force:
        refuse_render_with_errors(config, issue_date)
    issue = draft.load_issue(config, issue_date)
    rendered = render.render_issue(issue, config, now=now)
    return render.write_rendered(rendered, draft.issue_dir(config, issue_date))


DRAFT_PDF_NAME = "draft.pdf"


def run_pdf(
    config: Config, issue_date: date, *, paper: str | None = None, output: Path | None = None
) -> Path:
    """The PDF of the draft, for the editor to check (the published PDF is never touched)."""
    from digest.publish.site import pdf  # WeasyPrint is heavy: only this command loads it

    issue = draft.load_issue(config, issue_date)
    chosen = paper if paper in pdf.PAPERS else config.site.pdf_paper
    target = output or config.issue_dir(issue_date) / DRAFT_PDF_NAME
    data = pdf.render_pdf(issue, config, paper="a4" if chosen == "a4" else "letter")
    atomic_write(target, data)
    return target


def run_publish(
    config: Config,
    issue_date: date,
    *,
    now: datetime,
    force: bool = False,
    note: str | None = None,
) -> Path:
    refuse_if_check_fails(config, issue_date)
    return archive.publish(config, issue_date, now=now, force=force, note=note)


def check_errors(config: Config, issue_date: date) -> str | None:
    """What `digest check` finds wrong with the issue, in one line (None if nothing)."""
    errors = [p for p in check.check_project(config, issue_date) if p.severity == "error"]
    if not errors:
        return None
    shown = "; ".join(str(p) for p in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"`digest check` finds {len(errors)} error(s): {shown}{more}"


def refuse_if_check_fails(config: Config, issue_date: date) -> None:
    """Publishing is final: an issue with errors in `digest check` is not published."""
    if found := check_errors(config, issue_date):
        raise PublishError(f"not published: {found}; fix the draft and publish again")


def refuse_render_with_errors(config: Config, issue_date: date) -> None:
    """Email files are for proofing what will be published: not from a draft with errors."""
    if found := check_errors(config, issue_date):
        raise RenderError(
            f"not rendered: {found}; fix the draft and render again, or add --force to"
            " render it as it is"
        )
