"""The live stream over a real socket: uvicorn on loopback, httpx reading server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI


@pytest.fixture
async def base_url(app: FastAPI) -> AsyncIterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def read_events(response: httpx.Response, count: int) -> list[dict]:
    events: list[dict] = []
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            events.append(json.loads(line.removeprefix("data: ")))
            if len(events) == count:
                break
    return events


async def read_until_live(response: httpx.Response) -> list[dict]:
    """The catch-up the stream sends before it says ``: connected`` and goes live."""
    events: list[dict] = []
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            events.append(json.loads(line.removeprefix("data: ")))
        elif line == ": connected":
            return events
    return events


async def test_a_press_reaches_a_stream_listener(base_url: str, clock, admin_headers) -> None:
    press = {
        "type": "button",
        "ts": clock.now().isoformat(),
        "badge": "b-1",
        "seq": 1,
        "presses": 3,
    }
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=5, headers=admin_headers) as client,
        client.stream("GET", "/api/v1/stream") as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        reader = asyncio.create_task(read_events(stream, 1))
        await asyncio.sleep(0.05)
        await client.post("/api/v1/ingest", json={"messages": [press]})
        [event] = await asyncio.wait_for(reader, 5)
    assert event["type"] == "button.pressed"
    assert event["subject"] == {"kind": "badge", "id": "b-1"}
    assert event["payload"]["staff"] == "n-1"


async def test_a_reconnecting_client_gets_what_it_missed(
    base_url: str, clock, admin_headers
) -> None:
    presses = [
        {"type": "button", "ts": clock.now().isoformat(), "badge": "b-1", "seq": n, "presses": 3}
        for n in (1, 2, 3)
    ]
    async with httpx.AsyncClient(base_url=base_url, timeout=5, headers=admin_headers) as client:
        await client.post("/api/v1/ingest", json={"messages": presses})
        presses_stored = (
            await client.get("/api/v1/events", params={"type": "button.pressed"})
        ).json()
        first = presses_stored[0]["seq"]
        headers = {"Last-Event-ID": str(first)}
        async with client.stream("GET", "/api/v1/stream", headers=headers) as stream:
            events = await asyncio.wait_for(read_until_live(stream), 5)
    missed = [e["payload"]["seq"] for e in events if e["type"] == "button.pressed"]
    assert missed == [2, 3]
    assert all(e["seq"] > first for e in events)
