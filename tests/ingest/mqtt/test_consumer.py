"""The MQTT loop against the real broker: sessions, acknowledgement after commit, bad messages."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from tests.ingest.mqtt.conftest import dumps, press, sighting

from duress.domain.events import ButtonPressed
from duress.domain.ingest_mapping import IngestMapping, NativeSource
from duress.domain.observations import Observation
from duress.ingest import auth
from duress.ingest.mqtt import MqttIngest
from duress.service.runtime import IngestOutcome, Runtime
from duress.testing import FakeClock

pytestmark = pytest.mark.mqtt


@contextlib.asynccontextmanager
async def consuming(ingest: MqttIngest) -> AsyncIterator[MqttIngest]:
    task = asyncio.create_task(ingest.run())
    try:
        await asyncio.wait_for(ingest.connected.wait(), 10)
        yield ingest
    finally:
        ingest.stop()
        await asyncio.wait_for(task, 10)


def consumer(runtime: object, broker: tuple[str, int], site_id: str, client_id: str) -> MqttIngest:
    host, port = broker
    return MqttIngest(
        runtime,
        url=f"mqtt://{host}:{port}",
        prefix="duress-test",
        site_id=site_id,
        client_id=client_id,
    )


async def presses_in_store(runtime: Runtime) -> list[tuple[str, int]]:
    records = await runtime.read(types=[ButtonPressed.type])
    return [(r.payload["badge"], r.payload["seq"]) for r in records]


@contextlib.asynccontextmanager
async def gateway(broker: tuple[str, int], *, v5: bool = False) -> AsyncIterator[aiomqtt.Client]:
    protocol = aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311
    async with aiomqtt.Client(
        broker[0], broker[1], identifier=f"gw-{uuid.uuid4().hex[:8]}", protocol=protocol
    ) as c:
        yield c


async def test_a_press_and_sightings_reach_the_runtime(
    runtime: Runtime, clock: FakeClock, mqtt_broker: tuple[str, int], site_id: str
) -> None:
    ingest = consumer(runtime, mqtt_broker, site_id, f"srv-{site_id}")
    root = f"duress-test/{site_id}/gw/gw-1"
    async with consuming(ingest), gateway(mqtt_broker) as gw:
        await gw.publish(f"{root}/sightings", dumps({"messages": [sighting(clock.now())] * 3}))
        await gw.publish(f"{root}/buttons", dumps(press(clock.now(), 1)), qos=1)
        await ingest.wait_until(lambda: ingest.stats.presses == 1 and ingest.stats.accepted == 4)
    assert await presses_in_store(runtime) == [("b-1", 1)]
    pressed = (await runtime.read(types=[ButtonPressed.type]))[0]
    assert pressed.payload["gateway"] == "gw-1"


async def test_presses_published_while_the_server_is_away_arrive_once(
    runtime: Runtime, clock: FakeClock, mqtt_broker: tuple[str, int], site_id: str
) -> None:
    client_id = f"srv-{site_id}"
    root = f"duress-test/{site_id}/gw/gw-1"
    first = consumer(runtime, mqtt_broker, site_id, client_id)
    async with consuming(first), gateway(mqtt_broker) as gw:
        await gw.publish(f"{root}/buttons", dumps(press(clock.now(), 1)), qos=1)
        await first.wait_until(lambda: first.stats.presses == 1)
    # The server is away: presses (and a resend of one of them) wait in its session.
    async with gateway(mqtt_broker) as gw:
        for seq in (2, 3, 4, 3):
            await gw.publish(f"{root}/buttons", dumps(press(clock.now(), seq)), qos=1)
    second = consumer(runtime, mqtt_broker, site_id, client_id)
    async with consuming(second):
        await second.wait_until(lambda: second.stats.presses == 4)
    assert sorted(await presses_in_store(runtime)) == [("b-1", s) for s in (1, 2, 3, 4)]
    assert second.stats.duplicates == 1


async def test_a_signed_site_keeps_its_session_over_mqtt_v5_too(
    runtime: Runtime, clock: FakeClock, mqtt_broker: tuple[str, int], site_id: str
) -> None:
    """Signatures need MQTT v5 (user properties): that connection keeps presses across an absence
    just as the MQTT 3.1.1 one does."""
    host, port = mqtt_broker
    key = b"k" * 32
    root = f"duress-test/{site_id}/gw/gw-1"

    def signed_consumer() -> MqttIngest:
        return MqttIngest(
            runtime,
            url=f"mqtt://{host}:{port}",
            prefix="duress-test",
            site_id=site_id,
            client_id=f"srv5-{site_id}",
            mapping=IngestMapping(native=NativeSource(signed=True, secrets="unused")),
            keys={"gw-1": key},
        )

    async def publish_signed(gw: aiomqtt.Client, seq: int) -> None:
        topic, body = f"{root}/buttons", dumps(press(clock.now(), seq))
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.UserProperty = [(auth.SIGNATURE_PROPERTY, auth.sign(key, topic, body))]
        await gw.publish(topic, body, qos=1, properties=properties)

    first = signed_consumer()
    async with consuming(first), gateway(mqtt_broker, v5=True) as gw:
        await publish_signed(gw, 1)
        await first.wait_until(lambda: first.stats.presses == 1)
    async with gateway(mqtt_broker, v5=True) as gw:
        await publish_signed(gw, 2)
    second = signed_consumer()
    async with consuming(second):
        await second.wait_until(lambda: second.stats.presses == 1)  # the one sent while away
    assert sorted(await presses_in_store(runtime)) == [("b-1", 1), ("b-1", 2)]


class Gated:
    """The runtime behind a gate: ``ingest`` waits until the test opens it (a fake, not a mock)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.site = runtime.site
        self.clock = runtime.clock
        self.metrics = runtime.metrics
        self.reached = asyncio.Event()
        self.gate = asyncio.Event()

    async def ingest(self, messages: Sequence[tuple[int, Observation]]) -> IngestOutcome:
        self.reached.set()
        await self.gate.wait()
        return await self.runtime.ingest(messages)


