"""The location process's own MQTT subscription to the sighting topics (decision 13).

With the location engine in its own process (``server.location_engine: process``), the messages
of sighting topics (native ``.../sightings``, ESPresense, OpenMQTTGateway, ``mqtt_room``, omlox:
:data:`~duress.ingest.mqtt.remote_decoding.ELSEWHERE`) never reach the server: the server's
consumer subscribes to buttons, status, heartbeats and telemetry only, and hands a
:class:`SightingFeed` to the location process, which connects to the same broker under a client id
of its own (``<server's>-sightings``), subscribes to the sighting topics, and decodes and locates
what arrives. The server hears what it needs in the process's reports (moves, places, last heard
and seen, rejections with their topics, and what a sighting topic carried that is not a sighting).

Inside the process, paho's network thread receives (:meth:`SightingFeed.start`); the process's main
thread takes what is waiting in batches (:meth:`SightingFeed.take`). What waits is bounded
(:data:`QUEUE_LIMIT`): when the process falls behind, the oldest messages are dropped and counted,
as the server's bulk lane does.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from duress.domain.ingest_mapping import IngestMapping
from duress.ingest.auth import signature_in
from duress.ingest.codecs import native
from duress.ingest.mqtt.lanes import Inbound
from duress.ingest.mqtt.remote_decoding import ELSEWHERE, RemoteDecoding
from duress.ingest.mqtt.topics import TopicMap

log = structlog.get_logger(__name__)

QUEUE_LIMIT = 100_000
"""Messages waiting in the process before the oldest are dropped (and counted)."""
BATCH_MESSAGES = 500
"""Messages taken at once: a batch is decoded, located and reported together."""
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30


@dataclass(slots=True)
class FeedBatch:
    """What the feed received, beside the report of what it located."""

    messages: int = 0
    """Messages taken (each counted once, whatever it held)."""
    received: dict[str, int] = field(default_factory=dict)
    """Route → messages received since the last batch (``duress_mqtt_received_total``)."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Route → messages dropped, oldest first, because the process fell behind."""
    topics: dict[int, str] = field(default_factory=dict)
    """Message index → its topic, for the messages the report names (rejections, others)."""


@dataclass
class SightingFeed:
    """Picklable: built by the server's consumer, started in the location process."""

    url: str
    client_id: str
    prefix: str
    site_id: str
    mapping: IngestMapping
    keys: Mapping[str, bytes] = field(default_factory=dict)
    limits: native.BatchLimits = native.DEFAULT_LIMITS
    session_expiry_s: int = 7 * 24 * 3600
    clock_offset_s: float = 0.0
    """The server's clock minus this machine's (0 in service; a test's fake clock otherwise)."""
    queue_limit: int = QUEUE_LIMIT
    _state: Any = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "_state"}
        state["keys"] = dict(self.keys)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)
        self._state = None

    # --- what the server asks -------------------------------------------------------------------

    def subscriptions(self) -> list[tuple[str, int]]:
        topics = TopicMap(self.prefix, self.site_id, self.mapping)
        return [(s.topic, s.qos) for s in topics.subscriptions() if s.route in ELSEWHERE]

    @property
    def decoding(self) -> RemoteDecoding:
        return RemoteDecoding(self.mapping, self.keys, self.limits)

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.clock_offset_s, UTC)

    # --- in the location process ----------------------------------------------------------------

    def start(self, wake: Callable[[], None], on_state: Callable[[bool, str], None]) -> None:
        """Connect (in paho's network thread, reconnecting forever) and subscribe. ``wake()`` is
        called when messages start waiting; ``on_state(subscribed, detail)`` on every change."""
        self._state = _Receiving(self, wake, on_state)
        self._state.start()

    def take(self, limit: int = BATCH_MESSAGES) -> tuple[list[Inbound], FeedBatch]:
        """What waits (at most ``limit`` messages), and the counts since the last take."""
        receiving: _Receiving = self._state
        return receiving.take(limit)

    @property
    def waiting(self) -> int:
        """Messages waiting to be taken."""
        return len(self._state.queue) if self._state is not None else 0

    @property
    def received(self) -> int:
        """Messages received since the last take (some may have been dropped since)."""
        return sum(self._state.received.values()) if self._state is not None else 0

    def stop(self) -> None:
        if self._state is not None:
            self._state.stop()
            self._state = None


