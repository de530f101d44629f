from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from tests.sites import small_site

from duress.domain.events import BadgeMoved, DeviceCameOnline, DeviceWentSilent, StoredEvent
from duress.domain.location_params import LocationParams
from duress.domain.observations import ButtonEvent, Heartbeat, Sighting, SightingKind
from duress.service.engine_locator import EngineLocator
from duress.service.runtime import Runtime
from duress.testing import FakeClock, MemoryStore


class RecordingLocator:
    """Moves a badge to the area of every IR device it sees; records what it was given."""

    params = LocationParams(ble_grid_timer=False)  # no location timer: advance() only per batch

    def __init__(self) -> None:
        self.seen: list[Sighting] = []
        self.areas: dict[str, str] = {}
        self.advanced: list[datetime] = []
        self.heartbeats: list[str] = []
        self.due: list[BadgeMoved] = []
        """Moves the engine's timer would find (handed out by the next ``advance``)."""

    def observe(self, sighting: Sighting, now: datetime) -> BadgeMoved | None:
        self.seen.append(sighting)
        area = {"ir-icu-1": "icu-1", "ir-icu-2": "icu-2"}.get(sighting.device)
        if area is None or self.areas.get(sighting.badge) == area:
            return None
        self.areas[sighting.badge] = area
        return BadgeMoved(
            ts=sighting.ts,
            badge=sighting.badge,
            floor="f1",
            unit="icu",
            area=area,
            precision="room",
            confidence=0.99,
            since=sighting.ts,
        )

    def heartbeat(self, device: str, ts: datetime) -> None:
        self.heartbeats.append(device)

    def advance(self, now: datetime) -> list[BadgeMoved]:
        self.advanced.append(now)
        due, self.due = self.due, []
        return due

    def where(self, badge: str, now: datetime) -> Mapping[str, Any] | None:
        area = self.areas.get(badge)
        return {"area": area} if area else None

    def snapshot(self, now: datetime) -> Mapping[str, Mapping[str, Any]]:
        return {b: {"area": a} for b, a in self.areas.items()}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def runtime(clock: FakeClock, store: MemoryStore):
    rt = Runtime(
        site=small_site(), store=store, clock=clock, locator=RecordingLocator(), inline_store=True
    )
    await rt.start()
    yield rt
    if rt.started:
        await rt.stop()


async def first_event(runtime: Runtime, event_type: str) -> StoredEvent:
    async for event in runtime.hub.listen():
        if event.type == event_type:
            return event
    raise AssertionError(f"the hub closed before any {event_type}")


def press(clock: FakeClock, badge: str = "b-1", seq: int = 1) -> ButtonEvent:
    return ButtonEvent(ts=clock.now(), badge=badge, seq=seq, presses=3)


def ir(clock: FakeClock, device: str, badge: str = "b-1") -> Sighting:
    return Sighting(ts=clock.now(), badge=badge, device=device, kind=SightingKind.IR)


async def test_a_press_is_stored_before_ingest_returns(runtime: Runtime, store, clock) -> None:
    outcome = await runtime.ingest([(0, press(clock))])
    assert outcome.accepted == 1
    assert outcome.rejected == []
    [stored] = store.read(types=["button.pressed"])
    assert stored.payload["staff"] == "n-1"
    assert stored.payload["received_at"] == clock.now().isoformat()
    assert outcome.stored[0].seq == stored.seq


async def test_a_resent_press_is_acknowledged_but_stored_once(
    runtime: Runtime, store, clock
) -> None:
    await runtime.ingest([(0, press(clock))])
    outcome = await runtime.ingest([(0, press(clock)), (1, press(clock, seq=2))])
    assert outcome.accepted == 2
    assert outcome.duplicates == 1
    assert [e.payload["seq"] for e in store.read(types=["button.pressed"])] == [1, 2]


async def test_resends_are_still_recognised_after_a_restart(store, clock) -> None:
    first = Runtime(
        site=small_site(), store=store, clock=clock, locator=RecordingLocator(), inline_store=True
    )
    await first.start()
    await first.ingest([(0, press(clock))])
    await first.scheduler.stop()  # a crash: the store survives, the process does not
    second = Runtime(
        site=small_site(), store=store, clock=clock, locator=RecordingLocator(), inline_store=True
    )
    await second._replay()
    outcome = await second.ingest([(0, press(clock))])
    assert outcome.duplicates == 1
    assert len(store.read(types=["button.pressed"])) == 1


