"""Supervision at run time, with a fake clock and an in-memory store: trouble alerts for engineering,
gateways' last wills, batteries, stuck buttons, badges not seen and the daily synthetic test."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from prometheus_client import generate_latest
from tests.sites import routed_site

from duress.domain.alert import AlertState
from duress.domain.device_health import DeviceStatus
from duress.domain.events import StoredEvent
from duress.domain.notification import Notice
from duress.domain.observations import ButtonEvent, Heartbeat, Sighting, SightingKind
from duress.domain.people import Contact, Staff, Team
from duress.domain.routing import Policy, Target, TargetKind, Tier
from duress.domain.site import Site
from duress.domain.supervision import SupervisionRules, SyntheticTest
from duress.ingest.codecs import native
from duress.service.bootstrap import build_runtime
from duress.service.runtime import Runtime
from duress.testing import FakeClock, MemoryStore, RecordingNotifier


class LastingStore(MemoryStore):
    """An in-memory store that outlives its runtime (closing it keeps the rows): a restart."""

    def close(self) -> None:
        pass


TROUBLE_POLICY = Policy(
    "engineering",
    "Engineering trouble",
    kinds=("trouble",),
    tiers=(Tier((Target(TargetKind.TEAM, "engineering"),), 1800.0),),
)


def supervised_site(*, trouble_policy: bool = True, **rules: Any) -> Site:
    """The routed test site with an engineering team and a ``trouble`` policy."""
    site = routed_site()
    engineer = Staff(
        "e-1", "Ed Volt", "clinical_engineer", contacts=(Contact("email", "ed@example.org"),)
    )
    teams = {**site.teams, "engineering": Team("engineering", "Engineering", ("e-1",))}
    policies = (*site.policies, TROUBLE_POLICY) if trouble_policy else site.policies
    return replace(
        site,
        staff={**site.staff, "e-1": engineer},
        teams=teams,
        policies=policies,
        supervision=SupervisionRules(**rules),
    )


class Plant:
    """A runtime on the supervised site; notices recorded per channel."""

    def __init__(
        self, site: Site, clock: FakeClock | None = None, store: MemoryStore | None = None
    ) -> None:
        self.clock = clock or FakeClock()
        self.store = store or LastingStore()
        self.journal: list[Notice] = []
        ids = itertools.count(1)
        self.runtime: Runtime = build_runtime(
            site,
            store=self.store,
            clock=self.clock,
            notifiers=[
                RecordingNotifier(c, journal=self.journal)
                for c in ("wctp", "sms", "email", "dashboard")
            ],
            new_alert_id=lambda: f"a-{next(ids)}",
            inline_store=True,
        )
        self.seq = itertools.count(1)

    async def start(self) -> None:
        await self.runtime.start()
        await self.settle()  # the scheduler is asleep on the clock before time moves

    async def settle(self) -> None:
        await self.clock.advance(0)
        s = self.runtime.supervision
        await s.wait_until(lambda: s._last_seq >= self.store.last_seq())
        await self.clock.advance(0)

    async def beat(self, device: str, battery: float | None = None) -> None:
        await self.runtime.ingest([(0, Heartbeat(self.clock.now(), device, battery, "gw-1"))])
        await self.settle()

    async def press(self, badge: str = "b-1", hold_s: float = 0.0, presses: int = 3) -> None:
        event = ButtonEvent(
            self.clock.now(), badge, next(self.seq), presses=presses, hold_s=hold_s, gateway="gw-1"
        )
        await self.runtime.ingest([(0, event)])
        await self.settle()

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)
        await self.settle()

    def events(self, *types: str) -> list[StoredEvent]:
        return [e for e in self.store.read() if not types or e.type in types]

    def troubles(self) -> list[Any]:
        return [a for a in self.runtime.alerts.alerts.values() if a.kind == "trouble"]

    def paged(self) -> list[str]:
        return [f"{n.recipient}@{n.channel}" for n in self.journal if n.phase.value == "start"]


@pytest.fixture
async def plant() -> AsyncIterator[Plant]:
    p = Plant(supervised_site())
    await p.start()
    yield p
    await p.runtime.stop()


async def test_a_silent_device_raises_a_trouble_alert_for_engineering_that_resolves_itself(
    plant: Plant,
) -> None:
    await plant.beat("ir-icu-1")
    await plant.advance(601)  # two 300 s intervals
    [silent] = plant.events("device.silent")
    assert silent.subject.id == "ir-icu-1"
    [trouble] = plant.troubles()
    assert (trouble.kind, trouble.mode, trouble.priority) == ("trouble", "real", 5)
    assert trouble.badge == "device:ir-icu-1"
    assert trouble.unit == "icu"
    assert trouble.policy is not None
    assert trouble.policy.id == "engineering"
    assert trouble.state is AlertState.NOTIFIED
    assert plant.paged() == ["e-1@email"]  # engineering only: no clinical responder
    assert plant.journal[0].subject.startswith("TROUBLE IR monitor ir-icu-1 silent")
    assert "room" not in trouble.location  # so no press in ICU 1 ever joins it

    await plant.advance(60)
    assert len(plant.troubles()) == 1  # one open trouble per device and trouble
    await plant.beat("ir-icu-1")
    [trouble] = plant.troubles()
    assert trouble.state is AlertState.RESOLVED
    assert trouble.closed_by == "supervision"


async def test_trouble_never_takes_a_clinical_policy() -> None:
    plant = Plant(supervised_site(trouble_policy=False))
    await plant.start()
    try:
        await plant.beat("ir-icu-1")  # in the ICU, whose policy names no kinds
        await plant.advance(601)
        [trouble] = plant.troubles()
        assert trouble.policy is None
        assert trouble.undelivered == "no routing policy applies"
        assert plant.paged() == []
    finally:
        await plant.runtime.stop()


async def test_a_press_in_the_room_of_a_device_in_trouble_raises_its_own_duress_alert(
    plant: Plant,
) -> None:
    await plant.beat("ir-icu-1")
    await plant.advance(601)
    for _ in range(3):
        await plant.runtime.ingest(
            [(0, Sighting(plant.clock.now(), "b-1", "ir-icu-1", SightingKind.IR))]
        )
        await plant.clock.advance(1)
    await plant.press("b-1")
    duress = [a for a in plant.runtime.alerts.alerts.values() if a.kind != "trouble"]
    assert [a.badge for a in duress] == ["b-1"]
    assert duress[0].policy is not None
    assert duress[0].policy.id == "icu"


async def test_a_gateways_last_will_marks_its_devices_unsupervised_at_once(plant: Plant) -> None:
    for device in ("gw-1", "ir-icu-1", "ir-icu-2"):
        await plant.beat(device)
    runtime = plant.runtime
    await runtime.gateway_status("gw-1", False, plant.clock.now())
    await plant.settle()
    [offline] = plant.events("gateway.offline")
    assert offline.payload["devices"] == ["ir-icu-1", "ir-icu-2", "em-bay-1"]
    assert runtime.health.state("gw-1").status is DeviceStatus.OFFLINE
    assert runtime.health.state("ir-icu-1").status is DeviceStatus.UNSUPERVISED
    assert runtime.supervision.device_fields("ir-icu-1")["supervised"] is False
    [trouble] = plant.troubles()
    assert trouble.badge == "device:gw-1"
    # The retained last will comes again (a restart of the consumer): nothing new.
    await runtime.gateway_status("gw-1", False, plant.clock.now())
    await plant.advance(900)  # far past every interval: no device is reported silent
    assert plant.events("device.silent") == []
    assert len(plant.troubles()) == 1
    metrics = generate_latest(runtime.metrics.registry).decode()
    assert 'duress_devices{status="unsupervised"} 3.0' in metrics
    assert (
        'duress_device_supervised{device="ir-icu-1",kind="ir_monitor",status="unsupervised"} 0.0'
        in metrics
    )

    await runtime.gateway_status("gw-1", True, plant.clock.now())
    await plant.settle()
    [online] = plant.events("gateway.online")
    assert online.payload["offline_s"] == 900
    assert runtime.health.state("ir-icu-1").status is DeviceStatus.ONLINE
    assert plant.troubles()[0].state is AlertState.RESOLVED
    await plant.advance(601)  # silence is counted again from the gateway's return
    assert {e.subject.id for e in plant.events("device.silent")} >= {"ir-icu-1", "ir-icu-2"}


async def test_low_battery_warns_first_then_raises_trouble_and_clears_on_a_new_battery(
    plant: Plant,
) -> None:
    await plant.beat("ble-corr", battery=60)
    await plant.beat("ble-corr", battery=22)
    await plant.beat("ble-corr", battery=21)
    assert [e.payload["level"] for e in plant.events("device.battery")] == ["warning"]
    assert plant.troubles() == []
    await plant.beat("ble-corr", battery=9)
    [trouble] = plant.troubles()
    assert trouble.location["trouble"] == "battery_low"
    assert plant.runtime.supervision.device_fields("ble-corr")["troubles"] == ["battery_low"]
    await plant.beat("ble-corr", battery=12)  # a wobble: still low
    assert plant.troubles()[0].is_open
    await plant.beat("ble-corr", battery=100)
    assert [e.payload["level"] for e in plant.events("device.battery")] == ["warning", "low", "ok"]
    assert plant.troubles()[0].state is AlertState.RESOLVED


async def test_a_badges_battery_comes_from_its_heartbeats(plant: Plant) -> None:
    await plant.beat("b-1", battery=8)
    [event] = plant.events("badge.battery")
    assert (event.payload["badge"], event.payload["level"]) == ("b-1", "low")
    [trouble] = plant.troubles()
    assert trouble.badge == "badge:b-1"
    assert plant.runtime.badge_watch.gateway_of("b-1") == "gw-1"


async def test_a_stuck_button_is_reported_once_and_the_presses_still_alert(plant: Plant) -> None:
    await plant.press("b-1", hold_s=90.0, presses=1)
    [stuck] = plant.events("button.stuck")
    assert stuck.payload["reason"] == "hold"
    troubles = plant.troubles()
    assert [t.location["trouble"] for t in troubles] == ["stuck_button"]
    duress = [a for a in plant.runtime.alerts.alerts.values() if a.kind != "trouble"]
    assert len(duress) == 1  # the hold is still a security alert
    for _ in range(12):
        await plant.press("b-2")
        await plant.clock.advance(5)
    assert [e.payload["reason"] for e in plant.events("button.stuck")] == ["hold", "repeating"]


async def test_badges_not_seen_for_the_threshold_are_reported_once() -> None:
    plant = Plant(supervised_site(badge_not_seen_h=2.0))
    await plant.start()
    try:
        await plant.runtime.ingest(
            [(0, Sighting(plant.clock.now(), "b-1", "ir-icu-1", SightingKind.IR, gateway="gw-1"))]
        )
        await plant.advance(1.5 * 3600)
        await plant.runtime.ingest(
            [(0, Sighting(plant.clock.now(), "b-2", "ir-icu-1", SightingKind.IR, gateway="gw-1"))]
        )
        await plant.advance(0.5 * 3600)  # the sweep at 2 h
        reported = [e.payload for e in plant.events("badge.not_seen")]
        assert "b-1" in [r["badge"] for r in reported]
        assert "b-2" not in [r["badge"] for r in reported]  # seen half an hour ago
        [b1] = [r for r in reported if r["badge"] == "b-1"]
        assert (b1["hours"], b1["staff"]) == (2.0, "n-1")
        never = [r for r in reported if r["badge"] == "b-spare"]
        assert never[0]["last_seen"] is None  # not heard since the server started
        assert plant.runtime.badge_watch.not_seen() == sorted(r["badge"] for r in reported)
        await plant.advance(3600)
        assert len(plant.events("badge.not_seen")) == len(reported)  # once each
        await plant.advance(3600)
        assert "b-2" in [e.payload["badge"] for e in plant.events("badge.not_seen")]
        metrics = generate_latest(plant.runtime.metrics.registry).decode()
        assert f"duress_badges_not_seen {len(reported) + 1}.0" in metrics
    finally:
        await plant.runtime.stop()


# --- the daily synthetic test ---------------------------------------------------------------------


class LoopbackInjector:
    """Plays the broker and the consumer: decodes the native press and ingests it (``drop`` loses
    it on the way, ``fail`` cannot publish)."""

    def __init__(self, runtime: Runtime, *, drop: bool = False, fail: bool = False) -> None:
        self.runtime = runtime
        self.drop = drop
        self.fail = fail
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def inject(self, gateway: str, payload: bytes) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.published.append((gateway, json.loads(payload)))
        if not self.drop:
            await self.runtime.ingest([(0, native.decode_object(json.loads(payload)))])


def synthetic_site() -> Site:
    return supervised_site(synthetic=SyntheticTest(time(3, 30), "b-test", "gw-1", 30.0))


async def started(injector_options: dict[str, Any]) -> tuple[Plant, LoopbackInjector]:
    plant = Plant(synthetic_site(), FakeClock(datetime(2026, 1, 5, 3, 29, tzinfo=UTC)))
    injector = LoopbackInjector(plant.runtime, **injector_options)
    plant.runtime.supervision.injector = injector
    await plant.start()
    return plant, injector


async def test_the_daily_synthetic_test_runs_at_its_time_and_passes() -> None:
    plant, injector = await started({})  # Monday 03:29 UTC, the test is due at 03:30
    try:
        due = plant.runtime.scheduler.due_at("supervision:synthetic")
        assert due == datetime(2026, 1, 5, 3, 30, tzinfo=UTC)
        await plant.advance(59)
        assert injector.published == []
        await plant.advance(1)
        [(gateway, press)] = injector.published
        assert (gateway, press["badge"], press["type"]) == ("gw-1", "b-test", "button")
        [passed] = plant.events("synthetic.passed")
        assert passed.payload["gateway"] == "gw-1"
        assert passed.payload["path_s"] >= 0
        test_alert = plant.runtime.alerts.alerts[passed.payload["alert"]]
        assert test_alert.mode == "test"
        assert test_alert.state is AlertState.RESOLVED  # closed once it has proved the path
        assert plant.paged() == ["x-1@email"]  # the test recipient (admins), nobody else
        assert plant.runtime.supervision.device_fields("gw-1")["synthetic"]["passed"] is True
        metrics = generate_latest(plant.runtime.metrics.registry).decode()
        assert "duress_synthetic_passed 1.0" in metrics
        # and again the next day
        assert plant.runtime.scheduler.due_at("supervision:synthetic") == due + timedelta(days=1)
    finally:
        await plant.runtime.stop()


async def test_a_synthetic_press_lost_on_the_way_fails_at_the_deadline_and_raises_trouble() -> None:
    plant, injector = await started({"drop": True})
    try:
        await plant.runtime.supervision.run_synthetic()
        await plant.advance(29)
        assert plant.events("synthetic.failed") == []
        await plant.advance(2)
        [failed] = plant.events("synthetic.failed")
        assert failed.payload["stage"] == "injected"
        assert failed.payload["deadline_s"] == 30.0
        [trouble] = plant.troubles()
        assert trouble.badge == "site:synthetic"
        assert plant.paged() == ["e-1@email"]
        assert (
            "duress_synthetic_passed 0.0"
            in generate_latest(plant.runtime.metrics.registry).decode()
        )
        injector.drop = False
        await plant.runtime.supervision.run_synthetic()
        await plant.settle()
        assert len(plant.events("synthetic.passed")) == 1
        assert plant.troubles()[0].state is AlertState.RESOLVED
    finally:
        await plant.runtime.stop()


async def test_a_synthetic_press_that_cannot_be_published_fails_at_once() -> None:
    plant, _ = await started({"fail": True})
    try:
        await plant.runtime.supervision.run_synthetic()
        await plant.settle()
        [failed] = plant.events("synthetic.failed")
        assert (failed.payload["stage"], failed.payload["detail"]) == (
            "publish",
            "broker unreachable",
        )
        assert len(plant.troubles()) == 1
    finally:
        await plant.runtime.stop()


async def test_open_troubles_survive_a_restart_and_are_not_raised_twice() -> None:
    plant = Plant(supervised_site())
    await plant.start()
    await plant.beat("ir-icu-1")
    await plant.advance(601)
    assert len(plant.troubles()) == 1
    await plant.runtime.stop()  # a restart of the process, on the same store
    again = Plant(supervised_site(), clock=plant.clock, store=plant.store)
    await again.start()
    try:
        assert [a.kind for a in again.runtime.alerts.open_alerts()] == ["trouble"]
        assert len(again.runtime.supervision.open_troubles()) == 1
        await again.beat("ir-icu-1")
        assert again.troubles()[0].state is AlertState.RESOLVED
    finally:
        await again.runtime.stop()
