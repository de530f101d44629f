"""One task that sleeps until the earliest deadline, then runs what is due.

Deadlines are keyed: scheduling a key again moves its deadline; cancelling removes it. A deadline
added earlier than the one being slept on wakes the task at once. Callbacks are coroutines; one that
raises is logged and does not stop the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog

from duress.service.clock import Clock

log = structlog.get_logger(__name__)

Job = Callable[[], Awaitable[None]]


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[datetime, int, str]] = []
        self._jobs: dict[str, tuple[datetime, int, Job]] = {}
        self._order = itertools.count()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.late_s: list[float] = []
        """How late each job ran (seconds after its deadline), for measuring lateness."""

    def schedule(self, key: str, at: datetime, job: Job) -> None:
        token = next(self._order)
        self._jobs[key] = (at, token, job)
        heapq.heappush(self._heap, (at, token, key))
        if self._heap[0][1] == token:
            self._changed.set()

    def cancel(self, key: str) -> None:
        self._jobs.pop(key, None)

    def due_at(self, key: str) -> datetime | None:
        entry = self._jobs.get(key)
        return entry[0] if entry else None

    def __len__(self) -> int:
        return len(self._jobs)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_due(self) -> int:
        """Run every job whose deadline has passed; returns how many ran."""
        ran = 0
        now = self._clock.now()
        while self._heap and self._heap[0][0] <= now:
            at, token, key = heapq.heappop(self._heap)
            entry = self._jobs.get(key)
            if entry is None or entry[1] != token:
                continue  # cancelled or rescheduled
            del self._jobs[key]
            self.late_s.append((now - at).total_seconds())
            try:
                await entry[2]()
            except Exception:
                log.exception("scheduler.job_failed", key=key)
            ran += 1
            now = self._clock.now()
        return ran

    async def _run(self) -> None:
        while True:
            await self.run_due()
            self._drop_stale_heads()
            self._changed.clear()
            if not self._heap:
                await self._changed.wait()
                continue
            delay = (self._heap[0][0] - self._clock.now()).total_seconds()
            sleeper = asyncio.ensure_future(self._clock.sleep(delay))
            waker = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()

    def _drop_stale_heads(self) -> None:
        while self._heap:
            _, token, key = self._heap[0]
            entry = self._jobs.get(key)
            if entry is not None and entry[1] == token:
                return
            heapq.heappop(self._heap)