async def test_moves_the_engines_timer_finds_are_recorded_after_each_batch(
    runtime: Runtime, store, clock
) -> None:
    locator = runtime.locator
    assert isinstance(locator, RecordingLocator)
    locator.due.append(
        BadgeMoved(
            ts=clock.now(),
            badge="b-2",
            floor="f1",
            unit="icu",
            area="icu-2",
            precision="zone",
            confidence=0.6,
            since=clock.now(),
        )
    )
    await runtime.ingest([(0, ir(clock, "ir-icu-1"))])  # a batch of another badge's sighting
    assert locator.advanced == [clock.now()]
    moves = store.read(types=["badge.moved"])
    assert [(m.payload["badge"], m.payload["area"]) for m in moves] == [
        ("b-1", "icu-1"),
        ("b-2", "icu-2"),
    ]


async def test_a_fixed_devices_heartbeat_reaches_the_locator(runtime: Runtime, clock) -> None:
    locator = runtime.locator
    assert isinstance(locator, RecordingLocator)
    await runtime.ingest([(0, Heartbeat(ts=clock.now(), device="ir-icu-1"))])
    assert locator.heartbeats == ["ir-icu-1"]  # IR supervision in the engine


async def test_a_press_from_an_unassigned_badge_is_still_stored(runtime, store, clock) -> None:
    await runtime.ingest([(0, press(clock, badge="b-spare")), (1, press(clock, badge="b-nobody"))])
    stored = store.read(types=["button.pressed"])
    assert [(e.subject.id, e.payload["staff"]) for e in stored] == [
        ("b-spare", None),
        ("b-nobody", None),
    ]


async def test_presses_are_committed_before_the_sightings_of_the_same_batch(
    runtime, store, clock
) -> None:
    await runtime.ingest([(0, ir(clock, "ir-icu-1")), (1, press(clock))])
    types = [e.type for e in store.read()]
    assert types.index("button.pressed") < types.index("device.online") < types.index("badge.moved")


async def test_bad_messages_are_rejected_with_reasons_and_good_ones_kept(runtime, clock) -> None:
    future = ButtonEvent(ts=clock.now() + timedelta(minutes=5), badge="b-1", seq=9)
    outcome = await runtime.ingest(
        [
            (0, ir(clock, "ir-icu-1", badge="b-ghost")),
            (1, ir(clock, "ir-nowhere")),
            (2, Heartbeat(ts=clock.now(), device="ir-nowhere")),
            (3, future),
            (4, ir(clock, "ir-icu-2")),
        ]
    )
    reasons = {r.index: r.reason for r in outcome.rejected}
    assert reasons == {
        0: "unknown_badge",
        1: "unknown_device",
        2: "unknown_device",
        3: "future_timestamp",
    }
    assert "people.badges" in outcome.rejected[0].detail
    assert "NTP" in outcome.rejected[3].detail
    assert outcome.accepted == 1
    assert runtime.locator.seen[-1].device == "ir-icu-2"
    metrics = runtime.metrics.registry.get_sample_value(
        "duress_ingest_rejected_total", {"reason": "unknown_device"}
    )
    assert metrics == 2


async def test_a_silent_device_is_reported_after_two_missed_intervals(
    runtime: Runtime, store, clock
) -> None:
    await runtime.ingest([(0, Heartbeat(ts=clock.now(), device="gw-1", battery=90.0))])
    assert [e.type for e in store.read()] == ["device.online"]
    await clock.advance(100)
    await runtime.ingest([(0, Heartbeat(ts=clock.now(), device="gw-1"))])
    await clock.advance(119)
    assert [e.type for e in store.read()] == ["device.online"]
    silence = asyncio.create_task(first_event(runtime, "device.silent"))
    await asyncio.sleep(0)
    await clock.advance(2)
    silent = await asyncio.wait_for(silence, 2)  # the write happens on the writer thread
    assert [e.seq for e in store.read(types=["device.silent"])] == [silent.seq]
    assert silent.subject.id == "gw-1"
    assert silent.payload["silent_s"] == pytest.approx(120.0)  # run at the deadline