class _Receiving:
    """The paho client and the bounded queue it fills (paho's thread) and the process empties."""

    def __init__(
        self, feed: SightingFeed, wake: Callable[[], None], on_state: Callable[[bool, str], None]
    ) -> None:
        self.feed = feed
        self.wake = wake
        self.on_state = on_state
        self.topics = TopicMap(feed.prefix, feed.site_id, feed.mapping)
        self.queue: deque[Inbound] = deque()
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.woken = False
        self.signed = feed.mapping.native.signed
        self.client = self._client()

    def _client(self) -> paho.Client:
        feed, url = self.feed, urlsplit(self.feed.url)
        persistent = any(qos for _, qos in feed.subscriptions())
        if self.signed:  # signatures travel as MQTT v5 user properties
            client = paho.Client(
                CallbackAPIVersion.VERSION2,
                client_id=feed.client_id,
                protocol=paho.MQTTv5,
            )
        else:
            client = paho.Client(
                CallbackAPIVersion.VERSION2,
                client_id=feed.client_id,
                protocol=paho.MQTTv311,
                clean_session=not persistent,
            )
        if url.username:
            client.username_pw_set(
                unquote(url.username), unquote(url.password) if url.password else None
            )
        if url.scheme == "mqtts":
            client.tls_set_context(ssl.create_default_context())
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_connect = self._connected
        client.on_subscribe = self._subscribed
        client.on_disconnect = self._disconnected
        client.on_message = self._arrived
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or (8883 if url.scheme == "mqtts" else 1883)
        self._persistent = persistent
        return client

    def start(self) -> None:
        properties = None
        if self.signed:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.feed.session_expiry_s if self._persistent else 0
        kwargs: dict[str, Any] = {"keepalive": 30}
        if self.signed:
            kwargs["clean_start"] = not self._persistent
            kwargs["properties"] = properties
        self.client.connect_async(self._host, self._port, **kwargs)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    # --- paho's thread --------------------------------------------------------------------------

    def _connected(
        self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any, *_: Any
    ) -> None:
        if reason.is_failure:
            self.on_state(False, f"the broker refused the connection: {reason}")
            return
        client.subscribe(self.feed.subscriptions())

    def _subscribed(
        self, _client: paho.Client, _userdata: Any, _mid: int, reasons: Any, *_: Any
    ) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            self.on_state(False, f"the broker refused the sighting topics: {', '.join(failed)}")
            return
        self.on_state(True, f"subscribed at {self._host}:{self._port}")

    def _disconnected(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, *_: Any
    ) -> None:
        self.on_state(
            False, f"disconnected from {self._host}:{self._port} ({reason}); reconnecting"
        )

    def _arrived(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            self._put(message)
        except Exception:  # a bug here must not cost the connection
            log.exception("mqtt.message_failed", mid=getattr(message, "mid", None))

    def _put(self, message: paho.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = message._topic.decode("utf-8", errors="replace")
        found = self.topics.classify(topic)
        if found is None or found[0] not in ELSEWHERE:
            return  # the server's own subscription takes it
        route = found[0]
        inbound = Inbound(
            topic=topic,
            payload=message.payload if isinstance(message.payload, bytes) else b"",
            route=route,
            gateway=found[1],
            received_at=self.feed.now(),
            signature=signature_in(getattr(message, "properties", None)) if self.signed else None,
        )
        with self.lock:
            if len(self.queue) >= self.feed.queue_limit:
                self.dropped[self.queue.popleft().route.value] += 1
            self.queue.append(inbound)
            self.received[route.value] += 1
            if self.woken:
                return
            self.woken = True
        self.wake()

    # --- the process's main thread --------------------------------------------------------------

    def take(self, limit: int) -> tuple[list[Inbound], FeedBatch]:
        with self.lock:
            n = min(limit, len(self.queue))
            messages = [self.queue.popleft() for _ in range(n)]
            batch = FeedBatch(messages=n, received=dict(self.received), dropped=dict(self.dropped))
            self.received.clear()
            self.dropped.clear()
            more = bool(self.queue)
            self.woken = more
        if more:
            self.wake()
        return messages, batch
