"""What a hostile server cannot make the fetcher do: read too much, or go where it should not.

    raw body bytes --BoundedDecoder--> at most fetch.max_bytes of *decoded* bytes; a small
                                       compressed body that expands past it is a bomb
    each redirect  --redirect_refusal--> refused when it leads to a loopback, private,
                                       link-local or reserved address, unless the feed
                                       itself is on that host and port

Decoding is done here, not by httpx: its decoders expand a whole network chunk at once,
and a few kilobytes of brotli can expand to gigabytes in one call.
"""

from __future__ import annotations

import ipaddress
import zlib
from collections.abc import Iterable
from urllib.parse import urlsplit

try:  # brotli >= 1.2 can stop decoding at a given output size; older ones cannot
    import brotli

    _BROTLI_LIMIT = "output_buffer_limit" in (brotli.Decompressor.process.__doc__ or "")
except ImportError:  # pragma: no cover - httpx[brotli] brings it
    brotli = None
    _BROTLI_LIMIT = False

ACCEPT_ENCODING = "gzip, deflate, br" if _BROTLI_LIMIT else "gzip, deflate"
BOMB_RATIO = 20  # decoded/encoded past this, and over the cap: a decompression bomb


class BodyRefused(Exception):
    """The body is not read further; `args[0]` says why in words for the editor."""

    def __init__(self, message: str, bytes_read: int) -> None:
        super().__init__(message)
        self.message = message
        self.bytes_read = bytes_read


class RedirectRefused(Exception):
    """A redirect to an address the fetcher must not reach (raised from an httpx hook)."""


class BoundedDecoder:
    """Decodes a Content-Encoding incrementally, never producing more than `cap` bytes."""

    def __init__(self, encoding: str | None, cap: int) -> None:
        self.encoding = (encoding or "identity").strip().lower()
        self.cap = cap
        self.encoded = 0
        self.decoded = 0
        self._gzip = self.encoding in ("gzip", "x-gzip")
        if self._gzip:
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self.encoding == "deflate":
            self._zlib = zlib.decompressobj()
            self._raw_deflate: bool | None = None
        elif self.encoding == "br":
            if not _BROTLI_LIMIT or brotli is None:
                raise BodyRefused(
                    "the server sent brotli, which this installation cannot decode safely "
                    "(upgrade brotli to 1.2 or later)",
                    0,
                )
            self._brotli = brotli.Decompressor()
        elif self.encoding != "identity":
            raise BodyRefused(f"unsupported Content-Encoding {self.encoding!r}", 0)

    def feed(self, data: bytes) -> bytes:
        """Decode one raw chunk; raise BodyRefused once the decoded size passes the cap."""
        room = self.cap - self.decoded + 1  # one byte more than allowed shows an overrun
        consumed = len(data)
        if self.encoding == "identity":
            out = data
        elif self.encoding == "br":
            out = self._brotli.process(data, output_buffer_limit=room)
        else:
            out = self._inflate(data, room)
            consumed -= len(self._zlib.unconsumed_tail)  # zlib stopped where the room ran out
        self.encoded += consumed
        self.decoded += len(out)
        if self.decoded > self.cap:
            raise BodyRefused(self._too_large(), self.encoded)
        return out

    def _inflate(self, data: bytes, room: int) -> bytes:
        try:
            return self._zlib.decompress(data, room)
        except zlib.error:
            if self.encoding == "deflate" and not self.decoded and self._raw_deflate is None:
                # Some servers send raw deflate without the zlib header.
                self._raw_deflate = True
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._zlib.decompress(data, room)
            raise BodyRefused(f"the {self.encoding} body is corrupt", self.encoded) from None

    def _too_large(self) -> str:
        if self.encoding != "identity" and self.decoded > BOMB_RATIO * max(1, self.encoded):
            return (
                f"decompression bomb: {self.encoded:,} bytes of {self.encoding} expand past "
                f"fetch.max_bytes ({self.cap:,} bytes); stopped decoding"
            )
        return too_large_message(self.cap, None)


def too_large_message(cap: int, declared: int | None) -> str:
    size = f" ({declared:,} bytes)" if declared else ""
    return (
        f"response larger than {cap:,} bytes{size}; stopped reading. "
        "If the feed is real, raise fetch.max_bytes in feeds.yaml"
    )


def _host_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    try:
        port = parts.port or default
    except ValueError:
        port = None
    return (parts.hostname or "").lower().rstrip("."), port


def same_host_and_port(a: str, b: str) -> bool:
    return _host_port(a) == _host_port(b)


def is_internal(address: str) -> bool:
    """Loopback, private, link-local, reserved, multicast or unspecified."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def redirect_refusal(feed_url: str, target: str, addresses: Iterable[str]) -> str | None:
    """Why a redirect from the feed `feed_url` to `target` must not be followed, or None.

    `addresses` are what the target's host resolves to. A feed on an internal host may
    redirect within that same host and port (an intranet feed moving a path), nowhere else.
    """
    if same_host_and_port(feed_url, target):
        return None
    internal = sorted({a for a in addresses if is_internal(a)})
    if not internal:
        return None
    host, port = _host_port(target)
    return (
        f"refused a redirect to {host}:{port} ({', '.join(internal)}): an internal address "
        "(loopback, private or link-local) that the feed's own host does not own; "
        "check the feed URL in feeds.yaml"
    )
