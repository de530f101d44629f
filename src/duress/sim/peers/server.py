"""What every test peer shares: a TCP server on loopback that it starts and stops, and the tasks it
spawns (reports sent later), all ended with it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Self


class LoopbackPeer:
    """Subclasses implement :meth:`_serve`, one connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the peer first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._serve, self.host, self._port)
        return self

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in the background until it ends or the peer stops."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
