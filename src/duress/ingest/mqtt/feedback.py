"""Badge feedback downlink: what the wearer's badge is told, published to its gateway.

The alert layer decides ``badge.signalled`` events (``sent``, ``received``, ``responder_coming``,
``undelivered``); :class:`FeedbackPublisher` follows the runtime's committed events
(``runtime.hub``, so nothing is signalled before it is stored) and publishes each signal, QoS 1, to
the feedback topic of the gateway that last carried the badge's messages
(``runtime.badge_watch``, fed by every ingested press, sighting and heartbeat)::

    <prefix>/<site>/gw/<gateway>/feedback    {"badge": "b-1", "signal": "received",
                                              "alert": "a-3f2c", "ts": "2026-01-05T08:00:00+00:00"}

The same connection injects the daily synthetic test's press (:meth:`FeedbackPublisher.inject`, the
supervisor's :class:`~duress.service.supervision.PressInjector`). While the broker is away signals
wait in a bounded buffer and are sent on reconnection unless older than :data:`MAX_AGE_S` (a
``received`` a minute late would mislead more than it helps). See ``docs/mqtt.md``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections import deque
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import structlog

from duress.domain.events import BadgeSignalled, StoredEvent
from duress.ingest.mqtt.metrics import mqtt_metrics
from duress.ingest.mqtt.reconnect import keep_connected
from duress.ingest.mqtt.topics import TopicMap

log = structlog.get_logger(__name__)

FEEDBACK_CHANNEL = "feedback"
FEEDBACK_QOS = 1
MAX_AGE_S = 30.0
"""A signal older than this when the broker comes back is not sent (counted as ``expired``)."""
BUFFER = 10_000


def feedback_payload(record: StoredEvent) -> bytes:
    """The JSON a gateway gets for one ``badge.signalled`` event."""
    p = record.payload
    return json.dumps(
        {
            "badge": p["badge"],
            "signal": p["signal"],
            "alert": p.get("alert"),
            "ts": record.ts.isoformat(),
        },
        separators=(",", ":"),
    ).encode()


class FeedbackPublisher:
    """Publishes badge feedback (and the synthetic test's presses) for one site."""

    def __init__(
        self,
        runtime: Any,
        *,
        url: str,
        prefix: str = "duress",
        site_id: str | None = None,
        client_id: str | None = None,
        max_age_s: float = MAX_AGE_S,
    ) -> None:
        self.runtime = runtime
        self.site_id = site_id or runtime.site.id
        self.topics = TopicMap(prefix, self.site_id, runtime.site.ingest)
        self.client_id = client_id or f"duress-{self.site_id}-feedback"
        self.metrics = mqtt_metrics(runtime.metrics.registry)
        self.max_age = timedelta(seconds=max_age_s)
        self._url = urlsplit(url)
        self._pending: deque[tuple[str, str, bytes, StoredEvent]] = deque()
        self._wake = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._stopping = asyncio.Event()
        self.connected = asyncio.Event()
        self.listening = asyncio.Event()
        self.published = 0

    def topic(self, gateway: str) -> str:
        return self.topics.gateway_topic(gateway, FEEDBACK_CHANNEL)

    # --- running ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Follow the hub and publish until :meth:`stop`; reconnects with backoff."""
        follower = asyncio.create_task(self._follow(), name="feedback-follow")
        await asyncio.sleep(0)  # let the listener register with the hub
        self.listening.set()
        try:
            await keep_connected(
                self._session,
                stopping=self._stopping,
                on_error=lambda error, retry_in_s: log.warning(
                    "feedback.disconnected", error=str(error), retry_in_s=retry_in_s
                ),
                on_lost=self._lost,
            )
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)

    def _lost(self) -> None:
        self._client = None
        self.connected.clear()
        self.metrics.feedback_connected.set(0)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def inject(self, gateway: str, payload: bytes) -> None:
        """Publish a native button message on ``gateway``'s buttons topic, QoS 1, as the gateway
        would (the daily synthetic test). Raises ``aiomqtt.MqttError`` / ``ConnectionError`` when
        not connected: the test then fails at ``publish``."""
        client = self._client
        if client is None:
            raise ConnectionError("the feedback publisher is not connected to the broker")
        await client.publish(self.topics.gateway_topic(gateway, "buttons"), payload, qos=1)

    # --- internals -------------------------------------------------------------------------------

    async def _follow(self) -> None:
        badges = self.runtime.site.badges
        while not self._stopping.is_set():
            async for record in self.runtime.hub.listen():
                if record.type != BadgeSignalled.type:
                    continue
                badge = str(record.payload.get("badge"))
                signal = str(record.payload.get("signal"))
                if badge not in badges:
                    continue  # a trouble alert's subject, not a badge
                gateway = self.runtime.badge_watch.gateway_of(badge)
                if gateway is None:
                    self.metrics.feedback.labels(signal, "no_gateway").inc()
                    log.info("feedback.no_gateway", badge=badge, signal=signal)
                    continue
                if len(self._pending) >= BUFFER:
                    _, dropped, _, _ = self._pending.popleft()
                    self.metrics.feedback.labels(dropped, "dropped").inc()
                self._pending.append(
                    (self.topic(gateway), signal, feedback_payload(record), record)
                )
                self._wake.set()
            if not self._stopping.is_set():
                log.warning("feedback.lagged")

    def _make_client(self) -> aiomqtt.Client:
        url = self._url
        tls = ssl.create_default_context() if url.scheme == "mqtts" else None
        return aiomqtt.Client(
            url.hostname or "127.0.0.1",
            url.port or (8883 if tls else 1883),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            identifier=self.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            tls_context=tls,
        )

    async def _session(self) -> None:
        async with self._make_client() as client:
            self._client = client
            self.connected.set()
            self.metrics.feedback_connected.set(1)
            log.info("feedback.connected", client_id=self.client_id)
            while not self._stopping.is_set():
                if not self._pending:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                topic, signal, payload, record = self._pending[0]
                now = self.runtime.clock.now()
                if now - record.ts > self.max_age:
                    self._pending.popleft()
                    self.metrics.feedback.labels(signal, "expired").inc()
                    continue
                await client.publish(topic, payload, qos=FEEDBACK_QOS)
                self._pending.popleft()
                self.published += 1
                self.metrics.feedback.labels(signal, "published").inc()
                self.metrics.feedback_seconds.observe(
                    max(0.0, (self.runtime.clock.now() - record.ts).total_seconds())
                )


__all__ = ["FEEDBACK_CHANNEL", "FeedbackPublisher", "feedback_payload"]
