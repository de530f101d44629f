"""From an alert another system reported (``ORU^R40``, see :mod:`duress.channels.hl7_source`) to what
the alert desk raises, moves or ends: a pure mapping, :func:`external_alert_to_press`.

A nurse-call duress button or another RTLS names the place in its own words (PV1-3: point of care ^
room ^ bed ^ facility). The site's mapping table (``channels.hl7_source.mappings``) turns those into our
areas and units; the event code into one of our alert kinds; the ACM priority (``PH``/``PM``/``PL``)
into our priority number; MSH-11 into real / drill / test. The result, :class:`ExternalPress`, carries
everything ``AlertRaised`` / ``AlertRelocated`` / an end need, keyed by ``source_key``
(``hl7:<sender>:<alert id>``), which stays the same across the alert's phases and stands in for the
badge of a press.

A duress from a place the table does not know is still raised: ``area`` is then ``None`` and the
precision ``unknown``, but the sender's own words (unit, room, bed) are kept so responders can read
them. Nothing here touches the network or the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import structlog

from duress.channels.hl7_source import AlertCallback, ExternalAlert
from duress.channels.settings import Reader
from duress.domain.errors import InvalidMessage
from duress.domain.facility import Area, AreaKind
from duress.service.clock import Clock, SystemClock

log = structlog.get_logger(__name__)

IGNORE = "ignore"
"""``default_kind: ignore``: events not listed in ``mappings.events`` are acknowledged, not raised."""

PRIORITIES = {"PH": 1, "PM": 2, "PL": 3, "PN": 3}
"""ACM alarm priority -> our priority (1 is the most urgent). Anything else counts as ``PL``."""

MODES = {"P": "real", "T": "drill", "D": "test"}
"""MSH-11 processing id -> the alert's mode."""

_PHASES = {
    "start": "raise",
    "start_only": "raise",
    "present": "raise",
    "continue": "update",
    "update": "update",
    "escalate": "update",
    "de-escalate": "update",
    "de_escalate": "update",
    "end": "end",
    "stop": "end",
    "cancel": "end",
}


class SourceAction(StrEnum):
    RAISE = "raise"
    """Phase ``start``: raise an alert (or, when one is already open for ``source_key``, update it)."""
    UPDATE = "update"
    """Phase ``update``/``escalate``/``continue``: the open alert follows the new place and priority."""
    END = "end"
    """Phase ``end`` (or alarm state ``inactive``): the sender cleared it."""


@dataclass(frozen=True, slots=True)
class Hl7SourceSettings:
    """``channels: {hl7_source: {host, port, sources, mappings: {units, rooms, beds, events}, default_kind}}``."""

    port: int = 2575
    host: str = "127.0.0.1"
    """Listening address; ``0.0.0.0`` (or one interface) to accept other machines."""
    application: str = "DURESS"
    """MSH-3 of our ACKs."""
    sources: tuple[str, ...] = ()
    """Sending applications (MSH-3) accepted; empty: any. Others are answered ``AE``."""
    units: Mapping[str, str] = field(default_factory=dict)
    """Point of care (PV1-3.1) -> our unit id."""
    rooms: Mapping[str, str] = field(default_factory=dict)
    """``"point of care^room"`` -> our area id."""
    beds: Mapping[str, str] = field(default_factory=dict)
    """``"point of care^room^bed"`` -> our area id (a bay)."""
    events: Mapping[str, str] = field(default_factory=dict)
    """Event reference name or code (``DURESS_SECURITY``, ``196916``) -> our alert kind."""
    default_kind: str = "assist"
    """The kind of events not in ``events``; ``ignore`` acknowledges them without raising."""

    @classmethod
    def from_mapping(
        cls, data: dict[str, Any] | None, *, where: str = "channels.hl7_source"
    ) -> Hl7SourceSettings:
        r = Reader(data, where)
        port = r.integer("port", 2575, minimum=1)
        host = r.string("host", "127.0.0.1")
        application = r.string("application", "DURESS")
        sources = r.strings("sources")
        m = r.section("mappings")
        units, rooms, beds, events = (
            m.mapping("units"),
            m.mapping("rooms"),
            m.mapping("beds"),
            m.mapping("events"),
        )
        r.absorb(m)
        default_kind = r.string("default_kind", "assist")
        for name, table, parts in (("rooms", rooms, 2), ("beds", beds, 3)):
            for key in table:
                if key.count("^") != parts - 1:
                    shape = "point of care^room" + ("^bed" if parts == 3 else "")
                    r.problems.append(
                        f"{where}.mappings.{name}.{key}: write the key as {shape!r} "
                        f"(PV1-3 components joined by ^, e.g. {'4B^12^A' if parts == 3 else '4B^12'!r})"
                    )
        for key, kind in events.items():
            if not kind or kind == IGNORE:
                r.problems.append(
                    f"{where}.mappings.events.{key}: give an alert kind (e.g. security)"
                )
        if not default_kind:
            r.problems.append(f"{where}.default_kind: give an alert kind, or `ignore`")
        r.done()
        return cls(
            port=port,
            host=host,
            application=application,
            sources=sources,
            units=units,
            rooms=rooms,
            beds=beds,
            events=events,
            default_kind=default_kind,
        )

    @property
    def endpoint(self) -> str:
        return f"mllp://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ExternalPress:
    """What the alert desk needs to raise, move or end an alert another system reported.

    ``location`` has the keys of a located press (``floor``, ``unit``, ``room``, ``bay``, ``zone``,
    ``area``, ``precision``, ``confidence``, ``age_s``, ``as_of``, ``stale``) plus ``source`` and
    ``external`` (the sender's PV1-3 as received).
    """

    action: SourceAction
    source_key: str
    """``hl7:<sender>:<alert id>``: the same for every phase; use it where a press has its badge."""
    source: str
    identifier: str
    kind: str
    priority: int
    mode: str
    unit: str | None
    location: Mapping[str, Any]
    mapped: bool
    """True when the place was found in the mapping table (``location["area"]`` is ours)."""
    text: str
    """The sender's description (OBX-5 of the event), for the timeline."""
    event: str
    received_at: datetime


