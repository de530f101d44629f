"""The MQTT loop: a thin shell around :class:`~duress.ingest.mqtt.dispatch.Dispatcher`.

- One persistent session (MQTT v5, clean start off, a session expiry) under a stable client id:
  button messages (QoS 1) published while the server is away wait at the broker and arrive when it
  comes back.
- A button message is acknowledged (PUBACK) only after :meth:`Runtime.ingest` returned, that is
  after the press was committed durably; a crash before that gets it redelivered, and the runtime's
  ``(badge, seq)`` dedupe keeps it from counting twice.
- Two workers: buttons on their own lane, ingested as soon as they arrive; everything else on a
  bounded bulk lane, batched per loop iteration, oldest dropped (and counted) when full.
- Reconnects forever with capped exponential backoff; logs ``mqtt.connected`` /
  ``mqtt.disconnected``.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiomqtt
import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from duress.domain.ingest_mapping import IngestMapping
from duress.ingest import auth
from duress.ingest.mqtt.dispatch import Dispatcher, Stats
from duress.ingest.mqtt.lanes import DEFAULT_BULK_LIMIT, Inbound, Lanes
from duress.ingest.mqtt.metrics import mqtt_metrics
from duress.ingest.mqtt.reads import read_all_waiting
from duress.ingest.mqtt.reconnect import BACKOFF_FIRST_S, BACKOFF_MAX_S, keep_connected
from duress.ingest.mqtt.remote_decoding import ELSEWHERE
from duress.ingest.mqtt.sighting_feed import FeedBatch, SightingFeed
from duress.ingest.mqtt.topics import Route, TopicMap

log = structlog.get_logger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
"""How long the broker keeps our session (and queued presses) while we are away."""
BATCH_OBSERVATIONS = 2000
"""Bulk messages are taken until about this many observations are ready, then ingested at once."""
BULK_LINGER_S = 0.005
"""How long the sightings lane waits for more messages before ingesting what it has."""
FEED_WAIT_S = 10.0
"""How long the connection waits for the location process to subscribe to the sighting topics
before it says it is connected (and logs ``mqtt.sightings_not_subscribed``)."""


class Clock(Protocol):
    def now(self) -> datetime: ...


class MqttIngest:
    """Consumes a site's gateways (and the configured wild formats) from one MQTT broker."""

    def __init__(
        self,
        runtime: Any,
        *,
        url: str,
        prefix: str = "duress",
        site_id: str | None = None,
        mapping: IngestMapping | None = None,
        client_id: str | None = None,
        clock: Clock | None = None,
        keys: Mapping[str, bytes] | None = None,
        bulk_limit: int = DEFAULT_BULK_LIMIT,
        batch_size: int = BATCH_OBSERVATIONS,
        session_expiry_s: int = SESSION_EXPIRY_S,
    ) -> None:
        site = runtime.site
        self.runtime = runtime
        self.site_id = site_id or site.id
        self.mapping = mapping if mapping is not None else site.ingest
        self.client_id = client_id or f"duress-{self.site_id}"
        self.clock: Clock = clock or runtime.clock
        self.topics = TopicMap(prefix, self.site_id, self.mapping)
        self.metrics = mqtt_metrics(runtime.metrics.registry)
        if keys is None and self.mapping.native.secrets is not None:
            from pathlib import Path

            keys = auth.load_credentials(Path(self.mapping.native.secrets)).keys()
        self.dispatcher = Dispatcher(
            runtime,
            mapping=self.mapping,
            metrics=self.metrics,
            rejected=runtime.metrics.rejected,
            keys=keys,
        )
        self._feeds = callable(getattr(getattr(runtime, "locator", None), "feed", None))
        """Whether the location process subscribes to the sighting topics itself (decision 13):
        this connection then carries buttons, status, heartbeats and telemetry only."""
        self.subscribed: list[tuple[str, int]] = []
        """What this connection subscribed to (``(topic filter, QoS)``)."""
        self._located: asyncio.Queue[tuple[Any, Any]] = asyncio.Queue()
        self.lanes = Lanes(bulk_limit=bulk_limit, on_drop=self._dropped)
        self.batch_size = batch_size
        self.session_expiry_s = session_expiry_s
        self._url_text = url
        self._url = urlsplit(url)
        self._client: aiomqtt.Client | None = None
        self._generation = 0
        self._stopping = asyncio.Event()
        self._progress = asyncio.Condition()
        self.connected = asyncio.Event()

    # --- public ----------------------------------------------------------------------------------

    @property
    def stats(self) -> Stats:
        return self.dispatcher.stats

    async def run(self) -> None:
        """Consume until :meth:`stop`: reconnects with backoff; never raises on broker trouble."""
        workers = asyncio.create_task(self.process(), name="mqtt-workers")
        if self._feeds:
            self.runtime.locator.feed(self.sighting_feed(), self._from_feed)
        try:
            await keep_connected(
                self._session, stopping=self._stopping, on_error=self._broken, on_lost=self._lost
            )
        finally:
            if self._feeds:
                self.runtime.locator.unfeed()
            workers.cancel()
            await asyncio.gather(workers, return_exceptions=True)

    def sighting_feed(self) -> SightingFeed:
        """The location process's own subscription to this site's sighting topics."""
        return SightingFeed(
            url=self._url_text,
            client_id=f"{self.client_id}-sightings",
            prefix=self.topics.prefix,
            site_id=self.site_id,
            mapping=self.mapping,
            keys=self.dispatcher.keys,
            limits=self.dispatcher.limits,
            session_expiry_s=self.session_expiry_s,
            clock_offset_s=self.clock.now().timestamp() - time.time(),
        )

    def stop(self) -> None:
        """Ask :meth:`run` to disconnect and return. Unacknowledged presses stay at the broker."""
        self._stopping.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait (for tests and benchmarks) until ``predicate()`` holds after some ingest."""

        async def wait() -> None:
            async with self._progress:
                await self._progress.wait_for(predicate)

        await asyncio.wait_for(wait(), timeout)

    # --- the connection --------------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self._url.hostname}:{self._url.port or 1883}"

    def _make_client(self, generation: int) -> aiomqtt.Client:
        tls = ssl.create_default_context() if self._url.scheme == "mqtts" else None
        common: dict[str, Any] = {
            "username": unquote(self._url.username) if self._url.username else None,
            "password": unquote(self._url.password) if self._url.password else None,
            "identifier": self.client_id,
            "tls_context": tls,
        }
        host, port = self._url.hostname or "127.0.0.1", self._url.port or (8883 if tls else 1883)
        if self.mapping.native.signed:
            # Signatures travel as MQTT v5 user properties; the session expires after a while.
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho: untyped
            properties.SessionExpiryInterval = self.session_expiry_s
            client = aiomqtt.Client(
                host,
                port,
                protocol=aiomqtt.ProtocolVersion.V5,
                clean_start=False,
                properties=properties,
                **common,
            )
        else:
            # MQTT 3.1.1 keeps the persistent session just as well (until the broker's
            # persistent_client_expiration) and spares parsing v5 properties on every message:
            # a quarter of the per-message cost of one sighting a message.
            client = aiomqtt.Client(
                host, port, protocol=aiomqtt.ProtocolVersion.V311, clean_session=False, **common
            )
        # aiomqtt 2.x has no manual acknowledgement yet (empicano/aiomqtt#345): use paho's, set
        # before connecting so that presses queued in our session are not acknowledged on arrival.
        client._client.manual_ack_set(True)
        # Each message goes to its lane as soon as paho has read it, in the socket's read callback:
        # aiomqtt's own queue hands messages out one per few turns of the event loop (a task and a
        # wait each), so under a flood of sightings a press waited there behind hundreds of them.
        client._client.on_message = lambda _client, _userdata, message: self._arrived(
            message, generation
        )
        read_all_waiting(client._client)  # and each read callback takes all that is waiting
        return client

    async def _session(self) -> None:
        self._generation += 1
        client = self._make_client(self._generation)
        async with client:
            self._client = client
            self.subscribed = [
                (s.topic, s.qos)
                for s in self.topics.subscriptions()
                if not (self._feeds and s.route in ELSEWHERE)
            ]
            await client.subscribe(self.subscribed)
            if self._feeds:
                await self._feed_subscribed()
            self.connected.set()
            self.metrics.connected.set(1)
            self.runtime.broker_down = None
            log.info("mqtt.connected", url=self._where(), client_id=self.client_id)
            receiver = asyncio.create_task(self._until_disconnected(client))
            stopping = asyncio.create_task(self._stopping.wait())
            try:
                done, _ = await asyncio.wait(
                    {receiver, stopping}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                receiver.cancel()
                stopping.cancel()
                await asyncio.gather(receiver, stopping, return_exceptions=True)
            if receiver in done and receiver.exception() is not None:
                raise receiver.exception()  # type: ignore[misc]  # checked just above
        log.info("mqtt.disconnected", url=self._where(), reason="stopped")

    async def _feed_subscribed(self) -> None:
        """Wait (a while) until the location process has subscribed to the sighting topics."""
        try:
            await asyncio.wait_for(self.runtime.locator.feed_subscribed.wait(), FEED_WAIT_S)
        except TimeoutError:
            log.warning(
                "mqtt.sightings_not_subscribed",
                waited_s=FEED_WAIT_S,
                state=self.runtime.locator.feed_state,
            )

    def _broken(self, error: aiomqtt.MqttError, retry_in_s: float) -> None:
        log.warning("mqtt.disconnected", error=str(error), retry_in_s=retry_in_s, url=self._where())
        self.runtime.broker_down = (
            f"the MQTT broker at {self._where()} is not reachable ({error}); "
            f"reconnecting, presses wait in their gateways' sessions"
        )

    def _lost(self) -> None:
        self._client = None
        self.connected.clear()
        self.metrics.connected.set(0)

    async def _until_disconnected(self, client: aiomqtt.Client) -> None:
        """Return (raising ``MqttError``) when the connection ends. Messages never come through
        here: :meth:`_arrived` takes each one as paho reads it."""
        async for _ in client.messages:
            pass

    def _arrived(self, message: Any, generation: int) -> None:
        """A message as paho read it (``paho.mqtt.client.MQTTMessage``), on the event loop: to its
        lane, or rejected and counted. Never raises: paho would drop the connection."""
        try:
            self._take(message, generation)
        except Exception:  # a bug here must not cost the connection (and every press behind it)
            log.exception("mqtt.message_failed", mid=getattr(message, "mid", None))

    def _take(self, message: Any, generation: int) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # the spec requires UTF-8 topics; a broken client may not
            topic = message._topic.decode("utf-8", errors="replace")
        found = self.topics.classify(topic)
        payload = message.payload if isinstance(message.payload, bytes) else b""
        inbound = Inbound(
            topic=topic,
            payload=payload,
            route=found[0] if found else _UNKNOWN,
            gateway=found[1] if found else None,
            received_at=self.clock.now(),
            qos=message.qos,
            mid=message.mid,
            generation=generation,
            signature=auth.signature_in(getattr(message, "properties", None)),
        )
        if found is None:
            self.dispatcher.reject(inbound, "unknown_topic", f"topic {topic!r} is not ingested")
            self._ack([inbound])
            return
        self.metrics.received.labels(found[0].value).inc()
        self.lanes.put(inbound)
        if message.qos and found[0] is not _BUTTONS:
            self._ack([inbound])  # only presses wait for their commit

    def _ack(self, messages: list[Inbound]) -> None:
        client = self._client
        if client is None:
            return
        for message in messages:
            if message.qos and message.generation == self._generation:
                client._client.ack(message.mid, message.qos)

    # --- the workers -----------------------------------------------------------------------------

    async def process(self) -> None:
        """Run the two workers (buttons, bulk) over :attr:`lanes` until cancelled.

        :meth:`run` does this while it is connected; a test may fill the lanes and call it alone.
        """
        workers = [
            asyncio.create_task(self._button_worker(), name="mqtt-buttons"),
            asyncio.create_task(self._bulk_worker(), name="mqtt-bulk"),
            asyncio.create_task(self._located_worker(), name="mqtt-located"),
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _button_worker(self) -> None:
        while True:
            batch = await self.lanes.buttons()
            self.metrics.waiting.labels("buttons").set(self.lanes.buttons_waiting)
            await self._handle(batch, retry=True)
            self._ack(batch)  # after the durable commit, never before
            await self._notify()

    async def _bulk_worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self.lanes.bulk(1)
            size = _observations(batch[0])
            # Linger a moment for more: gateways that send one sighting a message would otherwise
            # cost one pass through the runtime (and one commit) each. Presses have their own lane
            # and never wait here.
            deadline = loop.time() + BULK_LINGER_S
            while size < self.batch_size:
                more = self.lanes.take_bulk_nowait()
                if more is None:
                    if loop.time() >= deadline:
                        break
                    await asyncio.sleep(0.001)
                    continue
                batch.append(more)
                size += _observations(more)
            self.metrics.waiting.labels("bulk").set(self.lanes.bulk_waiting)
            await self._handle(batch, retry=False)
            await self._notify()

    def _from_feed(self, report: Any, counts: FeedBatch) -> None:
        """A batch the location process's feed received and located (in order)."""
        self._located.put_nowait((report, counts))

    async def _located_worker(self) -> None:
        while True:
            report, counts = await self._located.get()
            self.stats.messages += counts.messages
            for route, n in counts.received.items():
                self.metrics.received.labels(route).inc(n)
            for route, n in counts.dropped.items():
                self.metrics.dropped.labels(route).inc(n)
                self.stats.dropped += n
            try:
                outcome = await self.runtime.apply_located(report)
                await self.dispatcher.account_located(report, outcome, counts.topics.__getitem__)
            except asyncio.CancelledError:
                raise
            except Exception:  # any failure of the runtime: never silent, never the loop's end
                log.exception("mqtt.ingest_failed", messages=counts.messages)
            await self._notify()

    async def _handle(self, batch: list[Inbound], *, retry: bool) -> None:
        """Ingest ``batch``. When the runtime fails (the store is down), presses are retried with
        backoff (and stay unacknowledged meanwhile); bulk messages are counted and dropped."""
        delay = BACKOFF_FIRST_S
        while True:
            try:
                await self.dispatcher.handle(batch)
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # any failure of the runtime: never silent, never the loop's end
                log.exception("mqtt.ingest_failed", messages=len(batch), retry_in_s=delay)
                if not retry:
                    for message in batch:
                        self.dispatcher.reject(message, "ingest_failed", "the runtime failed")
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)

    async def _notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    def _dropped(self, message: Inbound) -> None:
        self.metrics.dropped.labels(message.route.value).inc()
        self.stats.dropped += 1


_UNKNOWN = Route.SIGHTINGS
_BUTTONS = Route.BUTTONS


def _observations(message: Inbound) -> int:
    """A cheap estimate of a bulk message's observations (batches carry one per "type" key)."""
    return max(1, message.payload.count(b'"type"')) if message.route is Route.SIGHTINGS else 1


__all__ = ["MqttIngest"]
