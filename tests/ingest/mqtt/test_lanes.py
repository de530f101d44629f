from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from duress.domain.observations import Observation
from duress.ingest.mqtt import MqttIngest
from duress.ingest.mqtt.lanes import Inbound, Lanes
from duress.ingest.mqtt.topics import Route
from duress.service.runtime import IngestOutcome

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def inbound(route: Route, n: int) -> Inbound:
    return Inbound(f"t/{n}", str(n).encode(), route, "gw-1", NOW)


async def test_a_full_bulk_lane_drops_its_oldest_and_counts_them() -> None:
    dropped: list[Inbound] = []
    lanes = Lanes(bulk_limit=3, on_drop=dropped.append)
    for n in range(5):
        lanes.put(inbound(Route.SIGHTINGS, n))
    assert [m.payload for m in dropped] == [b"0", b"1"]
    assert lanes.dropped == 2
    assert [m.payload for m in await lanes.bulk(10)] == [b"2", b"3", b"4"]


async def test_buttons_are_never_dropped() -> None:
    lanes = Lanes(bulk_limit=1)
    for n in range(1000):
        lanes.put(inbound(Route.BUTTONS, n))
    assert len(await lanes.buttons()) == 1000
    assert lanes.dropped == 0


async def test_bulk_takes_at_most_the_limit_oldest_first() -> None:
    lanes = Lanes()
    for n in range(10):
        lanes.put(inbound(Route.HEARTBEATS, n))
    assert [m.payload for m in await lanes.bulk(4)] == [b"0", b"1", b"2", b"3"]
    assert lanes.bulk_waiting == 6


class RecordingTarget:
    """Stands in for the runtime: records each ingest call's observation types, accepts all."""

    def __init__(self) -> None:
        from tests.sites import small_site

        from duress.service.metrics import Metrics
        from duress.testing import FakeClock

        self.site = small_site()
        self.clock = FakeClock()
        self.metrics = Metrics()
        self.calls: list[list[str]] = []

    async def ingest(self, messages: Sequence[tuple[int, Observation]]) -> IngestOutcome:
        self.calls.append([type(o).__name__ for _, o in messages])
        return IngestOutcome(accepted=len(messages))


async def test_a_press_overtakes_a_backlog_of_50000_sightings() -> None:
    target = RecordingTarget()
    ingest = MqttIngest(target, url="mqtt://127.0.0.1:1", site_id="s", bulk_limit=100_000)
    ts = target.clock.now().isoformat()
    sighting = json.dumps(
        {"type": "sighting", "ts": ts, "badge": "b-1", "device": "ir-icu-1", "kind": "ir"}
    ).encode()
    button = json.dumps({"type": "button", "ts": ts, "badge": "b-1", "seq": 1, "presses": 3})
    for _ in range(50_000):
        ingest.lanes.put(Inbound("s/gw/gw-1/sightings", sighting, Route.SIGHTINGS, "gw-1", NOW))
    ingest.lanes.put(Inbound("s/gw/gw-1/buttons", button.encode(), Route.BUTTONS, "gw-1", NOW))
    worker = asyncio.create_task(ingest.process())
    try:
        await ingest.wait_until(lambda: ingest.stats.messages == 50_001, timeout=60)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert target.calls[0] == ["ButtonEvent"]
    assert sum(len(c) for c in target.calls[1:]) == 50_000
    assert max(len(c) for c in target.calls[1:]) <= ingest.batch_size


async def test_when_the_bulk_lane_overflows_the_oldest_sightings_are_dropped_and_counted() -> None:
    target = RecordingTarget()
    ingest = MqttIngest(target, url="mqtt://127.0.0.1:1", site_id="s", bulk_limit=1000)
    for n in range(1500):
        ingest.lanes.put(Inbound("t", str(n).encode(), Route.SIGHTINGS, "gw-1", NOW))
    assert ingest.lanes.dropped == 500
    assert ingest.metrics.dropped.labels("sightings")._value.get() == 500
    assert (await ingest.lanes.bulk(1))[0].payload == b"500"
