"""`digest`: thin commands over the stages. Each command's help shows an example.

Exit status: 0 done (single feeds failing are reported, not fatal), 1 the job failed,
2 bad usage or configuration.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from digest.config import Config, load_config, read_config
from digest.errors import (
    ConfigError,
    DigestError,
    DraftError,
    UsageError,
    os_error,
    store_error,
)
from digest.paths import BACKUPS_DIR, CONFIG_NAME, STATE_DIR, STORE_NAME, find_project

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("digest")


def utc_now() -> datetime:
    return datetime.now(UTC)


class DigestGroup(click.Group):
    """Turns every DigestError into one clear line on stderr and its exit status.

    It is also the one place where the operating system's and SQLite's errors (disk full,
    read-only folder, permission denied, a locked file, damaged pages) become DigestErrors
    naming the path and what to do, for every command.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            except OSError as exc:
                raise os_error(exc) from exc
            except sqlite3.Error as exc:
                raise store_error(exc, _store_of(ctx)) from exc
        except DigestError as exc:
            if isinstance(exc, DraftError) and exc.location():
                # draft.yaml:LINE: error: what; what to do (the form `digest check` prints)
                click.echo(f"{exc.location()}: error: {exc.message}", err=True)
            else:
                click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


PROJECT_HELP = (
    "Project folder holding feeds.yaml, issues/, state/, site/ and .digest/"
    " (default: the current folder or its nearest parent holding feeds.yaml)."
)


_PROJECT_KEY = "digest.project"


def _store_of(ctx: click.Context) -> Path:
    """The store of the project the command ran on, for SQLite errors that name no file."""
    project = Path(ctx.meta.get(_PROJECT_KEY, "."))
    return project / STATE_DIR / STORE_NAME


def project_option(func: F) -> F:
    return click.option(
        "--project",
        "project",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=PROJECT_HELP,
    )(func)


def _project(given: Path | None) -> Path:
    """The project folder: --project after the command, else before it, else found like git
    finds a repository (the current folder or its nearest parent holding feeds.yaml)."""
    if given is None:
        given = click.get_current_context().find_root().params.get("project")
    if given is not None:
        return _remembered(Path(given))
    start = Path.cwd()
    found = find_project(start)
    if found is None:
        raise ConfigError(
            f"no project here: no {CONFIG_NAME} in {start} or any folder above it; run"
            " `digest init` to start one in this folder, or pass --project DIR",
        )
    return _remembered(found)


def _remembered(project: Path) -> Path:
    # For the error boundary: SQLite's errors name no file, the store is this project's.
    click.get_current_context().meta[_PROJECT_KEY] = project  # meta is shared by all contexts
    return project


def date_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--date",
        "issue_date",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help=help_text,
    )