async def test_a_press_not_yet_committed_is_not_acknowledged_and_comes_back(
    runtime: Runtime, clock: FakeClock, mqtt_broker: tuple[str, int], site_id: str
) -> None:
    client_id = f"srv-{site_id}"
    root = f"duress-test/{site_id}/gw/gw-1"
    gated = Gated(runtime)
    first = consumer(gated, mqtt_broker, site_id, client_id)
    async with consuming(first), gateway(mqtt_broker) as gw:
        await gw.publish(f"{root}/buttons", dumps(press(clock.now(), 7)), qos=1)
        await asyncio.wait_for(gated.reached.wait(), 10)
        # The server stops (crashes) before the commit: no PUBACK was sent.
    assert await presses_in_store(runtime) == []
    second = consumer(runtime, mqtt_broker, site_id, client_id)
    async with consuming(second):
        await second.wait_until(lambda: second.stats.presses == 1)
    assert await presses_in_store(runtime) == [("b-1", 7)]


async def test_bad_messages_are_rejected_counted_and_cost_no_neighbour(
    runtime: Runtime, clock: FakeClock, mqtt_broker: tuple[str, int], site_id: str
) -> None:
    ingest = consumer(runtime, mqtt_broker, site_id, f"srv-{site_id}")
    root = f"duress-test/{site_id}"
    async with consuming(ingest), gateway(mqtt_broker) as gw:
        await gw.publish(f"{root}/gw/gw-1/sightings", b"{not json")
        await gw.publish(f"{root}/gw/gw-1/buttons", b"[1, 2]", qos=1)
        await gw.publish(f"{root}/gw/gw-9/buttons", dumps(press(clock.now(), 1)), qos=1)
        await gw.publish(
            f"{root}/gw/gw-1/sightings",
            dumps([sighting(clock.now()), {"type": "sighting"}, sighting(clock.now(), "b-2")]),
        )
        await gw.publish(f"{root}/gw/gw-1/buttons", dumps(press(clock.now(), 5)), qos=1)
        await ingest.wait_until(lambda: ingest.stats.presses == 1 and ingest.stats.accepted == 3)
        await ingest.wait_until(lambda: ingest.stats.rejected == 5)
    reasons = {
        s.labels["reason"]: s.value
        for m in runtime.metrics.registry.collect()
        if m.name == "duress_mqtt_rejected"
        for s in m.samples
        if s.name.endswith("_total")
    }
    assert reasons == {"not_json": 1, "not_an_object": 2, "unknown_gateway": 1, "missing_field": 1}
    assert runtime.metrics.rejected.labels("unknown_gateway")._value.get() == 1
    assert await presses_in_store(runtime) == [("b-1", 5)]


