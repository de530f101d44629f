"""IHE PCD Alert Communication Management: Duress as an Alert Reporter over HL7 v2 / MLLP.

PCD-04 *Report Alert* (``ORU^R40``) goes to the hospital's Alert Manager (Vocera Engage, Ascom Unite,
Spok) which routes it to phones and pagers. The messages themselves are built and parsed in
:mod:`duress.channels.hl7_acm_messages` (re-exported here); this module holds the settings and the
MLLP client. The manager answers each message with an ACK (``AA``/``CA`` accepted; ``AE``/``AR``
refused with its error text) and may send PCD-05 *Report Dispatch* (``ORA^R41``: delivered, read,
accepted) back on the same connection, which we ACK and report as :class:`DeliveryUpdate`.

Keep-alive: :meth:`Hl7AcmNotifier.keepalive` sends the ACM watchdog (``MDC_EVT_ACTIVE`` with
``MDC_ATTR_CONFIRM_TIMEOUT``); :meth:`Hl7AcmNotifier.run_keepalive` does so every ``keepalive_s``. A
watchdog that is not acknowledged within ``ack_timeout_s`` drops the connection (the next send
reconnects) and is reported by the return value.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from duress.channels.hl7_acm_messages import (
    PROFILE_ACM,
    PROFILES,
    DispatchStatus,
    ReporterHeader,
    build_oru_r40,
    build_watchdog,
    dispatch_update,
    event_phase,
    parse_ora_r41,
)
from duress.channels.hl7v2 import Ack, Hl7Message, build_ack, parse_ack
from duress.channels.mllp import MllpError, frame, read_frame, wait_for
from duress.channels.settings import Reader
from duress.channels.text import TextSettings
from duress.domain.errors import InvalidMessage
from duress.domain.notification import (
    DeliveryStatus,
    DeliveryUpdate,
    Notice,
    Receipt,
    UpdateCallback,
)
from duress.service.clock import Clock, SystemClock

__all__ = [
    "PROFILES",
    "PROFILE_ACM",
    "DispatchStatus",
    "Hl7AcmNotifier",
    "Hl7AcmSettings",
    "ReporterHeader",
    "build_oru_r40",
    "build_watchdog",
    "event_phase",
    "parse_ora_r41",
]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Hl7AcmSettings:
    """``channels: {hl7_acm: {host, port, sending_application, facility, ...}}``."""

    host: str
    port: int
    sending_application: str = "DURESS"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    facility: str = ""
    """PV1-3.4 when the notice names no facility."""
    ack_timeout_s: float = 2.0
    connect_timeout_s: float = 2.0
    keepalive_s: float = 30.0
    """Watchdog interval; 0 turns the watchdog off."""
    confirm_timeout_s: int = 5
    """MDC_ATTR_CONFIRM_TIMEOUT announced in the watchdog."""

    @classmethod
    def from_mapping(
        cls, data: dict[str, Any] | None, *, where: str = "channels.hl7_acm"
    ) -> Hl7AcmSettings:
        r = Reader(data, where)
        settings = cls(
            host=r.string("host", required=True),
            port=r.integer("port", 0, minimum=1),
            sending_application=r.string("sending_application", "DURESS"),
            sending_facility=r.string("sending_facility"),
            receiving_application=r.string("receiving_application"),
            receiving_facility=r.string("receiving_facility"),
            facility=r.string("facility"),
            ack_timeout_s=r.number("ack_timeout_s", 2.0, minimum=0.1),
            connect_timeout_s=r.number("connect_timeout_s", 2.0, minimum=0.1),
            keepalive_s=r.number("keepalive_s", 30.0),
            confirm_timeout_s=r.integer("confirm_timeout_s", 5, minimum=1, maximum=3600),
        )
        r.done()
        return settings

    @property
    def endpoint(self) -> str:
        return f"mllp://{self.host}:{self.port}"


# -- the client (I/O) ---------------------------------------------------------------------------------------


class Hl7AcmNotifier:
    """Sends ORU^R40 to one Alert Manager over a persistent MLLP connection (reconnects when needed)."""

    def __init__(
        self,
        settings: Hl7AcmSettings,
        *,
        clock: Clock | None = None,
        on_update: UpdateCallback | None = None,
        text: TextSettings | None = None,
        channel: str = "hl7_acm",
        control_ids: Callable[[], str] | None = None,
    ) -> None:
        self.settings = settings
        self.channel = channel
        self.endpoint = settings.endpoint
        self.on_update = on_update
        self._clock = clock or SystemClock()
        self._text = text or TextSettings()
        counter = itertools.count(1)
        self._next_id = control_ids or (lambda: f"DRS{next(counter):08d}")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Hl7Message]] = {}
        self._lock = asyncio.Lock()
        self._keepalive_task: asyncio.Task[None] | None = None
        self.last_ack_at: datetime | None = None

    async def send(self, notice: Notice) -> Receipt:
        control_id = self._next_id()
        message = build_oru_r40(
            notice, self.settings, control_id=control_id, ts=self._clock.now(), text=self._text
        )
        try:
            ack = await self._exchange(message, control_id)
        except TimeoutError:
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"no ACK within {self.settings.ack_timeout_s:g} s",
            )
        except (OSError, MllpError) as exc:
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"alert manager unreachable: {type(exc).__name__}: {exc}",
            )
        if ack.ok:
            return Receipt(
                notice.key, DeliveryStatus.SENT, detail=f"ACK {ack.code}", provider_id=notice.key
            )
        retryable = ack.code in ("AE", "CE")
        reason = f"alert manager answered {ack.code}" + (f": {ack.text}" if ack.text else "")
        return Receipt(notice.key, DeliveryStatus.FAILED, detail=reason, retryable=retryable)

    async def keepalive(self) -> bool:
        """Send one watchdog; true when the manager acknowledged it in time."""
        control_id = self._next_id()
        message = build_watchdog(self.settings, control_id=control_id, ts=self._clock.now())
        try:
            ack = await self._exchange(message, control_id)
        except (TimeoutError, OSError, MllpError) as exc:
            log.warning("hl7_acm.keepalive_failed", endpoint=self.endpoint, error=repr(exc))
            await self._drop()
            return False
        return ack.ok

    async def run_keepalive(self) -> None:
        """Send the watchdog every ``keepalive_s`` until cancelled."""
        while self.settings.keepalive_s > 0:
            await self._clock.sleep(self.settings.keepalive_s)
            await self.keepalive()

    def start_keepalive(self) -> None:
        if self._keepalive_task is None and self.settings.keepalive_s > 0:
            self._keepalive_task = asyncio.get_running_loop().create_task(self.run_keepalive())

    async def aclose(self) -> None:
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            await asyncio.gather(self._keepalive_task, return_exceptions=True)
            self._keepalive_task = None
        await self._drop()

    # -- connection ------------------------------------------------------------------------------------

    async def _exchange(self, message: str, control_id: str) -> Ack:
        async with self._lock:
            writer = await self._connect()
            future: asyncio.Future[Hl7Message] = asyncio.get_running_loop().create_future()
            self._pending[control_id] = future
            try:
                writer.write(frame(message))
                await writer.drain()
                reply = await wait_for(future, self._clock, self.settings.ack_timeout_s)
            except TimeoutError:
                await self._drop()
                raise
            finally:
                self._pending.pop(control_id, None)
            self.last_ack_at = self._clock.now()
            return parse_ack(reply)

    async def _connect(self) -> asyncio.StreamWriter:
        if self._writer is not None and not self._writer.is_closing():
            return self._writer
        opening = asyncio.ensure_future(
            asyncio.open_connection(self.settings.host, self.settings.port)
        )
        try:
            reader, writer = await wait_for(opening, self._clock, self.settings.connect_timeout_s)
        except TimeoutError:
            opening.cancel()
            raise OSError(f"connect to {self.endpoint} timed out") from None
        self._reader, self._writer = reader, writer
        self._read_task = asyncio.get_running_loop().create_task(self._read_loop(reader, writer))
        return writer

    async def _drop(self) -> None:
        task, writer = self._read_task, self._writer
        self._read_task = self._writer = self._reader = None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _read_loop(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await read_frame(reader)
                try:
                    message = Hl7Message.parse(data)
                except InvalidMessage as exc:
                    log.warning("hl7_acm.unparseable", endpoint=self.endpoint, error=str(exc))
                    continue
                if message.message_type.startswith("ACK") or message.first("MSA") is not None:
                    ack_for = Hl7Message.field(message.first("MSA"), 2)
                    future = self._pending.get(ack_for)
                    if future is not None and not future.done():
                        future.set_result(message)
                    continue
                await self._dispatch_report(message, writer)
        except (MllpError, OSError) as exc:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(MllpError(f"connection lost: {exc}"))
            if self._writer is writer:
                self._writer = None

    async def _dispatch_report(self, message: Hl7Message, writer: asyncio.StreamWriter) -> None:
        now = self._clock.now()
        try:
            status = parse_ora_r41(message)
        except InvalidMessage as exc:
            writer.write(
                frame(build_ack(message, "AE", control_id=self._next_id(), ts=now, text=str(exc)))
            )
            await self._report(
                DeliveryUpdate(
                    DeliveryStatus.FAILED,
                    now,
                    channel=self.channel,
                    detail=f"bad dispatch report: {exc}",
                )
            )
            return
        writer.write(frame(build_ack(message, "AA", control_id=self._next_id(), ts=now)))
        await self._report(dispatch_update(status, now, channel=self.channel))

    async def _report(self, update: DeliveryUpdate) -> None:
        if self.on_update is None:
            return
        try:
            await self.on_update(update)
        except Exception:
            log.exception("hl7_acm.callback_failed", key=update.key)
