"""digest send against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import ssl
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from digest.config import Config, load_config
from digest.delivery.lifecycle import Outgoing
from digest.delivery.personalize import personalize
from digest.delivery.send import SendReport, send_list, send_proof
from digest.delivery.smtp import Pacer
from digest.delivery.subscribers import Recipient, read_subscribers
from digest.delivery.tokens import recipient_token, token_address
from digest.errors import SendError
from digest.models import Issue, IssueStory, SourceLink

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
ISSUE = date(2026, 12, 1)
UNSUB = "https://example.org/unsubscribe?list=digest&token={token}"


# -- a real SMTP server ----------------------------------------------------------------------


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it accepts and refuses what it is told to."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse_data_after: int | None = None
    refuse_rcpt: set[str] = field(default_factory=set)
    drop_during_data: set[str] = field(default_factory=set)
    per_connection: int | None = None
    sessions: list[list[str]] = field(default_factory=list)  # senders seen per connection

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        seen = getattr(session, "test_mails", None)
        if seen is None:
            seen = session.test_mails = []
            self.sessions.append(seen)
        if self.per_connection is not None and len(seen) >= self.per_connection:
            return "421 4.7.0 too many messages on this connection, closing"
        seen.append(address)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if set(envelope.rcpt_tos) & self.drop_during_data:
            # The server keeps the message but the client never hears back.
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            server.transport.close()
            return "250 OK"
        if self.refuse_data_after is not None and len(self.messages) >= self.refuse_data_after:
            return "451 4.3.0 mail system busy, try again later"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def copies(self) -> Counter[str]:
        return Counter(rcpt for _, rcpts, _ in self.messages for rcpt in rcpts)

    def parsed(self) -> list[EmailMessage]:
        return [
            message_from_bytes(data, policy=policy.default)  # type: ignore[misc]
            for _, _, data in self.messages
        ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- a project with a rendered issue ---------------------------------------------------------


def write_project(
    root: Path,
    *,
    port: int = 0,
    security: str = "none",
    unsubscribe_url: str = UNSUB,
    rate: int = 100000,
    user_env: str = "TEST_DIGEST_NO_SUCH_USER",
    smtp_extra: str = "",
) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    host = "127.0.0.1" if port else ""
    (root / "feeds.yaml").write_text(
        f"""\
digest:
  from: "Alliance Digest <digest@example.org>"
  list_id: "Alliance Digest <digest.example.org>"
  unsubscribe_url: "{unsubscribe_url}"
feeds:
  - name: Example
    url: https://example.org/feed.xml
