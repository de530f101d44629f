import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from duress.channels import http_lane
from duress.channels.http_client import HttpUnreachable
from duress.channels.http_lane import HttpLane, LaneBroken
from tests.channels.http_server import Answer, HttpServer


async def ready(lane: HttpLane, request: bytes) -> asyncio.Future[object]:
    """Start ``request``, waiting for the lane's first connection to open."""
    for _ in range(200):
        answer = lane.start(request)
        if answer is not None:
            return answer  # type: ignore[return-value]
        await asyncio.sleep(0.005)
    raise AssertionError("the lane never had an idle connection")


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def lane_to(server: HttpServer, lanes: list[HttpLane]) -> tuple[HttpLane, bytes]:
    """A lane to the test server's ``/hook``, and an empty POST for it."""
    lane = HttpLane(server.url("/hook"))
    lanes.append(lane)
    request = lane.encode("POST", b"", {})
    assert request is not None
    return lane, request


@contextlib.asynccontextmanager
async def far_end(
    handler: Handler, lanes: list[HttpLane], body: bytes = b"x"
) -> AsyncIterator[tuple[HttpLane, bytes]]:
    """A lane to a raw TCP server that answers with ``handler``, and a request for it."""
    far = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = far.sockets[0].getsockname()[1]
    lane = HttpLane(f"http://127.0.0.1:{port}/hook")
    lanes.append(lane)
    request = lane.encode("POST", body, {})
    assert request is not None
    try:
        yield lane, request
    finally:
        far.close()


@pytest.fixture
async def lanes() -> AsyncIterator[list[HttpLane]]:
    made: list[HttpLane] = []
    try:
        yield made
    finally:
        for lane in made:
            await lane.aclose()


async def test_the_first_request_opens_a_connection_the_next_ones_are_written_at_once(
    server: HttpServer, lanes: list[HttpLane]
) -> None:
    lane = HttpLane(server.url("/hook?x=1"))
    lanes.append(lane)
    request = lane.encode("POST", b'{"a":1}', {"Content-Type": "application/json", "X-K": "v"})
    assert request is not None
    assert lane.start(request) is None  # nothing open yet: the caller sends the ordinary way
    server.answer = Answer(202, b"ok", {"X-Reply": "yes"})
    answer = await (await ready(lane, request))
    assert (answer.status, answer.body) == (202, b"ok")  # type: ignore[attr-defined]
    assert answer.headers["x-reply"] == answer.headers["X-Reply"] == "yes"  # type: ignore[attr-defined]
    again = lane.start(request)
    assert again is not None  # the same connection, idle again
    await again
    seen = server.seen
    assert [(r.method, r.path, r.query.get("x")) for r in seen] == [("POST", "/hook", "1")] * 2
    assert seen[0].body == b'{"a":1}'
    assert seen[0].headers["content-type"] == "application/json"
    assert seen[0].headers["x-k"] == "v"
    assert seen[0].client_port == seen[1].client_port


async def test_a_connection_the_far_end_closes_is_not_used_again(
    server: HttpServer, lanes: list[HttpLane]
) -> None:
    lane, request = lane_to(server, lanes)
    server.answer = Answer(200, b"", {"Connection": "close"})
    lane.start(request)
    await (await ready(lane, request))
    assert lane.start(request) is None


async def test_a_connection_broken_before_any_answer_is_lane_broken(
    lanes: list[HttpLane],
) -> None:
    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _reader.read(1)
        writer.close()

    async with far_end(hang_up, lanes) as (lane, request):
        lane.start(request)
        with pytest.raises(LaneBroken):
            await (await ready(lane, request))


async def test_an_answer_that_breaks_off_is_unreachable(lanes: list[HttpLane]) -> None:
    async def half(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _reader.read(1)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        writer.close()

    async with far_end(half, lanes) as (lane, request):
        lane.start(request)
        with pytest.raises(HttpUnreachable):
            await (await ready(lane, request))


async def test_an_abandoned_request_closes_its_connection(
    server: HttpServer, lanes: list[HttpLane]
) -> None:
    lane, request = lane_to(server, lanes)
    lane.start(request)
    server.answer = Answer(hang=True)
    answer = await ready(lane, request)
    await server.arrived.wait()
    answer.cancel()
    await asyncio.sleep(0.01)
    assert lane.start(request) is None  # that connection is spent; another one is opening


def test_a_header_that_cannot_be_written_as_given_is_refused() -> None:
    lane = HttpLane("http://127.0.0.1:1/hook")
    assert lane.encode("POST", b"", {"X-A": "one\r\nX-B: two"}) is None
    assert lane.encode("POST", b"", {"X-A": "é"}) is not None  # latin-1
    assert lane.encode("POST", b"", {"X-A": "€"}) is None


def test_the_request_names_the_host_and_the_length() -> None:
    request = HttpLane("https://vms.example/a/b?c=d").encode("POST", b"abc", {"X-K": "v"})
    assert request == (
        b"POST /a/b?c=d HTTP/1.1\r\nHost: vms.example\r\nX-K: v\r\nContent-Length: 3\r\n\r\nabc"
    )
    request = HttpLane("http://h:8080").encode("POST", b"", {})
    assert request is not None
    assert request.startswith(b"POST / HTTP/1.1\r\nHost: h:8080\r\n")
    assert not HttpLane("http://user:pw@h/x").enabled
    assert not HttpLane("ftp://h/x").enabled


async def test_an_idle_connection_is_replaced_by_a_fresh_one(
    server: HttpServer, lanes: list[HttpLane]
) -> None:
    lane = HttpLane(server.url("/hook"), keepalive_s=0.05)
    lanes.append(lane)
    request = lane.encode("POST", b"", {})
    assert request is not None
    lane.start(request)
    await (await ready(lane, request))
    await asyncio.sleep(0.2)  # idle longer than keepalive_s: closed and opened again meanwhile
    answer = lane.start(request)
    assert answer is not None  # ready at once
    await answer
    assert server.seen[0].client_port != server.seen[1].client_port


async def test_a_connection_the_far_end_closes_while_idle_is_replaced(
    lanes: list[HttpLane], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_lane, "REOPEN_AFTER_S", 0.01)
    ports: list[int] = []

    async def answer_then_hang_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        ports.append(writer.get_extra_info("peername")[1])
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.close()  # as a server closes an idle keep-alive connection

    async with far_end(answer_then_hang_up, lanes, b"") as (lane, request):
        lane.start(request)
        await (await ready(lane, request))
        await asyncio.sleep(0.2)
        assert len(ports) >= 2  # another connection was opened in its place
        assert lane.start(request) is not None


async def test_a_closed_lane_opens_nothing(server: HttpServer) -> None:
    lane = HttpLane(server.url("/hook"))
    request = lane.encode("POST", b"", {})
    assert request is not None
    lane.start(request)
    await (await ready(lane, request))
    await lane.aclose()
    assert lane.start(request) is None
    await asyncio.sleep(0.05)
    assert lane.start(request) is None