def _as_date(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _config(project: Path | None) -> Config:
    folder = _project(project)
    if not (folder / CONFIG_NAME).exists():
        raise ConfigError(
            f"no {CONFIG_NAME} in {folder}; run `digest init {folder}` to start a project"
            " there, or pass the folder that holds it with --project DIR"
        )
    return load_config(folder)


def _issue_date(config: Config, given: datetime | None) -> date:
    """The issue to work on: the given date, else the next unpublished one."""
    from digest.editorial import draft  # loaded on use: keeps start-up fast

    if given is not None:
        return given.date()
    return draft.next_issue_date(config, utc_now().astimezone(config.tz).date())


def _latest_issue_date(config: Config, given: datetime | None) -> date:
    """The issue to render or publish: the given date, else the newest draft on disk."""
    from digest.editorial import draft  # loaded on use: keeps start-up fast

    if given is not None:
        return given.date()
    dated = draft.draft_dates(config)
    if not dated:
        raise DigestError(
            f"no draft in {config.issues_dir}; run `digest draft` first", path=config.issues_dir
        )
    return dated[-1]


@click.group(cls=DigestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option(
    "--project",
    "project",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=PROJECT_HELP,
)
@click.version_option(package_name="alliance-digest")
def main(verbose: int, project: Path | None) -> None:
    """Alliance Digest: builds the US-Japan Alliance Digest from news feeds.

    \b
    Example: a whole offline run on bundled sample feeds
        digest demo
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose < 2:  # one INFO line per HTTP request drowns the rest; -vv shows them
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


@main.command()
@project_option
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: only on a terminal).",
)
@click.option(
    "--force", is_flag=True, help="Fetch every feed now, ignoring poll times and backoff."
)
def fetch(project: Path | None, progress: bool | None, force: bool) -> None:
    """Pull the feeds that are due into the store (each feed has its own poll interval).

    Exit status 1 when every feed that was due failed.

    \b
    Example:
        digest fetch --project ~/alliance
        digest fetch --force    # after an outage: do not wait out the backoff
    """
    config = _config(project)
    from digest import pipeline, report  # loaded on use: keeps start-up fast

    show = sys.stderr.isatty() if progress is None else progress
    run = pipeline.run_fetch(config, now=utc_now(), show_progress=show, force=force)
    report.print_fetch_summary(run)
    if report.every_due_feed_failed(run):
        click.echo("error: every feed that was due failed; see the lines above", err=True)
        sys.exit(1)


@main.command()
@project_option
@date_option("Issue date (YYYY-MM-DD); default: the next unpublished issue.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Start of the news window (default: where the previous issue's ended).",
)
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="End of the news window, exclusive (default: the issue date).",
)
def draft(
    project: Path | None,
    issue_date: datetime | None,
    since: datetime | None,
    until: datetime | None,
) -> None:
    """Build or refresh issues/DATE/draft.yaml; the part you write is never changed.

    Without --date it works on the next unpublished issue; a published issue is final
    (correct it with `digest publish --force --note`).

    \b
    Example:
        digest draft --date 2026-12-01
    """
    config = _config(project)
    from digest import pipeline, report  # loaded on use: keeps start-up fast

    when = _issue_date(config, issue_date)
    summary = pipeline.run_draft(
        config, when, now=utc_now(), since=_as_date(since), until=_as_date(until)
    )
    report.print_draft_summary(summary)


@main.command()
@project_option
@date_option("Issue date (YYYY-MM-DD); default: the next issue date of the cadence.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: only on a terminal).",
)
def run(project: Path | None, issue_date: datetime | None, progress: bool | None) -> None:
    """Fetch, then draft: the one-shot form of the scheduled job.

    \b
    Example (from cron):
        digest run --project /srv/alliance
    """
    config = _config(project)
    from digest import pipeline, report  # loaded on use: keeps start-up fast

    show = sys.stderr.isatty() if progress is None else progress
    report.print_fetch_summary(pipeline.run_fetch(config, now=utc_now(), show_progress=show))
    when = _issue_date(config, issue_date)
    report.print_draft_summary(pipeline.run_draft(config, when, now=utc_now()))


@main.command()
@project_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status(project: Path | None, as_json: bool) -> None:
    """Show feed health and the current draft's counts.

    \b
    Example:
        digest status --json | jq '.feeds[] | select(.consecutive_failures > 0)'
    """
    config = _config(project)
    from digest import report  # loaded on use: keeps start-up fast

    data = report.status_data(config, now=utc_now())
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        report.print_status(data)


@main.command()
@project_option
@date_option("Check only this issue's draft (default: every draft).")
def check(project: Path | None, issue_date: datetime | None) -> None:
    """Validate feeds.yaml and the drafts, listing every problem with file and line.

    \b
    Example:
        digest check --date 2026-12-01
    """
    config, problems = read_config(_project(project) / CONFIG_NAME)
    from digest.editorial import check  # loaded on use: keeps start-up fast

    if config is not None:
        problems += check.check_project(config, _as_date(issue_date))
    for problem in problems:
        click.echo(str(problem))
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
    if config is None or (errors and check.unusable(config, _as_date(issue_date))):
        sys.exit(2)  # a file the program cannot use, as every other command says
    if errors:
        sys.exit(1)


@main.command()
@project_option
@date_option("Issue date (YYYY-MM-DD); default: the newest draft.")
@click.option("--force", is_flag=True, help="Render even though `digest check` finds errors.")
def render(project: Path | None, issue_date: datetime | None, force: bool) -> None:
    """Write issues/DATE/email.html, email.txt and email.eml from the draft as it is now.

    Refused while `digest check` finds errors (unless --force). A published issue's files
    are final: `digest publish --force --note` re-renders them.

    \b
    Example:
        digest render --date 2026-12-01
    """
    config = _config(project)
    from digest import pipeline  # loaded on use: keeps start-up fast

    when = _latest_issue_date(config, issue_date)
    for path in pipeline.run_render(config, when, now=utc_now(), force=force):
        click.echo(str(path))


@main.command()
@project_option
@date_option("Issue date (YYYY-MM-DD); default: the newest draft.")
@click.option(
    "--paper",
    type=click.Choice(["letter", "a4"]),
    default=None,
    help="Paper size (default: site.pdf_paper in feeds.yaml, else letter).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the PDF (default: issues/DATE/draft.pdf).",
)
def pdf(
    project: Path | None, issue_date: datetime | None, paper: str | None, output: Path | None
) -> None:
    """Make the PDF of a draft, for the editor to check before publishing.

    `digest publish` makes the issue's final PDF itself; this never touches it.

    \b
    Example:
        digest pdf --date 2026-12-01 --paper a4
    """
    config = _config(project)
    from digest import pipeline  # loaded on use: keeps start-up fast

    when = _latest_issue_date(config, issue_date)
    click.echo(str(pipeline.run_pdf(config, when, paper=paper, output=output)))


@main.command()
@project_option
@date_option("Issue date (YYYY-MM-DD); default: the newest draft.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1 (1-65535).",
)
def preview(project: Path | None, issue_date: datetime | None, port: int) -> None:
    """Serve a live preview of the draft on 127.0.0.1 (reloads when the draft is saved).

    \b
    Example:
        digest preview --port 8001   # then open http://127.0.0.1:8001/
    """
    config = _config(project)
    from digest.publish import preview as preview_server  # loaded on use: keeps start-up fast

    when = _latest_issue_date(config, issue_date)
    click.echo(f"Preview of {when} at http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    preview_server.serve_preview(config, when, host="127.0.0.1", port=port)


@main.command()
@project_option
@date_option("Issue date (YYYY-MM-DD); default: the newest draft.")
@click.option("--force", is_flag=True, help="Re-publish an already published issue.")
@click.option("--note", default=None, help="Correction note shown on a re-published issue.")
def publish(
    project: Path | None, issue_date: datetime | None, force: bool, note: str | None
) -> None:
    """Freeze the issue, render its final email files and rebuild the archive site.

    \b
    Example:
        digest publish --date 2026-12-01
        digest publish --date 2026-12-01 --force --note "Corrected the date of the 2+2."
    """
    config = _config(project)
    from digest import pipeline  # loaded on use: keeps start-up fast

    when = _latest_issue_date(config, issue_date)
    if force and not note and sys.stdin.isatty():
        # A correction is shown to readers, so ask for its note rather than fail.
        note = (
            click.prompt(
                "Correction note shown on the issue's page", default="", show_default=False
            )
            or None
        )
    page = pipeline.run_publish(config, when, now=utc_now(), force=force, note=note)
    click.echo(str(page))


@main.command()
@project_option
@click.option("--full", is_flag=True, help="Write every page, even those that did not change.")
def site(project: Path | None, full: bool) -> None:
    """Rebuild the archive site from the published issues; only changed pages are written.

    Use it after changing the site templates or the `site:` settings; publishing an issue
    rebuilds the site by itself.

    \b
    Example:
        digest site --project /srv/alliance
    """
    config = _config(project)
    from digest.publish.site import archive  # loaded on use: keeps start-up fast

    report = archive.build_site(config, now=utc_now(), full=full)
    click.echo(str(report))


STORE_LIST = "-"  # `--list` without a file: the list kept in the store


@main.command()
@project_option
@date_option(
    "Issue date (YYYY-MM-DD); default: a proof takes the newest draft, a list the latest "
    "published issue."
)
@click.option(
    "--to",
    "recipients",
    multiple=True,
    metavar="ADDRESS",
    help="Send a proof to this address (repeatable).",
)
@click.option(
    "--list",
    "list_csv",
    is_flag=False,
    flag_value=STORE_LIST,
    default=None,
    metavar="[FILE]",
    help="Send the published issue to every address of this CSV (column `email`), or, "
    "without FILE, of the list brought in by `digest subscribers import`.",
)
@click.option("--yes", is_flag=True, help="Send to the list without asking (for scripts).")
@click.option(
    "--force",
    is_flag=True,
    help="Send a proof even though `digest check` finds errors (subject: PROOF WITH ERRORS).",
)
@click.option("--dry-run", is_flag=True, help="Write the messages as .eml files instead.")
@click.option(
    "--export",
    "service",
    type=click.Choice(["mailchimp", "constantcontact"]),
    default=None,
    help="Only write issues/D/email.SERVICE.html to paste into it.",
)
@click.option(
    "--check-dns",
    is_flag=True,
    help="Check the DKIM, SPF and DMARC records of the sender's domain (looks up DNS).",
)
def send(
    project: Path | None,
    issue_date: datetime | None,
    recipients: tuple[str, ...],
    list_csv: str | None,
    yes: bool,
    force: bool,
    dry_run: bool,
    service: str | None,
    check_dns: bool,
) -> None:
    """Send a proof (--to) or the published issue to a subscriber list (--list).

    A proof is rendered from the draft as it is now; a list gets only a published issue,
    after showing what will go and asking (--yes to skip the question). An interrupted
    list send resumes without sending anyone a second copy.

    \b
    Examples:
        digest send --to editor@example.org
        digest send --list subscribers.csv --dry-run
        digest send --list --date 2026-12-01 --yes
        digest send --export mailchimp
        digest send --check-dns
    """
    from digest.delivery import lifecycle  # loaded on use: keeps start-up fast
    from digest.delivery import send as sender  # loaded on use: keeps start-up fast

    if check_dns:
        _check_dns(_config(project))
        return
    if service:
        from digest.delivery.exports import export_html  # loaded on use: keeps start-up fast

        config = _config(project)
        when = _latest_issue_date(config, issue_date)
        click.echo(str(export_html(config, when, service)))  # type: ignore[arg-type]
        return
    if bool(recipients) == (list_csv is not None):
        raise click.UsageError("give either --to ADDRESS... or --list [FILE]")
    config = _config(project)
    if recipients:
        when = _latest_issue_date(config, issue_date)
        outgoing = lifecycle.proof_issue(config, when, now=utc_now(), force=force)
        if outgoing.with_errors:
            click.echo(
                f"warning: `digest check` finds {len(outgoing.errors)} error(s); the proof "
                "says PROOF WITH ERRORS",
                err=True,
            )
        result = sender.send_proof(
            config, outgoing, list(recipients), now=utc_now(), dry_run=dry_run
        )
    else:
        assert list_csv is not None
        outgoing = lifecycle.list_issue(config, _as_date(issue_date), now=utc_now())
        people = _list_recipients(config, list_csv)
        plan = sender.plan_list(config, outgoing.issue_date, people)
        click.echo(
            f"{outgoing.title} ({outgoing.issue_date.isoformat()}), {outgoing.stories} "
            f"stories: {plan.to_send} recipient(s) to send now ({plan.already} already "
            f"have it, {plan.unsubscribed} unsubscribed)"
        )
        if plan.to_send and not dry_run and not yes:
            _confirm_list_send(plan.to_send)
        result = sender.send_list(config, outgoing, people, now=utc_now(), dry_run=dry_run)
    click.echo(str(result))
    if not result.ok:  # some failed or the run stopped early: cron and scripts should know
        sys.exit(1)


def _list_recipients(config: Config, list_csv: str) -> tuple[Any, ...]:
    from digest.delivery import db, roster, subscribers  # loaded on use: keeps start-up fast

    if list_csv != STORE_LIST:
        return subscribers.read_subscribers(Path(list_csv))
    with db.open_store(config) as store:
        people = roster.active_recipients(store.conn)
    if not people:
        raise UsageError(
            "not sent: the store holds no subscribers; bring them in with `digest "
            "subscribers import FILE`, or give the file: --list FILE"
        )
    return people


def _confirm_list_send(count: int) -> None:
    if not sys.stdin.isatty():
        raise UsageError(
            f"not sent: a list send asks for confirmation and there is no terminal to ask; "
            f"check the line above, then add --yes to send to {count} recipient(s)"
        )
    if not click.confirm(f"Send it to {count} recipient(s)?", default=False):
        raise UsageError("not sent: not confirmed; nothing was sent")


def _check_dns(config: Config) -> None:
    from digest.delivery import dkim  # loaded on use: keeps start-up fast

    findings = dkim.check_dns(config, dkim.dns_txt)
    for finding in findings:
        click.echo(str(finding))
    if not all(f.ok for f in findings):
        sys.exit(1)


@main.command()
@project_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8025,
    show_default=True,
    help="Port to listen on (0: any free port, printed at start).",
)
def serve(project: Path | None, host: str, port: int) -> None:
    """Serve the subscriber endpoints (one-click unsubscribe, RFC 8058) over HTTP.

    Run it behind the organisation's web server, which forwards the path of
    digest.unsubscribe_url to it (deploy/alliance-digest-serve.service).

    \b
    Example:
        digest serve --project /srv/alliance --port 8025
    """
    config = _config(project)
    from digest.delivery import serve as endpoints  # loaded on use: keeps start-up fast

    endpoints.serve(config, host=host, port=port, announce=click.echo)


@main.group()
@project_option
@click.pass_context
def subscribers(ctx: click.Context, project: Path | None) -> None:
    """Bring the subscriber list and its unsubscribes in and out of the store.

    \b
    Example:
        digest subscribers import members.csv
        digest subscribers export --format mailchimp list.csv
    """
    ctx.obj = project


def _subcommand_project(func: F) -> F:
    """--project after the subcommand too; without it, the group's, else found as usual."""
    return click.option(
        "--project",
        "project",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Project folder holding feeds.yaml, issues/, site/ and .digest/.",
    )(func)


def _group_project(given: Path | None) -> Path | None:
    """The subcommand's --project, else the group's; None: found as every command finds it."""
    parent = click.get_current_context().obj
    return given or (parent if isinstance(parent, Path) else None)


@subscribers.command("import")
@_subcommand_project
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def subscribers_import(project: Path | None, file: Path) -> None:
    """Import a subscriber CSV (plain, Mailchimp or Constant Contact columns).

    Rows marked unsubscribed, cleaned or bounced are recorded as unsubscribes; an address
    that unsubscribed here stays unsubscribed whatever the file says.

    \b
    Example:
        digest subscribers import members.csv
    """
    config = _config(_group_project(project))
    from digest.delivery import db, roster  # loaded on use: keeps start-up fast
    from digest.delivery import subscribers as files  # loaded on use: keeps start-up fast

    rows = files.read_rows(file)
    with db.open_store(config) as store:
        result = roster.import_rows(store.conn, rows, utc_now())
    click.echo(f"{file}: {result}")


@subscribers.command("export")
@_subcommand_project
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "mailchimp", "constantcontact"]),
    default="csv",
    show_default=True,
    help="Column names of the file: ours, Mailchimp's or Constant Contact's.",
)
def subscribers_export(project: Path | None, file: Path | None, fmt: str) -> None:
    """Export the subscribers and the unsubscribed addresses as CSV (stdout without FILE).

    \b
    Example:
        digest subscribers export --format constantcontact contacts.csv
    """
    config = _config(_group_project(project))
    from digest._util.fs import atomic_write  # loaded on use: keeps start-up fast
    from digest.delivery import db, roster  # loaded on use: keeps start-up fast
    from digest.delivery import subscribers as files  # loaded on use: keeps start-up fast

    with db.open_store(config) as store:
        rows = roster.all_rows(store.conn)
    text = files.rows_to_csv(rows, fmt)  # type: ignore[arg-type]
    if file is None:
        click.echo(text, nl=False)
        return
    try:
        atomic_write(file, text)
    except OSError as exc:
        raise DigestError(f"cannot write the export ({exc.strerror})", path=file) from None
    click.echo(f"{file}: {len(rows)} address(es)")


