"""A small asyncio HTTP/1.1 server for feeds on 127.0.0.x, for tests and benchmarks.

Each path is a `Route`: a body plus how to misbehave (latency, hanging, failing N times
with Retry-After, a huge streamed body, a redirect loop, ignoring validators). The server
counts requests and bytes so tests can check what a client really did.

    with FeedServer() as server:
        server.add("/a.xml", Route(body=rss_feed("a", 20)))
        url = server.url("/a.xml")
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Literal
from xml.sax.saxutils import escape

Mode = Literal["normal", "hang", "huge", "redirect_loop", "redirect", "drop"]


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    latency_s: float = 0.0
    mode: Mode = "normal"
    conditional: bool = True  # answer 304 to matching If-None-Match / If-Modified-Since
    etag: bool = True
    last_modified: str | None = "Mon, 02 Nov 2026 10:00:00 GMT"
    fail_times: int = 0  # the first N requests get `fail_status` (0: the connection is cut)
    fail_status: int = 503
    retry_after: str | None = None
    huge_bytes: int = 50_000_000
    location: str = ""
    gzip: bool = False
    brotli: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    encoded_as: str | None = None  # `body` is already compressed: sent with this Content-Encoding
    reason: str | None = None  # the status line's reason phrase, if not the usual one


@dataclass
class Stats:
    requests: dict[str, int] = field(default_factory=dict)
    bytes_sent: int = 0
    statuses: dict[str, list[int]] = field(default_factory=dict)
    request_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    inflight: int = 0
    max_inflight: int = 0


class FeedServer:
    """Serves `routes` on one port of each of `hosts`, in a background thread."""

    def __init__(self, hosts: tuple[str, ...] = ("127.0.0.1",)) -> None:
        self.hosts = hosts
        self.routes: dict[str, Route] = {}
        self.stats = Stats()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[asyncio.AbstractServer] = []
        self._lock = threading.Lock()

    # -- lifecycle
    def start(self) -> FeedServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        for host in self.hosts:
            server = await asyncio.start_server(self._handle, host, self.port, backlog=1024)
            self.port = server.sockets[0].getsockname()[1]
            self._servers.append(server)

    def stop(self) -> None:
        async def close() -> None:
            for server in self._servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routes
    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.hosts[0]}:{self.port}{path}"

    def requests(self, path: str) -> int:
        return self.stats.requests.get(path, 0)

    # -- HTTP
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                path = target.split("?", 1)[0]
                with self._lock:
                    self.stats.inflight += 1
                    self.stats.max_inflight = max(self.stats.max_inflight, self.stats.inflight)
                try:
                    keep = await self._respond(path, headers, writer)
                finally:
                    with self._lock:
                        self.stats.inflight -= 1
                if not keep or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            with contextlib.suppress(RuntimeError):
                writer.close()

    async def _respond(
        self, path: str, headers: dict[str, str], writer: asyncio.StreamWriter
    ) -> bool:
        with self._lock:
            count = self.stats.requests.get(path, 0) + 1
            self.stats.requests[path] = count
            self.stats.request_headers[path] = headers
        route = self.routes.get(path)
        if route is None:
            return await self._send(writer, path, 404, {}, b"not found")
        if route.latency_s:
            await asyncio.sleep(route.latency_s)
        if route.mode == "hang":
            await asyncio.sleep(3600)
            return False
        if route.mode == "drop":
            writer.transport.abort()
            return False
        if count <= route.fail_times and not route.fail_status:
            writer.transport.abort()
            return False
        if count <= route.fail_times:
            extra = {"Retry-After": route.retry_after} if route.retry_after else {}
            return await self._send(writer, path, route.fail_status, extra, b"try later")
        if route.mode == "redirect_loop":
            return await self._send(writer, path, 302, {"Location": path}, b"")
        if route.mode == "redirect":
            return await self._send(writer, path, route.status, {"Location": route.location}, b"")
        if route.status != 200:
            return await self._send(writer, path, route.status, {}, b"error", route.reason)
        if route.mode == "huge":
            await self._stream_huge(writer, path, route)
            return False
        tag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
        extra = {"Content-Type": route.content_type, **route.headers}
        if route.etag:
            extra["ETag"] = tag
        if route.last_modified:
            extra["Last-Modified"] = route.last_modified
        if route.conditional and (
            (route.etag and headers.get("if-none-match") == tag)
            or (
                not route.etag
                and route.last_modified
                and headers.get("if-modified-since") == route.last_modified
            )
        ):
            return await self._send(writer, path, 304, extra, b"")
        body = route.body
        if route.encoded_as:  # a hostile server sends it whatever the client accepts
            extra["Content-Encoding"] = route.encoded_as
        elif route.brotli and "br" in headers.get("accept-encoding", ""):
            import brotli

            body = brotli.compress(body)
            extra["Content-Encoding"] = "br"
        elif route.gzip and "gzip" in headers.get("accept-encoding", ""):
            body = gzip.compress(body, 5)
            extra["Content-Encoding"] = "gzip"
        return await self._send(writer, path, 200, extra, body)

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        path: str,
        status: int,
        headers: dict[str, str],
        body: bytes,
        reason: str | None = None,
    ) -> bool:
        with self._lock:
            self.stats.statuses.setdefault(path, []).append(status)
        lines = [
            f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'Status')}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        writer.write(data)
        await writer.drain()
        with self._lock:
            self.stats.bytes_sent += len(data)
        return True

    async def _stream_huge(self, writer: asyncio.StreamWriter, path: str, route: Route) -> None:
        with self._lock:
            self.stats.statuses.setdefault(path, []).append(200)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
            b"Connection: close\r\n\r\n<rss><channel>"
        )
        chunk = b"<!-- " + b"x" * 65_000 + b" -->"
        sent = 0
        while sent < route.huge_bytes:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            with self._lock:
                self.stats.bytes_sent += len(chunk)


_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    308: "Permanent Redirect",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def rss_feed(
    feed_id: str,
    items: int,
    *,
    start: datetime = datetime(2026, 11, 20, tzinfo=UTC),
    dated: bool = True,
    lang: str = "en",
    encoding: str = "utf-8",
    declare: bool = True,
    link_base: str = "https://news.example.com",
    words: int = 60,
    spacing: timedelta = timedelta(minutes=37),
    first: int = 0,
) -> bytes:
    """A generated RSS 2.0 document, `items` long, like a news outlet's feed.

    Item `first + n` is published `n * spacing` before `start`.
    """
    parts = []
    for n in range(first, first + items):
        when = start - spacing * (n - first)
        title = (
            f"同盟ニュース {feed_id} 第{n}報: 日米首脳が会談"
            if lang == "ja"
            else f"Story {n} from {feed_id}: Allies meet on security & trade"
        )
        body = " ".join(f"word{(n * 7 + i) % 97}" for i in range(words))
        parts.append(
            "<item>"
            f"<title>{escape(title)}</title>"
            f"<link>{link_base}/{feed_id}/{n}.html?utm_source=rss&amp;utm_medium=feed</link>"
            f'<guid isPermaLink="false">{feed_id}-{n}</guid>'
            f"<description>{escape('<p>' + body + ' <b>bold</b></p>')}</description>"
            + (f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>" if dated else "")
            + "</item>"
        )
    decl = f'<?xml version="1.0" encoding="{encoding}"?>\n' if declare else ""
    doc = (
        f'{decl}<rss version="2.0"><channel><title>Feed {feed_id}</title>'
        f"<link>{link_base}/{feed_id}/</link><description>generated</description>"
        + "".join(parts)
        + "</channel></rss>\n"
    )
    return doc.encode(encoding)


# -- the benchmark's server: N generated feeds over several loopback hosts -----------------

FAILURE_KINDS = ("404", "500", "hang", "malformed", "huge", "redirect_loop")


def bench_routes(
    feeds: int,
    items: int,
    *,
    hosts: int,
    seed: int,
    latency: tuple[float, float],
    failing: float = 0.0,
) -> dict[str, Route]:
    """Routes /feed/<i>.xml; every 1/failing-th feed misbehaves in one of FAILURE_KINDS."""
    import random

    rng = random.Random(seed)
    routes = {}
    every = round(1 / failing) if failing else 0
    for i in range(feeds):
        lat = rng.uniform(*latency)
        path = f"/feed/{i}.xml"
        if every and i % every == every - 1:
            kind = FAILURE_KINDS[(i // every) % len(FAILURE_KINDS)]
            routes[path] = _failing_route(kind, path, lat)
        else:
            lang = "ja" if i % 4 == 3 else "en"
            routes[path] = Route(
                body=rss_feed(f"f{i}", items, lang=lang), latency_s=lat, gzip=i % 2 == 0
            )
    return routes


def _failing_route(kind: str, path: str, latency: float) -> Route:
    if kind == "404":
        return Route(status=404, latency_s=latency)
    if kind == "500":
        return Route(status=500, latency_s=latency)
    if kind == "hang":
        return Route(mode="hang")
    if kind == "malformed":
        return Route(
            body=b"<?xml version='1.0'?><rss><channel><item><title>broken", latency_s=latency
        )
    if kind == "huge":
        return Route(mode="huge", huge_bytes=50_000_000)
    return Route(mode="redirect_loop", latency_s=latency)


def gzip_bomb(expanded: int) -> bytes:
    """A gzip body of `expanded` zero bytes: about a thousandth of that on the wire."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    chunk = b"\0" * 1_000_000
    parts = [packer.compress(chunk) for _ in range(expanded // len(chunk))]
    return b"".join([*parts, packer.flush()])


def brotli_bomb(expanded: int) -> bytes:
    """A brotli body of `expanded` zero bytes: a few kilobytes for gigabytes."""
    import brotli

    packer = brotli.Compressor(quality=5)
    chunk = b"\0" * 1_000_000
    parts = [packer.process(chunk) for _ in range(expanded // len(chunk))]
    return b"".join([*parts, packer.finish()])


def hostile_route(kind: str, elsewhere: str = "", expanded: int = 0) -> Route:
    """One misbehaving feed: a decompression bomb, a redirect inside, markup in the status."""
    if kind == "gzip_bomb":
        return Route(body=gzip_bomb(expanded or 2_000_000_000), encoded_as="gzip")
    if kind == "brotli_bomb":
        return Route(body=brotli_bomb(expanded or 4_000_000_000), encoded_as="br")
    if kind == "redirect_inside":
        return Route(mode="redirect", status=302, location=elsewhere)
    if kind == "markup_status":
        return Route(status=503, reason="[/bold][red]\x1b[2Jboom")
    raise ValueError(kind)


def bench_hosts(count: int) -> tuple[str, ...]:
    return tuple(f"127.0.0.{2 + n}" for n in range(count))


def main() -> None:
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(description="Serve generated feeds for the benchmark.")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-latency", type=float, default=0.05)
    parser.add_argument("--max-latency", type=float, default=0.8)
    parser.add_argument("--failing", type=float, default=0.0)
    parser.add_argument("--hostile", default="", help="add /hostile.xml: gzip_bomb, brotli_bomb")
    args = parser.parse_args()
    hosts = bench_hosts(args.hosts)
    server = FeedServer(hosts)
    server.routes = bench_routes(
        args.feeds,
        args.items,
        hosts=args.hosts,
        seed=args.seed,
        latency=(args.min_latency, args.max_latency),
        failing=args.failing,
    )
    if args.hostile:
        server.routes["/hostile.xml"] = hostile_route(args.hostile)
    server.start()
    urls = [server.url(f"/feed/{i}.xml", hosts[i % len(hosts)]) for i in range(args.feeds)]
    if args.hostile:
        urls.append(server.url("/hostile.xml", hosts[0]))
    print(json.dumps({"port": server.port, "urls": urls}), flush=True)
    # Commands on stdin: "stats" prints the counters, "reset" zeroes them, "quit" stops.
    for line in sys.stdin:
        command = line.strip()
        if command == "stats":
            print(
                json.dumps(
                    {
                        "bytes_sent": server.stats.bytes_sent,
                        "requests": sum(server.stats.requests.values()),
                    }
                ),
                flush=True,
            )
        elif command == "reset":
            server.stats = Stats()
            print("{}", flush=True)
        elif command == "quit":
            break
    server.stop()


if __name__ == "__main__":
    main()
