import asyncio
from datetime import timedelta

from duress.service.scheduler import Scheduler
from duress.testing import FakeClock


async def test_jobs_run_at_their_deadline_and_not_before() -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock)
    ran: list[str] = []

    async def job(name: str) -> None:
        ran.append(name)

    scheduler.schedule("b", clock.now() + timedelta(seconds=30), lambda: job("b"))
    scheduler.schedule("a", clock.now() + timedelta(seconds=10), lambda: job("a"))
    scheduler.start()
    await clock.advance(9)
    assert ran == []
    await clock.advance(1)
    assert ran == ["a"]
    await clock.advance(20)
    assert ran == ["a", "b"]
    assert scheduler.late_s == [0.0, 0.0]
    await scheduler.stop()


async def test_an_earlier_deadline_wakes_the_sleeping_scheduler() -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock)
    ran: list[str] = []

    async def job() -> None:
        ran.append("soon")

    scheduler.start()
    scheduler.schedule("later", clock.now() + timedelta(hours=1), job)
    await asyncio.sleep(0)
    scheduler.schedule("soon", clock.now() + timedelta(seconds=5), job)
    await clock.advance(5)
    assert ran == ["soon"]
    await scheduler.stop()


async def test_rescheduling_moves_and_cancelling_removes_a_job() -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock)
    ran: list[str] = []

    async def job(name: str) -> None:
        ran.append(name)

    scheduler.schedule("x", clock.now() + timedelta(seconds=5), lambda: job("first"))
    scheduler.schedule("x", clock.now() + timedelta(seconds=8), lambda: job("moved"))
    scheduler.schedule("y", clock.now() + timedelta(seconds=6), lambda: job("cancelled"))
    scheduler.cancel("y")
    scheduler.start()
    await clock.advance(10)
    assert ran == ["moved"]
    assert len(scheduler) == 0
    await scheduler.stop()


async def test_a_failing_job_does_not_stop_the_others() -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock)
    ran: list[str] = []

    async def boom() -> None:
        raise RuntimeError("channel exploded")

    async def fine() -> None:
        ran.append("fine")

    scheduler.schedule("boom", clock.now() + timedelta(seconds=1), boom)
    scheduler.schedule("fine", clock.now() + timedelta(seconds=2), fine)
    scheduler.start()
    await clock.advance(3)
    assert ran == ["fine"]
    await scheduler.stop()
