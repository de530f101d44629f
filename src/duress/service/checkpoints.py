"""The SQLite log between presses: checkpoints at quiet moments, on a connection of their own.

In WAL mode SQLite copies the log back into the database file (a checkpoint) in the commit that
takes the log past 1,000 pages, and that commit waits for it: a press that lands there waits for
1,000 pages to be copied and the database file to be flushed. A press commit writes about 13 pages
and the delivery reports that follow a few more, so in the latency benchmark one press in 35–75 did
(the store alone: a press commit's p99 0.61 ms without, 1.4 ms with). :class:`QuietCheckpoints`
takes them out of the commits (``SqliteStore.defer_checkpoints``) and runs one every ``every_s`` from
the runtime's scheduler, once no urgent write (a press, an alert step, an action) is being
committed, in a thread of its own and on the store's checkpoint connection: a press that arrives
meanwhile commits alongside it. Each one copies only what the log gathered in the last period, and
once the log is copied the next commit starts it over from the beginning, so it stays short.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Protocol

import structlog

from duress.domain.errors import StoreUnavailable
from duress.service.clock import Clock
from duress.service.heap import Calm
from duress.service.metrics import Metrics
from duress.service.scheduler import Scheduler

log = structlog.get_logger(__name__)

EVERY_S = 1.0
JOB = "store:checkpoint"
LAGGING_PAGES = 10_000
"""A log this long after a checkpoint means readers keep it from being copied: worth a warning."""


class Checkpointing(Protocol):
    """What :class:`QuietCheckpoints` needs of the store (``SqliteStore``, or a fake)."""

    def defer_checkpoints(self, deferred: bool = True) -> None: ...

    def checkpoint(self) -> tuple[int, int, float]:
        """Pages in the log, pages of it now in the database file, seconds it took."""
        ...


class QuietCheckpoints:
    def __init__(
        self,
        store: Checkpointing,
        calm: Calm,
        scheduler: Scheduler,
        clock: Clock,
        *,
        every_s: float = EVERY_S,
        inline: bool = False,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._calm = calm
        self._scheduler = scheduler
        self._clock = clock
        self.every_s = every_s
        self._inline = inline
        self._metrics = metrics
        self._running = False
        self.checkpoints = 0
        """Checkpoints run so far (for tests and logs)."""

    def start(self) -> None:
        """Take checkpoints out of the commits and plan the first quiet one."""
        self._store.defer_checkpoints()
        self._running = True
        self._plan()

    def stop(self) -> None:
        """Give checkpoints back to the commits."""
        self._scheduler.cancel(JOB)
        if self._running:
            self._running = False
            try:
                self._store.defer_checkpoints(False)
            except StoreUnavailable as error:  # closing anyway: the next open starts as SQLite does
                log.warning("store.checkpoints_not_restored", error=str(error))

    def _plan(self) -> None:
        due = self._clock.now() + timedelta(seconds=self.every_s)
        self._scheduler.schedule(JOB, due, self._run)

    async def _run(self) -> None:
        await self._calm.after_urgent_writes()
        try:
            if self._inline:
                logged, copied, seconds = self._store.checkpoint()
            else:
                logged, copied, seconds = await asyncio.to_thread(self._store.checkpoint)
        except StoreUnavailable as error:  # the store's own supervision reports it; try again later
            log.warning("store.checkpoint_failed", error=str(error))
        else:
            self.checkpoints += 1
            if self._metrics is not None:
                self._metrics.log_pages.set(logged - copied)
                self._metrics.checkpoint_seconds.observe(seconds)
            if logged - copied >= LAGGING_PAGES:
                log.warning(
                    "store.checkpoint_lagging",
                    logged=logged,
                    copied=copied,
                    hint="a long-running reader keeps the log from being copied",
                )
            elif copied:
                log.debug("store.checkpointed", pages=copied, ms=round(seconds * 1000, 1))
        if self._running:
            self._plan()