def source_key(alert: ExternalAlert) -> str:
    return f"hl7:{alert.source or 'unknown'}:{alert.identifier}"


def _action(alert: ExternalAlert) -> SourceAction:
    if alert.state.lower() == "inactive":
        return SourceAction.END
    phase = alert.phase.strip().lower().replace(" ", "_")
    action = _PHASES.get(phase)
    if action is None:
        raise InvalidMessage(
            "hl7.event_phase",
            f"unknown MDC_ATTR_EVENT_PHASE {alert.phase!r}; expected start, update, escalate or end",
        )
    return SourceAction(action)


def _kind(alert: ExternalAlert, settings: Hl7SourceSettings) -> str | None:
    kind = settings.events.get(alert.event) or settings.events.get(alert.event_code)
    if kind is None:
        kind = settings.default_kind
    return None if kind == IGNORE else kind


def _place(
    alert: ExternalAlert,
    settings: Hl7SourceSettings,
    areas: Mapping[str, Area] | None,
    received_at: datetime,
) -> tuple[str | None, dict[str, Any], bool]:
    loc = alert.location
    poc, room, bed = loc.point_of_care, loc.room, loc.bed
    area_id: str | None = None
    precision = "unknown"
    if bed and f"{poc}^{room}^{bed}" in settings.beds:
        area_id, precision = settings.beds[f"{poc}^{room}^{bed}"], "bed"
    elif room and f"{poc}^{room}" in settings.rooms:
        area_id, precision = settings.rooms[f"{poc}^{room}"], "room"
    unit = settings.units.get(poc) if poc else None
    floor: str | None = None
    room_out: str | None
    bay_out: str | None
    area = areas.get(area_id) if areas is not None and area_id is not None else None
    if area is not None:
        unit = area.unit or unit
        floor = area.floor
        if area.kind is AreaKind.BAY:
            bay_out, room_out, precision = area.id, area.parent, "bed"
        else:
            bay_out, room_out, precision = None, area.id, "room"
    elif area_id is not None:
        bay_out = area_id if precision == "bed" else None
        room_out = settings.rooms.get(f"{poc}^{room}") if precision == "bed" else area_id
    else:
        # Not on our map: keep the sender's words so the page still says where.
        room_out, bay_out = room or None, bed or None
        unit = unit or poc or None
    external = "^".join(
        p for p in (poc, room, bed, loc.facility, "", "", loc.building, loc.floor)
    ).rstrip("^")
    location = {
        "floor": floor or loc.floor or None,
        "unit": unit,
        "room": room_out,
        "bay": bay_out,
        "zone": None,
        "area": area_id,
        "precision": precision,
        "confidence": 1.0 if area_id is not None else None,
        "age_s": 0.0,
        "as_of": received_at.isoformat(),
        "stale": False,
        "source": f"hl7:{alert.source or 'unknown'}",
        "external": external,
    }
    return unit, location, area_id is not None


def external_alert_to_press(
    alert: ExternalAlert,
    settings: Hl7SourceSettings,
    *,
    received_at: datetime,
    areas: Mapping[str, Area] | None = None,
) -> ExternalPress | None:
    """What the desk should do with ``alert``; ``None`` for a watchdog or an ignored event.

    ``areas`` (the site's ``facility.areas``) fills in the unit, floor, room and bay of a mapped area.
    Raises :class:`InvalidMessage` for a sender not in ``sources`` or an unknown event phase (the
    listener answers those ``AE``).
    """
    if alert.keepalive:
        return None
    if settings.sources and alert.source not in settings.sources:
        raise InvalidMessage(
            "hl7.source",
            f"sending application {alert.source!r} is not one of {', '.join(settings.sources)}",
        )
    action = _action(alert)
    kind = _kind(alert, settings)
    if kind is None:
        return None
    unit, location, mapped = _place(alert, settings, areas, received_at)
    return ExternalPress(
        action=action,
        source_key=source_key(alert),
        source=alert.source,
        identifier=alert.identifier,
        kind=kind,
        priority=PRIORITIES.get(alert.priority.upper(), 3),
        mode=MODES.get(alert.processing_id.upper(), "real"),
        unit=unit,
        location=location,
        mapped=mapped,
        text=alert.text,
        event=alert.event,
        received_at=received_at,
    )


PressCallback = Callable[[ExternalPress], Awaitable[None]]


def press_callback(
    settings: Hl7SourceSettings,
    on_press: PressCallback,
    *,
    clock: Clock | None = None,
    areas: Mapping[str, Area] | None = None,
) -> AlertCallback:
    """An ``on_alert`` for :class:`~duress.channels.hl7_source.Hl7AlertListener` that maps each
    alert and hands the result to ``on_press`` (the desk). Ignored events are logged, not raised;
    a mapping error or a failing ``on_press`` makes the listener answer ``AE``."""
    clock = clock or SystemClock()

    async def on_alert(alert: ExternalAlert) -> None:
        press = external_alert_to_press(alert, settings, received_at=clock.now(), areas=areas)
        if press is None:
            log.info("hl7_source.ignored", source=alert.source, event=alert.event)
            return
        await on_press(press)

    return on_alert
