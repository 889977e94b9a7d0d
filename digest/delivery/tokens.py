"""Unsubscribe tokens: unguessable, tied to one address, checkable without the send log.

A token is the address (base64url) and an HMAC-SHA256 of it under the project's key
(`state/unsubscribe.key`, made on first use): `<address>.<mac>`. Whoever holds the key
can tell which address a token names and that nobody made it up; nobody else can make
one for another address. Tokens of earlier versions (the MAC alone) are still understood
by looking them up in the send log.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import replace

from digest._util.fs import create_exclusively
from digest.config import Config
from digest.delivery.subscribers import Recipient, address_key
from digest.errors import SendError

KEY_NAME = "unsubscribe.key"
MAC_CHARS = 32


def unsubscribe_key(config: Config, *, create: bool = True) -> bytes:
    """The project's secret for tokens, created on first use (back it up with the store)."""
    path = config.state_dir / KEY_NAME
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Whole or absent: a kill or a full disk never leaves an empty key behind.
            with contextlib.suppress(FileExistsError):
                create_exclusively(path, secrets.token_hex(32) + "\n", mode=0o600)
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        raise SendError(
            "no unsubscribe key yet: it is made by the first `digest send`; restore it "
            "from a backup if the project had one",
            path=path,
        ) from None
    except ValueError:
        raise SendError(
            "the unsubscribe key is damaged; restore it from a backup (links already "
            "sent depend on it)",
            path=path,
        ) from None
    except OSError as exc:
        raise SendError(
            f"cannot read or create the unsubscribe key ({exc.strerror})", path=path
        ) from None


def mac(key: bytes, address: str) -> str:
    digest = hmac.new(key, address_key(address).encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:MAC_CHARS]


def recipient_token(key: bytes, address: str) -> str:
    """The token of an address: the address itself (base64url) and its MAC."""
    encoded = base64.urlsafe_b64encode(address_key(address).encode("utf-8")).decode("ascii")
    return f"{encoded.rstrip('=')}.{mac(key, address)}"


def token_address(key: bytes, token: str) -> str | None:
    """The address a token names, or None when the token is not one of ours."""
    encoded, dot, given = token.strip().rpartition(".")
    if not dot or len(given) != MAC_CHARS:
        return None
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        address = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if "@" not in address or not hmac.compare_digest(mac(key, address), given):
        return None
    return address


def with_tokens(recipients: Sequence[Recipient], key: bytes) -> tuple[Recipient, ...]:
    return tuple(replace(r, token=recipient_token(key, r.address)) for r in recipients)
