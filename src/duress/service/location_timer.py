"""The location engine's timer in the server: BLE scans judged when they become due, also when
no other sighting arrives to carry them.

The engine uses a badge's BLE scan ``ble_grid_lag_s`` after it was measured (decision 0022). The
runtime asks it for what became due after each batch of sightings; on a quiet site, or for the
last scans before a lull, no next batch comes. After each batch this timer ticks every half
``ble_grid_step_s`` until the newest scans it carried are surely judged (``ble_grid_lag_s`` plus
twice ``ble_grid_step_s``), then stops; a tick that falls right after a batch does nothing, as
the batch advanced the engine already.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Final

from duress.domain.location_params import LocationParams
from duress.service.clock import Clock
from duress.service.scheduler import Scheduler

KEY: Final = "location.advance"
"""The timer's key in the scheduler."""

Tick = Callable[[datetime], Awaitable[None]]


class LocationTimer:
    def __init__(
        self, *, scheduler: Scheduler, clock: Clock, params: LocationParams, tick: Tick
    ) -> None:
        self._scheduler = scheduler
        self._clock = clock
        self._tick = tick
        self.enabled = params.ble_grid and params.ble_grid_timer
        self.period = timedelta(seconds=0.5 * params.ble_grid_step_s)
        """Time between ticks: the engine looks at its badges at most this often."""
        self.window = timedelta(seconds=params.ble_grid_lag_s + 2.0 * params.ble_grid_step_s)
        """How long after a batch the timer keeps ticking."""
        self._batch_at: datetime | None = None
        self.ticks = 0
        """Ticks that advanced the engine (not those right after a batch)."""

    def batch_taken(self, now: datetime) -> None:
        """A batch of sightings went through the engine at ``now`` (and advanced it)."""
        if not self.enabled:
            return
        self._batch_at = now
        if self._scheduler.due_at(KEY) is None:
            self._scheduler.schedule(KEY, now + self.period, self._run)

    async def _run(self) -> None:
        now = self._clock.now()
        batch_at = self._batch_at
        if batch_at is None:
            return
        try:
            if now - batch_at >= self.period:  # else the batch advanced the engine just now
                self.ticks += 1
                await self._tick(now)
        finally:
            if now + self.period - batch_at <= self.window:
                self._scheduler.schedule(KEY, now + self.period, self._run)
