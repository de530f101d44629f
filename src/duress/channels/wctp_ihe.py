"""The IHE PCD-06 extension of WCTP (``wctp-dtd-ihepcd-pcd06-v1r2``): alert information alongside the
message, for Alert Communicators in hospitals that run IHE ACM.

The extension is a namespaced WCTP document (``xmlns="http://tempuri.org/wctp-dtd-ihepcd-pcd06-v1r2"``,
``wctpVersion="wctp-dtd-ihepcd-pcd06-v1r2"``, no DOCTYPE). Where it attaches is fixed by its schema:

- In a ``wctp-SubmitRequest`` (PCD-06, us to the gateway) the ``wctp-MCR`` may end with
  ``wctp-IHEPCD04``: the alert as a PCD-04 ``ORU^R40`` (the staff member in duress as PID, the room and
  bed in PV1-3, phase and priority in OBX). The schema allows nothing else there.
- In a ``wctp-StatusInfo`` or ``wctp-MessageReply`` (PCD-07, the gateway back to us) a
  ``wctp-IHEPCDACM`` element is required: the alert's participants (``STAFF``, ``DEVICE``, ``PATIENT``),
  its locations (room ``ro``, bed ``bd``), the responder, and the alert observation (phase, state,
  priority, the alert id as ``fillerOrderNumber``).

:class:`AcmInfo` is that element as a value; :func:`acm_element` builds it, :func:`parse_acm` reads it,
:func:`acm_from_notice` and :func:`acm_from_pcd04` fill it from what we sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from lxml import etree

from duress.channels.hl7_acm_messages import PRIORITY_CODES, event_code, event_phase
from duress.channels.hl7v2 import Hl7Message
from duress.channels.text import NameDisplay, TextSettings, directions, who
from duress.domain.notification import Notice

NAMESPACE = "http://tempuri.org/wctp-dtd-ihepcd-pcd06-v1r2"
VERSION = "wctp-dtd-ihepcd-pcd06-v1r2"


@dataclass(frozen=True, slots=True)
class AcmParticipant:
    participant_id: str
    classification: str = "STAFF"
    """``STAFF``, ``DEVICE`` or ``PATIENT`` (we never send a patient)."""
    name: str = ""


@dataclass(frozen=True, slots=True)
class AcmLocation:
    identifier: str
    """PV1-3 style: ``point of care^room`` or ``point of care^room^bed``."""
    description: str = ""
    physical_type: str = ""
    """``ro`` (room) or ``bd`` (bed)."""


@dataclass(frozen=True, slots=True)
class AcmResponder:
    responder_id: str
    on_behalf_of: str


@dataclass(frozen=True, slots=True)
class AcmObservation:
    alert_timestamp: str = ""
    filler_order_number: str = ""
    """The alert's identifier (OBR-3 of PCD-04): the same across its phases."""
    event_identification: str = ""
    source_identification: str = ""
    event_phase: str = ""
    alert_state: str = ""
    inactivation_state: str = ""
    alarm_priority: str = ""
    alert_type: str = ""


@dataclass(frozen=True, slots=True)
class AcmInfo:
    """``wctp-IHEPCDACM``: who is involved, where, who responded, and what the alert is."""

    participants: tuple[AcmParticipant, ...] = ()
    locations: tuple[AcmLocation, ...] = ()
    responder: AcmResponder | None = None
    observation: AcmObservation | None = None

    @property
    def staff(self) -> AcmParticipant | None:
        return next((p for p in self.participants if p.classification == "STAFF"), None)


_OBSERVATION_ATTRIBUTES = (
    ("alertTimestamp", "alert_timestamp"),
    ("fillerOrderNumber", "filler_order_number"),
    ("eventIdentification", "event_identification"),
    ("sourceIdentification", "source_identification"),
    ("eventPhase", "event_phase"),
    ("alertState", "alert_state"),
    ("inactivationState", "inactivation_state"),
    ("alarmPriority", "alarm_priority"),
    ("alertType", "alert_type"),
)


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def acm_element(info: AcmInfo) -> etree._Element:
    """``wctp-IHEPCDACM`` in the PCD-06 namespace, children in the schema's order."""
    acm = etree.Element(_q("wctp-IHEPCDACM"), nsmap={None: NAMESPACE})
    if info.participants:
        group = etree.SubElement(acm, _q("wctp-IHEPCDACMParticipants"))
        for p in info.participants:
            element = etree.SubElement(group, _q("wctp-IHEPCDACMParticipant"))
            element.set("participantID", p.participant_id)
            if p.name:
                element.set("name", p.name)
            element.set("classification", p.classification)
    if info.locations:
        group = etree.SubElement(acm, _q("wctp-IHEPCDACMLocations"))
        for loc in info.locations:
            element = etree.SubElement(group, _q("wctp-IHEPCDACMLocation"))
            element.set("identifier", loc.identifier)
            if loc.description:
                element.set("description", loc.description)
            if loc.physical_type:
                element.set("physicalType", loc.physical_type)
    if info.responder is not None:
        etree.SubElement(
            acm,
            _q("wctp-IHEPCDACMResponder"),
            responderID=info.responder.responder_id,
            onBehalfOfResponderID=info.responder.on_behalf_of,
        )
    if info.observation is not None:
        element = etree.SubElement(acm, _q("wctp-IHEPCDACMObservation"))
        for attribute, name in _OBSERVATION_ATTRIBUTES:
            value = getattr(info.observation, name)
            if value:
                element.set(attribute, value)
    return acm


