"""The floor: the least a Python server on this machine can do between a press and its page.

Not Duress. A reference measured in the latency benchmark's own run, in the same conditions as
Duress and Alertmanager, to say how much of the gap to Alertmanager any Python implementation
could close here. Per request it does only what the path cannot skip, with every shortcut
Duress deliberately does not take:

- uvloop, a bare ``asyncio.Protocol`` (no framework, no routing, no authentication), one
  keep-alive connection from the driver;
- ``json.loads`` of the body, nothing decided (no site, no activation, no routing, no events);
- the press kept, by mode, then the page:

  - ``sqlite``: one row with the body inserted into SQLite (WAL, ``synchronous=FULL``: the store
    and the fsync Duress uses) and committed **on the event loop itself** (no hop to a writer
    thread; Duress does not do this, so that a slow disk cannot freeze the server: decision 3);
  - ``fsync``: the body appended to a preallocated file and ``fdatasync``-ed, on the loop: the
    cheapest durable write there is (no page structure, no index, no file-size change);
  - ``memory``: the body kept in a list, as Alertmanager keeps its alerts (not durable);
- the page is a prebuilt HTTP/1.1 ``POST`` written on a held-open connection to the webhook
  receiver (``/floor/<mode>``, body ``{"id": ...}``), before the driver's answer is written.

Run: ``python -m benchmarks.latency.floor MODE PORT RECEIVER_PORT FOLDER``; prints ``ready``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from benchmarks.latency.http_framing import next_request

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n\r\n"
MODES = ("sqlite", "fsync", "memory")
JOURNAL_BYTES = 64 * 1024 * 1024
"""The ``fsync`` mode's file, written in full before the server answers, so that appends change
no file size and ``fdatasync`` flushes data only."""


class Hook(asyncio.Protocol):
    """The held-open connection to the receiver; its answers are read and dropped."""

    def data_received(self, data: bytes) -> None:
        pass


class Floor(asyncio.Protocol):
    def __init__(
        self, mode: str, page: Any, path: bytes, db: sqlite3.Connection, journal: int
    ) -> None:
        self.mode = mode
        self.page = page
        self.path = path
        self.db = db
        self.journal = journal
        self.kept: list[bytes] = []
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:  # uvloop's, not an asyncio.Transport
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (request := next_request(self.buffer)) is not None:
            _, body, self.buffer = request
            self.press(body)

    def press(self, body: bytes) -> None:
        ident = str(json.loads(body)["id"])
        if self.mode == "sqlite":
            self.db.execute("INSERT INTO presses (body) VALUES (?)", (body,))
            self.db.commit()
        elif self.mode == "fsync":
            os.write(self.journal, body + b"\n")
            os.fdatasync(self.journal)
        else:
            self.kept.append(body)
        page = json.dumps({"id": ident}).encode()
        self.page.write(
            b"POST "
            + self.path
            + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + b"Content-Length: "
            + str(len(page)).encode()
            + b"\r\n\r\n"
            + page
        )
        self.transport.write(OK)


def open_database(folder: Path, mode: str) -> sqlite3.Connection:
    db = sqlite3.connect(folder / f"floor-{mode}.db", isolation_level="DEFERRED")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS presses (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    db.commit()
    return db


def open_journal(folder: Path) -> int:
    journal = os.open(folder / "floor-journal", os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o600)
    chunk = b"\0" * (1024 * 1024)
    for _ in range(JOURNAL_BYTES // len(chunk)):
        os.write(journal, chunk)
    os.fsync(journal)
    os.lseek(journal, 0, os.SEEK_SET)
    return journal


@dataclass
class Running:
    """A floor server and what it holds open; ``close`` releases all of it."""

    server: asyncio.Server
    page: Any
    db: sqlite3.Connection
    journal: int

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()
        self.page.close()
        self.db.close()
        if self.journal >= 0:
            os.close(self.journal)


async def start(mode: str, receiver_port: int, folder: Path, port: int = 0) -> Running:
    """Serve ``mode`` on ``port`` (0: any free port), paging the receiver on ``receiver_port``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    loop = asyncio.get_running_loop()
    page, _ = await loop.create_connection(Hook, "127.0.0.1", receiver_port)
    db = open_database(folder, mode)
    journal = open_journal(folder) if mode == "fsync" else -1
    path = f"/floor/{mode}".encode()

    def protocol() -> Any:
        return Floor(mode, page, path, db, journal)

    server = await loop.create_server(protocol, "127.0.0.1", port)
    return Running(server, page, db, journal)


async def main(mode: str, port: int, receiver_port: int, folder: Path) -> None:
    running = await start(mode, receiver_port, folder, port)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    try:
        # Bounded: the benchmark stops it, and it stops itself after 15 minutes in any case.
        await asyncio.sleep(900)
    finally:
        await running.close()


if __name__ == "__main__":
    mode, port, receiver_port, folder = sys.argv[1:5]
    uvloop.run(main(mode, int(port), int(receiver_port), Path(folder)))
