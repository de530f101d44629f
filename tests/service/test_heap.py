"""Full garbage collections at quiet moments only, with a fake collector and a fake clock."""

from __future__ import annotations

import asyncio

from duress.service.heap import NO_AUTOMATIC_FULL, QuietHeap
from duress.service.scheduler import Scheduler
from duress.testing import FakeClock


class FakeCollector:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.threshold = (700, 10, 10)

    def collect(self, generation: int = 2) -> int:
        self.calls.append(f"collect{generation}")
        return 0

    def freeze(self) -> None:
        self.calls.append("freeze")

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")

    def get_threshold(self) -> tuple[int, int, int]:
        return self.threshold

    def set_threshold(self, *threshold: int) -> None:
        self.threshold = (threshold + self.threshold[len(threshold) :])[:3]


class Calm:
    """Stands in for the runtime: urgent writes are going on until ``quiet`` is set."""

    def __init__(self) -> None:
        self.quiet = asyncio.Event()
        self.quiet.set()

    async def after_urgent_writes(self) -> None:
        await self.quiet.wait()


async def heap(**kwargs: float) -> tuple[QuietHeap, FakeCollector, FakeClock, Calm, Scheduler]:
    clock, collector, calm = FakeClock(), FakeCollector(), Calm()
    scheduler = Scheduler(clock)
    scheduler.start()
    quiet = QuietHeap(calm, scheduler, clock, collector=collector, **kwargs)
    quiet.start()
    return quiet, collector, clock, calm, scheduler


async def test_full_collections_are_ours_every_period_and_what_survives_is_frozen() -> None:
    quiet, collector, clock, _, scheduler = await heap(every_s=60, thaw_every_s=3600)
    assert collector.threshold == (700, 10, NO_AUTOMATIC_FULL)
    await clock.advance(59)
    assert collector.calls == []
    await clock.advance(1)
    assert collector.calls == ["collect2", "freeze"]
    await clock.advance(60)
    assert collector.calls == ["collect2", "freeze"] * 2
    quiet.stop()
    assert collector.threshold == (700, 10, 10)
    await clock.advance(600)
    assert quiet.collections == 2
    await scheduler.stop()


async def test_a_collection_waits_until_no_urgent_write_is_being_committed() -> None:
    quiet, collector, clock, calm, scheduler = await heap(every_s=60)
    calm.quiet.clear()  # a press is being committed when the collection falls due
    await clock.advance(60)
    assert collector.calls == []
    calm.quiet.set()
    await clock.advance(0)
    assert collector.calls == ["collect2", "freeze"]
    quiet.stop()
    await scheduler.stop()


async def test_the_frozen_part_is_thawed_and_collected_now_and_then() -> None:
    quiet, collector, clock, _, scheduler = await heap(every_s=60, thaw_every_s=120)
    for _ in range(3):
        await clock.advance(60)
    thawed = ["unfreeze", "collect2", "freeze"]
    assert collector.calls == ["collect2", "freeze", *thawed, "collect2", "freeze"]
    quiet.stop()
    await scheduler.stop()