@main.command()
@click.argument(
    "directory", required=False, type=click.Path(file_okay=False, path_type=Path), default="."
)
def init(directory: Path) -> None:
    """Start a project: a commented feeds.yaml, issues/ and a .gitignore.

    Refuses to overwrite an existing feeds.yaml.

    \b
    Example:
        digest init ~/alliance && cd ~/alliance && digest fetch
    """
    from digest.project import init_project  # loaded on use: keeps start-up fast

    for path in init_project(directory):
        click.echo(f"created {path}")
    click.echo(f"next: edit {directory / CONFIG_NAME}, then `digest fetch` and `digest draft`")


@main.command()
@project_option
@date_option("Issue date (YYYY-MM-DD); default: the next unpublished issue.")
@click.option("--all", "show_all", is_flag=True, help="List every candidate, not the first 50.")
@click.option("--search", default=None, metavar="TEXT", help="Only those whose text has TEXT.")
def candidates(
    project: Path | None, issue_date: datetime | None, show_all: bool, search: str | None
) -> None:
    """List the issue's candidates from the store, best first, with their status in the draft.

    The draft lists the best `rules.max_candidates`; this finds the others, so a story the
    filter ranked low can still be picked (`ID: picked` under `decisions:`, then `digest
    draft`).

    \b
    Example:
        digest candidates --search Okinawa --all
    """
    config = _config(project)
    from digest import pipeline, report  # loaded on use: keeps start-up fast

    when = _issue_date(config, issue_date)
    found = pipeline.run_candidates(config, when, now=utc_now(), search=search)
    report.print_candidates(found, limit=None if show_all else 50)


