"""Several server instances sharing one store: each escalation step is taken by exactly one of them,
and a step recorded by one is seen by the others (on PostgreSQL: FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from tests.sites import routed_site

from duress.domain.alert import Action
from duress.domain.observations import ButtonEvent
from duress.service.bootstrap import build_runtime
from duress.service.runtime import Runtime
from duress.store import open_store
from duress.store.base import EventStore
from duress.testing import FakeClock, MemoryStore, RecordingNotifier

ids = itertools.count(1)


def instance(store: EventStore, clock: FakeClock, journal: list) -> Runtime:
    return build_runtime(
        routed_site(),
        store=store,
        clock=clock,
        inline_store=True,
        notifiers=[
            RecordingNotifier(c, journal=journal) for c in ("wctp", "sms", "email", "dashboard")
        ],
        new_alert_id=lambda: f"a-{next(ids)}",
    )


async def two_instances_escalate(store_a: EventStore, store_b: EventStore) -> None:
    clock = FakeClock()
    journal: list = []
    a, b = instance(store_a, clock, journal), instance(store_b, clock, journal)
    await a.start()
    await b.start()
    try:
        await a.ingest([(0, ButtonEvent(ts=clock.now(), badge="b-1", seq=1, presses=3))])
        await clock.advance(0)
        await clock.advance(31)  # both instances' timer jobs run: only one takes the step
        notified = store_a.read(types=["alert.notified"])
        assert [e.payload["tier"] for e in notified] == [0, 1]
        tier_two = [n for n in journal if n.key.split(":")[1] == "1.0"]
        assert sorted(n.recipient for n in tier_two) == ["s-1", "s-2", "security"]  # paged once
        # An accept on instance B (which never raised the alert) stops escalation everywhere.
        alert_id = notified[0].subject.id
        await b.alerts.act(alert_id, Action.ACCEPT, by="s-1")
        await clock.advance(300)
        assert [e.payload["tier"] for e in store_a.read(types=["alert.notified"])] == [0, 1]
    finally:
        await a.stop()
        await b.stop()


async def test_two_instances_on_one_memory_store() -> None:
    store = MemoryStore()
    await two_instances_escalate(store, store)


@pytest.fixture
def pg_stores(pg_schema: tuple[str, str]) -> Iterator[tuple[EventStore, EventStore]]:
    _, url = pg_schema
    stores = open_store(url), open_store(url)
    yield stores
    for store in stores:
        store.close()  # the runtimes closed them already; closing twice is harmless


@pytest.mark.postgres
async def test_two_instances_on_one_postgresql(pg_stores: tuple[EventStore, EventStore]) -> None:
    await two_instances_escalate(*pg_stores)
