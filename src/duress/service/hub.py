"""Fan-out of committed events to live listeners (the dashboard's event stream, tests).

Events are published only after the store has committed them. A listener that falls behind by more
than its queue holds is dropped (its stream ends and the client reconnects and re-reads from the
store by sequence number), so one slow browser never slows alerting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from duress.domain.events import StoredEvent

QUEUE_SIZE = 1000


class EventHub:
    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._listeners: set[asyncio.Queue[StoredEvent | None]] = set()

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def publish(self, events: Iterable[StoredEvent]) -> None:
        for event in events:
            for queue in list(self._listeners):
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:
                    self._end(queue, drain=True)

    def close(self) -> None:
        for queue in list(self._listeners):
            self._end(queue, drain=False)

    def _end(self, queue: asyncio.Queue[StoredEvent | None], *, drain: bool) -> None:
        """End a listener's stream. A lagging one loses its queued events too, so that the last
        event it did receive is the point it resumes from (its client re-reads the rest)."""
        self._listeners.discard(queue)
        while drain or queue.full():
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                break
        queue.put_nowait(None)

    async def listen(self) -> AsyncIterator[StoredEvent]:
        """Yield every event published from now on, until the hub closes or this listener lags."""
        queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue(self._queue_size)
        self._listeners.add(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._listeners.discard(queue)
