"""An express lane for a channel's first attempt: keep-alive HTTP/1.1 connections held open to one
origin, so that a request is written to the socket in the same turn of the event loop that asked
for it (decision 14).

:class:`HttpLane` holds up to ``limit`` connections to the origin of one URL. :meth:`HttpLane.start`
writes a whole request (``POST``, or any method, with a body) on an idle connection at once and
returns a future of the :class:`~duress.channels.http_client.HttpAnswer`; it returns ``None`` when no
connection is idle (none open yet, all busy, or the last closed), and opens one in the background
for next time. The caller then sends through :class:`~duress.channels.http_client.HttpClient` as
usual. A connection carries one request at a time; it is closed when the answer says
``Connection: close``, when the answer cannot be parsed or when the request is abandoned
(cancelled, timed out). Once the lane has been used it keeps a connection ready: one idle for
``keepalive_s`` is replaced by a fresh one (an older one is not trusted: the far end or a middlebox
may have dropped it unseen), and one the far end closes is replaced after ``REOPEN_AFTER_S``, so
that a press after a quiet hour finds a connection as one in a busy minute does.

The future fails with :class:`LaneBroken` when the connection broke before any byte of an answer
arrived (the far end closed an idle keep-alive connection as the request was written: the caller
sends again through its client, under the same idempotency key) and with
:class:`~duress.channels.http_client.HttpUnreachable` when it broke during the answer.

No proxy (the caller asks :meth:`HttpClient.proxy_for` first), no redirects, no compression asked
for; TLS is verified against the system's trust store, as the client does. The answer is parsed by
``httptools`` (it comes with ``uvicorn[standard]``); without it the lane never starts and every
request takes the ordinary path.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from typing import Any, cast
from urllib.parse import urlsplit

from duress.channels.http_client import HttpAnswer, HttpUnreachable

try:
    import httptools
except ImportError:  # pragma: no cover - uvicorn[standard] brings it
    httptools = None  # type: ignore[assignment]  # the lane stays off without it

DEFAULT_LIMIT = 4
DEFAULT_KEEPALIVE_S = 15.0
CONNECT_TIMEOUT_S = 5.0
REOPEN_AFTER_S = 1.0
"""After the far end closed an idle connection, how long before another is opened in its place."""


class LaneBroken(Exception):
    """The connection broke before any byte of an answer: the request may not have arrived."""


class _Connection(asyncio.Protocol):
    """One connection: writes a request, parses its answer, resolves the request's future."""

    def __init__(self, lane: HttpLane) -> None:
        self._lane = lane
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[HttpAnswer] | None = None
        self.idle_since = time.monotonic()
        self.closed = False
        self.refresh: asyncio.TimerHandle | None = None
        self._parser: Any = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._answered = False

    # -- asyncio.Protocol --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self._parser is None:
            self.close()  # an answer to nothing: the connection is out of step
            return
        self._answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpUnreachable("POST", self._lane.url, f"HttpParserError: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        by_far_end = not self.closed
        self.closed = True
        self._lane.forget(self)
        if by_far_end and self.waiter is None:
            self._lane.replace_later()
        if self.waiter is not None and not self.waiter.done():
            if self._answered:
                cause = f"the connection broke during the answer ({exc or 'closed'})"
                self.waiter.set_exception(HttpUnreachable("POST", self._lane.url, cause))
            else:
                self.waiter.set_exception(LaneBroken(str(exc or "closed by the far end")))

    # -- httptools callbacks ------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1")] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, parser = self.waiter, self._parser
        self.waiter = None
        keep = parser.should_keep_alive()
        answer = HttpAnswer(parser.get_status_code(), b"".join(self._body), _Headers(self._headers))
        self._parser = None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)
        if keep:
            self.idle_since = time.monotonic()
            self._lane.idle(self)
        else:
            self.close()

    # -- the lane's side ----------------------------------------------------------------------------

    def write(self, request: bytes) -> asyncio.Future[HttpAnswer]:
        assert self.transport is not None
        waiter: asyncio.Future[HttpAnswer] = asyncio.get_running_loop().create_future()
        self.waiter = waiter
        self._parser = httptools.HttpResponseParser(self)
        self._headers, self._body, self._answered = {}, [], False
        self.transport.write(request)
        waiter.add_done_callback(self._abandoned)
        return waiter

    def _abandoned(self, waiter: asyncio.Future[HttpAnswer]) -> None:
        if waiter.cancelled():  # nobody waits for the answer any more: the connection is spent
            self.close()

    def _fail(self, error: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)
        self.waiter = None

    def close(self) -> None:
        if self.refresh is not None:
            self.refresh.cancel()
        if not self.closed:
            self.closed = True
            self._lane.forget(self)
            if self.transport is not None:
                self.transport.close()