@main.command()
@project_option
@click.option("--list", "list_only", is_flag=True, help="Print the jobs and their next runs.")
@click.option(
    "--once",
    type=click.Choice(["fetch", "draft", "backup"]),
    default=None,
    help="Run one job now and exit (for cron; waits for a running job).",
)
def schedule(project: Path | None, list_only: bool, once: str | None) -> None:
    """Run the unattended job: fetch the feeds that are due, draft on issue days.

    \b
    Example:
        digest schedule --project /srv/alliance        # runs until SIGTERM
        digest schedule --project /srv/alliance --list
        digest schedule --project /srv/alliance --once draft   # from cron
    """
    config = _config(project)
    from digest import schedule as scheduler  # loaded on use: keeps start-up fast

    if once:
        sys.exit(scheduler.run_once(config, once))
    sys.exit(scheduler.run_scheduler(config, list_only=list_only))


@main.command()
@project_option
@click.argument(
    "directory", required=False, type=click.Path(file_okay=False, path_type=Path), default=None
)
def backup(project: Path | None, directory: Path | None) -> None:
    """Copy what cannot be rebuilt (the store, state/, issues/, feeds.yaml) into DIRECTORY.

    Safe while the scheduler fetches or a send runs: the store is copied with SQLite's
    online backup API. DIRECTORY defaults to `backup.dir` (./backups).

    \b
    Example:
        digest backup /mnt/offsite/alliance
    """
    config = _config(project)
    from digest.backup import make_backup  # loaded on use: keeps start-up fast

    target = directory or config.backups_dir
    click.echo(str(make_backup(config.project_dir, target, now=utc_now())))


