"""Authenticate, decode, map, ingest: with a real runtime (in-memory store, fake clock)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.ingest.mqtt.conftest import dumps, press, sighting

from duress.domain.events import ButtonPressed
from duress.domain.ingest_mapping import (
    EspresenseSource,
    IngestMapping,
    MqttRoomSource,
    NativeSource,
    OmloxSource,
    OpenMqttGatewaySource,
)
from duress.ingest import auth
from duress.ingest.mqtt.dispatch import Dispatcher
from duress.ingest.mqtt.lanes import Inbound
from duress.ingest.mqtt.metrics import mqtt_metrics
from duress.ingest.mqtt.topics import TopicMap
from duress.service.runtime import Runtime
from duress.testing import FakeClock

KEY = bytes(range(32))
WILD = IngestMapping(
    espresense=EspresenseSource(rooms={"icu_1": "ir-icu-1"}, devices={"watch:ana": "b-1"}),
    openmqttgateway=OpenMqttGatewaySource(
        gateways={"OMG_ED": "ble-ed"}, beacons={"58:78:20:76:BC:24": "b-2"}
    ),
    mqtt_room=MqttRoomSource(rooms={"corr": "ble-corr"}, devices={"abc": "b-3"}),
    omlox=OmloxSource(sources={"zone-icu-2": "ir-icu-2"}, providers={"tag-1": "b-1"}),
)


def dispatcher(runtime: Runtime, mapping: IngestMapping = WILD, **kw: Any) -> Dispatcher:
    return Dispatcher(
        runtime,
        mapping=mapping,
        metrics=mqtt_metrics(runtime.metrics.registry),
        rejected=runtime.metrics.rejected,
        **kw,
    )


def inbound(runtime: Runtime, topic: str, payload: bytes, signature: str | None = None) -> Inbound:
    found = TopicMap("duress", "site", WILD).classify(topic)
    assert found is not None, topic
    return Inbound(topic, payload, found[0], found[1], runtime.clock.now(), signature=signature)


def rejected(runtime: Runtime) -> dict[str, float]:
    return {
        s.labels["reason"]: s.value
        for m in runtime.metrics.registry.collect()
        if m.name == "duress_mqtt_rejected"
        for s in m.samples
        if s.name.endswith("_total")
    }


async def test_wild_formats_become_sightings(runtime: Runtime, clock: FakeClock) -> None:
    d = dispatcher(runtime)
    await d.handle(
        [
            inbound(
                runtime, "espresense/devices/watch:ana/icu_1", b'{"rssi": -70, "distance": 1.2}'
            ),
            inbound(runtime, "espresense/rooms/icu_1/status", b"online"),
            inbound(
                runtime, "home/OMG_ED/BTtoMQTT/587820", b'{"id": "587820 76BC24", "rssi": -60}'
            ),
            inbound(runtime, "home/OMG_ED/BTtoMQTT/x", b'{"id": "58:78:20:76:BC:24", "rssi": -60}'),
            inbound(runtime, "room_presence/corr", b'{"id": "abc", "distance": 2.5}'),
            inbound(
                runtime,
                "omlox/proximity",
                b'{"source": "zone-icu-2", "provider_type": "rfid", "provider_id": "tag-1"}',
            ),
            inbound(runtime, "espresense/devices/phone:someone/icu_1", b'{"rssi": -80}'),
        ]
    )
    assert d.stats.accepted == 5
    assert rejected(runtime) == {"unmapped_badge": 2}
    located = runtime.locator.snapshot(clock.now())
    assert {"b-1", "b-2"} <= set(located)  # mqtt_room has no RSSI: accepted, not enough to locate


async def test_a_message_naming_another_gateway_is_rejected(
    runtime: Runtime, clock: FakeClock
) -> None:
    d = dispatcher(runtime)
    batch = [sighting(clock.now()), {**sighting(clock.now()), "gateway": "gw-2"}]
    await d.handle([inbound(runtime, "duress/site/gw/gw-1/sightings", dumps(batch))])
    assert d.stats.accepted == 1
    assert rejected(runtime) == {"gateway_mismatch": 1}


async def test_signed_sites_take_only_good_signatures(runtime: Runtime, clock: FakeClock) -> None:
    mapping = IngestMapping(native=NativeSource(signed=True, secrets="unused"))
    d = dispatcher(runtime, mapping, keys={"gw-1": KEY})
    topic = "duress/site/gw/gw-1/buttons"
    good, forged = dumps(press(clock.now(), 1)), dumps(press(clock.now(), 2))
    await d.handle(
        [
            inbound(runtime, topic, good, auth.sign(KEY, topic, good)),
            inbound(runtime, topic, forged, auth.sign(KEY, topic, good)),
            inbound(runtime, topic, forged),
            inbound(runtime, topic, forged, auth.sign(KEY, "duress/site/gw/gw-1/x", forged)),
        ]
    )
    assert [r.payload["seq"] for r in await runtime.read(types=[ButtonPressed.type])] == [1]
    assert rejected(runtime) == {"bad_signature": 2, "unsigned": 1}


async def test_status_and_telemetry(runtime: Runtime, clock: FakeClock) -> None:
    d = dispatcher(runtime)
    metrics = mqtt_metrics(runtime.metrics.registry)
    await d.handle(
        [
            inbound(runtime, "duress/site/gw/gw-1/status", b"online"),
            inbound(
                runtime, "duress/site/gw/gw-1/telemetry", b'{"battery": 80, "temperature_c": 41.5}'
            ),
            inbound(runtime, "duress/site/gw/gw-1/status", b"offline"),
            inbound(runtime, "duress/site/gw/gw-1/status", b"maybe"),
            inbound(runtime, "duress/site/gw/gw-1/telemetry", b'{"battery": 180}'),
        ]
    )
    assert d.stats.accepted == 2
    assert metrics.gateway_online.labels("gw-1")._value.get() == 0
    assert metrics.gateway_temperature.labels("gw-1")._value.get() == 41.5
    assert rejected(runtime) == {"bad_value": 1, "out_of_range": 1}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"x" * (1024 * 1024 + 1), "batch_too_large"),
        (b'"a string"', "not_a_batch"),
        (b'{"messages": 3}', "not_a_batch"),
        (json.dumps([{}] * 5001).encode(), "too_many_messages"),
    ],
)
async def test_bad_batches_are_rejected_whole(
    runtime: Runtime, payload: bytes, reason: str
) -> None:
    d = dispatcher(runtime)
    await d.handle([inbound(runtime, "duress/site/gw/gw-1/heartbeats", payload)])
    assert rejected(runtime) == {reason: 1}


async def test_a_last_will_marks_the_gateway_and_its_devices_unsupervised_in_order(
    runtime: Runtime, clock: FakeClock
) -> None:
    from duress.domain.device_health import DeviceStatus

    d = dispatcher(runtime)
    status = "duress/site/gw/gw-1/status"
    await d.handle(
        [
            inbound(runtime, status, b"online"),
            inbound(runtime, "duress/site/gw/gw-1/sightings", dumps(sighting(clock.now()))),
            inbound(runtime, status, b"offline"),
            inbound(runtime, status, b"offline"),  # retained, delivered again: no new event
        ]
    )
    types = [e.type for e in await runtime.read()]
    assert types.count("gateway.offline") == 1
    assert types.index("gateway.offline") > types.index("device.online")
    assert runtime.health.state("gw-1").status is DeviceStatus.OFFLINE
    assert runtime.health.state("ir-icu-1").status is DeviceStatus.UNSUPERVISED
    await d.handle([inbound(runtime, status, b"online")])
    assert [e.type for e in await runtime.read()][-1] == "gateway.online"
    assert runtime.health.state("ir-icu-1").status is DeviceStatus.ONLINE
