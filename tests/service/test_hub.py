import asyncio
from datetime import UTC, datetime

from duress.domain.events import StoredEvent, Subject, SubjectKind
from duress.service.hub import EventHub


def event(seq: int) -> StoredEvent:
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    return StoredEvent(seq, "button.pressed", ts, Subject(SubjectKind.BADGE, "b-1"), {})


async def test_listeners_get_events_published_after_they_joined() -> None:
    hub = EventHub()
    got: list[int] = []

    async def listen() -> None:
        async for e in hub.listen():
            got.append(e.seq)

    task = asyncio.create_task(listen())
    await asyncio.sleep(0)
    hub.publish([event(1), event(2)])
    hub.close()
    await task
    assert got == [1, 2]
    assert hub.listeners == 0


async def test_a_lagging_listener_is_dropped_without_blocking_the_publisher() -> None:
    hub = EventHub(queue_size=2)
    got: list[int] = []

    async def listen() -> None:
        async for e in hub.listen():
            got.append(e.seq)

    task = asyncio.create_task(listen())
    await asyncio.sleep(0)
    hub.publish([event(i) for i in range(1, 6)])  # more than the listener can hold
    assert hub.listeners == 0
    await task
    # Nothing half-delivered: the stream ends, and the client resumes from what it last got.
    assert got == []
