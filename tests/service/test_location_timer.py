"""The location timer in the server: a due BLE scan is judged when no next batch comes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from tests.sim.site_fixtures import T0, corridor_scan, two_floor_site

from duress.domain.events import StoredEvent
from duress.domain.location_params import LocationParams
from duress.service.engine_locator import EngineLocator
from duress.service.location_timer import KEY, LocationTimer
from duress.service.runtime import Runtime
from duress.service.scheduler import Scheduler
from duress.service.worker_locator import WorkerLocator
from duress.testing import FakeClock, MemoryStore

ARRIVAL_S = 0.2
"""Each second's scan reaches the server this long after it was measured."""


def _x(second: int) -> float:
    """Stand in corridor c1 at x 12 for 20 s, then walk east at 1.25 m/s (into c2 at x 30)."""
    return 12.0 if second < 20 else min(48.0, 12.0 + 1.25 * (second - 20))


async def _walk_until_c2(params: LocationParams) -> tuple[str, int, float]:
    """Feed the walk a batch a second until the move to c2 is recorded: how it came (in a batch,
    or between batches on the timer), the second of the last batch fed, and the move's time (of
    the scan that showed it), in seconds from the start."""
    clock = FakeClock(T0)
    store = MemoryStore()
    site = two_floor_site()
    runtime = Runtime(
        site=site,
        store=store,
        clock=clock,
        locator=EngineLocator(site, params),
        inline_store=True,
    )
    await runtime.start()
    try:
        await clock.advance(ARRIVAL_S)
        for second in range(60):
            outcome = await runtime.ingest(list(enumerate(corridor_scan("b1", second, _x(second)))))
            assert outcome.rejected == []
            if _moved_to_c2(store):
                return "batch", second, _move_time(store)
            await clock.advance(1.0)
            if _moved_to_c2(store):
                return "timer", second, _move_time(store)
    finally:
        await runtime.stop()
    raise AssertionError("the walk never reached c2")


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def _moved_to_c2(store: MemoryStore) -> bool:
    return any(e.payload["area"] == "c2" for e in store.read(types=["badge.moved"]))


def _move_time(store: MemoryStore) -> float:
    [move] = [e for e in store.read(types=["badge.moved"]) if e.payload["area"] == "c2"]
    return (move.ts - T0).total_seconds()


async def test_a_due_scan_is_recorded_on_the_timer_before_the_next_batch() -> None:
    timed = await _walk_until_c2(LocationParams())
    untimed = await _walk_until_c2(LocationParams(ble_grid_timer=False))
    how, fed, shown = timed
    assert how == "timer"  # in the lull after the batch of second ``fed``, before the next
    assert shown == fed  # from the scan of that batch, which no later batch carried
    how, fed_untimed, shown_untimed = untimed
    assert how == "batch"  # only once the next batch came
    assert fed_untimed > fed
    assert shown_untimed > shown


async def test_the_location_process_is_advanced_on_the_timer_too() -> None:
    """The same walk through the engine in its own process (``location_engine: process``): the
    tick sends it an empty batch, and the move it reports is recorded."""
    clock = FakeClock(T0)
    store = MemoryStore()
    site = two_floor_site()
    runtime = Runtime(
        site=site, store=store, clock=clock, locator=WorkerLocator(site), inline_store=True
    )
    await runtime.start()
    try:
        _, fed, _ = await _walk_until_c2(LocationParams())  # where the engine here showed c2
        # listening before the walk: the process answers in real time, and a move published
        # before the listener subscribed would never be seen
        moved = asyncio.create_task(_first_move_to(runtime, "c2"))
        await _settle()
        await clock.advance(ARRIVAL_S)
        for second in range(fed + 1):
            if second:
                await clock.advance(1.0)
            await runtime.ingest(list(enumerate(corridor_scan("b1", second, _x(second)))))
        assert not _moved_to_c2(store)
        await clock.advance(1.0)
        event = await asyncio.wait_for(moved, 30)
        assert (event.ts - T0).total_seconds() == fed
    finally:
        await runtime.stop()


async def _first_move_to(runtime: Runtime, area: str) -> StoredEvent:
    async for event in runtime.hub.listen():
        if event.type == "badge.moved" and event.payload["area"] == area:
            return event
    raise AssertionError(f"the hub closed before a move to {area}")


@asynccontextmanager
async def _running_timer() -> AsyncIterator[
    tuple[FakeClock, Scheduler, LocationTimer, list[datetime]]
]:
    """A timer on a running scheduler and a fake clock; its ticks' times are recorded."""
    clock = FakeClock(T0)
    scheduler = Scheduler(clock)
    ticks: list[datetime] = []

    async def tick(now: datetime) -> None:
        ticks.append(now)

    timer = LocationTimer(scheduler=scheduler, clock=clock, params=LocationParams(), tick=tick)
    scheduler.start()
    await asyncio.sleep(0)  # the scheduler is waiting
    try:
        yield clock, scheduler, timer, ticks
    finally:
        await scheduler.stop()


async def test_the_timer_ticks_after_a_batch_then_stops() -> None:
    params = LocationParams()
    async with _running_timer() as (clock, scheduler, timer, ticks):
        timer.batch_taken(clock.now())
        assert scheduler.due_at(KEY) == T0 + timedelta(seconds=0.5 * params.ble_grid_step_s)
        await _settle()  # the scheduler is sleeping until the tick
        await clock.advance(10.0)
        assert ticks  # ticked after the batch ...
        assert scheduler.due_at(KEY) is None  # ... and stopped once every scan was surely due
        window = params.ble_grid_lag_s + 2.0 * params.ble_grid_step_s
        assert all(t - T0 <= timedelta(seconds=window) for t in ticks), ticks
        assert len(ticks) == timer.ticks
        timer.batch_taken(clock.now())  # a new batch arms it again
        assert scheduler.due_at(KEY) is not None


async def test_a_tick_right_after_a_batch_leaves_the_engine_alone() -> None:
    async with _running_timer() as (clock, _, timer, ticks):
        timer.batch_taken(clock.now())
        await _settle()
        for _ in range(8):  # a batch every 0.1 s: each advanced the engine itself
            await clock.advance(0.1)
            timer.batch_taken(clock.now())
            await _settle()
        assert ticks == []
        await clock.advance(5.0)
        assert ticks  # the lull after them is the timer's


def test_no_timer_without_the_grid_filter_or_its_timer() -> None:
    clock = FakeClock(T0)
    scheduler = Scheduler(clock)

    async def tick(now: datetime) -> None:
        raise AssertionError("no tick expected")

    for params in (LocationParams(ble_grid=False), LocationParams(ble_grid_timer=False)):
        timer = LocationTimer(scheduler=scheduler, clock=clock, params=params, tick=tick)
        timer.batch_taken(clock.now())
        assert scheduler.due_at(KEY) is None
