"""SQLite checkpoints at quiet moments, beside the commits: with a fake store and a fake clock."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs
from tests.service.test_heap import Calm

from duress.domain.errors import StoreUnavailable
from duress.service.checkpoints import LAGGING_PAGES, QuietCheckpoints
from duress.service.metrics import Metrics
from duress.service.scheduler import Scheduler
from duress.testing import FakeClock


class FakeStore:
    """Records what it was asked; ``answer`` is what the next checkpoint reports."""

    def __init__(self) -> None:
        self.deferred = False
        self.calls: list[str] = []
        self.answer: tuple[int, int, float] | Exception = (40, 40, 0.002)

    def defer_checkpoints(self, deferred: bool = True) -> None:
        self.deferred = deferred
        self.calls.append("defer" if deferred else "resume")

    def checkpoint(self) -> tuple[int, int, float]:
        self.calls.append("checkpoint")
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def quiet(
    every_s: float = 1.0,
) -> tuple[QuietCheckpoints, FakeStore, FakeClock, Calm, Scheduler]:
    clock, store, calm = FakeClock(), FakeStore(), Calm()
    scheduler = Scheduler(clock)
    scheduler.start()
    checkpoints = QuietCheckpoints(store, calm, scheduler, clock, every_s=every_s, inline=True)
    checkpoints.start()
    return checkpoints, store, clock, calm, scheduler


async def test_checkpoints_leave_the_commits_and_run_every_period() -> None:
    checkpoints, store, clock, _, scheduler = await quiet(every_s=1.0)
    assert store.deferred
    assert store.calls == ["defer"]
    await clock.advance(0.9)
    assert store.calls == ["defer"]
    await clock.advance(0.1)
    assert store.calls == ["defer", "checkpoint"]
    await clock.advance(3)
    assert store.calls.count("checkpoint") == 4
    assert checkpoints.checkpoints == 4
    checkpoints.stop()
    await clock.advance(5)
    assert store.calls[-1] == "resume"
    assert store.calls.count("checkpoint") == 4
    assert not store.deferred
    await scheduler.stop()


async def test_a_checkpoint_waits_for_urgent_writes_to_be_committed() -> None:
    checkpoints, store, clock, calm, scheduler = await quiet()
    calm.quiet.clear()  # a press is being committed
    await clock.advance(1)
    assert "checkpoint" not in store.calls
    calm.quiet.set()
    for _ in range(3):
        await asyncio.sleep(0)
    assert store.calls == ["defer", "checkpoint"]
    checkpoints.stop()
    await scheduler.stop()


async def test_a_failed_checkpoint_is_logged_and_the_next_one_still_runs() -> None:
    checkpoints, store, clock, _, scheduler = await quiet()
    store.answer = StoreUnavailable("SQLite at /x failed a checkpoint: disk I/O error")
    with capture_logs() as logs:
        await clock.advance(1)
    assert [entry["event"] for entry in logs] == ["store.checkpoint_failed"]
    assert "disk I/O error" in logs[0]["error"]
    store.answer = (10, 10, 0.001)
    await clock.advance(1)
    assert store.calls.count("checkpoint") == 2
    assert checkpoints.checkpoints == 1
    checkpoints.stop()
    await scheduler.stop()


async def test_a_log_that_readers_keep_from_being_copied_is_a_warning() -> None:
    checkpoints, store, clock, _, scheduler = await quiet()
    store.answer = (LAGGING_PAGES + 500, 400, 0.01)
    with capture_logs() as logs:
        await clock.advance(1)
    assert logs[0]["event"] == "store.checkpoint_lagging"
    assert logs[0]["log_level"] == "warning"
    assert logs[0]["logged"] == LAGGING_PAGES + 500
    checkpoints.stop()
    await scheduler.stop()


@pytest.mark.parametrize("inline", [True, False])
async def test_the_checkpoint_runs_off_the_event_loop_unless_inline(inline: bool) -> None:
    import threading

    clock, calm = FakeClock(), Calm()
    threads: list[str] = []

    class Where(FakeStore):
        def checkpoint(self) -> tuple[int, int, float]:
            threads.append(threading.current_thread().name)
            return super().checkpoint()

    store = Where()
    scheduler = Scheduler(clock)
    scheduler.start()
    checkpoints = QuietCheckpoints(store, calm, scheduler, clock, inline=inline)
    checkpoints.start()
    await clock.advance(1)
    for _ in range(100):  # a thread of the default executor answers in its own time
        if threads:
            break
        await asyncio.sleep(0.01)
    assert (threads[0] == threading.current_thread().name) is inline
    checkpoints.stop()
    await scheduler.stop()


async def test_each_checkpoint_is_in_the_metrics() -> None:
    clock, store, calm = FakeClock(), FakeStore(), Calm()
    metrics = Metrics()
    scheduler = Scheduler(clock)
    scheduler.start()
    checkpoints = QuietCheckpoints(store, calm, scheduler, clock, inline=True, metrics=metrics)
    checkpoints.start()
    store.answer = (120, 100, 0.004)  # a reader kept 20 pages from being copied
    await clock.advance(1)
    sample = metrics.registry.get_sample_value
    assert sample("duress_store_log_pages") == 20
    assert sample("duress_store_checkpoint_seconds_count") == 1
    assert sample("duress_store_checkpoint_seconds_sum") == pytest.approx(0.004)
    checkpoints.stop()
    await scheduler.stop()
