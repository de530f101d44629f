"""Backpressure: button messages on a priority lane that is never dropped; everything else on a
bounded bulk lane that drops its OLDEST messages when full (and counts them).

A burst of sightings can never delay a press: the button worker takes from its own lane, and the
bulk lane's backlog is bounded in memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from duress.ingest.mqtt.topics import Route

DEFAULT_BULK_LIMIT = 100_000
"""Messages the bulk lane holds before it drops the oldest."""


@dataclass(frozen=True, slots=True)
class Inbound:
    """One MQTT message as received: classified, timestamped, not yet decoded."""

    topic: str
    payload: bytes
    route: Route
    gateway: str | None
    received_at: datetime
    qos: int = 0
    mid: int = 0
    generation: int = 0
    """Which connection it came on: a message is acknowledged only on the connection it came on."""
    signature: str | None = None


class Lanes:
    """A never-dropping priority lane (buttons) and a bounded drop-oldest bulk lane."""

    def __init__(
        self,
        *,
        bulk_limit: int = DEFAULT_BULK_LIMIT,
        on_drop: Callable[[Inbound], None] | None = None,
    ) -> None:
        self.bulk_limit = bulk_limit
        self._buttons: deque[Inbound] = deque()
        self._bulk: deque[Inbound] = deque()
        self._button_ready = asyncio.Event()
        self._bulk_ready = asyncio.Event()
        self._on_drop = on_drop
        self.dropped = 0

    def put(self, message: Inbound) -> None:
        if message.route is Route.BUTTONS:
            self._buttons.append(message)
            self._button_ready.set()
            return
        if len(self._bulk) >= self.bulk_limit:
            oldest = self._bulk.popleft()
            self.dropped += 1
            if self._on_drop is not None:
                self._on_drop(oldest)
        self._bulk.append(message)
        self._bulk_ready.set()

    @property
    def buttons_waiting(self) -> int:
        return len(self._buttons)

    @property
    def bulk_waiting(self) -> int:
        return len(self._bulk)

    async def buttons(self) -> list[Inbound]:
        """Every waiting button message (waits for at least one)."""
        while not self._buttons:
            self._button_ready.clear()
            await self._button_ready.wait()
        taken = list(self._buttons)
        self._buttons.clear()
        return taken

    async def bulk(self, limit: int) -> list[Inbound]:
        """Up to ``limit`` bulk messages, oldest first (waits for at least one)."""
        while not self._bulk:
            self._bulk_ready.clear()
            await self._bulk_ready.wait()
        pop = self._bulk.popleft
        return [pop() for _ in range(min(limit, len(self._bulk)))]

    def take_bulk_nowait(self) -> Inbound | None:
        return self._bulk.popleft() if self._bulk else None
