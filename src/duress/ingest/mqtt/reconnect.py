"""Staying connected to the broker: run a session, and when it drops, wait and connect again with
capped exponential backoff, until asked to stop. Broker trouble never ends the loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import aiomqtt

BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.5, 30.0


async def keep_connected(
    session: Callable[[], Awaitable[None]],
    *,
    stopping: asyncio.Event,
    on_error: Callable[[aiomqtt.MqttError, float], None],
    on_lost: Callable[[], None],
) -> None:
    """Run ``session`` until ``stopping`` is set. ``on_error(error, retry_in_s)`` hears why a
    session ended; ``on_lost()`` runs after every session, however it ended."""
    backoff = BACKOFF_FIRST_S
    while not stopping.is_set():
        try:
            await session()
            backoff = BACKOFF_FIRST_S
        except aiomqtt.MqttError as error:
            on_error(error, backoff)
        finally:
            on_lost()
        if stopping.is_set():
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), backoff)
        backoff = min(backoff * 2, BACKOFF_MAX_S)
