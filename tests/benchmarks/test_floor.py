"""The latency benchmark's floor servers: each pages the receiver once per press, after keeping
the press as its mode says (real sockets on loopback, a real SQLite file and journal)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from benchmarks.latency.floor import MODES, start


class Receiver(asyncio.Protocol):
    def __init__(self, got: asyncio.Queue[bytes]) -> None:
        self.got = got

    def data_received(self, data: bytes) -> None:
        self.got.put_nowait(data)


async def press_once(mode: str, folder: Path) -> tuple[bytes, bytes]:
    """One press to a floor server in ``mode``: its answer to the driver and its page."""
    loop = asyncio.get_running_loop()
    got: asyncio.Queue[bytes] = asyncio.Queue()
    receiver = await loop.create_server(lambda: Receiver(got), "127.0.0.1", 0)
    receiver_port = receiver.sockets[0].getsockname()[1]
    floor = await start(mode, receiver_port, folder)
    reader, writer = await asyncio.open_connection("127.0.0.1", floor.port)
    body = json.dumps({"id": "p-1", "badge": "B-1", "presses": 3}).encode()
    writer.write(
        b"POST /press HTTP/1.1\r\nHost: x\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    page = b""
    while b"\r\n\r\n" not in page or not page.endswith(b"}"):
        page += await asyncio.wait_for(got.get(), 5)
    writer.close()
    await writer.wait_closed()
    await floor.close()
    receiver.close()
    await receiver.wait_closed()
    return answer, page


@pytest.mark.parametrize("mode", MODES)
def test_a_press_is_kept_then_paged(mode: str, tmp_path: Path) -> None:
    answer, page = asyncio.run(press_once(mode, tmp_path))
    assert answer.startswith(b"HTTP/1.1 200")
    assert page.startswith(f"POST /floor/{mode} HTTP/1.1".encode())
    assert json.loads(page.split(b"\r\n\r\n", 1)[1]) == {"id": "p-1"}
    if mode == "sqlite":
        rows = sqlite3.connect(tmp_path / "floor-sqlite.db").execute("SELECT body FROM presses")
        assert [json.loads(r[0])["id"] for r in rows] == ["p-1"]
    if mode == "fsync":
        kept = (tmp_path / "floor-journal").read_bytes()
        assert kept.startswith(b'{"id": "p-1"')


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode must be one of sqlite, fsync, memory"):
        asyncio.run(start("tape", 9, tmp_path))