def parse_acm(element: etree._Element) -> AcmInfo:
    """A ``wctp-IHEPCDACM`` element (namespace already removed) as :class:`AcmInfo`."""
    participants = tuple(
        AcmParticipant(
            p.get("participantID", ""), p.get("classification", "").upper(), p.get("name", "")
        )
        for p in element.iterfind("wctp-IHEPCDACMParticipants/wctp-IHEPCDACMParticipant")
    )
    locations = tuple(
        AcmLocation(
            loc.get("identifier", ""), loc.get("description", ""), loc.get("physicalType", "")
        )
        for loc in element.iterfind("wctp-IHEPCDACMLocations/wctp-IHEPCDACMLocation")
    )
    found = element.find("wctp-IHEPCDACMResponder")
    responder = (
        AcmResponder(found.get("responderID", ""), found.get("onBehalfOfResponderID", ""))
        if found is not None
        else None
    )
    seen = element.find("wctp-IHEPCDACMObservation")
    observation = (
        AcmObservation(
            **{name: seen.get(attribute, "") for attribute, name in _OBSERVATION_ATTRIBUTES}
        )
        if seen is not None
        else None
    )
    return AcmInfo(participants, locations, responder, observation)


def _places(unit: str, room: str, bay: str, description: str) -> tuple[AcmLocation, ...]:
    places = []
    if room:
        places.append(AcmLocation(f"{unit}^{room}", description, "ro"))
    if bay:
        places.append(AcmLocation(f"{unit}^{room}^{bay}", description, "bd"))
    if not places and unit:
        places.append(AcmLocation(unit, description))
    return tuple(places)


def acm_from_notice(
    notice: Notice,
    text: TextSettings | None = None,
    *,
    responder: str | None = None,
    on_behalf_of: str | None = None,
) -> AcmInfo:
    """The alert information of one of our notices: the staff member in duress (as the site shows
    staff; with ``role`` display no id either), the room and bed, and the responder if known."""
    text = text or TextSettings()
    loc = notice.location
    staff_id = notice.staff_id if text.name_display is not NameDisplay.ROLE else None
    person = who(notice, text.name_display)
    participants: tuple[AcmParticipant, ...] = ()
    if staff_id or person:
        participants = (AcmParticipant(staff_id or person, "STAFF", person),)
    phase = event_phase(notice)
    observation = AcmObservation(
        alert_timestamp=notice.raised_at.astimezone(UTC).isoformat() if notice.raised_at else "",
        filler_order_number=notice.alert,
        event_identification=event_code(notice).split("^", 1)[0],
        source_identification="DURESS",
        event_phase=phase,
        alert_state="inactive" if phase == "end" else "active",
        inactivation_state="enabled",
        alarm_priority=PRIORITY_CODES.get(notice.priority, "PH"),
        alert_type="SA",
    )
    return AcmInfo(
        participants=participants,
        locations=_places(
            loc.unit or loc.zone or "", loc.room or "", loc.bay or "", directions(loc, dash="-")
        ),
        responder=AcmResponder(responder, on_behalf_of or responder) if responder else None,
        observation=observation,
    )


def acm_from_pcd04(
    pcd04: str, *, responder: str | None = None, on_behalf_of: str | None = None
) -> AcmInfo:
    """The alert information in a PCD-04 ``ORU^R40`` (what a gateway finds in ``wctp-IHEPCD04``)."""
    message = Hl7Message.parse(pcd04)
    pid = message.first("PID")
    staff_id = message.components(Hl7Message.field(pid, 3))[0]
    name = message.component(Hl7Message.field(pid, 5), 1)
    participants = (AcmParticipant(staff_id or name, "STAFF", name),) if (staff_id or name) else ()
    pv1 = [*message.components(Hl7Message.field(message.first("PV1"), 3)), "", "", ""]
    obr = message.first("OBR")
    attributes: dict[str, str] = {}
    event = ""
    for obx in message.all("OBX"):
        code = message.components(Hl7Message.field(obx, 3))
        value = message.component(Hl7Message.field(obx, 5), 1)
        label = code[1] if len(code) > 1 and code[1].startswith("MDC_") else code[0]
        if label.startswith("MDC_ATTR_"):
            attributes[label] = value
        elif not event:
            event = code[0]
    observation = AcmObservation(
        alert_timestamp=Hl7Message.field(obr, 7),
        filler_order_number=message.components(Hl7Message.field(obr, 3))[0],
        event_identification=event,
        source_identification=attributes.get("MDC_ATTR_ALERT_SOURCE", ""),
        event_phase=attributes.get("MDC_ATTR_EVENT_PHASE", ""),
        alert_state=attributes.get("MDC_ATTR_ALARM_STATE", ""),
        inactivation_state=attributes.get("MDC_ATTR_ALARM_INACTIVATION_STATE", ""),
        alarm_priority=attributes.get("MDC_ATTR_ALARM_PRIORITY", ""),
        alert_type=attributes.get("MDC_ATTR_ALERT_TYPE", ""),
    )
    return AcmInfo(
        participants=participants,
        locations=_places(pv1[0], pv1[1], pv1[2], ""),
        responder=AcmResponder(responder, on_behalf_of or responder) if responder else None,
        observation=observation,
    )
