"""From received MQTT messages to :meth:`Runtime.ingest`: authenticate, decode, map, ingest.

Every failure is a rejection with a reason, counted (``duress_ingest_rejected_total`` and
``duress_mqtt_rejected_total``) and logged; it never costs the neighbouring messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

from duress.domain.devices import DeviceKind
from duress.domain.errors import InvalidMessage
from duress.domain.ingest_mapping import IngestMapping
from duress.domain.observations import ButtonEvent, Heartbeat, Observation, Sighting
from duress.domain.site import Site
from duress.ingest import auth
from duress.ingest.codecs import espresense, mqtt_room, native, omlox, openmqttgateway
from duress.ingest.codecs.fields import (
    in_range,
    load_object,
    loads,
    number,
    optional_number,
    parse_timestamp,
)
from duress.ingest.mqtt.lanes import Inbound
from duress.ingest.mqtt.metrics import MqttMetrics
from duress.ingest.mqtt.topics import NATIVE, Route

log = structlog.get_logger(__name__)

QUIET_REASONS = frozenset({"unmapped_badge"})
"""Logged at debug only: ESPresense and BLE gateways hear every phone and watch nearby."""


class Outcome(Protocol):
    accepted: int
    duplicates: int
    rejected: Sequence[Any]


class IngestTarget(Protocol):
    """What the dispatcher feeds: :class:`duress.service.runtime.Runtime` (or a test's fake)."""

    site: Site

    async def ingest(self, messages: Sequence[tuple[int, Observation]]) -> Outcome: ...


class GatewayStatusTarget(Protocol):
    """Optional on the target: a gateway's ``online`` / ``offline`` (last will) status."""

    async def gateway_status(self, gateway: str, online: bool, ts: datetime) -> object: ...


class Counter(Protocol):
    def labels(self, *values: str) -> Any: ...


@dataclass(slots=True)
class Stats:
    """What went through, for tests and benchmarks (Prometheus has the same as counters)."""

    messages: int = 0
    accepted: int = 0
    presses: int = 0
    duplicates: int = 0
    rejected: int = 0
    dropped: int = 0
    """Messages dropped, oldest first, because ingest fell behind (the bulk lane, the feed)."""


class Dispatcher:
    def __init__(
        self,
        target: IngestTarget,
        *,
        mapping: IngestMapping,
        metrics: MqttMetrics,
        rejected: Counter,
        keys: Mapping[str, bytes] | None = None,
        limits: native.BatchLimits = native.DEFAULT_LIMITS,
    ) -> None:
        self.target = target
        self.mapping = mapping
        self.metrics = metrics
        self._rejected = rejected
        self.keys = dict(keys or {})
        self.limits = limits
        self.stats = Stats()
        self._status_change: tuple[str, bool, datetime] | None = None
        site = target.site
        self.gateways = frozenset(
            d.id for d in site.devices.values() if d.kind is DeviceKind.GATEWAY
        )
        m = mapping
        self._esp = (
            espresense.EspresenseMapping(
                m.espresense.rooms, m.espresense.devices, m.espresense.gateway
            )
            if m.espresense
            else None
        )
        self._omg = (
            openmqttgateway.OpenMqttGatewayMapping(
                m.openmqttgateway.gateways, m.openmqttgateway.beacons
            )
            if m.openmqttgateway
            else None
        )
        self._room = (
            mqtt_room.MqttRoomMapping(m.mqtt_room.rooms, m.mqtt_room.devices, m.mqtt_room.gateway)
            if m.mqtt_room
            else None
        )
        self._omlox = (
            omlox.OmloxMapping(
                m.omlox.sources,
                m.omlox.providers,
                m.omlox.kinds,
                m.omlox.default_kind,
                m.omlox.gateway,
            )
            if m.omlox
            else None
        )

    # --- the one entry point --------------------------------------------------------------------

    async def handle(self, batch: Sequence[Inbound]) -> None:
        """Decode every message of ``batch`` and ingest what decodes in one call (a gateway's
        status message is applied in its place: what came before it is ingested first)."""
        if not batch:
            return
        observations: list[tuple[int, Observation]] = []
        sources: list[str] = []
        several = len(batch) > 1
        for message in batch:
            if several:
                # Decoding a bulk batch takes milliseconds: let the loop read a press meanwhile,
                # and hold off while one is being committed.
                await asyncio.sleep(0)
                await self._urgent_writes_done()
            self.stats.messages += 1
            self._status_change = None
            try:
                decoded = self.decode(message)
            except InvalidMessage as error:
                self.reject(message, error.reason, error.detail)
                continue
            if self._status_change is not None:
                await self._ingest(observations, sources)
                observations, sources = [], []
                await self._apply_status(*self._status_change)
            for observation in decoded:
                observations.append((len(sources), observation))
                sources.append(message.topic)
        await self._ingest(observations, sources)

    async def account_located(
        self, report: Any, outcome: Outcome, topic_of: Callable[[int], str]
    ) -> None:
        """Count and log what the location process's sighting feed decoded and located
        (``report``, applied by the runtime as ``outcome``), and ingest what it found that is not
        a sighting. Messages are named by their index in the batch; ``topic_of`` gives each one's
        topic."""
        for index, reason, detail in report.undecoded:
            self.reject_topic(topic_of(index), reason, detail)
        self.stats.accepted += outcome.accepted
        for rejection in outcome.rejected:
            # The runtime has counted it in duress_ingest_rejected_total already.
            self.stats.rejected += 1
            self.metrics.rejected.labels(rejection.reason).inc()
            self._log(topic_of(rejection.index), rejection.reason, rejection.detail)
        if report.others:  # a button event or a heartbeat published on a sighting topic
            await self._ingest(
                [(n, o) for n, (_, o) in enumerate(report.others)],
                [topic_of(i) for i, _ in report.others],
            )

    async def _urgent_writes_done(self) -> None:
        wait = getattr(self.target, "after_urgent_writes", None)  # optional on the target
        if wait is not None:
            await wait()

    async def _apply_status(self, gateway: str, online: bool, ts: datetime) -> None:
        apply = getattr(self.target, "gateway_status", None)
        if apply is not None:
            await apply(gateway, online, ts)

    async def _ingest(
        self, observations: list[tuple[int, Observation]], sources: Sequence[str]
    ) -> None:
        """Ingest ``observations``; ``sources`` are the topics they came on, by index."""
        if not observations:
            return
        outcome = await self.target.ingest(observations)
        self.stats.accepted += outcome.accepted
        self.stats.duplicates += outcome.duplicates
        self.stats.presses += sum(1 for _, o in observations if isinstance(o, ButtonEvent))
        for rejection in outcome.rejected:
            # The runtime has counted it in duress_ingest_rejected_total already.
            self.stats.rejected += 1
            self.metrics.rejected.labels(rejection.reason).inc()
            self._log(sources[rejection.index], rejection.reason, rejection.detail)

    def reject(self, message: Inbound, reason: str, detail: str) -> None:
        self.reject_topic(message.topic, reason, detail)

    def reject_topic(self, topic: str, reason: str, detail: str) -> None:
        """A message of ``topic`` rejected: counted and logged."""
        self.stats.rejected += 1
        self._rejected.labels(reason).inc()
        self.metrics.rejected.labels(reason).inc()
        self._log(topic, reason, detail)

    def _log(self, topic: str, reason: str, detail: str) -> None:
        level = log.debug if reason in QUIET_REASONS else log.warning
        level("mqtt.rejected", topic=topic, reason=reason, detail=detail)

    # --- decoding --------------------------------------------------------------------------------

    def decode(self, message: Inbound) -> list[Observation]:
        """The message's observations; raises ``InvalidMessage`` for a message rejected whole.

        Rejections of single messages inside a native batch are counted here and left out.
        """
        route = message.route
        if route in NATIVE:
            return self._native(message)
        ts = message.received_at
        if route is Route.ESPRESENSE and self._esp is not None:
            prefix = self.mapping.espresense.prefix if self.mapping.espresense else ""
            record = espresense.decode(
                message.topic, message.payload, received_at=ts, prefix=prefix
            )
            if isinstance(record, espresense.NodeStatus):
                device = self._esp.rooms.get(record.room)
                if record.online and device is not None:
                    return [Heartbeat(ts, device, None, self._esp.gateway)]
                if not record.online:
                    log.info("mqtt.node_offline", room=record.room, device=device)
                return []
            return [espresense.to_sighting(record, self._esp)]
        if route is Route.OPENMQTTGATEWAY and self._omg is not None:
            advert = openmqttgateway.decode(message.topic, message.payload, received_at=ts)
            return [openmqttgateway.to_sighting(advert, self._omg)]
        if route is Route.MQTT_ROOM and self._room is not None:
            base = self.mapping.mqtt_room.base if self.mapping.mqtt_room else ""
            report = mqtt_room.decode(message.topic, message.payload, received_at=ts, base=base)
            return [mqtt_room.to_sighting(report, self._room)]
        if route is Route.OMLOX_LOCATION and self._omlox is not None:
            location = omlox.decode_location(message.payload, received_at=ts)
            return [omlox.to_sighting(location, self._omlox)]
        if route is Route.OMLOX_PROXIMITY and self._omlox is not None:
            proximity = omlox.decode_proximity(message.payload, received_at=ts)
            return [omlox.to_sighting(proximity, self._omlox)]
        raise InvalidMessage("unknown_topic", f"topic {message.topic!r} is not ingested here")

    def _authenticate(self, message: Inbound) -> str:
        gateway = message.gateway or ""
        if gateway not in self.gateways:
            raise InvalidMessage(
                "unknown_gateway",
                f"gateway {gateway!r} (from the topic) is not a gateway of this site; "
                "add it under devices with kind: gateway",
            )
        if self.mapping.native.signed:
            key = self.keys.get(gateway)
            if key is None:
                raise InvalidMessage(
                    "unknown_gateway",
                    f"gateway {gateway!r} has no key in the credentials file; "
                    "rerun `duress mqtt-config`",
                )
            if message.signature is None:
                raise InvalidMessage(
                    "unsigned",
                    f"the site requires signed payloads; send the HMAC-SHA256 in the MQTT v5 "
                    f"user property {auth.SIGNATURE_PROPERTY!r}",
                )
            if not auth.verify(key, message.topic, message.payload, message.signature):
                raise InvalidMessage(
                    "bad_signature",
                    "the payload's signature does not match the gateway's key and this topic",
                )
        return gateway

    def _native(self, message: Inbound) -> list[Observation]:
        gateway = self._authenticate(message)
        route = message.route
        ts = message.received_at
        if route is Route.STATUS:
            return self._status(message, gateway, ts)
        if route is Route.TELEMETRY:
            return [self._telemetry(message.payload, gateway, ts)]
        out: list[Observation] = []
        for index, item in enumerate(self._messages(message.payload)):
            try:
                observation = native.decode_object(item)
                if observation.gateway is None:
                    observation = _with_gateway(observation, gateway)
                elif observation.gateway != gateway:
                    raise InvalidMessage(
                        "gateway_mismatch",
                        f"message {index} names gateway {observation.gateway!r} but was published "
                        f"under gateway {gateway!r}; a gateway publishes only its own messages",
                    )
                out.append(observation)
            except InvalidMessage as error:
                self.reject(message, error.reason, f"message {index}: {error.detail}")
        return out

    def _messages(self, payload: bytes) -> list[object]:
        if len(payload) > self.limits.max_bytes:
            raise InvalidMessage(
                "batch_too_large",
                f"the payload is {len(payload)} bytes, over the limit of {self.limits.max_bytes}; "
                "split it into smaller batches",
            )
        document = loads(payload, what="the payload")
        if type(document) is dict:
            if "messages" not in document:
                return [document]
            messages = document["messages"]
            if type(messages) is not list:
                raise InvalidMessage(
                    "not_a_batch",
                    "the batch's 'messages' is not an array; send {\"messages\": [...]}",
                )
        elif type(document) is list:
            messages = document
        else:
            raise InvalidMessage(
                "not_a_batch", "the payload is neither a message object nor a batch of them"
            )
        if len(messages) > self.limits.max_messages:
            raise InvalidMessage(
                "too_many_messages",
                f"the batch has {len(messages)} messages, over the limit of "
                f"{self.limits.max_messages}; split it into smaller batches",
            )
        return messages

    def _status(self, message: Inbound, gateway: str, ts: datetime) -> list[Observation]:
        text = message.payload.strip()
        if text == b"online":
            self.metrics.gateway_online.labels(gateway).set(1)
            self._status_change = (gateway, True, ts)
            return [Heartbeat(ts, gateway, None, gateway)]
        if text == b"offline":
            self.metrics.gateway_online.labels(gateway).set(0)
            self._status_change = (gateway, False, ts)
            log.warning("mqtt.gateway_offline", gateway=gateway)
            return []
        raise InvalidMessage(
            "bad_value", f"status is {message.payload[:40]!r}; expected online or offline"
        )

    def _telemetry(self, payload: bytes, gateway: str, received_at: datetime) -> Heartbeat:
        msg = load_object(payload)
        ts = parse_timestamp(msg["ts"]) if msg.get("ts") is not None else received_at
        battery = optional_number(msg, "battery")
        if battery is not None:
            battery = in_range(battery, "battery", 0.0, 100.0, " %")
        temperature = msg.get("temperature_c")
        if temperature is not None:
            value = in_range(number(temperature, "temperature_c"), "temperature_c", -60, 150, " °C")
            self.metrics.gateway_temperature.labels(gateway).set(value)
        return Heartbeat(ts, gateway, battery, gateway)


def _with_gateway(o: Observation, gateway: str) -> Observation:
    """``o`` relayed by ``gateway`` (faster than ``dataclasses.replace`` on the hot path)."""
    if isinstance(o, Sighting):
        return Sighting(o.ts, o.badge, o.device, o.kind, o.rssi, gateway)
    if isinstance(o, ButtonEvent):
        return ButtonEvent(o.ts, o.badge, o.seq, o.presses, o.hold_s, gateway)
    return Heartbeat(o.ts, o.device, o.battery, gateway)
