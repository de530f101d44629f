"""A small WCTP gateway for tests and the demo: an HTTP server on 127.0.0.1 that accepts
``wctp-SubmitRequest``, answers ``wctp-Confirmation``, then (after ``delay_s`` on the injected clock)
POSTs ``wctp-StatusInfo`` DELIVERED and READ and a ``wctp-MessageReply`` (``reply``, default Accept) to
the request's ``sendResponsesToID`` (or ``reply_url``). A request in the IHE PCD-06 form is answered in
kind: every report carries ``wctp-IHEPCDACM`` filled from the request's ``wctp-IHEPCD04`` (the staff
member, room and bed), and the reply names the responder (``responder``, default the recipient).

``mode`` makes it misbehave: ``ok`` (default), ``refuse`` (``wctp-Failure`` ``error_code``),
``http500`` (HTTP 500), ``hang`` (never answers), ``garbage`` (not XML).

The HTTP server is a deliberately tiny HTTP/1.1 implementation (one request per connection) so it runs
anywhere without an ASGI server; replies go out through ``client`` (an ``httpx.AsyncClient``; pass one
with an ``ASGITransport`` to hit an app in-process).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable

import httpx

from duress.channels.wctp import (
    CONTENT_TYPE,
    SubmitRequest,
    build_confirmation,
    build_message_reply,
    build_status_info,
    parse_submit_request,
)
from duress.channels.wctp_ihe import AcmInfo, acm_from_pcd04
from duress.domain.errors import InvalidMessage
from duress.service.clock import Clock, SystemClock
from duress.sim.peers.server import LoopbackPeer


class WctpGatewayPeer(LoopbackPeer):
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        client: httpx.AsyncClient | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        mode: str = "ok",
        error_code: str = "403",
        delay_s: float = 0.0,
        statuses: tuple[str, ...] = ("DELIVERED", "READ"),
        reply: str | None = "Accept",
        reply_url: str | None = None,
        reply_for: Callable[[SubmitRequest], str | None] | None = None,
        responder: str | None = None,
    ) -> None:
        """``reply_for``, when given, decides each message's reply (None: the recipient never
        answers); otherwise every message with choices gets ``reply``."""
        self.clock = clock or SystemClock()
        self.client = client
        super().__init__(host, port)
        self.mode = mode
        self.error_code = error_code
        self.delay_s = delay_s
        self.statuses = statuses
        self.reply = reply
        self.reply_url = reply_url
        self.reply_for = reply_for
        self.responder = responder
        self.received: list[SubmitRequest] = []
        self.raw: list[bytes] = []
        self.posted: list[tuple[str, int]] = []
        """(what, HTTP status) for each report posted back."""
        self.got_request = asyncio.Event()
        self.reported = asyncio.Event()
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/wctp"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length)
            status, answer = self._answer(body)
            if status == 0:
                await asyncio.Event().wait()  # hang until cancelled
            writer.write(
                f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                f"Content-Type: {CONTENT_TYPE}\r\nContent-Length: {len(answer)}\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
                + answer
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, ValueError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _answer(self, body: bytes) -> tuple[int, bytes]:
        self.raw.append(body)
        try:
            request = parse_submit_request(body)
        except InvalidMessage as exc:
            return 200, build_confirmation(False, "301", str(exc))
        pcd06 = request.pcd06
        self.received.append(request)
        self.got_request.set()
        if self.mode == "hang":
            return 0, b""
        if self.mode == "http500":
            return 500, b"internal error"
        if self.mode == "garbage":
            return 200, b"<html>oops"
        if self.mode == "refuse":
            return 200, build_confirmation(
                False, self.error_code, "invalid recipientID", pcd06=pcd06
            )
        self._spawn(self._report(request))
        return 200, build_confirmation(True, "200", "Accepted", pcd06=pcd06)

    def _acm(self, request: SubmitRequest, responder: str | None = None) -> AcmInfo | None:
        """The PCD-07 alert information for a PCD-06 request (None for plain WCTP 1.3)."""
        if not request.pcd06:
            return None
        if not request.pcd04:
            return AcmInfo()
        return acm_from_pcd04(request.pcd04, responder=responder, on_behalf_of=request.recipient_id)

    async def _report(self, request: SubmitRequest) -> None:
        target = request.reply_to or self.reply_url
        if target is None:
            self.reported.set()
            return
        client = self.client or httpx.AsyncClient()
        try:
            for status in self.statuses:
                await self.clock.sleep(self.delay_s)
                await self._post(
                    client,
                    target,
                    status,
                    build_status_info(
                        request.message_id,
                        sender_id="peer-gateway",
                        recipient_id=request.recipient_id,
                        status=status,
                        status_message_id=f"gw-{next(self._ids)}",
                        responded=self.clock.now(),
                        acm=self._acm(request),
                    ),
                )
            reply = self.reply_for(request) if self.reply_for is not None else self.reply
            if reply is not None and request.choices:
                await self.clock.sleep(self.delay_s)
                await self._post(
                    client,
                    target,
                    f"reply:{reply}",
                    build_message_reply(
                        request.message_id,
                        sender_id="peer-gateway",
                        recipient_id=request.recipient_id,
                        text=reply,
                        reply_message_id=f"gw-{next(self._ids)}",
                        responded=self.clock.now(),
                        acm=self._acm(request, self.responder or request.recipient_id),
                    ),
                )
        finally:
            if self.client is None:
                await client.aclose()
            self.reported.set()

    async def _post(self, client: httpx.AsyncClient, url: str, what: str, body: bytes) -> None:
        try:
            response = await client.post(url, content=body, headers={"Content-Type": CONTENT_TYPE})
            self.posted.append((what, response.status_code))
        except httpx.HTTPError:
            self.posted.append((what, 0))
