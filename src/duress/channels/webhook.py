"""HTTP webhooks for video management, access control (lockdown), chat tools and incident tools.

Each POST is JSON, signed: ``X-Duress-Timestamp`` (Unix seconds) and ``X-Duress-Signature:
sha256=<hex HMAC-SHA256 of "{timestamp}.{body}" with the shared secret>``; ``Idempotency-Key`` carries
the notice key so receivers can drop repeats. Two formats: ``native`` (Duress's own) and ``pagerduty``
(PagerDuty Events API v2: trigger on start/update, resolve on end, ``dedup_key`` = the alert id).
Receivers check a signature with :func:`verify_signature`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from duress.channels.http_client import (
    HttpAnswer,
    HttpClient,
    HttpTimeout,
    HttpUnreachable,
    environment_proxy,
)
from duress.channels.http_lane import HttpLane, LaneBroken
from duress.channels.settings import Reader
from duress.channels.text import TextSettings, long_text, subject_line, who
from duress.domain.errors import ConfigError
from duress.domain.notification import DeliveryStatus, EventPhase, Notice, Receipt
from duress.service.clock import Clock, SystemClock

PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """One entry of ``channels: {webhooks: [{name, url, secret, format, routing_key, ...}]}``."""

    name: str
    url: str
    secret: str = ""
    format: str = "native"
    routing_key: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 2.0

    @classmethod
    def from_mapping(
        cls, data: dict[str, Any] | None, *, where: str = "channels.webhooks[0]"
    ) -> WebhookSettings:
        r = Reader(data, where)
        settings = cls(
            name=r.string("name", required=True),
            url=r.url("url", required=True),
            secret=r.string("secret"),
            format=r.choice("format", "native", ("native", "pagerduty")),
            routing_key=r.string("routing_key"),
            headers=r.mapping("headers"),
            timeout_s=r.number("timeout_s", 2.0, minimum=0.1),
        )
        if settings.format == "pagerduty" and not settings.routing_key:
            r.problems.append(
                f"{where}.routing_key: missing; the pagerduty format needs the "
                "integration's routing key"
            )
        if settings.format == "native" and not settings.secret:
            r.problems.append(
                f"{where}.secret: missing; native webhooks are signed, set a shared secret"
            )
        r.done()
        return settings

    @classmethod
    def list_from(
        cls, data: Any, *, where: str = "channels.webhooks"
    ) -> tuple[WebhookSettings, ...]:
        if data is None:
            return ()
        if not isinstance(data, list):
            raise ConfigError([f"{where}: expected a list of webhooks, got {data!r}"])
        problems: list[str] = []
        hooks = []
        for i, item in enumerate(data):
            try:
                hooks.append(cls.from_mapping(item, where=f"{where}[{i}]"))
            except ConfigError as exc:
                problems += exc.problems
        if problems:
            raise ConfigError(problems)
        return tuple(hooks)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance_s: float = 300,
) -> bool:
    """True when ``signature`` matches and ``timestamp`` is within ``tolerance_s`` of ``now``."""
    try:
        fresh = abs(now - float(timestamp)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def native_payload(notice: Notice, text: TextSettings | None = None) -> dict[str, Any]:
    loc = notice.location
    return {
        "type": f"duress.alert.{notice.phase.value}",
        "key": notice.key,
        "alert": notice.alert,
        "kind": str(notice.kind),
        "phase": notice.phase.value,
        "update_reason": notice.update_reason or None,
        "mode": notice.effective_mode.value,
        "priority": notice.priority,
        "summary": subject_line(notice, text),
        "text": long_text(notice, text),
        "staff": who(notice, (text or TextSettings()).name_display) or None,
        "location": {
            "building": loc.building,
            "floor": loc.floor,
            "unit": loc.unit,
            "room": loc.room,
            "bay": loc.bay,
            "zone": loc.zone,
            "precision": loc.precision,
            "age_s": loc.age_s,
        },
        "raised_at": notice.raised_at.isoformat() if notice.raised_at else None,
        "reply_url": notice.reply_url,
    }


def pagerduty_payload(
    notice: Notice, routing_key: str, text: TextSettings | None = None, *, source: str = "duress"
) -> dict[str, Any]:
    action = "resolve" if notice.phase is EventPhase.END else "trigger"
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": notice.alert,
    }
    if action == "trigger":
        severity = "critical" if notice.priority in ("critical", "high") else "warning"
        event["payload"] = {
            "summary": subject_line(notice, text)[:1024],
            "source": source,
            "severity": severity,
            "component": notice.location.unit or "",
            "group": notice.location.floor or "",
            "class": f"duress.{notice.kind}",
            "custom_details": native_payload(notice, text),
        }
        if notice.raised_at is not None:
            event["payload"]["timestamp"] = notice.raised_at.isoformat()
    return event


class WebhookNotifier:
    """Posts to one webhook; ``channel`` defaults to ``webhook:<name>``."""

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        client: HttpClient | None = None,
        clock: Clock | None = None,
        text: TextSettings | None = None,
        channel: str | None = None,
    ) -> None:
        self.settings = settings
        self.channel = channel or f"webhook:{settings.name}"
        self.endpoint = settings.url
        self._client = client or HttpClient()
        self._own_client = client is None
        self._clock = clock or SystemClock()
        self._text = text
        lane = HttpLane(settings.url) if environment_proxy(settings.url) is None else None
        self._lane = lane if lane is not None and lane.enabled else None
        """Held-open connections for :meth:`begin` (none through a proxy)."""

    def render(self, notice: Notice) -> tuple[bytes, dict[str, str]]:
        s = self.settings
        payload = (
            pagerduty_payload(notice, s.routing_key, self._text)
            if s.format == "pagerduty"
            else native_payload(notice, self._text)
        )
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(self._clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": notice.key,
            "X-Duress-Timestamp": timestamp,
            **s.headers,
        }
        if s.secret:
            headers["X-Duress-Signature"] = sign(s.secret, timestamp, body)
        return body, headers

    def begin(self, notice: Notice) -> asyncio.Task[Receipt] | None:
        """Write the notice's request now, on a connection held open to the webhook, and return
        the task that waits for the answer; None when no such connection is ready (call
        :meth:`send` instead; one is opened for next time). The delivery layer calls this for a
        notice's first attempt, so that the request leaves in the same turn of the event loop as
        the commit that called for it (decision 14)."""
        if self._lane is None:
            return None
        body, headers = self.render(notice)
        request = self._lane.encode("POST", body, headers)
        answer = self._lane.start(request) if request is not None else None
        if answer is None:
            return None
        return asyncio.get_running_loop().create_task(
            self._finish(notice, answer), name=f"webhook:{notice.key}"
        )

    async def _finish(self, notice: Notice, answer: asyncio.Future[HttpAnswer]) -> Receipt:
        try:
            got = await asyncio.wait_for(answer, self.settings.timeout_s)
        except TimeoutError:
            return self._timed_out(notice)
        except LaneBroken:
            # The far end closed the idle connection as the request went out: send it again
            # (same idempotency key, so a receiver that did get it drops the repeat).
            return await self.send(notice)
        except HttpUnreachable as exc:
            return self._unreachable(notice, exc)
        return self._receipt(notice, got)

    async def send(self, notice: Notice) -> Receipt:
        body, headers = self.render(notice)
        try:
            answer = await self._client.request(
                "POST",
                self.settings.url,
                content=body,
                headers=headers,
                timeout_s=self.settings.timeout_s,
            )
        except HttpTimeout:
            return self._timed_out(notice)
        except HttpUnreachable as exc:
            return self._unreachable(notice, exc)
        return self._receipt(notice, answer)

    def _timed_out(self, notice: Notice) -> Receipt:
        return Receipt(
            notice.key,
            DeliveryStatus.FAILED,
            detail=f"webhook did not answer within {self.settings.timeout_s:g} s",
        )

    def _unreachable(self, notice: Notice, exc: HttpUnreachable) -> Receipt:
        return Receipt(
            notice.key, DeliveryStatus.FAILED, detail=f"webhook unreachable: {exc.cause}"
        )

    def _receipt(self, notice: Notice, answer: HttpAnswer) -> Receipt:
        if answer.status >= 300:
            retryable = answer.status >= 500 or answer.status in (408, 429)
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"webhook answered HTTP {answer.status}",
                retryable=retryable,
            )
        provider_id = None
        if self.settings.format == "pagerduty":
            try:
                provider_id = answer.json().get("dedup_key")
            except (ValueError, AttributeError):
                provider_id = None
        return Receipt(
            notice.key,
            DeliveryStatus.SENT,
            detail=f"HTTP {answer.status}",
            provider_id=provider_id,
        )

    async def aclose(self) -> None:
        if self._lane is not None:
            await self._lane.aclose()
        if self._own_client:
            await self._client.aclose()
