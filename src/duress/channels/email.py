"""Email over SMTP (optional STARTTLS or implicit TLS): a short text part and an HTML part.

The subject leads with ``DRILL:``/``TEST:`` when not real; the body is the minimum necessary (see
:mod:`duress.channels.text`). The ``Message-ID`` is derived from the notice key so mail systems can
spot duplicates; an ``X-Duress-Key`` header carries the key itself.

TLS always verifies the server's certificate and host name, against the system's trust store or,
with ``ca_file``, against that CA bundle only (a hospital's internal CA). ``tls_verify: false`` turns
verification off; it must be written in the configuration and is logged as a warning, never a default.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import structlog

from duress.channels.settings import Reader
from duress.channels.text import TextSettings, html_text, long_text, subject_line
from duress.domain.notification import DeliveryStatus, Notice, Receipt
from duress.service.clock import Clock, SystemClock

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """``channels: {email: {host, port, sender, starttls, tls, ca_file, tls_verify, username,
    password, timeout_s}}``."""

    host: str
    sender: str
    port: int = 25
    starttls: bool = False
    tls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_s: float = 5.0
    ca_file: str | None = None
    """PEM file of the CA(s) that signed the server's certificate; replaces the system trust store."""
    tls_verify: bool = True
    """False turns certificate and host-name checks off (logged as a warning; lab use only)."""

    @classmethod
    def from_mapping(
        cls, data: dict[str, Any] | None, *, where: str = "channels.email"
    ) -> EmailSettings:
        r = Reader(data, where)
        settings = cls(
            host=r.string("host", required=True),
            sender=r.string("sender", required=True),
            port=r.integer("port", 25, minimum=1),
            starttls=r.boolean("starttls", False),
            tls=r.boolean("tls", False),
            username=r.optional("username"),
            password=r.optional("password"),
            timeout_s=r.number("timeout_s", 5.0, minimum=0.1),
            ca_file=r.optional("ca_file"),
            tls_verify=r.boolean("tls_verify", True),
        )
        if settings.ca_file and not Path(settings.ca_file).is_file():
            r.problems.append(
                f"{where}.ca_file: {settings.ca_file!r} is not a file; give the PEM file of the CA "
                "that signed the mail server's certificate"
            )
        if (settings.ca_file or not settings.tls_verify) and not (
            settings.starttls or settings.tls
        ):
            r.problems.append(
                f"{where}: ca_file and tls_verify apply only to TLS; set starttls: true or tls: true"
            )
        if settings.sender and "@" not in settings.sender:
            r.problems.append(f"{where}.sender: {settings.sender!r} is not an email address")
        if settings.starttls and settings.tls:
            r.problems.append(f"{where}: starttls and tls are exclusive; set only one")
        r.done()
        return settings


def tls_context(settings: EmailSettings) -> ssl.SSLContext:
    """The client TLS context: verify the certificate and host name (``ca_file`` as the only trust
    anchors when given), unless ``tls_verify`` is false."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.ca_file)
    if not settings.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def build_email(
    notice: Notice,
    settings: EmailSettings,
    *,
    text: TextSettings | None = None,
    clock: Clock | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = notice.address
    message["Subject"] = subject_line(notice, text)
    message["Date"] = format_datetime((clock or SystemClock()).now())
    domain = settings.sender.rpartition("@")[2] or "duress.invalid"
    message["Message-ID"] = make_msgid(idstring=notice.key.replace(":", "."), domain=domain)
    message["X-Duress-Key"] = notice.key
    message["X-Duress-Mode"] = notice.effective_mode.value
    message["X-Priority"] = "1" if notice.priority in ("critical", "high") else "3"
    message.set_content(long_text(notice, text))
    message.add_alternative(html_text(notice, text), subtype="html")
    return message


class EmailNotifier:
    def __init__(
        self,
        settings: EmailSettings,
        *,
        text: TextSettings | None = None,
        clock: Clock | None = None,
        channel: str = "email",
    ) -> None:
        self.settings = settings
        self.channel = channel
        self.endpoint = f"smtp://{settings.host}:{settings.port}"
        self._text = text
        self._clock = clock or SystemClock()
        self._tls: ssl.SSLContext | None = None
        if (settings.starttls or settings.tls) and not settings.tls_verify:
            log.warning(
                "email.tls_unverified",
                endpoint=self.endpoint,
                note="channels.email.tls_verify is false: the mail server's certificate is not checked",
            )

    def _tls_context(self) -> ssl.SSLContext | None:
        s = self.settings
        if not (s.starttls or s.tls):
            return None
        if self._tls is None:
            self._tls = tls_context(s)
        return self._tls

    async def send(self, notice: Notice) -> Receipt:
        message = build_email(notice, self.settings, text=self._text, clock=self._clock)
        s = self.settings
        try:
            context = self._tls_context()
        except (OSError, ssl.SSLError) as exc:
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"cannot load the CA file {s.ca_file!r}: {exc}",
                retryable=False,
            )
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.tls,
            start_tls=s.starttls,
            tls_context=context,
            username=s.username,
            password=s.password,
            timeout=s.timeout_s,
        )
        transport = None
        try:
            async with client:
                transport = client.transport
                errors, response = await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"recipient refused: {exc}",
                retryable=False,
            )
        except ssl.SSLCertVerificationError as exc:
            return self._untrusted(notice, exc)
        except aiosmtplib.SMTPException as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ssl.SSLCertVerificationError):
                return self._untrusted(notice, cause)
            return Receipt(
                notice.key, DeliveryStatus.FAILED, detail=f"SMTP: {type(exc).__name__}: {exc}"
            )
        except OSError as exc:
            return Receipt(
                notice.key, DeliveryStatus.FAILED, detail=f"mail server unreachable: {exc}"
            )
        finally:
            # aiosmtplib leaves the socket open when the TLS handshake fails; and after QUIT a TLS
            # connection waits for the server's close_notify. Neither may keep a socket open.
            client.close()
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()
        if errors:
            detail = "; ".join(f"{addr}: {code} {text}" for addr, (code, text) in errors.items())
            return Receipt(notice.key, DeliveryStatus.FAILED, detail=detail, retryable=False)
        return Receipt(
            notice.key,
            DeliveryStatus.SENT,
            detail=f"SMTP {response}",
            provider_id=str(message["Message-ID"]),
        )

    def _untrusted(self, notice: Notice, exc: ssl.SSLCertVerificationError) -> Receipt:
        """A certificate we do not trust: retrying cannot help, so fail over at once."""
        hint = (
            "check that the certificate names this host"
            if self.settings.ca_file
            else "set channels.email.ca_file to the CA that signed it"
        )
        return Receipt(
            notice.key,
            DeliveryStatus.FAILED,
            detail=f"mail server certificate not trusted ({exc.verify_message or exc}); {hint}",
            retryable=False,
        )