@main.command()
@project_option
@click.argument("backup", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace files that differ without asking.")
def restore(project: Path | None, backup: Path, yes: bool) -> None:
    """Bring a backup made by `digest backup` back into the project.

    Every file is checked against the backup's manifest first. Files that differ are only
    replaced when confirmed (--yes, or the prompt on a terminal), after the current ones are
    saved as a new backup. It refuses while the scheduler runs.

    \b
    Example:
        digest restore backups/digest-backup-20261201T070000Z
    """
    from digest.backup import (  # loaded on use: keeps start-up fast
        changes,
        read_manifest,
        restore_backup,
    )

    # A lost project may have no feeds.yaml yet: --project, else the current folder.
    given = project or click.get_current_context().find_root().params.get("project")
    project = _remembered(Path(given) if given is not None else Path.cwd())
    confirmed = yes
    if not yes and sys.stdin.isatty():
        replaced = changes(project, backup, read_manifest(backup))
        confirmed = not replaced or click.confirm(
            f"Replace {len(replaced)} file(s) that differ from the backup "
            "(the current ones are saved as a backup first)?"
        )
        if not confirmed:
            raise click.Abort()
    saves = _config(project).backups_dir if (project / "feeds.yaml").is_file() else None
    report = restore_backup(
        project,
        backup,
        confirmed=confirmed,
        saves_dir=saves or project / BACKUPS_DIR,
        now=utc_now(),
    )
    click.echo(str(report))


@main.command()
@project_option
@click.argument("text")
def match(project: Path | None, text: str) -> None:
    """Show the relevance score, section and reasons for a headline or paragraph.

    \b
    Example:
        digest match "Hegseth and Nakatani agree on missile co-production"
    """
    if not text.strip():
        raise click.UsageError(
            "nothing to match: give a headline or paragraph, e.g. "
            'digest match "Hegseth and Nakatani discuss co-production"'
        )
    config = _config(project)
    from digest import report  # loaded on use: keeps start-up fast
    from digest.relevance import score as relevance  # loaded on use: keeps start-up fast

    scored = relevance.explain(text, config.rules, now=utc_now())
    report.print_match(scored)
    if not scored.reasons:
        click.echo(
            "  no points: it needs an alliance phrase, or a US-side and a Japan-side word"
            " (edit the `rules:` lists of feeds.yaml)"
        )
    click.echo(
        f"  (a candidate needs at least {config.rules.min_score:g} points of evidence;"
        " source, freshness and outlets only rank)"
    )
    click.echo("words the rules saw, by list:")
    seen = relevance.compile_rules(config.rules).words_found(text)
    for rule_list, words in seen:
        click.echo(f"  {rule_list}: {', '.join(words)}")
    if not seen:
        click.echo("  none: no word of any list is in this text")


@main.command()
@project_option
@click.option(
    "--before",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="Delete stored items published before this date.",
)
def prune(project: Path | None, before: datetime) -> None:
    """Delete old items from the store (fetching never deletes anything).

    \b
    Example:
        digest prune --before 2025-01-01
    """
    config = _config(project)
    from digest.ingest.store import Store, store_path  # loaded on use: keeps start-up fast

    with Store.open(store_path(config)) as store:
        removed = store.prune(before.replace(tzinfo=UTC))
    click.echo(f"removed {removed} item(s) published before {before.date()}")


@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--picks",
    type=int,
    default=8,
    show_default=True,
    help="How many top candidates the stand-in editor picks.",
)
def demo(directory: Path | None, picks: int) -> None:
    """Run the whole pipeline offline on bundled sample feeds served on 127.0.0.1.

    Creates a project in DIRECTORY (default: ./demo), fetches, drafts, picks the top
    stories as a stand-in editor, renders the email and publishes the archive.

    \b
    Example:
        digest demo /tmp/alliance-demo
    """
    from digest.demo import run as demo_run  # loaded on use: keeps start-up fast

    result = demo_run.run_demo(directory or Path("demo"), picks=picks, now=utc_now())
    click.echo(f"email:   {result.email_html}")
    click.echo(f"archive: {result.site_index}")
    click.echo(f"draft:   {result.draft}")
    click.echo(
        f"({result.candidates} candidates from {result.items} items, {result.seconds:.1f} s)"
    )


