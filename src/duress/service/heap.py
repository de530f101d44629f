"""The server's heap between presses: full garbage collections at quiet moments only.

CPython runs a full (generation 2) collection whenever enough objects have survived the younger
ones, that is at whatever allocation tips it over, often a press's own, and it walks every object
not frozen. The server freezes its heap once started (``settle_the_heap``), but what it keeps
afterwards grows: after 2,000 alerts (the closed ones stay an hour for the board) 46,000 objects,
and a full collection over them took 23 ms, a pause a press arriving meanwhile waits out, longer as
the day goes on. With :class:`QuietHeap` running, automatic full collections are off; every ``every_s`` the runtime's
scheduler runs one once no urgent write (a press, an alert step, an action) is being committed, then
freezes what survived (``gc.freeze``), so that the next one walks only what is newer than that.
Every ``thaw_every_s`` the frozen part is put back first, so that cycles that died after they were
frozen are collected too: a longer pause, once an hour, at a quiet moment. Young collections
(generations 0 and 1: a fraction of a millisecond) run as usual. The period is short so that each
collection is small: in the latency benchmark, which raises and closes about 40 alerts a second
(a hospital raises a few an hour), one a minute took 57–73 ms; one every 10 s walks a sixth of that.
"""

from __future__ import annotations

import gc
from datetime import timedelta
from typing import Any, Protocol

import structlog

from duress.service.clock import Clock
from duress.service.scheduler import Scheduler

log = structlog.get_logger(__name__)

FULL_EVERY_S = 10.0
THAW_EVERY_S = 3600.0
NO_AUTOMATIC_FULL = 1_000_000
"""A generation-2 threshold never reached: CPython then leaves full collections to us."""
JOB = "heap:full-collection"


class Collector(Protocol):
    """What :class:`QuietHeap` needs of the garbage collector (the ``gc`` module, or a fake)."""

    def collect(self, generation: int = 2) -> int: ...

    def freeze(self) -> None: ...

    def unfreeze(self) -> None: ...

    def get_threshold(self) -> tuple[int, int, int]: ...

    def set_threshold(
        self, threshold0: int, threshold1: int = ..., threshold2: int = ...
    ) -> None: ...


class Calm(Protocol):
    async def after_urgent_writes(self) -> None: ...


class QuietHeap:
    def __init__(
        self,
        calm: Calm,
        scheduler: Scheduler,
        clock: Clock,
        *,
        collector: Any = gc,
        every_s: float = FULL_EVERY_S,
        thaw_every_s: float = THAW_EVERY_S,
    ) -> None:
        self._calm = calm
        self._scheduler = scheduler
        self._clock = clock
        self._gc: Collector = collector
        self.every_s = every_s
        self.thaw_every_s = thaw_every_s
        self.collections = 0
        """Full collections run so far (for tests and logs)."""
        self._saved: tuple[int, int, int] | None = None
        self._thawed_at = 0.0

    def start(self) -> None:
        """Turn automatic full collections off and plan the first quiet one."""
        self._saved = self._gc.get_threshold()
        young, middle, _ = self._saved
        self._gc.set_threshold(young, middle, NO_AUTOMATIC_FULL)
        self._thawed_at = self._clock.monotonic()
        self._plan()

    def stop(self) -> None:
        """Give full collections back to CPython."""
        self._scheduler.cancel(JOB)
        if self._saved is not None:
            self._gc.set_threshold(*self._saved)
            self._saved = None

    def _plan(self) -> None:
        due = self._clock.now() + timedelta(seconds=self.every_s)
        self._scheduler.schedule(JOB, due, self._collect)

    async def _collect(self) -> None:
        await self._calm.after_urgent_writes()
        started = self._clock.monotonic()
        thaw = started - self._thawed_at >= self.thaw_every_s
        if thaw:
            self._gc.unfreeze()
            self._thawed_at = started
        found = self._gc.collect(2)
        self._gc.freeze()
        self.collections += 1
        log.debug(
            "heap.collected",
            found=found,
            thawed=thaw,
            ms=round((self._clock.monotonic() - started) * 1000, 1),
        )
        if self._saved is not None:
            self._plan()