async def test_a_retained_last_will_marks_the_gateway_offline_when_the_server_connects(
    runtime: Runtime, clock: FakeClock, mqtt_broker: tuple[str, int], site_id: str
) -> None:
    status = f"duress-test/{site_id}/gw/gw-1/status"
    async with gateway(mqtt_broker) as gw:
        await gw.publish(status, b"offline", qos=1, retain=True)  # as the broker does for a will
    ingest = consumer(runtime, mqtt_broker, site_id, f"srv-{site_id}")
    try:
        async with consuming(ingest):
            await ingest.wait_until(lambda: runtime.health.state("gw-1").status.value == "offline")
        [offline] = await runtime.read(types=["gateway.offline"])
        assert offline.payload["devices"] == ["ir-icu-1", "ir-icu-2", "em-bay-1"]
        assert runtime.health.state("ir-icu-1").status.value == "unsupervised"
    finally:
        async with gateway(mqtt_broker) as gw:
            await gw.publish(status, b"", qos=1, retain=True)  # leave no retained message behind


async def test_a_press_published_on_the_sightings_topic_is_still_a_press(
    runtime: Runtime, clock: FakeClock, mqtt_broker: tuple[str, int], site_id: str
) -> None:
    """With the engine in its own process the batch is decoded there; the press comes back."""
    ingest = consumer(runtime, mqtt_broker, site_id, f"srv-{site_id}")
    root = f"duress-test/{site_id}/gw/gw-1"
    async with consuming(ingest), gateway(mqtt_broker) as gw:
        batch = {"messages": [sighting(clock.now()), press(clock.now(), 3), sighting(clock.now())]}
        await gw.publish(f"{root}/sightings", dumps(batch))
        await ingest.wait_until(lambda: ingest.stats.presses == 1 and ingest.stats.accepted == 3)
    assert await presses_in_store(runtime) == [("b-1", 3)]
    assert runtime.locator.where("b-1", clock.now())["room"] == "icu-1"


async def test_the_location_process_subscribes_to_sightings_itself_and_again_after_a_restart(
    runtime: Runtime, clock: FakeClock, mqtt_broker: tuple[str, int], site_id: str
) -> None:
    """With the engine in its own process, the server's connection carries no sighting: the
    process has its own, and a process started again after a crash subscribes again."""
    if not runtime.locates_elsewhere:
        pytest.skip("the engine runs on the server's loop: the server takes sightings itself")
    ingest = consumer(runtime, mqtt_broker, site_id, f"srv-{site_id}")
    root = f"duress-test/{site_id}/gw/gw-1"
    locator = runtime.locator
    async with consuming(ingest), gateway(mqtt_broker) as gw:
        assert locator.feed_state == (True, f"subscribed at {mqtt_broker[0]}:{mqtt_broker[1]}")
        assert [topic for topic, _ in ingest.subscribed] == [
            f"duress-test/{site_id}/gw/+/{channel}"
            for channel in ("buttons", "status", "heartbeats", "telemetry")
        ]
        await gw.publish(f"{root}/sightings", dumps([sighting(clock.now())]))
        await ingest.wait_until(lambda: ingest.stats.accepted == 1)
        assert runtime.locator.where("b-1", clock.now())["room"] == "icu-1"

        locator._process.kill()

        async def subscribed_again() -> None:
            while locator.restarts == 0 or not locator.feed_subscribed.is_set():
                await asyncio.sleep(0.01)

        await asyncio.wait_for(subscribed_again(), 60)
        await gw.publish(f"{root}/sightings", dumps([sighting(clock.now(), "b-2", "ir-icu-2")]))
        await ingest.wait_until(lambda: ingest.stats.accepted == 2)
    assert runtime.locator.where("b-2", clock.now())["room"] == "icu-2"
    assert runtime.health.state("ir-icu-2").last_seen == clock.now()
    assert not locator.feed_subscribed.is_set()  # the consumer stopped: so did the feed
