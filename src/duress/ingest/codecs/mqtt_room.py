"""Home Assistant ``mqtt_room`` reports (room-assistant, ESPresense's legacy output, ...).

Topic ``<base>/<room>`` (``room_presence`` is the usual base), payload
``{"id": "...", "name": "...", "distance": 5.678}``: in ``room`` the device ``id`` is ``distance``
metres away. No RSSI and no timestamp: the sighting carries no RSSI and the time is ``received_at``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from duress.domain.errors import InvalidMessage
from duress.domain.observations import Sighting, SightingKind
from duress.ingest.codecs import mapping as lookup
from duress.ingest.codecs.fields import (
    identifier,
    in_range,
    load_object,
    number,
    optional_text,
    require_utc,
    required,
    show,
    topic_levels,
)

DEFAULT_BASE = "room_presence"
MAX_PAYLOAD_BYTES = 16 * 1024
MAX_DISTANCE_M = 1000.0


@dataclass(frozen=True, slots=True)
class RoomPresence:
    """In ``room``, ``device_id`` is ``distance`` metres from the room's receiver."""

    ts: datetime
    room: str
    device_id: str
    distance: float
    name: str | None = None


@dataclass(frozen=True, slots=True)
class MqttRoomMapping:
    """``rooms``: room -> our device id (the room's receiver); ``devices``: id -> our badge id."""

    rooms: Mapping[str, str] = field(default_factory=dict)
    devices: Mapping[str, str] = field(default_factory=dict)
    gateway: str | None = None


def decode(
    topic: str, payload: bytes, *, received_at: datetime, base: str = DEFAULT_BASE
) -> RoomPresence:
    """One ``<base>/<room>`` message to a :class:`RoomPresence`."""
    levels = topic_levels(topic)
    ts = require_utc(received_at)
    head = base.split("/")
    if len(levels) != len(head) + 1 or levels[:-1] != head or not levels[-1]:
        raise InvalidMessage(
            "unknown_topic",
            f"topic {show(topic)} is not {base}/<room>; subscribe only to {base}/+",
        )
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidMessage(
            "too_large", f"payload is {len(payload)} bytes, over {MAX_PAYLOAD_BYTES}"
        )
    msg = load_object(payload)
    device_id = identifier(required(msg, "id", "the device id"), "id")
    distance = number(required(msg, "distance", "the distance in metres"), "distance")
    return RoomPresence(
        ts=ts,
        room=levels[-1],
        device_id=device_id,
        distance=in_range(distance, "distance", 0.0, MAX_DISTANCE_M, " m"),
        name=optional_text(msg, "name"),
    )


def to_sighting(report: RoomPresence, mapping: MqttRoomMapping) -> Sighting:
    """The room's receiver heard the badge: a BLE sighting without RSSI."""
    device = lookup.locator(mapping.rooms, report.room, "room", "rooms")
    badge = lookup.badge(mapping.devices, (report.device_id,), "device id", "devices")
    return Sighting(report.ts, badge, device, SightingKind.BLE, None, mapping.gateway)
