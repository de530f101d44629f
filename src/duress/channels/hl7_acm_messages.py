"""IHE PCD ACM messages, sans I/O: PCD-04 *Report Alert* (``ORU^R40``) and the watchdog we send, and
PCD-05 *Report Dispatch* (``ORA^R41``) that comes back.

Pure functions (a notice in, HL7 text out; an :class:`Hl7Message` in, a typed value out or
:class:`InvalidMessage`). The MLLP client that sends them is :mod:`duress.channels.hl7_acm`; the
listener that receives ``ORU^R40`` from other systems is :mod:`duress.channels.hl7_source`. The WCTP
channel embeds :func:`build_oru_r40` in its IHE PCD-06 form (``wctp-IHEPCD04``).

One alert keeps its identifier (OBR-3) across its event phases: ``start``, ``update`` (location
changed) or ``escalate``, and ``end``. Duress alerts carry priority ``PH``; the location goes in PV1-3
(point of care ^ room ^ bed ^ facility ^^^ building ^ floor); the staff member in duress is the alert's
subject (PID, identified per the site's name display; never a patient).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from duress.channels.hl7v2 import SEGMENT_SEPARATOR, Hl7Message, escape, timestamp
from duress.channels.text import NameDisplay, TextSettings, short_text, who
from duress.domain.errors import InvalidMessage
from duress.domain.notification import (
    DeliveryStatus,
    DeliveryUpdate,
    EventPhase,
    Mode,
    Notice,
    Reply,
)

PROFILE_ACM = "1.3.6.1.4.1.19376.1.6.1.4.1"
PROFILES = (PROFILE_ACM, "1.3.6.1.4.1.19376.1.6.4.4", "1.3.6.1.4.1.19376.1.6.4.4.1")
"""The MSH-21 profile OIDs real Alert Reporters send (we send the first)."""

PRIORITY_CODES = {"critical": "PH", "high": "PH", "normal": "PM", "low": "PL"}
PROCESSING_IDS = {Mode.REAL: "P", Mode.DRILL: "T", Mode.TEST: "D"}


class ReporterHeader(Protocol):
    """Who we are in MSH and the PV1-3 facility default (:class:`~duress.channels.hl7_acm.Hl7AcmSettings`
    has these; the WCTP channel passes its own)."""

    @property
    def sending_application(self) -> str: ...
    @property
    def sending_facility(self) -> str: ...
    @property
    def receiving_application(self) -> str: ...
    @property
    def receiving_facility(self) -> str: ...
    @property
    def facility(self) -> str: ...


class WatchdogHeader(ReporterHeader, Protocol):
    @property
    def confirm_timeout_s(self) -> int:
        """MDC_ATTR_CONFIRM_TIMEOUT announced in the watchdog."""
        ...


def event_phase(notice: Notice) -> str:
    """The ACM event phase for a notice: ``start``, ``update``, ``escalate`` or ``end``."""
    if notice.phase is EventPhase.END:
        return "end"
    if notice.phase is EventPhase.UPDATE:
        return "escalate" if "escalat" in notice.update_reason.lower() else "update"
    return "start"


def event_code(notice: Notice) -> str:
    """OBX-3 of the event observation: ``DURESS_SECURITY^Staff duress security^DURESS``."""
    kind = str(notice.kind)
    return f"DURESS_{kind.upper()}^Staff duress {escape(kind)}^DURESS"


def _msh(header: ReporterHeader, control_id: str, ts: datetime, mode: Mode) -> str:
    return "|".join(
        [
            "MSH",
            "^~\\&",
            escape(header.sending_application),
            escape(header.sending_facility),
            escape(header.receiving_application),
            escape(header.receiving_facility),
            timestamp(ts),
            "",
            "ORU^R40^ORU_R40",
            escape(control_id),
            PROCESSING_IDS[mode],
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
    settings: ReporterHeader,
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
        _obx(1, event_code(notice), escape(short_text(notice, text, limit=200))),
        _obx(2, "68480^MDC_ATTR_ALERT_SOURCE^MDC", escape(settings.sending_application)),
        _obx(3, "68481^MDC_ATTR_EVENT_PHASE^MDC", phase),
        _obx(4, "68482^MDC_ATTR_ALARM_STATE^MDC", "inactive" if phase == "end" else "active"),
        _obx(5, "68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC", "enabled"),
        _obx(6, "68484^MDC_ATTR_ALARM_PRIORITY^MDC", PRIORITY_CODES.get(notice.priority, "PH")),
        _obx(7, "68485^MDC_ATTR_ALERT_TYPE^MDC", "SA"),
    ]
    return SEGMENT_SEPARATOR.join(segments) + SEGMENT_SEPARATOR


def build_watchdog(settings: WatchdogHeader, *, control_id: str, ts: datetime) -> str:
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


# -- PCD-05 dispatch status ---------------------------------------------------------------------------------


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


def dispatch_update(status: DispatchStatus, ts: datetime, *, channel: str) -> DeliveryUpdate:
    """A PCD-05 report as the :class:`DeliveryUpdate` handed to ``Delivery.inbound``."""
    return DeliveryUpdate(
        status=status.status,
        ts=ts,
        key=status.key,
        provider_id=status.key,
        alert=status.alert,
        channel=channel,
        reply=status.reply,
        reply_text=status.text,
        responder=status.responder,
        detail=f"PCD-05: {status.text}",
    )
