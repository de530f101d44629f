"""omlox Location and Proximity objects and their mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from duress.domain.errors import InvalidMessage
from duress.domain.observations import Sighting, SightingKind
from duress.ingest.codecs.omlox import (
    OmloxLocation,
    OmloxMapping,
    OmloxProximity,
    decode_location,
    decode_proximity,
    to_sighting,
)

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
LOCATION: dict[str, Any] = {
    "position": {"type": "Point", "coordinates": [12.5, 4.25]},
    "source": "fdb6df62-bce8-6c23-e342-80bd5c938774",
    "provider_type": "uwb",
    "provider_id": "77:4f:34:69:27:40",
    "timestamp_generated": "2024-05-01T11:59:59.5+02:00",
    "timestamp_sent": "2024-05-01T11:59:59.6+02:00",
    "crs": "local",
    "accuracy": 0.3,
    "floor": 2,
}
PROXIMITY: dict[str, Any] = {
    "source": "ir-4B-12",
    "provider_type": "rfid",
    "provider_id": "badge-0042",
    "accuracy": 1.0,
}


def encode(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_location() -> None:
    assert decode_location(encode(LOCATION), received_at=NOW) == OmloxLocation(
        ts=datetime(2024, 5, 1, 9, 59, 59, 500000, tzinfo=UTC),
        source="fdb6df62-bce8-6c23-e342-80bd5c938774",
        provider_type="uwb",
        provider_id="77:4f:34:69:27:40",
        x=12.5,
        y=4.25,
        accuracy=0.3,
        floor=2.0,
    )


def test_location_3d_without_timestamp() -> None:
    message = {**LOCATION, "position": {"type": "Point", "coordinates": [1, 2, 3]}}
    del message["timestamp_generated"]
    location = decode_location(encode(message), received_at=NOW)
    assert (location.ts, location.z) == (NOW, 3.0)


def test_proximity() -> None:
    assert decode_proximity(encode(PROXIMITY), received_at=NOW) == OmloxProximity(
        NOW, "ir-4B-12", "rfid", "badge-0042", 1.0
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"position": None}, "missing_field"),
        ({"position": [1, 2]}, "wrong_type"),
        ({"position": {"type": "Polygon", "coordinates": [1, 2]}}, "bad_value"),
        ({"position": {"type": "Point", "coordinates": [1]}}, "bad_value"),
        ({"position": {"type": "Point", "coordinates": [1, "2"]}}, "wrong_type"),
        ({"source": None}, "missing_field"),
        ({"provider_id": 5}, "wrong_type"),
        ({"timestamp_generated": "2024-05-01T11:59:59"}, "bad_timestamp"),
        ({"accuracy": -1}, "out_of_range"),
    ],
)
def test_bad_locations(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode_location(encode({**LOCATION, **change}), received_at=NOW)
    assert caught.value.reason == reason


def test_bad_proximity() -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode_proximity(encode({**PROXIMITY, "provider_type": None}), received_at=NOW)
    assert caught.value.reason == "missing_field"
    assert "'provider_type'" in caught.value.detail


def test_to_sighting_kinds() -> None:
    mapping = OmloxMapping(
        sources={"ir-4B-12": "ir-4B-12", "zone-ed": "ble-ed"},
        providers={"badge-0042": "B-0042"},
    )
    proximity = decode_proximity(encode(PROXIMITY), received_at=NOW)
    assert to_sighting(proximity, mapping) == Sighting(NOW, "B-0042", "ir-4B-12", SightingKind.IR)
    beacon = decode_proximity(
        encode({**PROXIMITY, "source": "zone-ed", "provider_type": "ibeacon"}), received_at=NOW
    )
    assert to_sighting(beacon, mapping).kind is SightingKind.BLE
    with pytest.raises(InvalidMessage) as caught:
        to_sighting(decode_location(encode(LOCATION), received_at=NOW), mapping)
    assert caught.value.reason == "unmapped_locator"
