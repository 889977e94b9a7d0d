"""DKIM: every list message is signed, and the signature verifies with dkimpy against the
key `digest send --check-dns` tells the operator to publish; DNS checks without a network."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import dkim
import pytest
from test_send import ISSUE, NOW, publish_issue, subscribers, write_project

from digest.config import Config
from digest.delivery.dkim import check_dns, dkim_record, signer_for
from digest.delivery.lifecycle import list_issue
from digest.delivery.send import send_list
from digest.delivery.subscribers import read_subscribers


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found; it makes the test key")
    path = tmp_path_factory.mktemp("dkim") / "dkim.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True
    )
    return path


def signing_project(root: Path, port: int, key: Path) -> Config:
    return write_project(
        root,
        port=port,
        smtp_extra=(
            f'  dkim_key_file: "{key}"\n  dkim_selector: digest2026\n  dkim_domain: example.org\n'
        ),
    )


def published_dns(config: Config) -> dict[str, list[str]]:
    """The records a careful operator publishes, following --check-dns."""
    signer = signer_for(config)
    assert signer is not None
    name, value = dkim_record(signer)
    return {
        name: [value],
        "example.org": ["v=spf1 ip4:192.0.2.10 -all"],
        "_dmarc.example.org": ["v=DMARC1; p=quarantine"],
    }


def test_list_messages_verify_against_the_published_key(tmp_path, smtp_server, dkim_key):
    inbox, port = smtp_server
    config = signing_project(tmp_path / "p", port, dkim_key)
    publish_issue(config)
    people = read_subscribers(subscribers(tmp_path / "list.csv", 3))

    report = send_list(config, list_issue(config, ISSUE, now=NOW), people, now=NOW)

    assert report.ok and len(inbox.messages) == 3
    records = published_dns(config)

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        values = records.get(name.decode().rstrip("."))
        return values[0].encode() if values else None

    for _, _, data in inbox.messages:
        signature = data.split(b"\r\n\r\n", 1)[0].split(b"DKIM-Signature:", 1)[1]
        tag = signature.split(b" h=", 1)[1].split(b";", 1)[0]
        signed = {h.strip().lower() for h in tag.split(b":")}
        assert {b"list-unsubscribe", b"list-unsubscribe-post", b"from", b"to"} <= signed
        assert b"d=example.org" in signature and b"s=digest2026" in signature
        assert dkim.verify(data, dnsfunc=dns)
        # The signature covers the recipient's own unsubscribe link: change it and it fails.
        forged = data.replace(b"token=", b"token=x", 1)
        assert not dkim.verify(forged, dnsfunc=dns)


def test_check_dns_passes_once_the_records_are_published(tmp_path, dkim_key):
    config = signing_project(tmp_path / "p", 0, dkim_key)
    records = published_dns(config)
    findings = check_dns(config, lambda name: records.get(name, []))
    assert [f.ok for f in findings] == [True, True, True], [str(f) for f in findings]

    missing = check_dns(config, lambda name: [])
    assert not any(f.ok for f in missing)
    dkim_line = str(missing[0])
    name, value = dkim_record(signer_for(config))  # type: ignore[arg-type]
    assert dkim_line.startswith("FIX") and name in dkim_line and value in dkim_line
    assert "v=spf1" in str(missing[1]) and "v=DMARC1" in str(missing[2])


def test_a_key_other_than_the_published_one_is_reported(tmp_path, dkim_key):
    config = signing_project(tmp_path / "p", 0, dkim_key)
    records = published_dns(config)
    name = next(iter(records))
    records[name] = ["v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAstale"]
    (finding, *_) = check_dns(config, lambda n: records.get(n, []))
    assert not finding.ok and "another key is published" in finding.detail
