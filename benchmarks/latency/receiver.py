"""The webhook receiver: a minimal HTTP/1.1 server (keep-alive) in its own process.

It stamps each request with ``time.monotonic_ns()`` (CLOCK_MONOTONIC, the same clock in every process
on Linux) and ``time.time_ns()`` when its first bytes arrive, answers ``200`` with an empty body, and
writes one tab-separated line per request to stdout::

    <source> <id> <key> <phase> <monotonic_ns> <wall_ns>

``source`` is ``duress`` (``POST /hook``: Duress's native webhook; ``id`` is the alert, ``key`` the
notice's idempotency key) or ``am`` (``POST /am``: Alertmanager's webhook; ``id`` is the group's
``bench_id`` label) or ``floor-<mode>`` (``POST /floor/<mode>``: the floor reference servers of
:mod:`benchmarks.latency.floor`; ``id`` is the press's).

Run: ``python -m benchmarks.latency.receiver PORT``; it prints ``ready`` first.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from benchmarks.latency.http_framing import next_request, request_path

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n\r\n"


class Receiver(asyncio.Protocol):
    def __init__(self, out: Any) -> None:
        self.out = out
        self.buffer = b""
        self.started: tuple[int, int] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if not self.buffer and self.started is None:
            self.started = (time.monotonic_ns(), time.time_ns())
        self.buffer += data
        while (request := next_request(self.buffer)) is not None:
            head, body, self.buffer = request
            started = self.started or (time.monotonic_ns(), time.time_ns())
            self.started = (time.monotonic_ns(), time.time_ns()) if self.buffer else None
            assert self.transport is not None
            self.transport.write(OK)
            self.record(request_path(head), body, started)

    def record(self, path: str, body: bytes, started: tuple[int, int]) -> None:
        try:
            doc = json.loads(body) if body else {}
        except ValueError:
            doc = {}
        if path.startswith("/am"):
            source = "am"
            ident = str(doc.get("groupLabels", {}).get("bench_id", ""))
            key, phase = ident, str(doc.get("status", ""))
        elif path.startswith("/floor/"):
            source = "floor-" + path.removeprefix("/floor/")
            ident = key = str(doc.get("id"))
            phase = "start"
        else:
            source = "duress"
            ident, key, phase = str(doc.get("alert")), str(doc.get("key")), str(doc.get("phase"))
        self.out.write(f"{source}\t{ident}\t{key}\t{phase}\t{started[0]}\t{started[1]}\n")
        self.out.flush()


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Receiver(sys.stdout), "127.0.0.1", port)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    async with server:
        # Bounded: the benchmark stops it, and it stops itself after 15 minutes in any case.
        await asyncio.sleep(900)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