async def test_a_device_heard_again_after_silence_is_supervised_again(
    runtime: Runtime, store, clock
) -> None:
    await runtime.ingest([(0, Heartbeat(ts=clock.now(), device="gw-1"))])
    silence = asyncio.create_task(first_event(runtime, "device.silent"))
    await asyncio.sleep(0)
    await clock.advance(121)
    await asyncio.wait_for(silence, 2)
    await runtime.ingest([(0, Heartbeat(ts=clock.now(), device="gw-1"))])
    devices = store.read(types=["device.online", "device.silent"])
    assert [e.type for e in devices] == ["device.online", "device.silent", "device.online"]
    assert runtime.scheduler.due_at("supervise:gw-1") == clock.now() + timedelta(seconds=120)
    again = asyncio.create_task(first_event(runtime, "device.silent"))
    await asyncio.sleep(0)
    await clock.advance(121)
    assert (await asyncio.wait_for(again, 2)).subject.id == "gw-1"


async def test_committed_events_reach_live_listeners(runtime: Runtime, clock) -> None:
    got: list[str] = []

    async def listen() -> None:
        async for event in runtime.hub.listen():
            got.append(event.type)
            if len(got) == 1:
                return

    task = asyncio.create_task(listen())
    await asyncio.sleep(0)
    await runtime.ingest([(0, press(clock))])
    await asyncio.wait_for(task, 1)
    assert got == ["button.pressed"]


async def test_readiness_names_what_is_down(clock, store) -> None:
    async def broker_down() -> None:
        raise OSError("MQTT broker at 127.0.0.1:1 is not reachable")

    rt = Runtime(
        site=small_site(),
        store=store,
        clock=clock,
        locator=RecordingLocator(),
        probes={"broker": broker_down},
    )
    checks = await rt.readiness()
    assert checks == {"store": "ok", "broker": "MQTT broker at 127.0.0.1:1 is not reachable"}


class HeldStore(MemoryStore):
    """A store whose appends wait (on the writer thread) until the test lets them through."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def append(self, events, *, timers=None):  # type: ignore[no-untyped-def]
        self.entered.set()
        self.release.wait(5)
        return super().append(events, timers=timers)


async def test_sightings_wait_while_a_press_is_being_committed(clock: FakeClock) -> None:
    store = HeldStore()
    locator = RecordingLocator()
    rt = Runtime(site=small_site(), store=store, clock=clock, locator=locator)
    await rt.start()
    try:
        committing = asyncio.create_task(rt.ingest([(0, press(clock))]))
        await asyncio.to_thread(store.entered.wait, 5)  # the press is on the writer thread now
        sightings = asyncio.create_task(rt.ingest([(0, ir(clock, "ir-icu-1"))]))
        for _ in range(20):
            await asyncio.sleep(0)
        assert locator.seen == []  # held back behind the press's commit
        store.release.set()
        outcome = await asyncio.wait_for(committing, 5)
        assert outcome.accepted == 1
        assert (await asyncio.wait_for(sightings, 5)).accepted == 1
        assert [s.device for s in locator.seen] == ["ir-icu-1"]
    finally:
        store.release.set()
        await rt.stop()


async def test_sightings_stay_held_a_moment_after_a_press_so_its_notices_go_first(
    clock: FakeClock,
) -> None:
    locator = RecordingLocator()
    rt = Runtime(site=small_site(), store=MemoryStore(), clock=clock, locator=locator)
    await rt.start()
    try:
        await rt.ingest([(0, press(clock))])
        sightings = asyncio.create_task(rt.ingest([(0, ir(clock, "ir-icu-1"))]))
        await asyncio.sleep(0)
        assert locator.seen == []  # the grace after the commit (HANDOFF_GRACE_S of real time)
        assert (await asyncio.wait_for(sightings, 2)).accepted == 1
        assert [s.device for s in locator.seen] == ["ir-icu-1"]
    finally:
        await rt.stop()


async def test_an_ir_monitor_silent_before_a_restart_is_offline_in_the_engine_at_once(
    clock: FakeClock,
) -> None:
    store = MemoryStore()
    seen = clock.now()
    store.append(
        [
            DeviceCameOnline(ts=seen, device="ir-icu-1").to_record(),
            DeviceWentSilent(
                ts=seen + timedelta(seconds=600), device="ir-icu-1", last_seen=seen, silent_s=600
            ).to_record(),
        ]
    )
    await clock.advance(3600)  # the server was down meanwhile
    locator = EngineLocator(small_site())
    rt = Runtime(site=small_site(), store=store, clock=clock, locator=locator, inline_store=True)
    await rt.start()
    try:
        await rt.ingest([(0, ir(clock, "ir-icu-2"))])  # the first batch runs the engine's timer
        assert locator.engine.ir_offline == frozenset({"icu-1"})
    finally:
        await rt.stop()
