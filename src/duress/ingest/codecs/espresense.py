"""ESPresense BLE room-presence nodes over MQTT (https://espresense.com).

Topics (``espresense`` is the default prefix)::

    espresense/devices/<device_id>/<room>   a node in <room> heard <device_id>: JSON payload
    espresense/rooms/<room>/status          "online" / "offline" (retained; the node's last will)

Both payload field sets are accepted: firmware 3.x (``raw``, ``idType``) and 4.x (``rxAdj``,
``rssiVar``, ``var``, ``close``, ``mV``, ``batt``, ``temp``, ``rh``). Unknown fields are ignored.
ESPresense sends no timestamp: the time is the ``received_at`` the caller passes in.

:func:`decode` gives neutral records (:class:`EspresenseReading`, :class:`NodeStatus`);
:func:`to_sighting` maps a reading to a :class:`~duress.domain.observations.Sighting` with an
:class:`EspresenseMapping` (the room's node is the BLE locator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from duress.domain.errors import InvalidMessage
from duress.domain.observations import Sighting, SightingKind
from duress.ingest.codecs import mapping as lookup
from duress.ingest.codecs.fields import (
    load_object,
    optional_boolean,
    optional_integer,
    optional_number,
    optional_text,
    require_utc,
    required,
    rssi,
    show,
    topic_levels,
)

DEFAULT_PREFIX = "espresense"
MAX_PAYLOAD_BYTES = 16 * 1024
"""Largest device payload accepted (the firmware's are about 150-250 bytes)."""


@dataclass(frozen=True, slots=True)
class EspresenseReading:
    """The node in ``node_room`` heard ``device_id`` at ``rssi`` dBm (filtered, rx-adjusted)."""

    ts: datetime
    node_room: str
    device_id: str
    rssi: float
    rssi_at_1m: float | None = None
    distance: float | None = None
    mac: str | None = None
    name: str | None = None
    payload_id: str | None = None
    id_type: int | None = None
    """3.x only: how the id was derived."""
    raw_distance: float | None = None
    """3.x only: the unfiltered distance."""
    rx_adj: float | None = None
    rssi_variance: float | None = None
    distance_variance: float | None = None
    close: bool | None = None
    interval_ms: int | None = None
    battery_mv: float | None = None
    battery_pct: float | None = None
    temperature_c: float | None = None
    humidity_pct: float | None = None


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """The node in ``room`` came ``online`` or went offline (its MQTT last will)."""

    ts: datetime
    room: str
    online: bool


@dataclass(frozen=True, slots=True)
class EspresenseMapping:
    """``rooms``: ESPresense room -> our device id; ``devices``: ESPresense id -> our badge id."""

    rooms: Mapping[str, str] = field(default_factory=dict)
    devices: Mapping[str, str] = field(default_factory=dict)
    gateway: str | None = None
    """Recorded as the sighting's gateway (e.g. the broker or site the shell subscribes to)."""


def decode(
    topic: str, payload: bytes, *, received_at: datetime, prefix: str = DEFAULT_PREFIX
) -> EspresenseReading | NodeStatus:
    """One ESPresense MQTT message to a neutral record; ``unknown_topic`` for other topics."""
    levels = topic_levels(topic)
    ts = require_utc(received_at)
    head = prefix.split("/")
    n = len(head)
    if levels[:n] == head:
        rest = levels[n:]
        if len(rest) >= 3 and rest[0] == "devices":
            device_id = "/".join(rest[1:-1])
            if device_id and rest[-1]:
                return _reading(payload, ts, rest[-1], device_id)
        elif len(rest) == 3 and rest[0] == "rooms" and rest[2] == "status" and rest[1]:
            return _status(payload, ts, rest[1])
    raise InvalidMessage(
        "unknown_topic",
        f"topic {show(topic)} is not {prefix}/devices/<device_id>/<room> "
        f"or {prefix}/rooms/<room>/status; subscribe only to those",
    )


def _status(payload: bytes, ts: datetime, room: str) -> NodeStatus:
    text = payload.strip()
    if text == b"online":
        return NodeStatus(ts, room, online=True)
    if text == b"offline":
        return NodeStatus(ts, room, online=False)
    raise InvalidMessage(
        "bad_value",
        f"status of room {show(room)} is {show(payload[:40])}; expected online or offline",
    )


def _reading(payload: bytes, ts: datetime, room: str, device_id: str) -> EspresenseReading:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidMessage(
            "too_large",
            f"payload is {len(payload)} bytes, over {MAX_PAYLOAD_BYTES}; "
            "this is not an ESPresense device report",
        )
    msg = load_object(payload)
    payload_id = optional_text(msg, "id")
    return EspresenseReading(
        ts=ts,
        node_room=room,
        device_id=device_id,
        rssi=rssi(required(msg, "rssi", "the signal strength in dBm")),
        rssi_at_1m=optional_number(msg, "rssi@1m"),
        distance=optional_number(msg, "distance"),
        mac=optional_text(msg, "mac"),
        name=optional_text(msg, "name"),
        payload_id=payload_id,
        id_type=optional_integer(msg, "idType"),
        raw_distance=optional_number(msg, "raw"),
        rx_adj=optional_number(msg, "rxAdj"),
        rssi_variance=optional_number(msg, "rssiVar"),
        distance_variance=optional_number(msg, "var"),
        close=optional_boolean(msg, "close"),
        interval_ms=optional_integer(msg, "int"),
        battery_mv=optional_number(msg, "mV"),
        battery_pct=optional_number(msg, "batt"),
        temperature_c=optional_number(msg, "temp"),
        humidity_pct=optional_number(msg, "rh"),
    )


def to_sighting(reading: EspresenseReading, mapping: EspresenseMapping) -> Sighting:
    """The room's node heard the badge: a BLE sighting with the node as the locator.

    Raises ``unmapped_locator`` / ``unmapped_badge`` when the room or the device is not mapped.
    """
    device = lookup.locator(mapping.rooms, reading.node_room, "ESPresense room", "rooms")
    badge = lookup.badge(mapping.devices, (reading.device_id,), "ESPresense device id", "devices")
    return Sighting(
        ts=reading.ts,
        badge=badge,
        device=device,
        kind=SightingKind.BLE,
        rssi=reading.rssi,
        gateway=mapping.gateway,
    )
