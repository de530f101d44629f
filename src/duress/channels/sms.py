"""SMS through an HTTP SMS gateway, configured by a request template (Twilio-style as the example).

The template names the URL, method, body format (``form`` or ``json``), the fields (values may use
``{to}``, ``{sender}``, ``{text}``, ``{key}``, ``{alert}``, ``{status_url}``), authentication
(``basic`` user/password or a ``bearer`` token) and where the provider's message id is in the JSON
answer (``id_field``, e.g. ``sid``). Twilio:

.. code-block:: yaml

    channels:
      sms:
        url: https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json
        format: form
        fields: {To: "{to}", From: "{sender}", Body: "{text}", StatusCallback: "{status_url}"}
        sender: "+15550100"
        username: AC123
        password: "${TWILIO_TOKEN}"
        id_field: sid
        status_url: https://duress.example/sms/status

Delivery reports (Twilio's ``MessageSid`` / ``MessageStatus`` form posts) come in through
:func:`sms_router`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response

from duress.channels.http_client import HttpClient, HttpTimeout, HttpUnreachable
from duress.channels.settings import Reader
from duress.channels.text import TextSettings, sms_text
from duress.domain.notification import (
    DeliveryStatus,
    DeliveryUpdate,
    Notice,
    Receipt,
    UpdateCallback,
)
from duress.service.clock import Clock, SystemClock

TWILIO_FIELDS = {"To": "{to}", "From": "{sender}", "Body": "{text}"}


@dataclass(frozen=True, slots=True)
class SmsSettings:
    url: str
    sender: str = ""
    method: str = "POST"
    format: str = "form"
    fields: dict[str, str] = field(default_factory=lambda: dict(TWILIO_FIELDS))
    headers: dict[str, str] = field(default_factory=dict)
    username: str | None = None
    password: str | None = None
    token: str | None = None
    id_field: str = "sid"
    status_url: str = ""
    timeout_s: float = 2.0

    @classmethod
    def from_mapping(
        cls, data: dict[str, Any] | None, *, where: str = "channels.sms"
    ) -> SmsSettings:
        r = Reader(data, where)
        fields = r.mapping("fields") or dict(TWILIO_FIELDS)
        settings = cls(
            url=r.url("url", required=True),
            sender=r.string("sender"),
            method=r.choice("method", "POST", ("POST", "PUT", "GET")),
            format=r.choice("format", "form", ("form", "json")),
            fields=fields,
            headers=r.mapping("headers"),
            username=r.optional("username"),
            password=r.optional("password"),
            token=r.optional("token"),
            id_field=r.string("id_field", "sid"),
            status_url=r.url("status_url"),
            timeout_s=r.number("timeout_s", 2.0, minimum=0.1),
        )
        for name, template in fields.items():
            try:
                template.format(to="", sender="", text="", key="", alert="", status_url="")
            except (KeyError, IndexError, ValueError) as exc:
                r.problems.append(
                    f"{where}.fields.{name}: {template!r} uses an unknown placeholder {exc}; "
                    "use {to}, {sender}, {text}, {key}, {alert} or {status_url}"
                )
        r.done()
        return settings


def render_fields(notice: Notice, settings: SmsSettings, text: str) -> dict[str, str]:
    values = {
        "to": notice.address,
        "sender": settings.sender,
        "text": text,
        "key": notice.key,
        "alert": notice.alert,
        "status_url": settings.status_url,
    }
    return {name: template.format(**values) for name, template in settings.fields.items()}


class SmsNotifier:
    def __init__(
        self,
        settings: SmsSettings,
        *,
        client: HttpClient | None = None,
        text: TextSettings | None = None,
        channel: str = "sms",
    ) -> None:
        self.settings = settings
        self.channel = channel
        self.endpoint = settings.url
        self._client = client or HttpClient()
        self._own_client = client is None
        self._text = text

    async def send(self, notice: Notice) -> Receipt:
        s = self.settings
        fields = render_fields(notice, s, sms_text(notice, self._text))
        headers = {"Idempotency-Key": notice.key, **s.headers}
        if s.token:
            headers["Authorization"] = f"Bearer {s.token}"
        get = s.method == "GET"
        try:
            answer = await self._client.request(
                s.method,
                s.url,
                params=fields if get else None,
                json=fields if not get and s.format == "json" else None,
                form=fields if not get and s.format == "form" else None,
                headers=headers,
                basic_auth=(s.username, s.password or "") if s.username else None,
                timeout_s=s.timeout_s,
            )
        except HttpTimeout:
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"SMS gateway did not answer within {s.timeout_s:g} s",
            )
        except HttpUnreachable as exc:
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"SMS gateway unreachable: {exc.cause}",
            )
        if answer.status >= 400:
            retryable = answer.status >= 500 or answer.status in (408, 429)
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"SMS gateway answered HTTP {answer.status}: {answer.text()[:200]}",
                retryable=retryable,
            )
        provider_id = None
        try:
            parsed = answer.json()
            if isinstance(parsed, dict) and parsed.get(s.id_field) is not None:
                provider_id = str(parsed[s.id_field])
        except ValueError:
            pass
        return Receipt(
            notice.key,
            DeliveryStatus.SENT,
            detail=f"HTTP {answer.status}",
            provider_id=provider_id,
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()


_TWILIO_STATUS = {
    "accepted": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
}


def sms_router(
    on_update: UpdateCallback,
    *,
    clock: Clock | None = None,
    path: str = "/sms/status",
    channel: str = "sms",
) -> APIRouter:
    """Twilio-style delivery reports (form fields ``MessageSid``, ``MessageStatus``, ``ErrorCode``)."""
    clock = clock or SystemClock()
    router = APIRouter()

    @router.post(path, summary="SMS delivery reports")
    async def sms_status(request: Request) -> Response:
        parsed = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        form = {name: values[-1] for name, values in parsed.items()}
        sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
        raw = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        status = _TWILIO_STATUS.get(raw)
        if not sid or status is None:
            await on_update(
                DeliveryUpdate(
                    DeliveryStatus.FAILED,
                    clock.now(),
                    channel=channel,
                    provider_id=sid or None,
                    detail=f"unreadable SMS report (sid={sid!r}, status={raw!r})",
                )
            )
            return Response(
                status_code=400, content="MessageSid and a known MessageStatus are required"
            )
        error = str(form.get("ErrorCode") or "")
        await on_update(
            DeliveryUpdate(
                status,
                clock.now(),
                provider_id=sid,
                channel=channel,
                address=str(form.get("To") or ""),
                detail=f"provider error {error}" if error else raw,
            )
        )
        return Response(status_code=204)

    return router
