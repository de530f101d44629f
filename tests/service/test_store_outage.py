"""When the event store is down: presses are still acknowledged, kept durably in the local spool,
alerted on and escalated from memory, and written to the store in order when it is back."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path

from tests.sites import routed_site

from duress.domain.errors import StoreUnavailable
from duress.domain.events import NewEvent, StoredEvent, Subject
from duress.domain.notification import Notice
from duress.domain.observations import ButtonEvent
from duress.service.bootstrap import build_runtime
from duress.service.runtime import Runtime
from duress.store.base import Timer, Timers
from duress.store.spool import Spool
from duress.testing import FakeClock, MemoryStore, RecordingNotifier


class OutageStore(MemoryStore):
    """The memory store, which can be switched off like a database that went away."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("PostgreSQL at db:5432 cannot be reached: connection refused")

    def append(
        self, events: Sequence[NewEvent], *, timers: Timers | None = None
    ) -> list[StoredEvent]:
        self._check()
        return super().append(events, timers=timers)

    def read(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        subject: Subject | None = None,
        types: Collection[str] | None = None,
    ) -> list[StoredEvent]:
        self._check()
        return super().read(after=after, limit=limit, subject=subject, types=types)

    def claim_due(
        self, now: datetime, *, owner: str, lease_s: float, limit: int = 100
    ) -> list[Timer]:
        self._check()
        return super().claim_due(now, owner=owner, lease_s=lease_s, limit=limit)

    def ping(self) -> None:
        self._check()
        super().ping()


def hospital(store: OutageStore, clock: FakeClock, spool: Path, journal: list[Notice]) -> Runtime:
    ids = itertools.count(1)
    return build_runtime(
        routed_site(),
        store=store,
        clock=clock,
        inline_store=True,
        spool=Spool(spool),
        notifiers=[
            RecordingNotifier(c, journal=journal) for c in ("wctp", "sms", "email", "dashboard")
        ],
        new_alert_id=lambda: f"a-{next(ids)}",
    )


def paged(journal: list[Notice]) -> list[str]:
    return [f"{n.recipient}@{n.channel}" for n in journal if n.phase.value == "start"]


async def test_alerting_goes_on_while_the_store_is_down_and_nothing_is_lost(tmp_path: Path) -> None:
    store, clock, journal = OutageStore(), FakeClock(), []
    runtime = hospital(store, clock, tmp_path / "spool.jsonl", journal)
    await runtime.start()
    store.down = True
    outcome = await runtime.ingest(
        [(0, ButtonEvent(ts=clock.now(), badge="b-1", seq=1, presses=3))]
    )
    await clock.advance(0)
    assert outcome.accepted == 1  # acknowledged: it is in the spool, fsynced
    assert paged(journal) == ["n-2@wctp"]  # and paged from memory
    checks = await runtime.readiness()
    assert "the event store is down" in checks["store"]
    assert "kept durably" in checks["store"]
    assert runtime.metrics.registry.get_sample_value("duress_store_spooled_events") > 0
    await clock.advance(30)  # escalation goes on without the store
    assert sorted(paged(journal)[1:]) == ["s-1@wctp", "s-2@sms", "security@dashboard"]

    store.down = False
    await clock.advance(1)  # the store answers again: the spool goes into it, in order
    assert runtime.store_down is None
    assert not (tmp_path / "spool.jsonl").exists()
    types = [e.type for e in store.read()]
    assert types[:3] == ["button.pressed", "badge.signalled", "alert.raised"]
    assert [e.payload["tier"] for e in store.read(types=["alert.notified"])] == [0, 1]
    assert runtime.metrics.registry.get_sample_value("duress_store_spooled_events") == 0
    await runtime.stop()


async def test_a_spool_left_by_a_crash_is_written_back_at_start(tmp_path: Path) -> None:
    store, clock, journal = OutageStore(), FakeClock(), []
    first = hospital(store, clock, tmp_path / "spool.jsonl", journal)
    await first.start()
    store.down = True
    await first.ingest([(0, ButtonEvent(ts=clock.now(), badge="b-1", seq=1, presses=3))])
    await first.scheduler.stop()  # the process dies while the store is still down
    store.down = False
    second = hospital(store, clock, tmp_path / "spool.jsonl", [])
    await second.start()
    [alert] = second.alerts.open_alerts()
    assert alert.badge == "b-1"
    assert [e.type for e in store.read(types=["button.pressed"])] == ["button.pressed"]
    await second.stop()
