"""Email over SMTP (optional STARTTLS or implicit TLS): a short text part and an HTML part.

The subject leads with ``DRILL:``/``TEST:`` when not real; the body is the minimum necessary (see
:mod:`duress.channels.text`). The ``Message-ID`` is derived from the notice key so mail systems can
spot duplicates; an ``X-Duress-Key`` header carries the key itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import aiosmtplib

from duress.channels.settings import Reader
from duress.channels.text import TextSettings, html_text, long_text, subject_line
from duress.domain.notification import DeliveryStatus, Notice, Receipt
from duress.service.clock import Clock, SystemClock


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """``channels: {email: {host, port, sender, starttls, tls, username, password, timeout_s}}``."""

    host: str
    sender: str
    port: int = 25
    starttls: bool = False
    tls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_s: float = 5.0

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
        )
        if settings.sender and "@" not in settings.sender:
            r.problems.append(f"{where}.sender: {settings.sender!r} is not an email address")
        if settings.starttls and settings.tls:
            r.problems.append(f"{where}: starttls and tls are exclusive; set only one")
        r.done()
        return settings


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

    async def send(self, notice: Notice) -> Receipt:
        message = build_email(notice, self.settings, text=self._text, clock=self._clock)
        s = self.settings
        try:
            errors, response = await aiosmtplib.send(
                message,
                hostname=s.host,
                port=s.port,
                use_tls=s.tls,
                start_tls=s.starttls,
                username=s.username,
                password=s.password,
                timeout=s.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"recipient refused: {exc}",
                retryable=False,
            )
        except aiosmtplib.SMTPException as exc:
            return Receipt(
                notice.key, DeliveryStatus.FAILED, detail=f"SMTP: {type(exc).__name__}: {exc}"
            )
        except OSError as exc:
            return Receipt(
                notice.key, DeliveryStatus.FAILED, detail=f"mail server unreachable: {exc}"
            )
        if errors:
            detail = "; ".join(f"{addr}: {code} {text}" for addr, (code, text) in errors.items())
            return Receipt(notice.key, DeliveryStatus.FAILED, detail=detail, retryable=False)
        return Receipt(
            notice.key,
            DeliveryStatus.SENT,
            detail=f"SMTP {response}",
            provider_id=str(message["Message-ID"]),
        )
