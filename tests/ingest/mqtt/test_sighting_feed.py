"""The location process's own subscription to the sighting topics, against the real broker."""

from __future__ import annotations

import pickle
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from tests.ingest.mqtt.conftest import dumps, press, sighting

from duress.domain.ingest_mapping import EspresenseSource, IngestMapping
from duress.ingest.mqtt.lanes import Inbound
from duress.ingest.mqtt.sighting_feed import FeedBatch, SightingFeed
from duress.ingest.mqtt.topics import Route

pytestmark = pytest.mark.mqtt

WAIT_S = 10.0
MAPPING = IngestMapping(espresense=EspresenseSource(prefix="espresense", rooms={"icu_1": "ble-1"}))


def feed_for(broker: tuple[str, int], site_id: str, **extra: object) -> SightingFeed:
    host, port = broker
    return SightingFeed(
        url=f"mqtt://{host}:{port}",
        client_id=f"feed-{site_id}",
        prefix="duress-test",
        site_id=site_id,
        mapping=IngestMapping(),
        **extra,  # type: ignore[arg-type]
    )


class Watch:
    """What the feed calls from paho's thread, as events a test can wait on."""

    def __init__(self) -> None:
        self.woken = threading.Event()
        self.subscribed = threading.Event()
        self.states: list[tuple[bool, str]] = []

    def wake(self) -> None:
        self.woken.set()

    def on_state(self, subscribed: bool, detail: str) -> None:
        self.states.append((subscribed, detail))
        if subscribed:
            self.subscribed.set()


@pytest.fixture
def publish(mqtt_broker: tuple[str, int]) -> Iterator[paho.Client]:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{uuid.uuid4().hex[:8]}")
    client.connect(*mqtt_broker)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def take_until(feed: SightingFeed, watch: Watch, count: int) -> tuple[list[Inbound], FeedBatch]:
    """What the feed took, once ``count`` messages arrived (or the wait ran out)."""
    messages: list[Inbound] = []
    total = FeedBatch()
    deadline = time.monotonic() + WAIT_S
    while len(messages) < count and time.monotonic() < deadline:
        watch.woken.wait(deadline - time.monotonic())
        watch.woken.clear()
        taken, batch = feed.take()
        messages += taken
        total.messages += batch.messages
        for route, n in batch.received.items():
            total.received[route] = total.received.get(route, 0) + n
        for route, n in batch.dropped.items():
            total.dropped[route] = total.dropped.get(route, 0) + n
    return messages, total


def test_it_subscribes_to_the_sighting_topics_only() -> None:
    feed = SightingFeed(
        url="mqtt://127.0.0.1:1883",
        client_id="x",
        prefix="duress",
        site_id="mercy",
        mapping=MAPPING,
    )
    assert feed.subscriptions() == [
        ("duress/mercy/gw/+/sightings", 0),
        ("espresense/devices/#", 0),
        ("espresense/rooms/+/status", 0),
    ]


def test_sightings_arrive_classified_and_stamped_with_the_servers_clock(
    mqtt_broker: tuple[str, int], publish: paho.Client
) -> None:
    site_id = f"t-{uuid.uuid4().hex[:10]}"
    server_now = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    feed = feed_for(mqtt_broker, site_id, clock_offset_s=server_now.timestamp() - time.time())
    watch = Watch()
    feed.start(watch.wake, watch.on_state)
    try:
        assert watch.subscribed.wait(WAIT_S), watch.states
        root = f"duress-test/{site_id}/gw/gw-1"
        publish.publish(f"{root}/buttons", dumps(press(server_now, 1)), qos=1)  # not ours
        publish.publish(f"{root}/sightings", dumps([sighting(server_now)])).wait_for_publish()
        messages, counts = take_until(feed, watch, 1)
    finally:
        feed.stop()
    [message] = messages
    assert (message.topic, message.route, message.gateway) == (
        f"{root}/sightings",
        Route.SIGHTINGS,
        "gw-1",
    )
    assert abs((message.received_at - server_now).total_seconds()) < WAIT_S
    assert (counts.messages, counts.received, counts.dropped) == (1, {"sightings": 1}, {})


def test_when_the_process_falls_behind_the_oldest_are_dropped_and_counted(
    mqtt_broker: tuple[str, int], publish: paho.Client
) -> None:
    site_id = f"t-{uuid.uuid4().hex[:10]}"
    feed = feed_for(mqtt_broker, site_id, queue_limit=2)
    watch = Watch()
    feed.start(watch.wake, watch.on_state)
    try:
        assert watch.subscribed.wait(WAIT_S), watch.states
        topic = f"duress-test/{site_id}/gw/gw-1/sightings"
        for n in range(6):
            publish.publish(topic, dumps({"n": n})).wait_for_publish()
        deadline = time.monotonic() + WAIT_S
        while feed.received < 6 and time.monotonic() < deadline:  # nobody takes meanwhile
            watch.woken.wait(0.01)
        messages, counts = take_until(feed, watch, 2)
    finally:
        feed.stop()
    assert [m.payload for m in messages] == [dumps({"n": 4}), dumps({"n": 5})]
    assert counts.received == {"sightings": 6}
    assert counts.dropped == {"sightings": 4}


def test_it_travels_to_the_process_without_its_connection(
    mqtt_broker: tuple[str, int],
) -> None:
    feed = feed_for(mqtt_broker, "t-pickle", keys={"gw-1": b"k"})
    watch = Watch()
    feed.start(watch.wake, watch.on_state)
    try:
        copy = pickle.loads(pickle.dumps(feed))
    finally:
        feed.stop()
    assert copy.waiting == 0
    assert (copy.client_id, copy.keys, copy.mapping) == (
        "feed-t-pickle",
        {"gw-1": b"k"},
        feed.mapping,
    )
