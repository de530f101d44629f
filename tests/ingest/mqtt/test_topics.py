from __future__ import annotations

import pytest

from duress.domain.ingest_mapping import (
    EspresenseSource,
    IngestMapping,
    MqttRoomSource,
    OmloxSource,
    OpenMqttGatewaySource,
)
from duress.ingest.mqtt.topics import Route, TopicMap

WILD = IngestMapping(
    espresense=EspresenseSource(prefix="espresense"),
    openmqttgateway=OpenMqttGatewaySource(base="home"),
    mqtt_room=MqttRoomSource(base="room_presence"),
    omlox=OmloxSource(topic="rtls/omlox"),
)


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("duress/mercy/gw/gw-1/buttons", (Route.BUTTONS, "gw-1")),
        ("duress/mercy/gw/gw-1/sightings", (Route.SIGHTINGS, "gw-1")),
        ("duress/mercy/gw/gw-1/heartbeats", (Route.HEARTBEATS, "gw-1")),
        ("duress/mercy/gw/gw-1/status", (Route.STATUS, "gw-1")),
        ("duress/mercy/gw/gw-1/telemetry", (Route.TELEMETRY, "gw-1")),
        ("duress/mercy/gw/gw-1/feedback", None),
        ("duress/other/gw/gw-1/buttons", None),
        ("duress/mercy/gw//buttons", None),
        ("espresense/devices/watch:darrell/kitchen", (Route.ESPRESENSE, None)),
        ("espresense/rooms/kitchen/status", (Route.ESPRESENSE, None)),
        ("home/OMG_1/BTtoMQTT/58:78:20:76:BC:24", (Route.OPENMQTTGATEWAY, None)),
        ("home/OMG_1/SYStoMQTT", None),
        ("room_presence/kitchen", (Route.MQTT_ROOM, None)),
        ("rtls/omlox/location", (Route.OMLOX_LOCATION, None)),
        ("rtls/omlox/proximity", (Route.OMLOX_PROXIMITY, None)),
        ("rtls/omlox/fences", None),
    ],
)
def test_classify(topic: str, expected: tuple[Route, str | None] | None) -> None:
    assert TopicMap("duress", "mercy", WILD).classify(topic) == expected


def test_wild_topics_are_not_classified_unless_configured() -> None:
    topics = TopicMap("duress", "mercy", IngestMapping())
    assert topics.classify("espresense/rooms/kitchen/status") is None
    assert [s.topic for s in topics.subscriptions()] == [
        "duress/mercy/gw/+/buttons",
        "duress/mercy/gw/+/status",
        "duress/mercy/gw/+/heartbeats",
        "duress/mercy/gw/+/telemetry",
        "duress/mercy/gw/+/sightings",
    ]


def test_buttons_and_status_are_subscribed_at_qos_1() -> None:
    subs = {s.topic: s.qos for s in TopicMap("p/q", "s", WILD).subscriptions()}
    assert subs["p/q/s/gw/+/buttons"] == 1
    assert subs["p/q/s/gw/+/status"] == 1
    assert subs["p/q/s/gw/+/sightings"] == 0
    assert TopicMap("p/q", "s", WILD).wild_topics() == [
        "espresense/devices/#",
        "espresense/rooms/+/status",
        "home/+/BTtoMQTT/#",
        "room_presence/+",
        "rtls/omlox/location",
        "rtls/omlox/proximity",
    ]
