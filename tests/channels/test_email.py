import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from structlog.testing import capture_logs

from duress.channels.email import EmailNotifier, EmailSettings, build_email
from duress.domain.errors import ConfigError
from duress.domain.notification import DeliveryStatus, Mode
from duress.testing import FakeClock
from tests.channels.support import duress_notice
from tests.channels.tls import Certificates, make_certificates


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.endswith("@nowhere.invalid"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append((envelope, message_from_bytes(envelope.content, policy=default)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def settings(port: int, **kwargs: object) -> EmailSettings:
    return EmailSettings(
        host="127.0.0.1", port=port, sender="duress@hospital.example", timeout_s=5, **kwargs
    )  # type: ignore[arg-type]


async def test_mail_reaches_a_real_smtp_server_as_text_and_html(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    notifier = EmailNotifier(settings(port), clock=FakeClock())
    receipt = await notifier.send(
        duress_notice(channel="email", address="guard@hospital.example", mode=Mode.DRILL)
    )
    assert receipt.status is DeliveryStatus.SENT, receipt.detail
    envelope, message = inbox.messages[0]
    assert envelope.rcpt_tos == ["guard@hospital.example"]
    assert message["Subject"] == "DRILL: DURESS SECURITY — unit 4B, room 12"
    assert message["X-Duress-Key"] == "alert-1:t1:s2"
    assert message.is_multipart()
    types = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in types
    assert "text/html" in types


async def test_a_refused_recipient_is_a_permanent_failure(smtp: tuple[Inbox, int]) -> None:
    _, port = smtp
    receipt = await EmailNotifier(settings(port)).send(
        duress_notice(channel="email", address="x@nowhere.invalid")
    )
    assert receipt.status is DeliveryStatus.FAILED
    assert "550" in receipt.detail
    assert not receipt.retryable


async def test_starttls_required_but_not_offered_fails_clearly(smtp: tuple[Inbox, int]) -> None:
    _, port = smtp
    receipt = await EmailNotifier(settings(port, starttls=True)).send(
        duress_notice(channel="email", address="guard@hospital.example")
    )
    assert receipt.status is DeliveryStatus.FAILED
    assert "STARTTLS" in receipt.detail.upper()


async def test_no_server_is_a_failed_receipt() -> None:
    receipt = await EmailNotifier(settings(free_port())).send(
        duress_notice(channel="email", address="guard@hospital.example")
    )
    assert receipt.status is DeliveryStatus.FAILED


def test_message_has_no_patient_fields_and_honours_name_display() -> None:
    message = build_email(duress_notice(channel="email", address="a@b.example"), settings(25))
    assert "Jane Doe (RN)" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_settings_from_mapping() -> None:
    assert EmailSettings.from_mapping(
        {"host": "smtp.local", "sender": "d@h.example", "starttls": True}
    ).starttls
    with pytest.raises(ConfigError) as err:
        EmailSettings.from_mapping(
            {"host": "smtp.local", "sender": "nobody", "starttls": True, "tls": True}
        )
    assert "channels.email.sender: 'nobody' is not an email address" in str(err.value)
    assert "starttls and tls are exclusive" in str(err.value)


# -- TLS against a real server with a certificate made here ------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


class TlsInbox(Inbox):
    def __init__(self) -> None:
        super().__init__()
        self.encrypted: list[bool] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        transport = server.transport
        assert transport is not None
        self.encrypted.append(transport.get_extra_info("ssl_object") is not None)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def starttls_smtp(certificates: Certificates) -> Iterator[tuple[TlsInbox, int]]:
    """aiosmtpd offering STARTTLS and refusing mail without it."""
    inbox = TlsInbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=certificates.server_context(),
        require_starttls=True,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def implicit_tls_smtp(certificates: Certificates) -> Iterator[tuple[TlsInbox, int]]:
    inbox = TlsInbox()
    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=certificates.server_context()
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


GUARD = {"channel": "email", "address": "guard@hospital.example"}


async def test_starttls_with_the_hospitals_ca_delivers_encrypted(
    starttls_smtp: tuple[TlsInbox, int], certificates: Certificates
) -> None:
    inbox, port = starttls_smtp
    notifier = EmailNotifier(settings(port, starttls=True, ca_file=str(certificates.ca_file)))
    receipt = await notifier.send(duress_notice(**GUARD))  # type: ignore[arg-type]
    assert receipt.status is DeliveryStatus.SENT, receipt.detail
    assert inbox.encrypted == [True]
    assert inbox.messages[0][1]["X-Duress-Key"] == "alert-1:t1:s2"


async def test_an_untrusted_certificate_is_refused_by_default(
    starttls_smtp: tuple[TlsInbox, int], certificates: Certificates
) -> None:
    inbox, port = starttls_smtp
    for extra, hint in (
        ({}, "set channels.email.ca_file"),
        ({"ca_file": str(certificates.other_ca_file)}, "check that the certificate names"),
    ):
        receipt = await EmailNotifier(settings(port, starttls=True, **extra)).send(
            duress_notice(**GUARD)  # type: ignore[arg-type]
        )
        assert receipt.status is DeliveryStatus.FAILED
        assert receipt.detail.startswith("mail server certificate not trusted")
        assert hint in receipt.detail
        assert not receipt.retryable
    assert inbox.messages == []


async def test_verification_off_must_be_asked_for_and_still_encrypts(
    starttls_smtp: tuple[TlsInbox, int],
) -> None:
    inbox, port = starttls_smtp
    with capture_logs() as logs:
        notifier = EmailNotifier(settings(port, starttls=True, tls_verify=False))
    assert [entry["event"] for entry in logs] == ["email.tls_unverified"]
    receipt = await notifier.send(duress_notice(**GUARD))  # type: ignore[arg-type]
    assert receipt.status is DeliveryStatus.SENT, receipt.detail
    assert inbox.encrypted == [True]


async def test_a_server_requiring_starttls_refuses_plain_mail(
    starttls_smtp: tuple[TlsInbox, int],
) -> None:
    inbox, port = starttls_smtp
    receipt = await EmailNotifier(settings(port)).send(duress_notice(**GUARD))  # type: ignore[arg-type]
    assert receipt.status is DeliveryStatus.FAILED
    assert inbox.messages == []


async def test_implicit_tls_verifies_too(
    implicit_tls_smtp: tuple[TlsInbox, int], certificates: Certificates
) -> None:
    inbox, port = implicit_tls_smtp
    good = await EmailNotifier(settings(port, tls=True, ca_file=str(certificates.ca_file))).send(
        duress_notice(**GUARD)  # type: ignore[arg-type]
    )
    assert good.status is DeliveryStatus.SENT, good.detail
    bad = await EmailNotifier(settings(port, tls=True)).send(duress_notice(**GUARD))  # type: ignore[arg-type]
    assert bad.status is DeliveryStatus.FAILED
    assert "certificate not trusted" in bad.detail
    assert inbox.encrypted == [True]


def test_tls_settings(certificates: Certificates) -> None:
    ok = EmailSettings.from_mapping(
        {
            "host": "smtp.local",
            "sender": "d@h.example",
            "starttls": True,
            "ca_file": str(certificates.ca_file),
        }
    )
    assert (ok.ca_file, ok.tls_verify) == (str(certificates.ca_file), True)
    with pytest.raises(ConfigError) as err:
        EmailSettings.from_mapping(
            {
                "host": "smtp.local",
                "sender": "d@h.example",
                "ca_file": "/nowhere/ca.pem",
                "tls_verify": False,
            }
        )
    text = str(err.value)
    assert "channels.email.ca_file: '/nowhere/ca.pem' is not a file" in text
    assert "ca_file and tls_verify apply only to TLS" in text