smtp:
  host: "{host}"
  port: {port or 25}
  security: {security}
  username_env: {user_env}
  password_env: {user_env}_PASSWORD
  rate_per_minute: {rate}
{smtp_extra}""",
        encoding="utf-8",
    )
    config = load_config(root)
    write_issue_eml(config)
    return config


def write_issue_eml(config: Config) -> Path:
    """An issue as `digest render` writes it: multipart/alternative with a {token} slot."""
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = "US-Japan Alliance Digest Vol 4.23 (日米同盟)"
    message["From"] = "Alliance Digest <digest@example.org>"
    message["Date"] = "Mon, 30 Nov 2026 12:00:00 +0000"
    message["Message-ID"] = "<alliance-digest.2026-12-01.abc@example.org>"
    message["List-Id"] = "Alliance Digest <digest.example.org>"
    message["List-Unsubscribe"] = f"<{UNSUB}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(
        f"Quad ministers meet in Tokyo.\n\nUnsubscribe: {UNSUB}\n",
        charset="utf-8",
        cte="quoted-printable",
    )
    escaped = UNSUB.replace("&", "&amp;").replace("{token}", "%7Btoken%7D")
    message.add_alternative(
        f"<html><body><h1>日米同盟ダイジェスト</h1><p>Quad ministers meet.</p>"
        f'<a href="{escaped}">Unsubscribe</a></body></html>',
        subtype="html",
        charset="utf-8",
        cte="quoted-printable",
    )
    path = config.issues_dir / ISSUE.isoformat() / "email.eml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(message.as_bytes())
    return path


def outgoing(config: Config, issue_date: date = ISSUE) -> Outgoing:
    """The hand-made issue message above, as the lifecycle gate hands it to a send."""
    eml = (config.issues_dir / issue_date.isoformat() / "email.eml").read_bytes()
    return Outgoing(issue_date, "US-Japan Alliance Digest Vol 4.23", 1, eml, published=True)


def proof(config: Config, addresses: list[str], **options: object) -> SendReport:
    return send_proof(config, outgoing(config), addresses, now=NOW, **options)  # type: ignore[arg-type]


def to_list(config: Config, csv_path: Path, **options: object) -> SendReport:
    people = read_subscribers(csv_path)
    return send_list(config, outgoing(config), people, now=NOW, **options)  # type: ignore[arg-type]


def publish_issue(config: Config, issue_date: date = ISSUE, stories: int = 2) -> Path:
    """A published issue as `digest publish` freezes it (issues/DATE/published.json)."""
    from digest.publish.site import archive

    issue = Issue(
        date=issue_date,
        title="US-Japan Alliance Digest Vol 4.23",
        volume=4,
        number=23,
        preheader="Defense ministers agree to speed up joint missile production",
        stories=tuple(
            IssueStory(
                headline=f"Defense ministers agree on step {n} of joint missile production",
                body="The two ministers met in Tokyo and agreed to expand co-production.",
                sources=(SourceLink("NHK", f"https://www3.nhk.or.jp/news/{n}.html"),),
                section="Defense",
                anchor=f"defense-{n}",
            )
            for n in range(1, stories + 1)
        ),
    )
    published = archive.freeze(issue, now=NOW, today=issue_date)
    path = archive.published_path(config, issue_date)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(archive.published_to_json(published), encoding="utf-8")
    return path


def subscribers(path: Path, count: int) -> Path:
    rows = ["Email Address,First Name,Last Name"]
    rows += [f"reader{n:02d}@example.net,Reader,{n}" for n in range(count)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def bodies(message: EmailMessage) -> dict[str, str]:
    return {
        part.get_content_subtype(): part.get_content()
        for part in message.walk()
        if not part.is_multipart()
    }


# -- proofs ----------------------------------------------------------------------------------


def test_proof_arrives_as_multipart_alternative_with_personal_headers(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)

    report = proof(config, ["Ed One <ed1@example.org>", "ed2@example.org"])

    assert report.ok and report.sent == ("ed1@example.org", "ed2@example.org")
    assert sorted(inbox.copies().elements()) == ["ed1@example.org", "ed2@example.org"]
    messages = inbox.parsed()
    assert [m["To"] for m in messages] == ["Ed One <ed1@example.org>", "ed2@example.org"]
    assert len({m["Message-ID"] for m in messages}) == 2
    for message in messages:
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["Subject"] == "[Proof] US-Japan Alliance Digest Vol 4.23 (日米同盟)"
        assert message["From"] == "Alliance Digest <digest@example.org>"
        assert message["List-Id"] == "Alliance Digest <digest.example.org>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Message-ID"] != "<alliance-digest.2026-12-01.abc@example.org>"
        link = str(message["List-Unsubscribe"]).strip("<>")
        assert link.startswith("https://example.org/unsubscribe?list=digest&token=")
        token = link.rsplit("token=", 1)[1]
        assert "{token}" not in link and len(token.split(".")[1]) == 32
        parts = bodies(message)
        assert link in parts["plain"]
        assert link.replace("&", "&amp;") in parts["html"]
        assert "日米同盟ダイジェスト" in parts["html"]
        assert "token}" not in parts["html"] + parts["plain"]
        assert "%7Btoken%7D" not in parts["html"]
    first, second = (str(m["List-Unsubscribe"]) for m in messages)
    assert first != second


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the client trusts it via SSL_CERT_FILE)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found; it makes the test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_secure_connection_and_login_from_the_environment(
    tmp_path, tls_files, monkeypatch, security
):
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"ed", b"s3cret"))

    tls = (
        {"tls_context": context, "require_starttls": True}
        if security == "starttls"
        # aiosmtpd cannot tell an implicit-TLS session is encrypted: allow AUTH anyway.
        else {"ssl_context": context, "auth_require_tls": False}
    )
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        auth_required=True,
        authenticator=authenticator,
        **tls,
    )
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv("TEST_DIGEST_USER", "ed")
    monkeypatch.setenv("TEST_DIGEST_USER_PASSWORD", "s3cret")
    try:
        config = write_project(
            tmp_path / "p", port=port, security=security, user_env="TEST_DIGEST_USER"
        )
        report = proof(config, ["ed@example.org"])
    finally:
        controller.stop()
    assert report.ok and list(inbox.copies()) == ["ed@example.org"]
    assert logins == [(b"ed", b"s3cret")]


def test_starttls_required_but_not_offered_is_a_clear_error(tmp_path, smtp_server):
    _, port = smtp_server
    config = write_project(tmp_path / "p", port=port, security="starttls")
    with pytest.raises(SendError, match="does not offer STARTTLS"):
        proof(config, ["ed@example.org"])


# -- list sends ------------------------------------------------------------------------------


def test_interrupted_list_send_resumes_with_exactly_one_copy_each(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    csv_path = subscribers(tmp_path / "subscribers.csv", 25)
    inbox.refuse_data_after = 7  # the server starts refusing mail mid-list

    first = to_list(config, csv_path)

    assert len(first.sent) == 7 and first.stopped and "451" in first.stopped
    assert first.remaining == 18 and not first.ok
    assert "run the same command again" in str(first)

    inbox.refuse_data_after = None
    second = to_list(config, csv_path)
    third = to_list(config, csv_path)

    assert len(second.sent) == 18 and len(second.skipped) == 7 and second.ok
    assert third.sent == () and len(third.skipped) == 25
    everyone = {f"reader{n:02d}@example.net" for n in range(25)}
    assert inbox.copies() == Counter(dict.fromkeys(everyone, 1))
    to_headers = [str(m["To"]) for m in inbox.parsed()]
    assert sorted(to_headers) == sorted(
        f"Reader {n} <reader{n:02d}@example.net>" for n in range(25)
    )


def test_refused_recipient_is_reported_and_the_rest_go(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    csv_path = subscribers(tmp_path / "subscribers.csv", 5)
    inbox.refuse_rcpt = {"reader02@example.net"}

    report = to_list(config, csv_path)
    again = to_list(config, csv_path)

    assert len(report.sent) == 4 and report.stopped is None
    assert report.failed[0][0] == "reader02@example.net" and "550" in report.failed[0][1]
    assert again.sent == () and [a for a, _ in again.failed] == ["reader02@example.net"]
    assert set(inbox.copies().values()) == {1} and len(inbox.copies()) == 4


def test_server_closing_the_connection_between_messages_is_reconnected(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    inbox.per_connection = 3  # like providers that cap messages per connection

    report = to_list(config, subscribers(tmp_path / "s.csv", 8))

    assert report.ok and len(report.sent) == 8
    assert [len(mails) for mails in inbox.sessions] == [3, 3, 2]
    assert set(inbox.copies().values()) == {1} and len(inbox.copies()) == 8


def test_connection_lost_during_data_is_in_doubt_and_never_resent(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    csv_path = subscribers(tmp_path / "subscribers.csv", 4)
    inbox.drop_during_data = {"reader01@example.net"}

    first = to_list(config, csv_path)
    inbox.drop_during_data = set()
    second = to_list(config, csv_path)

    assert first.in_doubt == ("reader01@example.net",) and first.remaining == 2
    assert second.in_doubt == ("reader01@example.net",) and len(second.sent) == 2
    assert inbox.copies() == Counter({f"reader{n:02d}@example.net": 1 for n in range(4)})
    rows = (
        sqlite3.connect(config.state_dir / "digest.sqlite")
        .execute("SELECT address, status FROM send_log ORDER BY address")
        .fetchall()
    )
    assert rows == [
        ("reader00@example.net", "sent"),
        ("reader01@example.net", "pending"),
        ("reader02@example.net", "sent"),
        ("reader03@example.net", "sent"),
    ]


def test_dry_run_writes_eml_files_and_sends_nothing(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    csv_path = subscribers(tmp_path / "subscribers.csv", 3)

    report = to_list(config, csv_path, dry_run=True)

    assert inbox.messages == [] and report.dry_run and len(report.written) == 3
    assert report.written[0].name == "0001-reader00@example.net.eml"
    message = message_from_bytes(report.written[2].read_bytes(), policy=policy.default)
    assert message["To"] == "Reader 2 <reader02@example.net>"
    assert "{token}" not in str(message["List-Unsubscribe"])
    real = to_list(config, csv_path)
    assert len(real.sent) == 3
    proofed = proof(config, ["ed@example.org"], dry_run=True)
    assert [p.name for p in report.written[0].parent.iterdir()] == [proofed.written[0].name]


def test_list_send_needs_an_unsubscribe_link(tmp_path):
    config = write_project(tmp_path / "p", unsubscribe_url="")
    csv_path = subscribers(tmp_path / "subscribers.csv", 1)
    with pytest.raises(SendError, match="unsubscribe_url is empty"):
        to_list(config, csv_path, dry_run=True)


# -- pure parts ------------------------------------------------------------------------------


def test_the_token_names_one_address_and_cannot_be_made_without_the_key():
    token = recipient_token(b"k1", "Reader@Example.net")
    assert token_address(b"k1", token) == "reader@example.net"
    assert token_address(b"k2", token) is None
    forged = recipient_token(b"k1", "other@example.net").split(".")[0] + "." + token.split(".")[1]
    assert token_address(b"k1", forged) is None
    message = personalize(
        b"From: a@example.org\r\nSubject: x\r\n\r\nUnsubscribe: " + UNSUB.encode() + b"\r\n",
        Recipient("reader@example.net", "", token),
        template=UNSUB,
        now=NOW,
    )
    assert str(message["List-Unsubscribe"]).endswith(f"token={token}>")


def test_read_subscribers_handles_service_exports(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text(
        "\ufeffEmail Address,First Name,Last Name,Status\n"
        "a@example.net,Aki,Sato,subscribed\n"
        "B@Example.net,Bo,,subscribed\n"
        "b@example.net,Bo,Again,subscribed\n"
        "c@example.net,Cy,,unsubscribed\n"
        "\n",
        encoding="utf-8",
    )
    assert read_subscribers(path) == (
        Recipient("a@example.net", "Aki Sato"),
        Recipient("B@Example.net", "Bo"),
    )
    bare = tmp_path / "bare.csv"
    bare.write_text("x@example.org\ny@example.org\n", encoding="utf-8")
    assert [r.address for r in read_subscribers(bare)] == ["x@example.org", "y@example.org"]


def test_read_subscribers_names_the_bad_line(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("email,token\nok@example.net,1\nnot-an-address,2\n", encoding="utf-8")
    with pytest.raises(SendError) as caught:
        read_subscribers(path)
    assert caught.value.line == 3 and "not-an-address" in str(caught.value)
    assert str(caught.value).startswith(f"{path}:3:")


def test_tokens_are_keyed_and_stable():
    assert recipient_token(b"k1", "A@x.org") == recipient_token(b"k1", "a@x.org")
    assert recipient_token(b"k1", "a@x.org") != recipient_token(b"k2", "a@x.org")


def test_pacer_spaces_messages_to_the_rate():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(per_minute=30, clock=lambda: now[0], sleep=sleep)
    pacer.wait()
    now[0] += 0.5
    pacer.wait()
    now[0] += 3.0
    pacer.wait()
    assert slept == [pytest.approx(1.5)]


def test_list_send_is_paced_to_the_rate_between_real_messages(tmp_path, smtp_server):
    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port, rate=30)
    now = [0.0]
    sleeps: list[tuple[int, float]] = []  # (messages the server had, seconds slept)

    def sleep(seconds: float) -> None:
        sleeps.append((len(inbox.messages), seconds))
        now[0] += seconds

    pacer = Pacer(config.smtp.rate_per_minute, clock=lambda: now[0], sleep=sleep)
    report = to_list(config, subscribers(tmp_path / "s.csv", 4), pacer=pacer)

    assert report.ok and len(report.sent) == 4
    assert sleeps == [(1, pytest.approx(2.0)), (2, pytest.approx(2.0)), (3, pytest.approx(2.0))]


def test_two_list_sends_of_one_issue_cannot_run_at_once(tmp_path, smtp_server):
    from digest.delivery.sendlog import send_lock

    inbox, port = smtp_server
    config = write_project(tmp_path / "p", port=port)
    csv_path = subscribers(tmp_path / "subscribers.csv", 2)
    with send_lock(config, ISSUE), pytest.raises(SendError, match="another `digest send --list`"):
        to_list(config, csv_path)
    assert inbox.messages == []
    assert len(to_list(config, csv_path).sent) == 2


# -- credentials -----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_server_that_wants_a_login_names_the_environment_variables(tmp_path):
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        auth_required=True,
        auth_require_tls=False,
        authenticator=lambda *args: AuthResult(success=True),
    )
    controller.start()
    try:
        config = write_project(tmp_path / "p", port=port)
        with pytest.raises(SendError) as caught:
            proof(config, ["ed@example.org"])
    finally:
        controller.stop()
    message = str(caught.value)
    assert "wants a login" in message and "530" in message
    assert "$TEST_DIGEST_NO_SUCH_USER and $TEST_DIGEST_NO_SUCH_USER_PASSWORD" in message
    assert inbox.messages == []


@pytest.mark.parametrize("missing", ["TEST_DIGEST_USER", "TEST_DIGEST_USER_PASSWORD"])
def test_half_a_login_in_the_environment_is_a_clear_error(tmp_path, monkeypatch, missing):
    for name in ("TEST_DIGEST_USER", "TEST_DIGEST_USER_PASSWORD"):
        monkeypatch.setenv(name, "x")
    monkeypatch.delenv(missing)
    # Port 9 on a host nobody listens on: the error must come before any connection.
    config = write_project(tmp_path / "p", port=9, user_env="TEST_DIGEST_USER")
    with pytest.raises(SendError, match=rf"but \${missing} is not; set both"):
        proof(config, ["ed@example.org"])


def test_a_login_to_a_server_without_auth_is_a_clear_error(tmp_path, monkeypatch, smtp_server):
    _, port = smtp_server
    monkeypatch.setenv("TEST_DIGEST_USER", "ed")
    monkeypatch.setenv("TEST_DIGEST_USER_PASSWORD", "s3cret")
    config = write_project(tmp_path / "p", port=port, user_env="TEST_DIGEST_USER")
    with pytest.raises(SendError, match=r"does not offer a login \(AUTH\) but \$TEST_DIGEST_USER"):
        proof(config, ["ed@example.org"])
