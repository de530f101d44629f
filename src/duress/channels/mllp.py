"""MLLP (Minimal Lower Layer Protocol): HL7 v2 messages framed as ``0x0b message 0x1c 0x0d`` on TCP."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from duress.service.clock import Clock

START = b"\x0b"
END = b"\x1c\x0d"
MAX_FRAME = 1_000_000

T = TypeVar("T")


class MllpError(Exception):
    """The peer sent something that is not an MLLP frame, or closed the connection."""


def frame(message: str | bytes) -> bytes:
    data = message.encode("utf-8") if isinstance(message, str) else message
    return START + data + END


async def read_frame(reader: asyncio.StreamReader, *, max_bytes: int = MAX_FRAME) -> bytes:
    """The next frame's content; bytes before the start block are skipped. Raises :class:`MllpError`
    on end of stream or an over-long frame."""
    try:
        data = await reader.readuntil(END)
    except asyncio.IncompleteReadError as exc:
        raise MllpError("the peer closed the connection") from exc
    except asyncio.LimitOverrunError as exc:
        raise MllpError(f"frame longer than the stream limit ({exc.consumed} bytes)") from exc
    start = data.find(START)
    if start < 0:
        raise MllpError("frame without the 0x0b start block")
    content = data[start + 1 : -len(END)]
    if len(content) > max_bytes:
        raise MllpError(f"frame of {len(content)} bytes exceeds {max_bytes}")
    return content


async def wait_for(future: asyncio.Future[T], clock: Clock, seconds: float) -> T:
    """``await future`` for at most ``seconds`` on ``clock``; raises :class:`TimeoutError`."""
    timer = asyncio.ensure_future(clock.sleep(seconds))
    racers: set[asyncio.Future[Any]] = {future, timer}
    try:
        await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    if future.done():
        return future.result()
    raise TimeoutError
