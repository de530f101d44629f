"""IHE PCD Alert Communication Management: Duress as an Alert Reporter over HL7 v2 / MLLP.

PCD-04 *Report Alert* (``ORU^R40``) goes to the hospital's Alert Manager (Vocera Engage, Ascom Unite,
Spok) which routes it to phones and pagers. One alert keeps its identifier (OBR-3) across its event
phases: ``start``, ``update`` (location changed) or ``escalate``, and ``end``. Duress alerts carry
priority ``PH``; the location goes in PV1-3 (point of care ^ room ^ bed ^ facility ^^^ building ^ floor);
the staff member in duress is the alert's subject (PID, identified per the site's name display; never a
patient). The manager answers each message with an ACK (``AA``/``CA`` accepted; ``AE``/``AR`` refused
with its error text) and may send PCD-05 *Report Dispatch* (``ORA^R41``: delivered, read, accepted) back
on the same connection, which we ACK and report as :class:`DeliveryUpdate`.

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

from duress.channels.hl7v2 import (
    SEGMENT_SEPARATOR,
    Ack,
    Hl7Message,
    build_ack,
    escape,
    parse_ack,
    timestamp,
)
from duress.channels.mllp import MllpError, frame, read_frame, wait_for
from duress.channels.settings import Reader
from duress.channels.text import NameDisplay, TextSettings, short_text, who
from duress.domain.errors import InvalidMessage
from duress.domain.notification import (
    DeliveryStatus,
    DeliveryUpdate,
    EventPhase,
    Mode,
    Notice,
    Receipt,
    Reply,
    UpdateCallback,
)
from duress.service.clock import Clock, SystemClock

log = structlog.get_logger(__name__)

PROFILE_ACM = "1.3.6.1.4.1.19376.1.6.1.4.1"
PROFILES = (PROFILE_ACM, "1.3.6.1.4.1.19376.1.6.4.4", "1.3.6.1.4.1.19376.1.6.4.4.1")

_PRIORITY = {"critical": "PH", "high": "PH", "normal": "PM", "low": "PL"}
_PROCESSING = {Mode.REAL: "P", Mode.DRILL: "T", Mode.TEST: "D"}


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


# -- building (pure) ----------------------------------------------------------------------------------


def event_phase(notice: Notice) -> str:
    """The ACM event phase for a notice: ``start``, ``update``, ``escalate`` or ``end``."""
    if notice.phase is EventPhase.END:
        return "end"
    if notice.phase is EventPhase.UPDATE:
        return "escalate" if "escalat" in notice.update_reason.lower() else "update"
    return "start"


def _msh(settings: Hl7AcmSettings, control_id: str, ts: datetime, mode: Mode) -> str:
    return "|".join(
        [
            "MSH",
            "^~\\&",
            escape(settings.sending_application),
            escape(settings.sending_facility),
            escape(settings.receiving_application),
            escape(settings.receiving_facility),
            timestamp(ts),
            "",
            "ORU^R40^ORU_R40",
            escape(control_id),
            _PROCESSING[mode],
            "2.6",
            "",
            "",
            "AL",
            "NE",
            "",
            "UNICODE UTF-8",
            "",
            "",
            f"IHE_PCD_ACM_001^IHE PCD^{PROFILE_ACM}^ISO",
        ]
    )


def _obx(n: int, code: str, value: str, *, kind: str = "ST", units: str = "") -> str:
    return f"OBX|{n}|{kind}|{code}|1.0.0.{n}|{value}|{units}|||||F"


def build_oru_r40(
    notice: Notice,
    settings: Hl7AcmSettings,
    *,
    control_id: str,
    ts: datetime,
    text: TextSettings | None = None,
) -> str:
    """PCD-04 Report Alert for one notice (segments separated by CR)."""
    text = text or TextSettings()
    loc = notice.location
    facility = loc.facility or settings.facility
    person = who(notice, text.name_display)
    staff_id = notice.staff_id if text.name_display is not NameDisplay.ROLE else ""
    phase = event_phase(notice)
    kind = str(notice.kind).upper()
    pv1_3 = "^".join(
        escape(p or "")
        for p in (
            loc.unit or loc.zone,
            loc.room,
            loc.bay,
            facility,
            "",
            "",
            loc.building,
            loc.floor,
        )
    ).rstrip("^")
    segments = [
        _msh(settings, control_id, ts, notice.effective_mode),
        f"PID|||{escape(staff_id or '')}^^^DURESS^EI||{escape(person)}",
        f"PV1||N|{pv1_3}",
        f"OBR|1||{escape(notice.alert)}^{escape(notice.key)}|196616^MDC_EVT_ALARM^MDC|||{timestamp(ts)}",
        _obx(
            1,
            f"DURESS_{kind}^Staff duress {escape(str(notice.kind))}^DURESS",
            escape(short_text(notice, text, limit=200)),
        ),
        _obx(2, "68480^MDC_ATTR_ALERT_SOURCE^MDC", escape(settings.sending_application)),
        _obx(3, "68481^MDC_ATTR_EVENT_PHASE^MDC", phase),
        _obx(4, "68482^MDC_ATTR_ALARM_STATE^MDC", "inactive" if phase == "end" else "active"),
        _obx(5, "68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC", "enabled"),
        _obx(6, "68484^MDC_ATTR_ALARM_PRIORITY^MDC", _PRIORITY.get(notice.priority, "PH")),
        _obx(7, "68485^MDC_ATTR_ALERT_TYPE^MDC", "SA"),
    ]
    return SEGMENT_SEPARATOR.join(segments) + SEGMENT_SEPARATOR


def build_watchdog(settings: Hl7AcmSettings, *, control_id: str, ts: datetime) -> str:
    """The ACM keep-alive: ``MDC_EVT_ACTIVE`` with the confirm timeout, as real reporters send it."""
    segments = [
        _msh(settings, control_id, ts, Mode.REAL),
        f"OBR|1||{escape(control_id)}^WATCHDOG|196616^MDC_EVT_ALARM^MDC|||{timestamp(ts)}",
        _obx(1, "196614^MDC_EVT_ACTIVE^MDC", "continue"),
        _obx(2, "68480^MDC_ATTR_ALERT_SOURCE^MDC", escape(settings.sending_application)),
        _obx(3, "68481^MDC_ATTR_EVENT_PHASE^MDC", "start"),
        _obx(4, "68482^MDC_ATTR_ALARM_STATE^MDC", "active"),
        _obx(5, "68484^MDC_ATTR_ALARM_PRIORITY^MDC", "PN"),
        _obx(6, "68485^MDC_ATTR_ALERT_TYPE^MDC", "SA"),
        _obx(
            7,
            "67860^MDC_ATTR_CONFIRM_TIMEOUT^MDC",
            str(settings.confirm_timeout_s),
            kind="NM",
            units="264320^MDC_DIM_SEC^MDC",
        ),
    ]
    return SEGMENT_SEPARATOR.join(segments) + SEGMENT_SEPARATOR


# -- PCD-05 dispatch status (pure) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DispatchStatus:
    """One PCD-05 report: the alert (OBR-3), what happened, and who (PRT-5), if said."""

    alert: str
    key: str
    status: DeliveryStatus
    reply: Reply | None = None
    responder: str | None = None
    text: str = ""


_DISPATCH_WORDS: tuple[tuple[str, DeliveryStatus, Reply | None], ...] = (
    ("accept", DeliveryStatus.REPLIED, Reply.ACCEPT),
    ("reject", DeliveryStatus.REPLIED, Reply.DECLINE),
    ("declin", DeliveryStatus.REPLIED, Reply.DECLINE),
    ("undeliver", DeliveryStatus.FAILED, None),
    ("fail", DeliveryStatus.FAILED, None),
    ("cancel", DeliveryStatus.FAILED, None),
    ("read", DeliveryStatus.READ, None),
    ("deliver", DeliveryStatus.DELIVERED, None),
    ("queue", DeliveryStatus.QUEUED, None),
)


def parse_ora_r41(message: Hl7Message) -> DispatchStatus:
    """Decode PCD-05 ``ORA^R41``: the status word may be in PRT-2/PRT-3 or an OBX value."""
    if message.message_type not in ("ORA^R41", "ORU^R41"):
        raise InvalidMessage(
            "hl7.type", f"expected ORA^R41, got {message.message_type or 'nothing'}"
        )
    obr = message.need("OBR")
    ident = message.components(Hl7Message.field(obr, 3))
    alert, key = ident[0], (ident[1] if len(ident) > 1 else ident[0])
    words: list[str] = []
    responder = None
    for prt in message.all("PRT"):
        words += [
            message.component(Hl7Message.field(prt, n), 2)
            or message.component(Hl7Message.field(prt, n), 1)
            for n in (2, 3)
        ]
        person = [*message.components(Hl7Message.field(prt, 5)), "", "", ""]
        name = " ".join(p for p in (person[2], person[1]) if p)
        responder = name or person[0] or responder
    words += [message.component(Hl7Message.field(o, 5), 1) for o in message.all("OBX")]
    for word in words:
        lowered = word.lower()
        for stem, status, reply in _DISPATCH_WORDS:
            if stem in lowered:
                return DispatchStatus(alert, key, status, reply, responder, word)
    raise InvalidMessage("hl7.dispatch_status", f"no known dispatch status in {words!r}")


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
        await self._report(
            DeliveryUpdate(
                status=status.status,
                ts=now,
                key=status.key,
                provider_id=status.key,
                alert=status.alert,
                channel=self.channel,
                reply=status.reply,
                reply_text=status.text,
                responder=status.responder,
                detail=f"PCD-05: {status.text}",
            )
        )

    async def _report(self, update: DeliveryUpdate) -> None:
        if self.on_update is None:
            return
        try:
            await self.on_update(update)
        except Exception:
            log.exception("hl7_acm.callback_failed", key=update.key)
