"""The message bus: commands to their one handler, committed events to every subscriber.

Subscribers hear of events only after the store has committed them, in commit order. A subscriber
that fails is logged and skipped: it never undoes the commit or silences the other subscribers (the
live board, metrics, the alert desk's notices).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog

from duress.domain.events import StoredEvent

log = structlog.get_logger(__name__)

Subscriber = Callable[[Sequence[StoredEvent]], Awaitable[None] | None]


class MessageBus:
    def __init__(self) -> None:
        self._handlers: dict[type[Any], Callable[[Any], Awaitable[Any]]] = {}
        self._subscribers: list[tuple[str, Subscriber]] = []

    def handle_with(self, command: type[Any], handler: Callable[[Any], Awaitable[Any]]) -> None:
        """Route ``command`` to ``handler`` (one handler per command type)."""
        if command in self._handlers:
            raise ValueError(f"{command.__name__} already has a handler")
        self._handlers[command] = handler

    def subscribe(self, name: str, subscriber: Subscriber) -> None:
        """Call ``subscriber`` with every batch of committed events (``name`` is for the logs)."""
        self._subscribers.append((name, subscriber))

    async def handle(self, command: object) -> Any:
        """Run the handler of ``command``; its errors (IllegalTransition, NotFound, ...) propagate."""
        handler = self._handlers.get(type(command))
        if handler is None:
            raise LookupError(f"no handler for {type(command).__name__}")
        return await handler(command)

    async def published(self, events: Sequence[StoredEvent]) -> None:
        """Hand committed events to every subscriber, in the order they subscribed."""
        if not events:
            return
        for name, subscriber in self._subscribers:
            try:
                result = subscriber(events)
                if result is not None:
                    await result
            except Exception:
                log.exception("bus.subscriber_failed", subscriber=name, first=events[0].seq)
