"""A real HTTP server on 127.0.0.1 for the HTTP channels' tests: it records every request and answers
what the test told it (status, body, headers), or holds the request until the test ends."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDictProxy, MultiDictProxy


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    query: MultiDictProxy[str]
    headers: CIMultiDictProxy[str]
    body: bytes
    client_port: int
    """The client's source port: the same port on two requests means the same connection."""


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    """Never answer (the request is held until the server stops)."""

    @classmethod
    def json(cls, status: int, value: Any) -> Answer:
        return cls(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

    @classmethod
    def text(cls, status: int, value: str) -> Answer:
        return cls(status, value.encode(), {"Content-Type": "text/plain; charset=utf-8"})


class HttpServer:
    """``await start()``; ``url(path)``; set ``answer`` for the requests that follow; read ``seen``."""

    def __init__(self) -> None:
        self.answer = Answer()
        self.seen: list[Seen] = []
        self.arrived = asyncio.Event()
        """Set when a request has arrived (each one, including held ones)."""
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> HttpServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.seen.append(
            Seen(
                method=request.method,
                path=request.path,
                query=request.query,
                headers=request.headers,
                body=await request.read(),
                client_port=int(peer[1]) if peer else 0,
            )
        )
        self.arrived.set()
        answer = self.answer
        if answer.hang:
            await self._release.wait()
        return web.Response(status=answer.status, body=answer.body, headers=answer.headers)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
