"""ESPresense: the real capture, both firmware field sets, node status, mapping to sightings."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from duress.domain.errors import InvalidMessage
from duress.domain.observations import Sighting, SightingKind
from duress.ingest.codecs.espresense import (
    EspresenseMapping,
    EspresenseReading,
    NodeStatus,
    decode,
    to_sighting,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
V3 = (
    b'{"mac":"58b1294494d3","id":"watch:darrell","name":"Darrell\'s Watch","idType":250,'
    b'"rssi@1m":-64,"rssi":-86,"raw":5.24,"distance":5.89,"int":588}'
)
V4 = (
    b'{"mac":"d83addb1ee01","id":"iBeacon:e5ca1ade-f007-ba11-0000-000000000000-1-42",'
    b'"name":"Badge 42","rssi@1m":-59,"rxAdj":0,"rssi":-71.35,"rssiVar":3.12,'
    b'"distance":2.41,"var":0.07,"close":true,"int":1012,"mV":2950,"batt":87,"temp":21.5,"rh":40}'
)
BADGE_ID = "iBeacon:e5ca1ade-f007-ba11-0000-000000000000-1-42"

EXPECTED_ROOMS = {
    "basement": 189,
    "master": 182,
    "garage": 181,
    "laundry": 180,
    "office_alt": 175,
    "bathroom": 172,
    "office": 172,
    "family": 164,
    "upstairs_hallway": 155,
    "dining": 123,
}


def test_real_capture_decodes_completely(vectors: Path) -> None:
    lines = (vectors / "espresense" / "stationary-capture.jsonp").read_text("utf-8").splitlines()
    assert len(lines) == 1693
    rooms: Counter[str] = Counter()
    for line in lines:
        envelope = json.loads(
            line
        )  # mosquitto_sub -F %j: tst, topic, qos, retain, payloadlen, payload
        received_at = datetime.fromisoformat(envelope["tst"])
        payload = json.dumps(envelope["payload"]).encode()
        reading = decode(envelope["topic"], payload, received_at=received_at)
        assert isinstance(reading, EspresenseReading)
        assert reading.device_id == "watch:darrell" == reading.payload_id
        assert reading.mac == "58b1294494d3"
        assert reading.id_type == 250
        assert reading.raw_distance is not None
        assert reading.distance is not None
        assert reading.distance >= 0
        assert -120 <= reading.rssi <= 0
        assert reading.ts == received_at
        assert reading.ts.tzinfo is UTC
        rooms[reading.node_room] += 1
    assert rooms == EXPECTED_ROOMS


def test_real_capture_maps_to_sightings(vectors: Path) -> None:
    mapping = EspresenseMapping(
        rooms={room: f"esp-{room}" for room in EXPECTED_ROOMS},
        devices={"watch:darrell": "B-0007"},
        gateway="espresense",
    )
    path = vectors / "espresense" / "stationary-capture.jsonp"
    devices: Counter[str] = Counter()
    for line in path.read_text("utf-8").splitlines():
        envelope = json.loads(line)
        reading = decode(
            envelope["topic"],
            json.dumps(envelope["payload"]).encode(),
            received_at=datetime.fromisoformat(envelope["tst"]),
        )
        assert isinstance(reading, EspresenseReading)
        sighting = to_sighting(reading, mapping)
        assert (sighting.badge, sighting.kind, sighting.gateway) == ("B-0007", "ble", "espresense")
        devices[sighting.device] += 1
    assert devices == {f"esp-{room}": n for room, n in EXPECTED_ROOMS.items()}


def test_firmware_3_field_set() -> None:
    reading = decode("espresense/devices/watch:darrell/basement", V3, received_at=NOW)
    assert reading == EspresenseReading(
        ts=NOW,
        node_room="basement",
        device_id="watch:darrell",
        rssi=-86.0,
        rssi_at_1m=-64.0,
        distance=5.89,
        mac="58b1294494d3",
        name="Darrell's Watch",
        payload_id="watch:darrell",
        id_type=250,
        raw_distance=5.24,
        interval_ms=588,
    )


def test_firmware_4_field_set() -> None:
    reading = decode(f"espresense/devices/{BADGE_ID}/icu_bay_3", V4, received_at=NOW)
    assert isinstance(reading, EspresenseReading)
    assert (reading.node_room, reading.device_id, reading.rssi) == ("icu_bay_3", BADGE_ID, -71.35)
    assert (reading.rx_adj, reading.rssi_variance, reading.distance_variance) == (0.0, 3.12, 0.07)
    assert (reading.close, reading.interval_ms) == (True, 1012)
    assert (reading.battery_mv, reading.battery_pct) == (2950.0, 87.0)
    assert (reading.temperature_c, reading.humidity_pct) == (21.5, 40.0)
    assert reading.id_type is None
    assert reading.raw_distance is None


def test_minimal_payload_needs_only_rssi() -> None:
    reading = decode("espresense/devices/phone:1/kitchen", b'{"rssi":-90}', received_at=NOW)
    assert reading == EspresenseReading(NOW, "kitchen", "phone:1", -90.0)


def test_received_at_is_converted_to_utc() -> None:
    local = datetime(2023, 11, 27, 19, 47, 59, tzinfo=timezone(timedelta(hours=-5)))
    reading = decode("espresense/devices/d/r", b'{"rssi":-70}', received_at=local)
    assert reading.ts == local
    assert reading.ts.tzinfo is UTC


def test_naive_received_at_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decode("espresense/devices/d/r", b'{"rssi":-70}', received_at=datetime(2024, 5, 1))


def test_custom_prefix_and_device_ids_with_slashes() -> None:
    reading = decode(
        "site-a/presence/devices/name:a/b/room",
        b'{"rssi":-70}',
        received_at=NOW,
        prefix="site-a/presence",
    )
    assert isinstance(reading, EspresenseReading)
    assert (reading.device_id, reading.node_room) == ("name:a/b", "room")
    status = decode(
        "site-a/presence/rooms/r1/status", b"online", received_at=NOW, prefix="site-a/presence"
    )
    assert status == NodeStatus(NOW, "r1", online=True)
    with pytest.raises(InvalidMessage):
        decode(
            "espresense/devices/d/room", b'{"rssi":-70}', received_at=NOW, prefix="site-a/presence"
        )


@pytest.mark.parametrize(
    ("payload", "online"), [(b"online", True), (b"offline", False), (b"online\n", True)]
)
def test_node_status(payload: bytes, online: bool) -> None:
    status = decode("espresense/rooms/4B-12/status", payload, received_at=NOW)
    assert status == NodeStatus(NOW, "4B-12", online)


@pytest.mark.parametrize("payload", [b"", b"ONLINE", b'"online"', b"\xff"])
def test_bad_node_status(payload: bytes) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode("espresense/rooms/4B-12/status", payload, received_at=NOW)
    assert caught.value.reason == "bad_value"
    assert "4B-12" in caught.value.detail


@pytest.mark.parametrize(
    "topic",
    [
        "espresense/rooms/kitchen/telemetry",
        "espresense/rooms/kitchen/max_distance",
        "espresense/rooms//status",
        "espresense/devices/only-one-level",
        "espresense/devices//kitchen",
        "espresense/devices/d/",
        "espresense/settings/watch:darrell/config",
        "other/devices/d/kitchen",
        "espresense/devices/+/kitchen",
        "espresense/#",
        "",
    ],
)
def test_unknown_topics(topic: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(topic, b'{"rssi":-70}', received_at=NOW)
    assert caught.value.reason == "unknown_topic"


@pytest.mark.parametrize(
    ("payload", "reason", "mentions"),
    [
        (b"not json", "not_json", "JSON"),
        (b"[1]", "not_an_object", "array"),
        (b"{}", "missing_field", "'rssi'"),
        (b'{"rssi":null}', "missing_field", "'rssi'"),
        (b'{"rssi":"-70"}', "wrong_type", "'rssi'"),
        (b'{"rssi":-128}', "rssi_out_of_range", "-128"),
        (b'{"rssi":-70,"distance":"far"}', "wrong_type", "'distance'"),
        (b'{"rssi":-70,"close":1}', "wrong_type", "'close'"),
        (b'{"rssi":-70,"int":1.5}', "wrong_type", "'int'"),
        (b'{"rssi":-70,"name":5}', "wrong_type", "'name'"),
        (b'{"rssi":-70,"var":nan}', "not_json", "JSON"),
        (b'{"rssi":-70,"var":1e999}', "out_of_range", "'var'"),
        (b'{"rssi":-70,"pad":"' + b"x" * 20_000 + b'"}', "too_large", "bytes"),
    ],
)
def test_bad_device_payloads(payload: bytes, reason: str, mentions: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode("espresense/devices/d/kitchen", payload, received_at=NOW)
    assert caught.value.reason == reason
    assert mentions in caught.value.detail


# --- mapping -------------------------------------------------------------------------------

MAPPING = EspresenseMapping(rooms={"icu_bay_3": "esp-icu-3"}, devices={BADGE_ID: "B-0042"})


def test_to_sighting() -> None:
    reading = decode(f"espresense/devices/{BADGE_ID}/icu_bay_3", V4, received_at=NOW)
    assert isinstance(reading, EspresenseReading)
    assert to_sighting(reading, MAPPING) == Sighting(
        ts=NOW, badge="B-0042", device="esp-icu-3", kind=SightingKind.BLE, rssi=-71.35
    )


def test_unmapped_room() -> None:
    reading = EspresenseReading(NOW, "garage", BADGE_ID, -70.0)
    with pytest.raises(InvalidMessage) as caught:
        to_sighting(reading, MAPPING)
    assert caught.value.reason == "unmapped_locator"
    assert '"garage"' in caught.value.detail
    assert "'rooms'" in caught.value.detail


def test_unmapped_device() -> None:
    reading = EspresenseReading(NOW, "icu_bay_3", "apple:1005:9-26", -70.0)
    with pytest.raises(InvalidMessage) as caught:
        to_sighting(reading, MAPPING)
    assert caught.value.reason == "unmapped_badge"
    assert "apple:1005:9-26" in caught.value.detail
    assert "'devices'" in caught.value.detail