# -- digest feeds: list, add, import, export, check ---------------------------------------


@main.group()
def feeds() -> None:
    """List, add, import, export and check the feeds of feeds.yaml.

    \b
    Example:
        digest feeds list
        digest feeds add https://thediplomat.com/ --kind press
    """


@feeds.command("list")
@project_option
def feeds_list(project: Path) -> None:
    """List each feed: name, language, kind, URL and its polling interval.

    \b
    Example:
        digest feeds list --project ~/alliance
    """
    config = _config(project)
    from digest import report  # loaded on use: keeps start-up fast
    from digest.ingest.store import store_path  # loaded on use: keeps start-up fast

    # Listing creates nothing: before the first fetch there is no store to ask.
    fetched = store_path(config).exists()
    polled = report.status_data(config, now=utc_now())["feeds"] if fetched else []
    report.print_feed_list(config, polled)


@feeds.command("add")
@project_option
@click.argument("url")
@click.option("--name", default=None, help="Name shown in drafts (default: the feed's title).")
@click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    default=None,
    help="Language of the feed (default: guessed from its title).",
)
@click.option(
    "--kind",
    type=click.Choice(["government", "wire", "press", "think_tank", "blog", "other"]),
    default="press",
    show_default=True,
    help="Kind of source (ranks candidates).",
)
def feeds_add(project: Path, url: str, name: str | None, lang: str | None, kind: str) -> None:
    """Add a feed, or a web page that announces one, after fetching it once.

    The entry is appended to the `feeds:` list of feeds.yaml with a comment saying when it
    was checked; every other line of the file stays as it was.

    \b
    Example:
        digest feeds add https://warontherocks.com/ --kind think_tank
        digest feeds add https://www.asahi.com/rss/asahi/newsheadlines.rdf --name 朝日新聞
    """
    config = _config(project)
    from digest.ingest import feedtools  # loaded on use: keeps start-up fast

    added = feedtools.add_feed(config, url, name=name, lang=lang, kind=kind, now=utc_now())
    click.echo(added)


