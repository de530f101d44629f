"""A small two-floor site built in code, for the location engine and simulator tests.

Floor ``f1`` (unit ``u1``, room precision): corridor segments ``c1`` (x 0-30) and ``c2`` (x 30-60)
at y 10-13; rooms ``r1``, ``r2`` (IR monitors), ``r3`` (IR monitor and two bays with emitters) and
``r4`` (no IR, a BLE beacon inside). Floor ``f2`` (unit ``u2``, bed precision): corridor ``c21``
and room ``r21`` (IR). BLE beacons every 10 m on the corridor centre lines (y 11.5).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from duress.domain.devices import Device, DeviceKind
from duress.domain.facility import Area, AreaKind, Building, Facility, Floor, Unit, UnitKind
from duress.domain.location import Location, LocationEngine, LocationParams
from duress.domain.observations import Sighting, SightingKind
from duress.domain.people import Badge, Staff
from duress.domain.precision import Precision
from duress.domain.site import Site

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
TX = -59.0


def rect(x: float, y: float, w: float, h: float) -> tuple[tuple[float, float], ...]:
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def two_floor_site() -> Site:
    areas = [
        Area("c1", "Corridor 1", AreaKind.CORRIDOR, "f1", rect(0, 10, 30, 3), unit="u1"),
        Area("c2", "Corridor 2", AreaKind.CORRIDOR, "f1", rect(30, 10, 30, 3), unit="u1"),
        Area("r1", "Room 1", AreaKind.ROOM, "f1", rect(0, 4, 6, 6), unit="u1"),
        Area("r2", "Room 2", AreaKind.ROOM, "f1", rect(6, 4, 6, 6), unit="u1"),
        Area("r3", "Room 3", AreaKind.ROOM, "f1", rect(12, 4, 6, 6), unit="u1"),
        Area("r3-b1", "Bay 1", AreaKind.BAY, "f1", rect(12, 4, 3, 6), parent="r3"),
        Area("r3-b2", "Bay 2", AreaKind.BAY, "f1", rect(15, 4, 3, 6), parent="r3"),
        Area("r4", "Room 4", AreaKind.ROOM, "f1", rect(40, 4, 6, 6), unit="u1"),
        Area("stair1", "Stairs", AreaKind.STAIRWELL, "f1", rect(54, 13, 6, 6)),
        Area("c21", "Corridor 2.1", AreaKind.CORRIDOR, "f2", rect(0, 10, 60, 3), unit="u2"),
        Area("r21", "Room 21", AreaKind.ROOM, "f2", rect(0, 4, 6, 6), unit="u2"),
        Area("stair2", "Stairs", AreaKind.STAIRWELL, "f2", rect(54, 13, 6, 6)),
    ]
    facility = Facility(
        id="two-floor",
        name="Two Floor Test",
        timezone="UTC",
        buildings={"main": Building("main", "Main")},
        floors={
            "f1": Floor("f1", "Floor 1", "main", 1, rect(0, 0, 60, 20)),
            "f2": Floor("f2", "Floor 2", "main", 2, rect(0, 0, 60, 20)),
        },
        units={
            "u1": Unit("u1", "Med-surg", UnitKind.MED_SURG, "f1", Precision.ROOM),
            "u2": Unit("u2", "Behavioural", UnitKind.BEHAVIORAL_HEALTH, "f2", Precision.BED),
        },
        areas={a.id: a for a in areas},
    )
    devices = [
        Device("gw1", DeviceKind.GATEWAY, "f1", 60.0),
        Device("ir-r1", DeviceKind.IR_MONITOR, "f1", 300.0, area="r1", gateway="gw1"),
        Device("ir-r2", DeviceKind.IR_MONITOR, "f1", 300.0, area="r2", gateway="gw1"),
        Device("ir-r3", DeviceKind.IR_MONITOR, "f1", 300.0, area="r3", gateway="gw1"),
        Device("em-r3-b1", DeviceKind.BAY_EMITTER, "f1", 300.0, area="r3-b1", gateway="gw1"),
        Device("em-r3-b2", DeviceKind.BAY_EMITTER, "f1", 300.0, area="r3-b2", gateway="gw1"),
        Device("ir-r21", DeviceKind.IR_MONITOR, "f2", 300.0, area="r21", gateway="gw1"),
        Device("ble-r4", DeviceKind.BLE_BEACON, "f1", 900.0, position=(43, 7), tx_power=TX),
        Device("ir-nowhere", DeviceKind.IR_MONITOR, "f1", 300.0),
    ]
    for i, x in enumerate((5, 15, 25, 35, 45, 55), start=1):
        devices.append(
            Device(
                f"ble-f1-{i}", DeviceKind.BLE_BEACON, "f1", 900.0, position=(x, 11.5), tx_power=TX
            )
        )
        devices.append(
            Device(
                f"ble-f2-{i}", DeviceKind.BLE_BEACON, "f2", 900.0, position=(x, 11.5), tx_power=TX
            )
        )
    staff = [Staff(f"s{i}", f"Nurse {i}", "rn", home_unit="u1") for i in range(1, 6)]
    badges = [Badge(f"b{i}", staff=f"s{i}") for i in range(1, 6)]
    return Site(
        facility=facility,
        devices={d.id: d for d in devices},
        staff={s.id: s for s in staff},
        badges={b.id: b for b in badges},
    )


def ir(badge: str, device: str, seconds: float) -> Sighting:
    return Sighting(ts=at(seconds), badge=badge, device=device, kind=SightingKind.IR)


def ble(badge: str, device: str, seconds: float, rssi: float) -> Sighting:
    return Sighting(ts=at(seconds), badge=badge, device=device, kind=SightingKind.BLE, rssi=rssi)


CORRIDOR_BEACONS = {f"ble-f1-{i}": x for i, x in enumerate((5, 15, 25, 35, 45, 55), start=1)}
"""Floor f1's corridor beacons and their x (all at y 11.5)."""


def corridor_scan(badge: str, second: float, x: float) -> list[Sighting]:
    """What a badge at ``(x, 11.5)`` on f1's corridor hears at ``second``: every beacon within
    15 m at the log-distance model's reading (the default exponent), no noise."""
    exponent = LocationParams().ble_path_loss_exponent
    out = []
    for device, bx in CORRIDOR_BEACONS.items():
        d = max(1.0, abs(bx - x))
        if d <= 15.0:
            out.append(ble(badge, device, second, TX - 10.0 * exponent * math.log10(d)))
    return out


def feed(engine: LocationEngine, sightings: list[Sighting]) -> list[Location]:
    """Observe each sighting as received at its own time; the changes."""
    moved = []
    for s in sightings:
        location = engine.observe(s, s.ts)
        if location is not None:
            moved.append(location)
    return moved
