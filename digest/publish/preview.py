"""`digest preview`: the draft rendered live on 127.0.0.1 while the editor works.

    GET  /             the page: email at 600 px and 375 px, plain text, problems, candidates
    GET  /email.html   the rendered email alone (the two frames load it)
    GET  /version      {"version": ...}: the page polls it and reloads when it changes
    GET  /search?q=    {"results": [...]}: every candidate of the issue's window in the store
                       whose title, summary or source has the text, listed in the draft or not
    POST /status       {"id", "status"}: record the editor's decision through draft.set_status
                       (a candidate found by the search joins the draft's list), under the
                       same lock and conflict rules as `digest draft`

The draft is re-read only when its size or mtime changes; the result is cached per content
hash. A draft that does not parse is shown as an error above the last good render.
Writes need the page's token in a header, which other web sites cannot send here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jinja2

from digest.config import Config
from digest.editorial import check, draft, draftfile
from digest.editorial.issue import issue_from_draft
from digest.editorial.schema import DraftCandidate
from digest.errors import DigestError, DraftConflict, LockBusy
from digest.ingest.store import Store, store_path
from digest.models import Candidate, Problem, Rendered
from digest.publish.email import render
from digest.publish.templates import templates_for
from digest.relevance.candidates import select_candidates

PAGE_TEMPLATE = "preview.html.j2"
POLL_MS = 250
RECHECK_S = 2.0
TOKEN_HEADER = "X-Preview-Token"
SEARCH_LIMIT = 50
MAX_BODY = 1_000_000  # a status change is a few bytes; anything over this is refused unread

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CandidateRow:
    """A listed candidate as the page shows it: the program's entry and the editor's status."""

    cand: DraftCandidate
    status: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cand, name)


def candidate_rows(current: draftfile.DraftFile) -> tuple[CandidateRow, ...]:
    return tuple(CandidateRow(c, current.status(c)) for c in current.candidates)


@dataclass(frozen=True)
class PreviewState:
    """Everything the page shows for one version of the draft."""

    version: str
    title: str
    html: str
    text: str
    subject: str
    problems: tuple[Problem, ...]
    candidates: tuple[CandidateRow, ...]
    error: str | None = None  # the draft or the render failed; html/text are the last good
    render_ms: float = 0.0


def content_version(data: bytes | None) -> str:
    return hashlib.sha256(data or b"").hexdigest()[:16]


def build_state(
    config: Config,
    issue_date: date,
    data: bytes | None,
    *,
    now: datetime,
    last: PreviewState | None = None,
) -> PreviewState:
    return _build(config, issue_date, data, now=now, last=last)[0]


def _build(
    config: Config,
    issue_date: date,
    data: bytes | None,
    *,
    now: datetime,
    last: PreviewState | None = None,
    previous: draftfile.DraftFile | None = None,
) -> tuple[PreviewState, draftfile.DraftFile | None]:
    """Parse, check and render one version of the draft (`data` is the file's bytes)."""

    started = time.perf_counter()
    version = content_version(data)
    path = draft.draft_path(config, issue_date)
    empty = PreviewState(version, "", "", "", "", (), ())
    keep = last or empty
    if data is None:
        return _failed(
            keep, version, f"{path}: no draft yet; run `digest draft --date {issue_date}`", started
        ), previous
    try:
        current = draftfile.parse_draft(path, draftfile.decode(path, data))
    except DigestError as exc:
        return _failed(keep, version, str(exc), started), previous
    problems = check.check_draft(
        current, config, issue_date, published=check.published_links(config, issue_date)
    )
    rows = candidate_rows(current)
    try:
        draft.refuse_if_invalid(current, "the preview")
        issue = issue_from_draft(current, config, draft.issue_window(config, issue_date))
        rendered: Rendered = render.render_issue(issue, config, now=now)
    except DigestError as exc:
        return _failed(
            keep,
            version,
            str(exc),
            started,
            problems=tuple(problems),
            candidates=rows,
        ), current
    except Exception as exc:
        # A bug in a renderer must not take the editor's preview down with it.
        error = f"{path}: the email could not be rendered ({type(exc).__name__}: {exc})"
        return _failed(
            keep, version, error, started, problems=tuple(problems), candidates=rows
        ), current
    return PreviewState(
        version=version,
        title=issue.title,
        html=rendered.html,
        text=rendered.text,
        subject=rendered.subject,
        problems=tuple(problems),
        candidates=rows,
        render_ms=(time.perf_counter() - started) * 1000,
    ), current


def _failed(
    keep: PreviewState,
    version: str,
    error: str,
    started: float,
    *,
    problems: tuple[Problem, ...] | None = None,
    candidates: tuple[CandidateRow, ...] | None = None,
) -> PreviewState:
    return PreviewState(
        version=version,
        title=keep.title,
        html=keep.html,
        text=keep.text,
        subject=keep.subject,
        problems=keep.problems if problems is None else problems,
        candidates=keep.candidates if candidates is None else candidates,
        error=error,
        render_ms=(time.perf_counter() - started) * 1000,
    )


def _environment(project_dir: Path) -> jinja2.Environment:
    return templates_for(project_dir).environment(autoescape=True)


@dataclass
class Preview:
    """The live state of one issue's preview; safe to use from several request threads."""

    config: Config
    issue_date: date
    clock: Clock = _utc_now
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    _state: PreviewState | None = None
    _parsed: draftfile.DraftFile | None = None
    _signature: tuple[int, int, int] | None = None
    _read_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _page: jinja2.Template | None = None

    @property
    def path(self) -> Path:
        return draft.draft_path(self.config, self.issue_date)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def state(self) -> PreviewState:
        """The state of the draft as it is on disk now, rebuilt only when it changed."""
        with self._lock:
            signature = self._stat()
            # Same size and mtime: unchanged, but a coarse-mtime file system could hide a
            # quick second save, so the content is compared now and then all the same.
            fresh = time.monotonic() - self._read_at < RECHECK_S
            if self._state is not None and signature == self._signature and fresh:
                return self._state
            self._read_at = time.monotonic()
            try:
                data: bytes | None = self.path.read_bytes()
            except FileNotFoundError:
                data = None
            if self._state is None or content_version(data) != self._state.version:
                self._state, self._parsed = _build(
                    self.config,
                    self.issue_date,
                    data,
                    now=self.clock(),
                    last=self._state,
                    previous=self._parsed,
                )
            self._signature = signature
            return self._state

    def page(self) -> str:
        state = self.state()
        if self._page is None:
            self._page = _environment(self.config.project_dir).get_template(PAGE_TEMPLATE)
        counts = {s: 0 for s in ("new", "picked", "held", "rejected")}
        for row in state.candidates:
            counts[row.status] = counts.get(row.status, 0) + 1
        errors = sum(1 for p in state.problems if p.severity == "error")
        return self._page.render(
            state=state,
            token=self.token,
            poll_ms=POLL_MS,
            issue_date=self.issue_date,
            path=str(self.path),
            counts=counts,
            errors=errors,
            warnings=len(state.problems) - errors,
            statuses=("picked", "held", "rejected", "new"),
            token_header=TOKEN_HEADER,
        )

    def set_status(self, candidate_id: str, status: str) -> PreviewState:
        listed = {row.id for row in self.state().candidates}
        found = None if candidate_id in listed else self._store_candidate(candidate_id)
        if found is not None:
            draft.take_candidate(self.config, self.issue_date, found, status, now=self.clock())
        else:
            draft.set_status(self.config, self.issue_date, {candidate_id: status}, now=self.clock())
        return self.state()

    def store_candidates(self) -> list[Candidate]:
        """Every candidate of the issue's window, from the store, best first."""

        window = draft.issue_window(self.config, self.issue_date)
        with Store.open(store_path(self.config)) as store:
            items = store.items_between(window.start, window.end)
        found = select_candidates(items, self.config.rules, now=self.clock())
        return list(draft.as_selection(found).candidates)

    def _store_candidate(self, candidate_id: str) -> Candidate | None:
        return next((c for c in self.store_candidates() if c.id == candidate_id), None)

    def search(self, text: str) -> list[dict[str, Any]]:
        """The store's candidates whose title, summary or source has `text` (at most 50)."""
        needle = text.strip().casefold()
        if not needle:
            return []
        status = {row.id: row.status for row in self.state().candidates}
        found = [
            c
            for c in self.store_candidates()
            if needle in f"{c.title}\n{c.summary}\n{c.source}".casefold()
        ]
        return [
            {
                "id": c.id,
                "title": c.title,
                "url": c.url,
                "source": c.source,
                "score": c.score,
                "status": status.get(c.id),
            }
            for c in found[:SEARCH_LIMIT]
        ]


class _Handler(BaseHTTPRequestHandler):
    server: PreviewHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal stays quiet; the page shows what matters

    def do_GET(self) -> None:
        if not self._local_host():
            return
        route = self.path.split("?", 1)[0]
        preview = self.server.preview
        try:
            if route == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", preview.page())
            elif route == "/email.html":
                state = preview.state()
                html = state.html or "<p style='font-family:sans-serif'>Nothing rendered yet.</p>"
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", html)
            elif route == "/version":
                self._json(HTTPStatus.OK, {"version": preview.state().version})
            elif route == "/search":
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                text = (query.get("q") or [""])[0][:200]
                self._json(HTTPStatus.OK, {"results": preview.search(text)})
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {route}"})
        except DigestError as exc:
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(exc)})

    def do_POST(self) -> None:
        if not self._local_host():
            return
        if self.path != "/status":
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no action {self.path}"})
            return
        preview = self.server.preview
        if not secrets.compare_digest(self.headers.get(TOKEN_HEADER, ""), preview.token):
            self._json(HTTPStatus.FORBIDDEN, {"error": "reload the preview page and try again"})
            return
        if not self._body_acceptable():
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            candidate_id, status = str(body["id"]), str(body["status"])
        except (ValueError, KeyError, TypeError):
            self._json(HTTPStatus.BAD_REQUEST, {"error": "send JSON with `id` and `status`"})
            return
        try:
            state = preview.set_status(candidate_id, status)
        except (DraftConflict, LockBusy) as exc:
            self._json(HTTPStatus.CONFLICT, {"error": str(exc)})
            return
        except DigestError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        self._json(HTTPStatus.OK, {"version": state.version, "status": status})

    def _body_acceptable(self) -> bool:
        """Refuse, unread, a body without a length, with a bad one or over MAX_BODY; the
        connection is closed so the rest of it is never read either."""
        raw = self.headers.get("Content-Length")
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        try:
            length = int(raw) if raw is not None else -1
        except ValueError:
            length = -1
        if chunked or length < 0:
            self.close_connection = True
            self._json(HTTPStatus.LENGTH_REQUIRED, {"error": "send a Content-Length"})
            return False
        if length > MAX_BODY:
            self.close_connection = True
            self._json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"error": f"request body over {MAX_BODY} bytes"},
            )
            return False
        return True

    def _local_host(self) -> bool:
        # A page on another site can point a name at 127.0.0.1; refuse unknown Host headers.
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        if host in ("127.0.0.1", "localhost", "::1", self.server.server_address[0]):
            return True
        self._json(HTTPStatus.FORBIDDEN, {"error": f"unexpected Host {host!r}"})
        return False

    def _json(self, status: HTTPStatus, data: dict[str, Any]) -> None:
        self._send(status, "application/json", json.dumps(data))

    def _send(self, status: HTTPStatus, content_type: str, body: str) -> None:
        payload = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        # The page may reload (and drop this connection) as soon as the draft changes.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(payload)


class PreviewHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, preview: Preview, host: str, port: int) -> None:
        self.preview = preview
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}/"


def make_server(
    config: Config,
    issue_date: date,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    clock: Clock = _utc_now,
) -> PreviewHTTPServer:
    """A preview server bound to host:port (port 0 picks a free one); not yet serving."""
    return PreviewHTTPServer(Preview(config, issue_date, clock=clock), host, port)


def start_in_thread(
    config: Config,
    issue_date: date,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Clock = _utc_now,
) -> PreviewHTTPServer:
    """Serve in a daemon thread (for tests); stop with `server.shutdown()`."""
    server = make_server(config, issue_date, host=host, port=port, clock=clock)
    thread = threading.Thread(target=server.serve_forever, name="digest-preview", daemon=True)
    thread.start()
    return server


def serve_preview(
    config: Config, issue_date: date, *, host: str = "127.0.0.1", port: int = 8000
) -> None:
    """Serve the preview until interrupted (Ctrl-C)."""
    try:
        server = make_server(config, issue_date, host=host, port=port)
    except OSError as exc:
        raise DigestError(
            f"cannot serve the preview on {host}:{port} ({exc.strerror});"
            f" pass another port, e.g. --port {port + 1}"
        ) from exc
    server.preview.state()  # render once up front so the first page load is quick
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
