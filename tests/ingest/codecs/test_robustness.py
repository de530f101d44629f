"""Every decoder, fed anything: only InvalidMessage (or rejections in a batch) ever comes out."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duress.domain.errors import InvalidMessage
from duress.domain.observations import ButtonEvent, Heartbeat, Sighting
from duress.ingest.codecs import espresense, mqtt_room, native, omlox, openmqttgateway
from duress.ingest.codecs.native import Rejection

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)

FIELDS = [
    "type",
    "ts",
    "badge",
    "device",
    "kind",
    "rssi",
    "seq",
    "presses",
    "hold_s",
    "battery",
    "gateway",
    "mac",
    "id",
    "name",
    "rssi@1m",
    "distance",
    "int",
    "close",
    "var",
]
near_messages = st.dictionaries(
    st.sampled_from(FIELDS),
    json_values
    | st.sampled_from(["sighting", "button", "heartbeat", "ir", "ble", "2024-05-01T12:00:00Z"]),
    max_size=10,
)


def truncations(document: object) -> st.SearchStrategy[bytes]:
    text = json.dumps(document).encode()
    return st.integers(0, len(text)).map(lambda n: text[:n])


def only_invalid_message(call: Callable[[], object]) -> object | None:
    try:
        return call()
    except InvalidMessage as error:
        caught = error
    assert caught.reason.replace("_", "").isalpha()
    assert caught.reason.islower()
    assert caught.detail
    return None


GOOD = {"type": "heartbeat", "ts": "2024-05-01T12:00:00Z", "device": "gw-1"}


# --- native --------------------------------------------------------------------------------


@given(st.binary(max_size=2000))
def test_native_batch_arbitrary_bytes(data: bytes) -> None:
    only_invalid_message(lambda: native.decode_batch(data))
    only_invalid_message(lambda: native.decode_message(data))


@given(json_values)
def test_native_batch_arbitrary_json(value: Any) -> None:
    data = json.dumps(value).encode()
    result = only_invalid_message(lambda: native.decode_batch(data))
    if isinstance(result, native.BatchResult):
        for entry in result.results:
            assert isinstance(entry, Sighting | ButtonEvent | Heartbeat | Rejection)
    only_invalid_message(lambda: native.decode_message(data))


@given(st.lists(near_messages, max_size=20))
def test_native_good_messages_survive_bad_neighbours(messages: list[dict[str, Any]]) -> None:
    batch = [GOOD, *messages, GOOD]
    result = native.decode_batch(json.dumps({"messages": batch}).encode())
    assert len(result.results) == len(batch)
    assert isinstance(result.results[0], Heartbeat)
    assert isinstance(result.results[-1], Heartbeat)
    for index, message in enumerate(batch):
        entry = result.results[index]
        if isinstance(entry, Rejection):
            assert entry.index == index
        else:
            assert entry == native.decode_object(message)


@given(
    st.sampled_from([GOOD, {"messages": [GOOD, GOOD]}, [GOOD, {"type": "button"}]]).flatmap(
        truncations
    )
)
def test_native_truncated_json(data: bytes) -> None:
    only_invalid_message(lambda: native.decode_batch(data))
    only_invalid_message(lambda: native.decode_message(data))


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 500_000,
        b'{"a":' * 200_000,
        b'{"messages": [' + b'{"type":"heartbeat"},' * 60_000 + b"{}]}",
        b'{"messages": [{"type": "button", "ts": "2024-05-01T12:00:00Z", "badge": "b", "seq": '
        + b"9" * 5000
        + b', "presses": 1}]}',
        b'"' + b"x" * 1_000_000 + b'"',
        json.dumps({"messages": [{**GOOD, "device": "d" * 900_000}]}).encode(),
    ],
)
def test_native_huge_payloads(data: bytes) -> None:
    only_invalid_message(lambda: native.decode_batch(data))
    only_invalid_message(lambda: native.decode_message(data))


# --- ESPresense ----------------------------------------------------------------------------

topics = st.one_of(
    st.text(max_size=60),
    st.builds(
        "/".join,
        st.lists(
            st.sampled_from(["espresense", "devices", "rooms", "status", "", "+", "#", "x"]),
            max_size=6,
        ),
    ),
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(topics, st.binary(max_size=500))
def test_espresense_arbitrary(topic: str, payload: bytes) -> None:
    only_invalid_message(lambda: espresense.decode(topic, payload, received_at=NOW))


@given(st.sampled_from(["espresense/devices/d/kitchen", "espresense/rooms/k/status"]), json_values)
def test_espresense_arbitrary_json(topic: str, value: Any) -> None:
    payload = json.dumps(value).encode()
    only_invalid_message(lambda: espresense.decode(topic, payload, received_at=NOW))


@given(near_messages)
def test_espresense_wrong_types(message: dict[str, Any]) -> None:
    payload = json.dumps(message).encode()
    only_invalid_message(
        lambda: espresense.decode("espresense/devices/d/kitchen", payload, received_at=NOW)
    )


@given(truncations({"mac": "58b1294494d3", "id": "watch:darrell", "rssi@1m": -64, "rssi": -86}))
def test_espresense_truncated(payload: bytes) -> None:
    only_invalid_message(
        lambda: espresense.decode("espresense/devices/d/kitchen", payload, received_at=NOW)
    )


@pytest.mark.parametrize("payload", [b"[" * 500_000, b'{"rssi": -70, "x": "' + b"y" * 2_000_000])
def test_espresense_huge(payload: bytes) -> None:
    only_invalid_message(
        lambda: espresense.decode("espresense/devices/d/kitchen", payload, received_at=NOW)
    )


# --- OpenMQTTGateway, mqtt_room, omlox -----------------------------------------------------

WILD_FIELDS = [
    "id",
    "rssi",
    "uuid",
    "major",
    "minor",
    "txpower",
    "distance",
    "name",
    "source",
    "provider_type",
    "provider_id",
    "position",
    "accuracy",
    "timestamp_generated",
]
wild_messages = st.dictionaries(st.sampled_from(WILD_FIELDS), json_values, max_size=8)


def wild_decoders(topic: str, payload: bytes) -> list[Callable[[], object]]:
    return [
        lambda: openmqttgateway.decode(topic, payload, received_at=NOW),
        lambda: mqtt_room.decode(topic, payload, received_at=NOW),
        lambda: omlox.decode_location(payload, received_at=NOW),
        lambda: omlox.decode_proximity(payload, received_at=NOW),
    ]


@given(
    st.one_of(
        topics,
        st.sampled_from(["home/gw/BTtoMQTT/58782076BC24", "home/gw/BTtoMQTT", "room_presence/k"]),
    ),
    st.binary(max_size=500),
)
def test_wild_arbitrary_bytes(topic: str, payload: bytes) -> None:
    for call in wild_decoders(topic, payload):
        only_invalid_message(call)


@given(
    st.sampled_from(["home/gw/BTtoMQTT/58782076BC24", "room_presence/kitchen"]),
    st.one_of(json_values, wild_messages),
)
def test_wild_arbitrary_json(topic: str, value: Any) -> None:
    payload = json.dumps(value).encode()
    for call in wild_decoders(topic, payload):
        only_invalid_message(call)


@given(
    truncations(
        {
            "position": {"type": "Point", "coordinates": [1, 2]},
            "source": "z",
            "provider_type": "uwb",
            "provider_id": "p",
            "id": "58:78:20:76:BC:24",
            "rssi": -70,
            "distance": 1.5,
        }
    )
)
def test_wild_truncated(payload: bytes) -> None:
    for call in wild_decoders("home/gw/BTtoMQTT/58782076BC24", payload):
        only_invalid_message(call)
    only_invalid_message(lambda: mqtt_room.decode("room_presence/k", payload, received_at=NOW))


@pytest.mark.parametrize("payload", [b"[" * 500_000, b'{"id": "' + b"y" * 2_000_000 + b'"}'])
def test_wild_huge(payload: bytes) -> None:
    for call in wild_decoders("home/gw/BTtoMQTT/58782076BC24", payload):
        only_invalid_message(call)
