"""A small IHE PCD Alert Manager for tests and the demo: MLLP on 127.0.0.1, ACKs ORU^R40, then reports
dispatch (PCD-05 ORA^R41: delivered, read, accepted) back on the same connection after ``delay_s``.

``ack`` chooses the answer: ``AA`` (default), ``AE`` / ``AR`` (refused with ``error_text``) or ``none``
(never answers: a hung manager). Delays run on the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools

from duress.channels.hl7v2 import SEGMENT_SEPARATOR, Hl7Message, build_ack, timestamp
from duress.channels.mllp import MllpError, frame, read_frame
from duress.service.clock import Clock, SystemClock
from duress.sim.peers.server import LoopbackPeer

DEFAULT_SEQUENCE = ("Delivered", "Read", "Accepted")


class AlertManagerPeer(LoopbackPeer):
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ack: str = "AA",
        error_text: str = "",
        delay_s: float = 0.0,
        dispatch: tuple[str, ...] = DEFAULT_SEQUENCE,
        responder: str = "RESP1^Smith^Pat",
    ) -> None:
        self.clock = clock or SystemClock()
        super().__init__(host, port)
        self.ack = ack
        self.error_text = error_text
        self.delay_s = delay_s
        self.dispatch = dispatch
        self.responder = responder
        self.received: list[Hl7Message] = []
        self.acks_received: list[Hl7Message] = []
        self.got_message = asyncio.Event()
        self.dispatched = asyncio.Event()
        self._ids = itertools.count(1)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                message = Hl7Message.parse(await read_frame(reader))
                if message.message_type.startswith("ACK"):
                    self.acks_received.append(message)
                    continue
                self.received.append(message)
                self.got_message.set()
                if self.ack == "none":
                    continue
                code = self.ack
                is_watchdog = any(
                    "MDC_EVT_ACTIVE" in Hl7Message.field(o, 3) for o in message.all("OBX")
                )
                if is_watchdog and code == "AA":
                    code = "CA"
                ack = build_ack(
                    message,
                    code,
                    control_id=f"AM{next(self._ids)}",
                    ts=self.clock.now(),
                    text=self.error_text,
                    application="MockAM",
                )
                writer.write(frame(ack))
                await writer.drain()
                if code in ("AA", "CA") and not is_watchdog and self.dispatch:
                    self._spawn(self._report(message, writer))
        except (MllpError, OSError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _report(self, message: Hl7Message, writer: asyncio.StreamWriter) -> None:
        ident = Hl7Message.field(message.first("OBR"), 3)
        for word in self.dispatch:
            await self.clock.sleep(self.delay_s)
            segments = [
                f"MSH|^~\\&|MockAM||DURESS||{timestamp(self.clock.now())}||ORA^R41^ORA_R41|"
                f"AM{next(self._ids)}|P|2.6",
                f"OBR|||{ident}",
                f"PRT||{word}|{word}||{self.responder}",
            ]
            writer.write(frame(SEGMENT_SEPARATOR.join(segments) + SEGMENT_SEPARATOR))
            await writer.drain()
        self.dispatched.set()
