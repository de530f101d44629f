"""Home Assistant mqtt_room reports and their mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from duress.domain.errors import InvalidMessage
from duress.domain.observations import Sighting, SightingKind
from duress.ingest.codecs.mqtt_room import MqttRoomMapping, RoomPresence, decode, to_sighting

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
PAYLOAD = b'{"id":"123testid","name":"Test Badge","distance":5.678}'


def test_report() -> None:
    assert decode("room_presence/ed_bay_2", PAYLOAD, received_at=NOW) == RoomPresence(
        NOW, "ed_bay_2", "123testid", 5.678, "Test Badge"
    )


def test_custom_base() -> None:
    report = decode(
        "site/presence/icu", b'{"id":"x","distance":1}', received_at=NOW, base="site/presence"
    )
    assert (report.room, report.distance, report.name) == ("icu", 1.0, None)


@pytest.mark.parametrize(
    "topic",
    ["room_presence", "room_presence/", "room_presence/a/b", "other/kitchen", "room_presence/+"],
)
def test_unknown_topics(topic: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(topic, PAYLOAD, received_at=NOW)
    assert caught.value.reason == "unknown_topic"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"distance":1}', "missing_field"),
        (b'{"id":"x"}', "missing_field"),
        (b'{"id":"x","distance":-1}', "out_of_range"),
        (b'{"id":"x","distance":"near"}', "wrong_type"),
        (b'{"id":"","distance":1}', "bad_value"),
        (b"[]", "not_an_object"),
    ],
)
def test_bad_payloads(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode("room_presence/kitchen", payload, received_at=NOW)
    assert caught.value.reason == reason


def test_to_sighting() -> None:
    report = decode("room_presence/ed_bay_2", PAYLOAD, received_at=NOW)
    mapping = MqttRoomMapping(
        rooms={"ed_bay_2": "rx-ed-2"}, devices={"123testid": "B-7"}, gateway="ha"
    )
    assert to_sighting(report, mapping) == Sighting(
        NOW, "B-7", "rx-ed-2", SightingKind.BLE, None, "ha"
    )
    with pytest.raises(InvalidMessage) as caught:
        to_sighting(report, MqttRoomMapping(devices={"123testid": "B-7"}))
    assert caught.value.reason == "unmapped_locator"