class _Headers(dict[str, str]):
    """Answer headers with case-insensitive lookups (as ``HttpAnswer.headers`` promises)."""

    def __init__(self, raw: dict[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in raw.items()})

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


class HttpLane:
    """Pre-opened keep-alive connections to the origin of ``url``; requests go to ``url``'s path."""

    def __init__(
        self,
        url: str,
        *,
        limit: int = DEFAULT_LIMIT,
        keepalive_s: float = DEFAULT_KEEPALIVE_S,
    ) -> None:
        parts = urlsplit(url)
        self.url = url
        self.enabled = httptools is not None and parts.scheme in ("http", "https")
        self._tls = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._tls else 80)
        default_port = parts.port is None or parts.port == (443 if self._tls else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._authority = host if default_port else f"{host}:{self._port}"
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.username or parts.password or not self._host:
            self.enabled = False  # credentials in the URL: the ordinary client handles them
        self.limit = limit
        self.keepalive_s = keepalive_s
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._opening: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._reopen: asyncio.TimerHandle | None = None

    def encode(self, method: str, body: bytes, headers: dict[str, str]) -> bytes | None:
        """The request's bytes, or None when a header cannot be written as given."""
        lines = [f"{method} {self._target} HTTP/1.1", f"Host: {self._authority}"]
        for name, value in headers.items():
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
                return None
            lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(body)}")
        try:
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        except UnicodeEncodeError:
            return None
        return head + body

    def start(self, request: bytes) -> asyncio.Future[HttpAnswer] | None:
        """Write ``request`` (from :meth:`encode`) on an idle connection now and return the future
        of its answer; None when no connection is idle (one is opened for next time)."""
        if not self.enabled or self._closed:
            return None
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): the old connections are not ours
            self._idle, self._open, self._opening, self._loop = [], set(), None, loop
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.closed:
                continue
            if now - connection.idle_since > self.keepalive_s:
                connection.close()  # the far end may be closing it at this very moment
                continue
            return connection.write(request)
        self.warm()
        return None

    def warm(self) -> None:
        """Open one more connection in the background, unless one is opening or ``limit`` are."""
        if self._closed or not self.enabled:
            return
        if self._opening is not None and not self._opening.done():
            return
        if len(self._open) >= self.limit:
            return
        self._loop = asyncio.get_running_loop()
        self._opening = self._loop.create_task(self._connect(), name=f"http-lane:{self._host}")

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        context = ssl.create_default_context() if self._tls else None
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(self),
                    self._host,
                    self._port,
                    ssl=context,
                    server_hostname=self._host if context else None,
                ),
                CONNECT_TIMEOUT_S,
            )
        except (OSError, TimeoutError, ssl.SSLError):
            return  # the ordinary path reports what is wrong; the next request tries again
        if self._closed:
            connection.close()
            return
        self._open.add(connection)
        self.idle(connection)

    def idle(self, connection: _Connection) -> None:
        """``connection`` is free again: kept for the next request and, once idle ``keepalive_s``,
        closed and replaced by a fresh one (a connection idle longer is not trusted: the far end
        or a middlebox may have dropped it unseen), so that one is ready whenever a notice comes."""
        if connection not in self._open or connection.closed:
            return
        self._idle.append(connection)
        if connection.refresh is not None:
            connection.refresh.cancel()
        loop = asyncio.get_running_loop()
        connection.refresh = loop.call_later(self.keepalive_s, self._refresh, connection)

    def _refresh(self, connection: _Connection) -> None:
        connection.refresh = None
        if connection.closed or connection.waiter is not None or connection not in self._idle:
            return
        connection.close()
        self.warm()

    def replace_later(self) -> None:
        """The far end closed an idle connection: open another in its place in a moment."""
        if self._closed or self._loop is None or self._loop.is_closed():
            return
        if self._reopen is None or self._reopen.cancelled():
            self._reopen = self._loop.call_later(REOPEN_AFTER_S, self._reopened)

    def _reopened(self) -> None:
        self._reopen = None
        if not self._idle:
            self.warm()

    def forget(self, connection: _Connection) -> None:
        self._open.discard(connection)
        with contextlib.suppress(ValueError):
            self._idle.remove(connection)

    async def aclose(self) -> None:
        """Close every connection (and stop one being opened); the lane then stays closed."""
        self._closed = True
        if self._reopen is not None:
            self._reopen.cancel()
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._opening
        for connection in list(self._open):
            connection.close()
        self._idle.clear()
