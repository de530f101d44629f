"""Scenario tests of the alert desk, in the style of GoAlert's smoke tests: a fake clock is moved
forward instead of waiting, and recording notifiers show who was paged, when."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from tests.sites import routed_site

from duress.domain.alert import Action, AlertState
from duress.domain.errors import IllegalTransition, InvalidMessage
from duress.domain.notification import DeliveryStatus, DeliveryUpdate, Notice, Receipt, Reply
from duress.domain.observations import ButtonEvent, Sighting, SightingKind
from duress.domain.routing import StopOn
from duress.domain.site import Site
from duress.service.bootstrap import build_runtime
from duress.service.runtime import Runtime
from duress.testing import FakeClock, MemoryStore, RecordingNotifier


class HangingNotifier(RecordingNotifier):
    """Records the notice, then never answers (a pager gateway that accepted the TCP connection)."""

    async def send(self, notice: Notice) -> Receipt:
        await super().send(notice)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class Hospital:
    """A runtime on the routed test site, with a recording notifier per channel."""

    def __init__(
        self,
        site: Site,
        store: MemoryStore | None = None,
        clock: FakeClock | None = None,
        *,
        hang: bool = False,
    ):
        self.clock = clock or FakeClock()
        self.store = store or MemoryStore()
        self.journal: list[Notice] = []
        self.channels = {
            c: RecordingNotifier(c, journal=self.journal)
            for c in ("wctp", "sms", "email", "dashboard")
        }
        if hang:
            self.channels["wctp"] = HangingNotifier("wctp", self.journal)
        ids = itertools.count(1)
        self.runtime: Runtime = build_runtime(
            site,
            store=self.store,
            clock=self.clock,
            notifiers=self.channels.values(),
            new_alert_id=lambda: f"a-{next(ids)}",
            inline_store=True,
        )
        self.seq = itertools.count(1)

    async def press(self, badge: str = "b-1", presses: int = 3, hold_s: float = 0.0) -> None:
        event = ButtonEvent(
            ts=self.clock.now(), badge=badge, seq=next(self.seq), presses=presses, hold_s=hold_s
        )
        await self.runtime.ingest([(0, event)])
        await self.clock.advance(0)  # let the delivery tasks run

    async def see(self, badge: str, device: str, times: int = 3) -> None:
        for _ in range(times):
            sighting = Sighting(
                ts=self.clock.now(), badge=badge, device=device, kind=SightingKind.IR
            )
            await self.runtime.ingest([(0, sighting)])
            await self.clock.advance(1)

    def paged(self) -> list[str]:
        """Everyone paged at the start of a tier so far, in order, as ``recipient@channel``."""
        return [f"{n.recipient}@{n.channel}" for n in self.journal if n.phase.value == "start"]

    def types(self) -> list[str]:
        return [e.type for e in self.store.read()]

    @property
    def desk(self):
        return self.runtime.alerts


@pytest.fixture
async def hospital() -> AsyncIterator[Hospital]:
    h = Hospital(routed_site())
    await h.runtime.start()
    yield h
    await h.runtime.stop()


async def test_a_press_pages_tier_one_within_the_same_commit(hospital: Hospital) -> None:
    await hospital.see("b-1", "ir-icu-1")
    await hospital.see("b-3", "ir-icu-2")  # the security officer is next door
    await hospital.press("b-1")
    [alert] = hospital.desk.open_alerts()
    assert alert.state is AlertState.NOTIFIED
    assert alert.unit == "icu"
    assert alert.policy is not None
    assert alert.policy.id == "icu"
    assert sorted(hospital.paged()) == ["n-2@wctp", "s-1@wctp"]
    types = hospital.types()
    # press, "sent", raised, "received" and tier 1 are one transaction: consecutive events
    start = types.index("button.pressed")
    assert types[start : start + 5] == [
        "button.pressed",
        "badge.signalled",
        "alert.raised",
        "badge.signalled",
        "alert.notified",
    ]
    assert "notice.status" in types  # the channels' receipts are on the timeline


async def test_nobody_accepts_so_tier_two_goes_out_after_thirty_seconds(hospital: Hospital) -> None:
    await hospital.press("b-1")
    assert hospital.paged() == ["n-2@wctp"]  # nobody located: no nearest responder
    await hospital.clock.advance(29)
    assert hospital.paged() == ["n-2@wctp"]
    await hospital.clock.advance(1)
    paged = hospital.paged()
    assert sorted(paged[1:]) == ["s-1@wctp", "s-2@sms", "security@dashboard"]
    await hospital.clock.advance(60)
    assert paged[-1] != "h-1@email"
    assert hospital.paged()[-1] == "h-1@email"
    await hospital.clock.advance(120)  # tier 3 repeats once
    assert hospital.paged().count("h-1@email") == 2
    await hospital.clock.advance(120)  # then keeps repeating: never silently given up
    assert hospital.paged().count("h-1@email") == 3


async def test_accepting_stops_escalation(hospital: Hospital) -> None:
    await hospital.press("b-1")
    [alert] = hospital.desk.open_alerts()
    await hospital.clock.advance(10)
    await hospital.desk.act(alert.id, Action.ACCEPT, by="n-2")
    await hospital.clock.advance(300)
    assert hospital.paged() == ["n-2@wctp"]
    signals = [e.payload["signal"] for e in hospital.store.read(types=["badge.signalled"])]
    assert signals == ["sent", "received", "responder_coming"]


async def test_on_scene_policies_keep_escalating_after_an_accept() -> None:
    h = Hospital(routed_site(stop_on=StopOn.ON_SCENE))
    await h.runtime.start()
    await h.press("b-1")
    [alert] = h.desk.open_alerts()
    await h.desk.act(alert.id, Action.ACCEPT, by="n-2")
    await h.clock.advance(30)
    assert "security@dashboard" in h.paged()
    await h.desk.act(alert.id, Action.ARRIVE, by="s-1")
    before = len(h.paged())
    await h.clock.advance(600)
    assert len(h.paged()) == before
    await h.runtime.stop()


async def test_a_tier_that_reaches_nobody_is_skipped_at_once(hospital: Hospital) -> None:
    await hospital.press("b-4")  # an ED nurse: the ED has no charge nurse
    [alert] = hospital.desk.open_alerts()
    [notified] = hospital.store.read(types=["alert.notified"])
    assert notified.payload["tier"] == 1
    assert notified.payload["skipped"] == [0]
    assert sorted(hospital.paged()) == ["s-1@wctp", "s-2@sms", "security@dashboard"]
    assert alert.next_at == hospital.clock.now() + timedelta(seconds=60)


async def test_no_policy_means_undelivered_and_the_wearer_is_told() -> None:
    h = Hospital(routed_site(policies=False))
    await h.runtime.start()
    await h.press("b-1")
    [alert] = h.desk.open_alerts()
    assert alert.undelivered == "no routing policy applies"
    signals = [e.payload["signal"] for e in h.store.read(types=["badge.signalled"])]
    assert signals == ["sent", "received", "undelivered"]
    await h.runtime.stop()


async def test_a_restart_between_tiers_resumes_at_the_right_step() -> None:
    store, clock = MemoryStore(), FakeClock()
    first = Hospital(routed_site(), store=store, clock=clock)
    await first.runtime.start()
    await first.press("b-1")
    await clock.advance(10)
    await first.runtime.scheduler.stop()  # the process dies; the store survives
    second = Hospital(routed_site(), store=store, clock=clock)
    await second.runtime.start()
    await clock.advance(5)
    assert second.paged() == []  # tier 1 was delivered before the crash: not paged again
    await clock.advance(15)
    assert sorted(second.paged()) == ["s-1@wctp", "s-2@sms", "security@dashboard"]
    tiers = [e.payload["tier"] for e in store.read(types=["alert.notified"])]
    assert tiers == [0, 1]
    await second.runtime.stop()


async def test_a_restart_after_the_step_was_recorded_but_not_sent_resends_it() -> None:
    store, clock = MemoryStore(), FakeClock()
    first = Hospital(routed_site(), store=store, clock=clock, hang=True)
    await first.runtime.start()
    await first.press("b-1")  # the pager gateway never answers; then the process dies
    await first.runtime.scheduler.stop()
    assert first.channels["wctp"].sent  # it was attempted ...
    second = Hospital(routed_site(), store=store, clock=clock)
    await second.runtime.start()
    await clock.advance(0)
    [notice] = second.channels["wctp"].sent  # ... and is attempted again after the restart
    assert notice.key == "a-1:0.0:start:n-2"  # under the same idempotency key
    await second.runtime.stop()


async def test_presses_join_an_open_alert(hospital: Hospital) -> None:
    await hospital.see("b-1", "ir-icu-1")
    await hospital.see("b-2", "ir-icu-1")
    await hospital.press("b-1")
    await hospital.press("b-1", presses=9)  # again, more urgent: upgrades the alert
    await hospital.press("b-2")  # a colleague in the same room: the same incident
    [alert] = hospital.desk.open_alerts()
    assert alert.parties == ("b-1", "b-2")
    assert (alert.kind, alert.priority) == ("security", 1)
    assert len(hospital.store.read(types=["alert.raised"])) == 1


async def test_a_test_badge_pages_only_the_test_list(hospital: Hospital) -> None:
    await hospital.press("b-test")
    [alert] = hospital.desk.open_alerts()
    assert (alert.kind, alert.mode) == ("test", "test")
    assert hospital.paged() == ["x-1@email"]
    assert hospital.channels["email"].sent[0].mode.value == "test"


async def test_a_single_press_raises_nothing_but_is_recorded(hospital: Hospital) -> None:
    await hospital.press("b-1", presses=1)
    assert hospital.desk.open_alerts() == []
    [unmatched] = hospital.store.read(types=["button.unmatched"])
    assert unmatched.payload["unit"] == "icu"


async def test_a_cancel_inside_the_window_stops_notification_before_it_starts() -> None:
    h = Hospital(routed_site(cancel_window_s=10))
    await h.runtime.start()
    await h.press("b-1")
    [alert] = h.desk.open_alerts()
    assert h.paged() == []
    await h.clock.advance(5)
    await h.desk.act(alert.id, Action.CANCEL, by="n-1", note="pressed by accident")
    await h.clock.advance(60)
    assert h.paged() == []
    [cancelled] = h.store.read(types=["alert.cancelled"])
    assert cancelled.payload["notified"] is False
    await h.runtime.stop()


async def test_without_a_cancel_the_window_only_delays_tier_one() -> None:
    h = Hospital(routed_site(cancel_window_s=10))
    await h.runtime.start()
    await h.press("b-1")
    await h.clock.advance(10)
    assert h.paged() == ["n-2@wctp"]
    await h.runtime.stop()


async def test_a_cancel_after_notification_tells_everyone_notified(hospital: Hospital) -> None:
    await hospital.press("b-1")
    [alert] = hospital.desk.open_alerts()
    await hospital.desk.act(alert.id, Action.CANCEL, by="operator", note="false alarm")
    await hospital.clock.advance(0)
    [end] = [n for n in hospital.channels["wctp"].sent if n.phase.value == "end"]
    assert end.recipient == "n-2"
    assert end.update_reason == "cancelled"


async def test_actions_on_a_closed_alert_are_refused_and_change_nothing(hospital: Hospital) -> None:
    await hospital.press("b-1")
    [alert] = hospital.desk.open_alerts()
    await hospital.desk.act(alert.id, Action.RESOLVE, by="s-1", code="false_alarm")
    before = hospital.types()
    with pytest.raises(IllegalTransition, match="closed"):
        await hospital.desk.act(alert.id, Action.ACCEPT, by="s-1")
    assert hospital.types() == before


async def test_a_bad_resolution_is_explained(hospital: Hospital) -> None:
    await hospital.press("b-1")
    [alert] = hospital.desk.open_alerts()
    with pytest.raises(InvalidMessage, match="severity"):
        await hospital.desk.act(alert.id, Action.RESOLVE, by="s-1", code="event")
    with pytest.raises(InvalidMessage, match="false_alarm"):
        await hospital.desk.act(alert.id, Action.RESOLVE, by="s-1", code="oops")
    result = await hospital.desk.act(
        alert.id, Action.RESOLVE, by="s-1", code="event", severity="major", note="patient hit RN"
    )
    assert (result.alert.resolution, result.alert.severity) == ("event", "major")


async def test_the_alert_follows_the_person(hospital: Hospital) -> None:
    await hospital.see("b-1", "ir-icu-1")
    await hospital.press("b-1")
    await hospital.see("b-1", "ir-icu-2", times=12)
    [alert] = hospital.desk.open_alerts()
    assert alert.location["room"] == "icu-2"
    updates = [n for n in hospital.channels["wctp"].sent if n.phase.value == "update"]
    assert updates
    assert updates[-1].update_reason == "location changed"


async def test_an_unknown_wearer_is_still_an_alert(hospital: Hospital) -> None:
    await hospital.see("b-spare", "ir-icu-1")
    await hospital.press("b-spare")
    [alert] = hospital.desk.open_alerts()
    assert (alert.staff, alert.unit) == (None, "icu")
    assert hospital.paged() == ["n-2@wctp"]


async def test_a_reply_on_a_channel_accepts(hospital: Hospital) -> None:
    await hospital.press("b-1")
    [alert] = hospital.desk.open_alerts()
    [notice] = hospital.channels["wctp"].sent
    await hospital.runtime.delivery.inbound(
        DeliveryUpdate(
            status=DeliveryStatus.REPLIED,
            ts=hospital.clock.now(),
            key=notice.key,
            channel="wctp",
            reply=Reply.ACCEPT,
            recipient="n-2",
        )
    )
    alert = hospital.desk.get(alert.id)
    assert alert.state is AlertState.ACCEPTED
    assert alert.accepted_by == ("n-2",)


async def test_the_watchdog_rearms_an_alert_without_a_timer(hospital: Hospital) -> None:
    await hospital.press("b-1")
    [alert] = hospital.desk.open_alerts()
    hospital.runtime.scheduler.cancel("alerts:timers")  # a lost timer job
    await hospital.clock.advance(10)  # the watchdog's period
    [fired] = hospital.store.read(types=["alert.watchdog"])
    assert fired.subject.id == alert.id
    await hospital.clock.advance(20)
    assert "security@dashboard" in hospital.paged()  # at most one tick late, never skipped