@feeds.command("import")
@project_option
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def feeds_import(project: Path, opml_file: Path) -> None:
    """Add the feeds of an OPML file (from any feed reader) that feeds.yaml lacks.

    \b
    Example:
        digest feeds import subscriptions.opml
    """
    config = _config(project)
    from digest.ingest import feedtools  # loaded on use: keeps start-up fast

    click.echo(feedtools.import_opml(config, opml_file, now=utc_now()))


@feeds.command("export")
@project_option
@click.argument("opml_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def feeds_export(project: Path, opml_file: Path | None) -> None:
    """Write the feeds as OPML 2.0 (name, URL, language, kind) to FILE or stdout.

    \b
    Example:
        digest feeds export alliance-feeds.opml
    """
    config = _config(project)
    from digest._util.fs import atomic_write  # loaded on use: keeps start-up fast
    from digest.ingest.opml import to_opml  # loaded on use: keeps start-up fast

    data = to_opml(config.feeds, title=config.site.title, now=utc_now())
    if opml_file is None:
        click.echo(data.decode("utf-8"), nl=False)
        return
    atomic_write(opml_file, data)
    click.echo(f"wrote {len(config.feeds)} feed(s) to {opml_file}")


@feeds.command("check")
@project_option
def feeds_check(project: Path) -> None:
    """Fetch each enabled feed once, ignoring backoff, and report what it answers.

    Shows status, item count, newest item and the polling interval its items suggest;
    nothing is stored. Exit status 1 when every feed failed.

    \b
    Example:
        digest feeds check --project ~/alliance
    """
    config = _config(project)
    from digest import report  # loaded on use: keeps start-up fast
    from digest.ingest.probe import probe_feeds  # loaded on use: keeps start-up fast

    probes = probe_feeds(config, [f for f in config.feeds if f.enabled], now=utc_now())
    report.print_probes(probes)
    if probes and not any(p.ok for p in probes):
        sys.exit(1)
