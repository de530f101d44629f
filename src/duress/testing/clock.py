"""A clock that moves only when told: tests advance it instead of sleeping."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday morning


class FakeClock:
    """``now()`` returns a fixed time until :meth:`advance` moves it; ``sleep`` waits for that."""

    def __init__(self, start: datetime = _EPOCH) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._now = start
        self._mono = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._order), future))
        await future

    @property
    def sleepers(self) -> int:
        """How many tasks are waiting on this clock."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose time has come, in order.

        Yields to the event loop after each wake-up so woken tasks run (and may sleep again) before
        time moves further: a test sees exactly what a real run would, minus the waiting.
        """
        target = self._mono + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            due, _, future = heapq.heappop(self._sleepers)
            self._set(due)
            if not future.done():
                future.set_result(None)
            await _settle()
        self._set(target)
        await _settle()

    def _set(self, mono: float) -> None:
        if mono > self._mono:
            self._now += timedelta(seconds=mono - self._mono)
            self._mono = mono


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)
