"""ORU^R40 from other systems as an alert source: a nurse-call wall button, another RTLS, a monitor.

:func:`decode_oru_r40` is a pure decoder (bytes in, :class:`ExternalAlert` out, or
:class:`InvalidMessage`), tolerant of what real senders do: three profile OIDs in MSH-21, attribute codes
in either the 68480–68485 or the 68164–68168 range (we key on the reference name, e.g.
``MDC_ATTR_EVENT_PHASE``, and on the known numbers), v2.6 or v2.7 encoding characters, CR or CRLF.

:class:`Hl7AlertListener` is the MLLP shell around it: each ORU^R40 is answered ``AA`` (and handed to
``on_alert``; keep-alive watchdogs are acknowledged but not raised) or ``AE`` with the reason. PCD-05
``ORA^R41`` dispatch reports arriving here (an Alert Manager that connects back to us) are acknowledged
and handed to ``on_update``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from duress.channels.hl7_acm_messages import PROFILES, dispatch_update, parse_ora_r41
from duress.channels.hl7v2 import Hl7Message, build_ack
from duress.channels.mllp import MllpError, frame, read_frame
from duress.domain.errors import InvalidMessage
from duress.domain.notification import UpdateCallback
from duress.service.clock import Clock, SystemClock

log = structlog.get_logger(__name__)

_ATTRIBUTES_BY_NUMBER = {
    "68480": "MDC_ATTR_ALERT_SOURCE",
    "68481": "MDC_ATTR_EVENT_PHASE",
    "68482": "MDC_ATTR_ALARM_STATE",
    "68483": "MDC_ATTR_ALARM_INACTIVATION_STATE",
    "68484": "MDC_ATTR_ALARM_PRIORITY",
    "68485": "MDC_ATTR_ALERT_TYPE",
}
_KEEPALIVE_EVENTS = frozenset({"MDC_EVT_ACTIVE", "196614"})


@dataclass(frozen=True, slots=True)
class ExternalLocation:
    """PV1-3: point of care ^ room ^ bed ^ facility ^ ^ ^ building ^ floor."""

    point_of_care: str = ""
    room: str = ""
    bed: str = ""
    facility: str = ""
    building: str = ""
    floor: str = ""


@dataclass(frozen=True, slots=True)
class ExternalAlert:
    """An alert reported by another system."""

    source: str
    """Who sent it: MSH-3 (sending application), or the alert source attribute."""
    identifier: str
    """The alert's identifier (OBR-3), the same across its phases."""
    phase: str
    priority: str
    location: ExternalLocation
    event: str = ""
    """The event's reference name (``MDC_EVT_...``), else its code (OBX-3 of the event observation)."""
    event_code: str = ""
    """OBX-3.1 of the event observation (``196916``, ``DURESS_SECURITY``)."""
    text: str = ""
    state: str = ""
    alert_type: str = ""
    profile: str | None = None
    control_id: str = ""
    keepalive: bool = False
    processing_id: str = "P"
    """MSH-11: ``P`` production, ``T`` training (a drill), ``D`` debugging (a test)."""
    confirm_timeout_s: float | None = None
    """A watchdog's ``MDC_ATTR_CONFIRM_TIMEOUT``: the sender's promise of its next keep-alive."""


def _attribute_name(message: Hl7Message, code_field: str) -> str:
    parts = message.components(code_field)
    number = parts[0]
    name = parts[1] if len(parts) > 1 else ""
    if name.startswith("MDC_"):
        return name
    return _ATTRIBUTES_BY_NUMBER.get(number, number or name)


