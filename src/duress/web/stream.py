"""The live event stream as server-sent events, resumable by sequence number.

A client that reconnects with ``Last-Event-ID`` (browsers do so by themselves) first gets what it
missed, read from the store, then the live events: nothing is lost across a dropped connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

from duress.domain.events import StoredEvent
from duress.service.runtime import Runtime

KEEPALIVE_S = 15.0


def encode(event: StoredEvent) -> str:
    data = {
        "seq": event.seq,
        "type": event.type,
        "ts": event.ts.isoformat(),
        "subject": {"kind": event.subject.kind.value, "id": event.subject.id},
        "payload": event.payload,
    }
    return f"id: {event.seq}\nevent: {event.type}\ndata: {json.dumps(data)}\n\n"


async def sse(
    runtime: Runtime,
    last_seen: int | None,
    redact: Callable[[StoredEvent], StoredEvent | None] | None = None,
) -> AsyncIterator[str]:
    """The stream from after ``last_seen``; ``redact`` may hide or trim events (privacy)."""
    keep = redact or (lambda event: event)
    queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for event in runtime.hub.listen():
                queue.put_nowait(event)
        finally:
            queue.put_nowait(None)

    task = asyncio.create_task(pump())
    runtime.metrics.stream_clients.inc()
    try:
        await asyncio.sleep(0)  # let the listener register before catching up
        sent = 0
        if last_seen is not None:
            for missed in await runtime.read(after=last_seen, limit=10_000):
                sent = missed.seq
                shown = keep(missed)
                if shown is not None:
                    yield encode(shown)
        yield ": connected\n\n"
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if event is None:
                return
            if event.seq > sent:
                shown = keep(event)
                if shown is not None:
                    yield encode(shown)
    finally:
        runtime.metrics.stream_clients.dec()
        task.cancel()
