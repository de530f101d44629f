"""omlox hub Location and Proximity objects (JSON), e.g. from an omlox-compatible RTLS.

Location: ``{"position": {"type": "Point", "coordinates": [x, y(, z)]}, "source": "<zone>",
"provider_type": "uwb|gps|wifi|rfid|ibeacon|virtual|unknown", "provider_id": "...", ...}``.
Proximity: ``{"source": "<zone>", "provider_type": ..., "provider_id": ..., "accuracy": 1.0}`` — a
natural fit for IR room fixes. The time is ``timestamp_generated`` when present (RFC 3339 with an
offset), else the caller's ``received_at``.

Mapping: the ``source`` zone is the locator (our device id), the ``provider_id`` is the badge; the
sighting's kind comes from ``provider_type`` (``ibeacon`` -> BLE, anything else -> the mapping's
``default_kind``, IR unless set).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from duress.domain.errors import InvalidMessage
from duress.domain.observations import Sighting, SightingKind
from duress.ingest.codecs import mapping as lookup
from duress.ingest.codecs.fields import (
    identifier,
    json_type,
    load_object,
    number,
    optional_number,
    parse_timestamp,
    require_utc,
    required,
    show,
)

MAX_PAYLOAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class OmloxLocation:
    """``provider_id`` is at ``(x, y[, z])`` in zone/source ``source``."""

    ts: datetime
    source: str
    provider_type: str
    provider_id: str
    x: float
    y: float
    z: float | None = None
    accuracy: float | None = None
    floor: float | None = None


@dataclass(frozen=True, slots=True)
class OmloxProximity:
    """``provider_id`` is near the proximity source ``source`` (an IR emitter, a reader...)."""

    ts: datetime
    source: str
    provider_type: str
    provider_id: str
    accuracy: float | None = None


@dataclass(frozen=True, slots=True)
class OmloxMapping:
    """``sources``: omlox source/zone -> our device id; ``providers``: provider_id -> badge id."""

    sources: Mapping[str, str] = field(default_factory=dict)
    providers: Mapping[str, str] = field(default_factory=dict)
    kinds: Mapping[str, SightingKind] = field(default_factory=lambda: {"ibeacon": SightingKind.BLE})
    default_kind: SightingKind = SightingKind.IR
    gateway: str | None = None


def _common(
    payload: bytes, received_at: datetime
) -> tuple[dict[str, Any], datetime, str, str, str]:
    ts = require_utc(received_at)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidMessage(
            "too_large", f"payload is {len(payload)} bytes, over {MAX_PAYLOAD_BYTES}"
        )
    msg = load_object(payload)
    source = identifier(required(msg, "source", "the zone or source id"), "source")
    provider_type = identifier(
        required(msg, "provider_type", 'the provider type, e.g. "ibeacon"'), "provider_type"
    )
    provider_id = identifier(required(msg, "provider_id", "the provider (tag) id"), "provider_id")
    generated = msg.get("timestamp_generated")
    if generated is not None:
        ts = parse_timestamp(generated, "timestamp_generated")
    return msg, ts, source, provider_type, provider_id


def _accuracy(msg: dict[str, Any]) -> float | None:
    accuracy = optional_number(msg, "accuracy")
    if accuracy is not None and accuracy < 0:
        raise InvalidMessage(
            "out_of_range", f"field 'accuracy' is {show(accuracy)}; send metres >= 0"
        )
    return accuracy


def decode_location(payload: bytes, *, received_at: datetime) -> OmloxLocation:
    """One omlox Location object."""
    msg, ts, source, provider_type, provider_id = _common(payload, received_at)
    position = required(msg, "position", 'a GeoJSON point {"type": "Point", "coordinates": [x, y]}')
    if type(position) is not dict:
        raise InvalidMessage(
            "wrong_type",
            f"field 'position' is a {json_type(position)}; send a GeoJSON Point object",
        )
    if position.get("type") != "Point":
        raise InvalidMessage(
            "bad_value",
            f"field 'position.type' is {show(position.get('type'))}; send \"Point\"",
        )
    coordinates = required(position, "coordinates", "[x, y] or [x, y, z]")
    if type(coordinates) is not list or len(coordinates) not in (2, 3):
        raise InvalidMessage(
            "bad_value",
            f"field 'position.coordinates' is {show(coordinates)}; send [x, y] or [x, y, z]",
        )
    xyz = [number(c, "position.coordinates") for c in coordinates]
    return OmloxLocation(
        ts=ts,
        source=source,
        provider_type=provider_type,
        provider_id=provider_id,
        x=xyz[0],
        y=xyz[1],
        z=xyz[2] if len(xyz) == 3 else None,
        accuracy=_accuracy(msg),
        floor=optional_number(msg, "floor"),
    )


def decode_proximity(payload: bytes, *, received_at: datetime) -> OmloxProximity:
    """One omlox Proximity object."""
    msg, ts, source, provider_type, provider_id = _common(payload, received_at)
    return OmloxProximity(ts, source, provider_type, provider_id, _accuracy(msg))


def to_sighting(record: OmloxLocation | OmloxProximity, mapping: OmloxMapping) -> Sighting:
    """The source zone saw the provider: a sighting of the mapped kind, without RSSI."""
    device = lookup.locator(mapping.sources, record.source, "omlox source", "sources")
    badge = lookup.badge(mapping.providers, (record.provider_id,), "omlox provider", "providers")
    kind = mapping.kinds.get(record.provider_type, mapping.default_kind)
    return Sighting(record.ts, badge, device, kind, None, mapping.gateway)
