"""DKIM signing of outgoing mail (dkimpy), and the DNS records that make it count.

smtp.dkim_key_file, dkim_selector, dkim_domain set --> every message sent is signed
(rsa-sha256, relaxed/relaxed), covering From, To, Subject, Date, Message-ID, the List-*
headers, List-Unsubscribe and List-Unsubscribe-Post included (RFC 8058 asks for them)

dkim_record(key)   the TXT record to publish at SELECTOR._domainkey.DOMAIN
check_dns(...)     compares what DNS says with what should be there: the DKIM key, an
                   SPF record and a DMARC policy for the sender's domain; the resolver
                   is passed in, so the rule is tested without a network
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

from digest.config import Config
from digest.errors import ConfigError, SendError

SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)
_RSA_OID = bytes.fromhex("06092a864886f70d010101")

Resolver = Callable[[str], Sequence[str]]  # a DNS name -> its TXT strings


@dataclass(frozen=True)
class Signer:
    """Signs messages for one selector and domain with one private key."""

    selector: str
    domain: str
    key: bytes

    def sign(self, message: bytes) -> bytes:
        """The message with its DKIM-Signature header prepended."""
        signature = dkim.sign(
            message,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self.key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h for h in SIGNED_HEADERS if _has_header(message, h)],
        )
        return bytes(signature) + message


def _has_header(message: bytes, name: bytes) -> bool:
    head = message.split(b"\r\n\r\n", 1)[0].lower()
    return head.startswith(name + b":") or (b"\n" + name + b":") in head


def signer_for(config: Config) -> Signer | None:
    """The project's signer, or None when smtp.dkim_* are not set."""
    smtp = config.smtp
    given = [smtp.dkim_key_file, smtp.dkim_selector, smtp.dkim_domain]
    if not any(given):
        return None
    if not all(given):
        raise ConfigError(
            "smtp.dkim_key_file, smtp.dkim_selector and smtp.dkim_domain go together; "
            "set all three to sign mail with DKIM, or none",
            path=config.path,
        )
    path = Path(smtp.dkim_key_file).expanduser()
    if not path.is_absolute():
        path = config.project_dir / path
    try:
        key = path.read_bytes()
        parse_pem_private_key(key)
    except OSError as exc:
        raise SendError(
            f"cannot read the DKIM key ({exc.strerror}); check smtp.dkim_key_file", path=path
        ) from None
    except (UnparsableKeyError, ValueError) as exc:
        raise SendError(
            f"is not a PEM RSA private key ({exc}); make one with "
            "`openssl genrsa -out dkim.pem 2048`",
            path=path,
        ) from None
    return Signer(smtp.dkim_selector, smtp.dkim_domain, key)


# -- what DNS must say ----------------------------------------------------------------------


def public_key_b64(private_pem: bytes) -> str:
    """The p= value: the key's SubjectPublicKeyInfo, base64 (what `openssl rsa -pubout` gives)."""
    key = parse_pem_private_key(private_pem)
    rsa = _der(0x30, _der_int(key["modulus"]) + _der_int(key["publicExponent"]))
    algorithm = _der(0x30, _RSA_OID + b"\x05\x00")
    spki = _der(0x30, algorithm + _der(0x03, b"\x00" + rsa))
    return base64.b64encode(spki).decode("ascii")


def dkim_record(signer: Signer) -> tuple[str, str]:
    """(name, TXT value) to publish for the signer's key."""
    name = f"{signer.selector}._domainkey.{signer.domain}"
    return name, f"v=DKIM1; k=rsa; p={public_key_b64(signer.key)}"


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        length = bytes([size])
    else:
        raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def _der_int(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")  # a leading 0 keeps it positive
    return _der(0x02, raw)


@dataclass(frozen=True)
class Finding:
    """One DNS record checked: ok or not, what was found, what to publish."""

    record: str
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FIX '} {self.record:<5} {self.name}: {self.detail}"


def check_dns(config: Config, resolve: Resolver) -> list[Finding]:
    """Compare the DKIM, SPF and DMARC records of the sender's domain with what they should be."""
    sender_domain = parseaddr(config.digest.sender)[1].rpartition("@")[2].lower()
    out: list[Finding] = []
    signer = signer_for(config)
    if signer is None:
        out.append(
            Finding(
                "DKIM",
                "-",
                False,
                "not signing: set smtp.dkim_key_file, smtp.dkim_selector and "
                "smtp.dkim_domain in feeds.yaml",
            )
        )
    else:
        name, value = dkim_record(signer)
        found = " ".join(resolve(name))
        published = _tag(found, "p").replace(" ", "")
        if published == public_key_b64(signer.key):
            out.append(Finding("DKIM", name, True, "the published key matches smtp.dkim_key_file"))
        else:
            what = "another key is published" if published else "no key is published"
            out.append(Finding("DKIM", name, False, f'{what}; publish TXT "{value}"'))
        aligned = sender_domain == signer.domain or sender_domain.endswith("." + signer.domain)
        if not aligned:
            out.append(
                Finding(
                    "DKIM",
                    signer.domain,
                    False,
                    f"smtp.dkim_domain is not the sender's domain {sender_domain} (or a parent "
                    "of it), so DMARC will not count the signature; sign as the sender's domain",
                )
            )
    spf = [t for t in resolve(sender_domain) if t.lower().startswith("v=spf1")]
    if len(spf) == 1:
        out.append(
            Finding(
                "SPF",
                sender_domain,
                True,
                f'"{spf[0]}" (make sure it covers {config.smtp.host or "your SMTP server"})',
            )
        )
    else:
        problem = "several SPF records (only one is allowed)" if spf else "no SPF record"
        out.append(
            Finding(
                "SPF",
                sender_domain,
                False,
                f'{problem}; publish one TXT such as "v=spf1 include:YOUR-PROVIDER ~all"',
            )
        )
    dmarc_name = f"_dmarc.{sender_domain}"
    dmarc = [t for t in resolve(dmarc_name) if t.lower().startswith("v=dmarc1")]
    if dmarc:
        out.append(Finding("DMARC", dmarc_name, True, f'"{dmarc[0]}"'))
    else:
        out.append(
            Finding(
                "DMARC",
                dmarc_name,
                False,
                f'no DMARC policy; publish TXT "v=DMARC1; p=none; rua=mailto:postmaster@'
                f'{sender_domain}" (tighten p= once reports look right)',
            )
        )
    return out


def _tag(record: str, tag: str) -> str:
    for part in record.split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip() == tag:
            return value.strip()
    return ""


def dns_txt(name: str) -> list[str]:
    """TXT strings of a DNS name from the system's resolver (dnspython); none if absent."""
    import dns.exception  # dnspython: only `send --check-dns` needs it
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=10.0)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:
        raise SendError(f"cannot look up {name} in DNS ({exc}); check the network") from None
    return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
