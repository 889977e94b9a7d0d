"""URLs: one canonical spelling per article, tracking parameters, safe schemes, host names.

No business logic: ingest stores canonical URLs, `digest check` flags tracking parameters,
and every output links only what `safe_url` lets through.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from digest._util.text import UNSAFE_CHARS

WEB_SCHEMES = ("http", "https")

TRACKING_KEYS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "cmpid",
        "ncid",
        "ocid",
        "smid",
        "smtyp",
        "spm",
        "wt.mc_id",
        "mkt_tok",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "ito",
        "sr_share",
        "utm",
        "feedtype",
        "feedname",
        "xtor",
        "icid",
        "s_cid",
        "cmp",
        "gbraid",
        "wbraid",
        "twclid",
        "_hsenc",
        "_hsmi",
        "oly_enc_id",
        "oly_anon_id",
        "vero_id",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "ns_")
# Parameters that track only when their value names the feed (?ref=rss, ?partner=rss).
FEED_MARKER_KEYS = frozenset(
    {
        "ref",
        "source",
        "src",
        "from",
        "partner",
        "emc",
        "feed",
        "rss",
        "cid",
        "via",
        "in",
        "medium",
        "channel",
        "referrer",
        "fr",
    }
)
FEED_MARKER_VALUE = re.compile(
    r"^(rss\w*|atom|feeds?|rdf|xml|feedburner|newsfeed|syndication|rss_?feed|top_?news_?rss"
    r"|twitter|facebook|social)$",
    re.IGNORECASE,
)
# Redirect wrappers that carry the article's URL in their query string.
REDIRECT_HOST = re.compile(r"^(news\.google|www\.google|google|l\.facebook|lm\.facebook)\.[a-z.]+$")
REDIRECT_KEYS = ("url", "q", "u", "dest")
# news.google.com/rss/articles/<id>: older ids are base64 protobuf holding the article URL.
_GOOGLE_ARTICLE = re.compile(r"/articles/([A-Za-z0-9_-]{8,})")


def canonical_url(url: str) -> str:
    """One spelling per article: trackers, fragment and default port gone; redirects unwrapped."""
    url = url.strip()
    for _ in range(3):  # nested redirect wrappers
        inner = _unwrap_redirect(url)
        if inner is None:
            break
        url = inner
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url
    host = (parts.hostname or "").lower().rstrip(".")
    if port and not (scheme == "http" and port == 80) and not (scheme == "https" and port == 443):
        host = f"{host}:{port}"
    if parts.username:
        host = f"{parts.username}@{host}"
    path = parts.path or "/"
    query = _clean_query(parts.query)
    return urlunsplit((scheme, host, path, query, ""))


def _clean_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not is_tracking_param(k, v)]
    if len(kept) == len(pairs):
        return query  # keep the publisher's own spelling when nothing was removed
    return urlencode(kept, doseq=True)


def is_tracking_param(key: str, value: str) -> bool:
    """Whether a query parameter only tracks the reader (utm_*, fbclid, ref=rss ...)."""
    key = key.lower()
    if key in TRACKING_KEYS or key.startswith(TRACKING_PREFIXES):
        return True
    return key in FEED_MARKER_KEYS and bool(FEED_MARKER_VALUE.match(value.strip()))


def _unwrap_redirect(url: str) -> str | None:
    """The target of a Google News / Google / Facebook redirect link, when it is in the URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not REDIRECT_HOST.match(host):
        return None
    if (article := _GOOGLE_ARTICLE.search(parts.path)) and (
        target := google_news_target(article.group(1))
    ):
        return target
    params = dict(parse_qsl(parts.query))
    for key in REDIRECT_KEYS:
        target = unquote(params.get(key, "")) if "%" in params.get(key, "") else params.get(key)
        if target and re.match(r"^https?://", target, re.IGNORECASE):
            return target
    return None


def google_news_target(article_id: str) -> str | None:
    """The article URL inside a Google News article id, or None when it is not there.

    The id decodes to a protobuf whose field 4 (tag 0x22) is the URL, length-prefixed.
    Newer ids hold only an opaque token ("AU_yqL..."); those need Google's servers, so the
    link stays as it is.
    """
    try:
        raw = base64.urlsafe_b64decode(article_id + "=" * (-len(article_id) % 4))
    except (binascii.Error, ValueError):
        return None
    start = raw.find(b"\x22")
    if start < 0 or start > 4:
        return None
    length, shift, pos = 0, 0, start + 1
    while pos < len(raw) and shift < 28:  # a varint length
        byte = raw[pos]
        length |= (byte & 0x7F) << shift
        pos += 1
        shift += 7
        if not byte & 0x80:
            break
    target = raw[pos : pos + length]
    if len(target) != length or not re.match(rb"^https?://[\x21-\x7e]+$", target):
        return None
    return target.decode("ascii")


def is_web_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL with a host: the only links the digest keeps."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)


_URL_UNSAFE = "\"'<>\\^`{|}"


def safe_url(url: str | None) -> str | None:
    """The URL if it is a well-formed http(s) link, else None (javascript:, data:, ... dropped)."""
    if not url:
        return None
    url = url.strip()
    if UNSAFE_CHARS.search(url) or any(ch.isspace() for ch in url) or not is_web_url(url):
        return None
    scheme = urlsplit(url).scheme
    url = scheme.lower() + url[len(scheme) :]
    # Characters that have no business in a URL are percent-encoded, never trusted.
    return "".join(quote(ch, safe="") if ch in _URL_UNSAFE else ch for ch in url)


def host_name(url: str) -> str:
    """The host a reader recognises: lower case, without `www.` (the URL itself if none)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    return (host or url).removeprefix("www.")


def host_key(url: str) -> str:
    """Host and port, for limiting connections per server."""
    parts = urlsplit(url)
    return (parts.netloc or url).lower()
