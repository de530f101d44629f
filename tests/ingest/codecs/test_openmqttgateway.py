"""OpenMQTTGateway / Theengs BTtoMQTT adverts and their mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from duress.domain.errors import InvalidMessage
from duress.domain.observations import Sighting, SightingKind
from duress.ingest.codecs.openmqttgateway import (
    BleAdvert,
    OpenMqttGatewayMapping,
    decode,
    normalise_mac,
    to_sighting,
)

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
UUID = "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0"
IBEACON = (
    b'{"id":"58:78:20:76:BC:24","mac_type":1,"adv_type":0,"rssi":-79,"brand":"GENERIC",'
    b'"model":"iBeacon","model_id":"IBEACON","uuid":"' + UUID.encode() + b'","major":1,'
    b'"minor":42,"txpower":-66}'
)
TOPIC = "home/OMG_ED_4B/BTtoMQTT/58782076BC24"


def test_ibeacon_advert() -> None:
    advert = decode(TOPIC, IBEACON, received_at=NOW)
    assert advert == BleAdvert(
        ts=NOW,
        gateway="OMG_ED_4B",
        mac="58:78:20:76:BC:24",
        rssi=-79.0,
        model_id="IBEACON",
        uuid=UUID,
        major=1,
        minor=42,
        txpower=-66.0,
    )
    assert advert.ibeacon_key == UUID.lower() + ":1:42"


def test_other_advert_and_single_topic_gateways() -> None:
    payload = b'{"id":"c4:7c:8d:6a:3e:1f","name":"Flower care","rssi":-90,"distance":7.2}'
    advert = decode("home/gw2/BTtoMQTT", payload, received_at=NOW)
    assert (advert.gateway, advert.mac, advert.name, advert.distance) == (
        "gw2",
        "C4:7C:8D:6A:3E:1F",
        "Flower care",
        7.2,
    )
    assert advert.ibeacon_key is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("58782076bc24", "58:78:20:76:BC:24"),
        ("58-78-20-76-bc-24", "58:78:20:76:BC:24"),
        ("58:78:20:76:BC:24", "58:78:20:76:BC:24"),
        ("not-a-mac", "not-a-mac"),
    ],
)
def test_normalise_mac(text: str, expected: str) -> None:
    assert normalise_mac(text) == expected


@pytest.mark.parametrize(
    "topic",
    ["home/gw/SYStoMQTT", "BTtoMQTT/58782076BC24", "home//BTtoMQTT/x", "home/gw/BTtoMQTT/", "x"],
)
def test_unknown_topics(topic: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(topic, IBEACON, received_at=NOW)
    assert caught.value.reason == "unknown_topic"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"rssi":-70}', "missing_field"),
        (b'{"id":"58:78:20:76:BC:24"}', "missing_field"),
        (b'{"id":"58:78:20:76:BC:24","rssi":-200}', "rssi_out_of_range"),
        (b'{"id":"58:78:20:76:BC:24","rssi":-70,"major":"1"}', "wrong_type"),
        (b"online", "not_json"),
    ],
)
def test_bad_payloads(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(TOPIC, payload, received_at=NOW)
    assert caught.value.reason == reason


def test_to_sighting_prefers_the_ibeacon_identity() -> None:
    advert = decode(TOPIC, IBEACON, received_at=NOW)
    mapping = OpenMqttGatewayMapping(
        gateways={"OMG_ED_4B": "omg-ed-4b"},
        beacons={UUID.lower() + ":1:42": "B-0042", "58:78:20:76:BC:24": "B-other"},
    )
    assert to_sighting(advert, mapping) == Sighting(
        NOW, "B-0042", "omg-ed-4b", SightingKind.BLE, -79.0, "OMG_ED_4B"
    )


def test_to_sighting_by_mac_and_unmapped() -> None:
    advert = decode(TOPIC, IBEACON, received_at=NOW)
    by_mac = OpenMqttGatewayMapping(gateways={"OMG_ED_4B": "g"}, beacons={"58:78:20:76:BC:24": "B"})
    assert to_sighting(advert, by_mac).badge == "B"
    with pytest.raises(InvalidMessage) as caught:
        to_sighting(advert, OpenMqttGatewayMapping(gateways={"OMG_ED_4B": "g"}))
    assert caught.value.reason == "unmapped_badge"
    assert "58:78:20:76:BC:24" in caught.value.detail
    with pytest.raises(InvalidMessage) as caught:
        to_sighting(advert, OpenMqttGatewayMapping(beacons={"58:78:20:76:BC:24": "B"}))
    assert caught.value.reason == "unmapped_locator"
