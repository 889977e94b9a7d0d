"""`digest serve`: the subscriber endpoints, as a small WSGI application.

    GET  <unsubscribe URL>   a page naming the address, with a button; changes nothing
    POST <unsubscribe URL>   body `List-Unsubscribe=One-Click` (RFC 8058, as mail clients
                             send it, and as the page's button sends it): the address is
                             recorded in the store's unsubscribes; every later list send
                             skips it

The path and the token's place (a query parameter or a path segment) are read from
digest.unsubscribe_url, so the application answers at the URL the mail carries (behind
the organisation's web server, which terminates TLS and forwards the path). A token is
checked with the project's key (tokens.py); a token of an earlier version is looked up in
the send log. `make_app` is the WSGI application; `serve` runs it under waitress.
"""

from __future__ import annotations

import html
import re
import sqlite3
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from digest.config import Config
from digest.delivery import db, roster
from digest.delivery.personalize import TOKEN_SLOT
from digest.delivery.tokens import token_address, unsubscribe_key
from digest.errors import ConfigError

MAX_BODY = 64 * 1024
ONE_CLICK = "List-Unsubscribe=One-Click"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Route:
    """Where the token is in the unsubscribe URL: the path pattern and the query key."""

    path: re.Pattern[str]
    query_key: str | None

    def token(self, path: str, query: str) -> str | None:
        match = self.path.fullmatch(path)
        if match is None:
            return None
        if self.query_key is None:
            return match.group("token")
        values = parse_qs(query).get(self.query_key)
        return values[0] if values else None


def route_for(template: str) -> Route:
    """The route of digest.unsubscribe_url, e.g. https://x.org/unsubscribe?token={token}."""
    parts = urlsplit(template.strip())
    if TOKEN_SLOT in parts.path:
        before, _, after = parts.path.partition(TOKEN_SLOT)
        pattern = re.escape(before) + r"(?P<token>[^/]+)" + re.escape(after)
        return Route(re.compile(pattern), None)
    for key, values in parse_qs(parts.query).items():
        if TOKEN_SLOT in values:
            return Route(re.compile(re.escape(parts.path or "/")), key)
    raise ConfigError(
        f"digest.unsubscribe_url {template!r} has no {TOKEN_SLOT} slot; put it in the "
        "query (…/unsubscribe?token={token}) or the path",
    )


def make_app(
    config: Config,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> WsgiApp:
    """The WSGI application of the subscriber endpoints."""
    route = route_for(config.digest.unsubscribe_url)
    key = unsubscribe_key(config)
    with db.open_store(config):  # the tables exist before the first request
        pass
    title = config.site.title

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        token = route.token(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        if token is None:
            return _page(start_response, "404 Not Found", "Not found", "There is nothing here.")
        address = token_address(key, token) or _legacy_address(config, token)
        if address is None:
            return _page(
                start_response,
                "404 Not Found",
                "Link not recognised",
                "This unsubscribe link is not valid. Please use the link in the latest "
                "issue, or reply to it and ask to be removed.",
            )
        if method in ("GET", "HEAD"):
            return _confirm_page(start_response, address, title, environ)
        if method != "POST":
            return _page(
                start_response,
                "405 Method Not Allowed",
                "Not allowed",
                "Use the button on the page.",
                [("Allow", "GET, HEAD, POST")],
            )
        body = _read_body(environ)
        if body is None:
            return _page(start_response, "413 Content Too Large", "Too large", "Request too large.")
        if not _is_one_click(body):
            return _page(
                start_response,
                "400 Bad Request",
                "Not unsubscribed",
                f"The request did not say {html.escape(ONE_CLICK)}.",
            )
        with db.open_store(config) as store:
            _record(store.conn, address, clock())
        return _page(
            start_response,
            "200 OK",
            "Unsubscribed",
            f"{html.escape(address)} will receive no more issues of {html.escape(title)}.",
        )

    return app


def _record(conn: sqlite3.Connection, address: str, now: datetime) -> None:
    roster.record_unsubscribe(conn, address, now, via="one-click")


def _legacy_address(config: Config, token: str) -> str | None:
    """A token of an earlier version (the MAC alone), as recorded in the send log."""
    if not re.fullmatch(r"[0-9a-f]{32}", token):
        return None
    with db.open_store(config) as store:
        row = store.conn.execute(
            "SELECT address FROM send_log WHERE token = ? LIMIT 1", (token,)
        ).fetchone()
    return str(row[0]) if row else None


def _read_body(environ: dict[str, Any]) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return None
    stream = environ.get("wsgi.input")
    return stream.read(length) if stream is not None and length > 0 else b""


def _is_one_click(body: bytes) -> bool:
    # RFC 8058 allows application/x-www-form-urlencoded or multipart/form-data: in both the
    # key and value appear as they are.
    text = body.decode("utf-8", "replace")
    if ONE_CLICK in text:
        return True
    return "List-Unsubscribe" in text and "One-Click" in text


def _confirm_page(
    start_response: StartResponse, address: str, title: str, environ: dict[str, Any]
) -> Iterable[bytes]:
    action = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
    if environ.get("QUERY_STRING"):
        action += "?" + environ["QUERY_STRING"]
    form = (
        f"<p>Unsubscribe <strong>{html.escape(address)}</strong> from "
        f"{html.escape(title)}?</p>"
        f'<form method="post" action="{html.escape(action, quote=True)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page(start_response, "200 OK", "Unsubscribe", form, raw=True)


def _page(
    start_response: StartResponse,
    status: str,
    heading: str,
    text: str,
    headers: list[tuple[str, str]] | None = None,
    *,
    raw: bool = False,
) -> Iterable[bytes]:
    content = text if raw else f"<p>{text}</p>"
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{html.escape(heading)}</title>'
        "<style>body{font:18px/1.5 Georgia,serif;max-width:34em;margin:3em auto;padding:0 1em}"
        "button{font:inherit;padding:.4em 1.2em}"
        "@media (prefers-color-scheme:dark){body{background:#111;color:#eee}}</style>"
        f"</head><body><h1>{html.escape(heading)}</h1>{content}</body></html>"
    ).encode()
    start_response(
        status,
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            *(headers or []),
        ],
    )
    return [body]


def serve(config: Config, *, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Run the application under waitress until interrupted."""
    from waitress.server import create_server  # only `digest serve` runs a server

    server = create_server(
        make_app(config),
        host=host,
        port=port,
        threads=4,
        ident="digest",
        max_request_body_size=MAX_BODY,
    )
    bound = getattr(server, "effective_port", port)
    announce(f"Serving the subscriber endpoints on http://{host}:{bound}/ (Ctrl-C to stop)")
    sys.stdout.flush()
    server.run()