def decode_oru_r40(data: str | bytes) -> ExternalAlert:
    """One PCD-04 Report Alert as an :class:`ExternalAlert`; :class:`InvalidMessage` on bad input."""
    message = Hl7Message.parse(data)
    if message.message_type != "ORU^R40":
        raise InvalidMessage(
            "hl7.type", f"expected ORU^R40, got {message.message_type or 'nothing'}"
        )
    msh = message.need("MSH")
    profile_field = Hl7Message.field(msh, 21)
    profile = None
    if profile_field:
        profile = next((oid for oid in PROFILES if oid in message.components(profile_field)), None)
        if profile is None:
            raise InvalidMessage(
                "hl7.profile",
                f"unknown message profile {profile_field!r} in MSH-21; expected one of {', '.join(PROFILES)}",
            )
    obr = message.need("OBR")
    observations = message.all("OBX")
    if not observations:
        raise InvalidMessage("hl7.missing_segment", "the message has no OBX segments")
    attributes: dict[str, str] = {}
    confirm_timeout: float | None = None
    event, event_code, text = "", "", ""
    for obx in observations:
        name = _attribute_name(message, Hl7Message.field(obx, 3))
        value = message.component(Hl7Message.field(obx, 5), 1)
        if name == "MDC_ATTR_CONFIRM_TIMEOUT":
            with contextlib.suppress(ValueError):
                confirm_timeout = float(value)
        elif name.startswith("MDC_ATTR_"):
            attributes.setdefault(name, value)
        elif name.startswith("MDC_DEV_"):
            continue
        elif not event:
            event, text = name, value
            event_code = message.components(Hl7Message.field(obx, 3))[0]
    if "MDC_ATTR_EVENT_PHASE" not in attributes:
        raise InvalidMessage("hl7.missing_attribute", "no MDC_ATTR_EVENT_PHASE observation")
    pv1 = message.first("PV1")
    loc = message.components(Hl7Message.field(pv1, 3)) + [""] * 8
    ident = message.components(Hl7Message.field(obr, 3))
    identifier = ident[1] if len(ident) > 1 and ident[0] in ("", "0") and ident[1] else ident[0]
    if not identifier:
        raise InvalidMessage("hl7.missing_field", "OBR-3 (the alert identifier) is empty")
    sending = message.components(Hl7Message.field(msh, 3))[0]
    return ExternalAlert(
        source=sending or attributes.get("MDC_ATTR_ALERT_SOURCE", ""),
        identifier=identifier,
        phase=attributes["MDC_ATTR_EVENT_PHASE"],
        priority=attributes.get("MDC_ATTR_ALARM_PRIORITY", ""),
        location=ExternalLocation(loc[0], loc[1], loc[2], loc[3], loc[6], loc[7]),
        event=event,
        event_code=event_code,
        text=text,
        state=attributes.get("MDC_ATTR_ALARM_STATE", ""),
        alert_type=attributes.get("MDC_ATTR_ALERT_TYPE", ""),
        profile=profile,
        control_id=message.control_id,
        keepalive=event in _KEEPALIVE_EVENTS,
        processing_id=message.components(Hl7Message.field(msh, 11))[0] or "P",
        confirm_timeout_s=confirm_timeout,
    )


AlertCallback = Callable[[ExternalAlert], Awaitable[None]]


class Hl7AlertListener:
    """An MLLP server on ``host:port`` (port 0 picks a free one; see :attr:`port`)."""

    def __init__(
        self,
        on_alert: AlertCallback,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_update: UpdateCallback | None = None,
        clock: Clock | None = None,
        application: str = "DURESS",
    ) -> None:
        self.on_alert = on_alert
        self.on_update = on_update
        self.host = host
        self._port = port
        self._clock = clock or SystemClock()
        self._application = application
        self._server: asyncio.Server | None = None
        self._ids = itertools.count(1)
        self._connections: set[asyncio.Task[None]] = set()
        self.last_keepalive: ExternalAlert | None = None
        self.last_keepalive_at: datetime | None = None
        """When the last watchdog arrived: supervise the sender with its ``confirm_timeout_s``."""

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self._port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Hl7AlertListener:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            while True:
                data = await read_frame(reader)
                answer = await self.handle(data)
                if answer:
                    writer.write(frame(answer))
                    await writer.drain()
        except (MllpError, OSError):
            pass
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def handle(self, data: bytes) -> str:
        """One framed message in, the ACK to send back out (empty when it cannot be parsed at all)."""
        now = self._clock.now()
        control_id = f"{self._application}{next(self._ids):08d}"
        try:
            message = Hl7Message.parse(data)
        except InvalidMessage as exc:
            log.warning("hl7_source.unparseable", error=str(exc))
            return ""
        if message.message_type in ("ORA^R41", "ORU^R41"):
            return await self._dispatch(message, control_id)
        try:
            alert = decode_oru_r40(data)
        except InvalidMessage as exc:
            log.warning("hl7_source.rejected", reason=exc.reason, detail=exc.detail)
            return build_ack(message, "AE", control_id=control_id, ts=now, text=str(exc))
        if alert.keepalive:
            self.last_keepalive = alert
            self.last_keepalive_at = now
            return build_ack(message, "AA", control_id=control_id, ts=now)
        try:
            await self.on_alert(alert)
        except (
            InvalidMessage
        ) as exc:  # the callback could not make sense of it (see hl7_source_mapping)
            log.warning("hl7_source.refused", identifier=alert.identifier, reason=exc.reason)
            return build_ack(message, "AE", control_id=control_id, ts=now, text=str(exc))
        except Exception as exc:  # not recorded: tell the sender so it retries
            log.exception("hl7_source.callback_failed", identifier=alert.identifier)
            return build_ack(
                message,
                "AE",
                control_id=control_id,
                ts=now,
                text=f"could not record the alert: {type(exc).__name__}",
            )
        return build_ack(message, "AA", control_id=control_id, ts=now)

    async def _dispatch(self, message: Hl7Message, control_id: str) -> str:
        now = self._clock.now()
        try:
            status = parse_ora_r41(message)
        except InvalidMessage as exc:
            return build_ack(message, "AE", control_id=control_id, ts=now, text=str(exc))
        if self.on_update is not None:
            await self.on_update(dispatch_update(status, now, channel="hl7_acm"))
        return build_ack(message, "AA", control_id=control_id, ts=now)
