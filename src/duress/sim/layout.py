"""A synthetic hospital built in code: floors of patient rooms along a corridor, with IR and BLE.

The simulator runs on any :class:`~duress.domain.site.Site` (the YAML examples too); this builder
gives tests, benchmarks and demos a site of any size without a file. Each floor (``f1``, ``f2``,
...) is one unit, laid out in metres::

    y=19 +-----+-----+-----+-----+ ...   north rooms (every third one split into two bays)
         |stair| n01 | n02 | n03 |
    y=13 +-----+-----+-----+-----+ ...
         |  corridor segments of ~15 m (zones), BLE beacons every 6 m on the centre line   |
    y=10 +-----+-----+-----+-----+ ...
         |elev | s01 | s02 | s03 |       south rooms
    y=4  +-----+-----+-----+-----+ ...

Rooms are 5 m wide and 6 m deep. Every room has an IR monitor except every fourth one, which has a
BLE beacon instead (a BLE-only room); bays have bay emitters. Units cycle through med-surg (room
precision), behavioural health (bed precision) and ED (zone precision).
"""

from __future__ import annotations

from dataclasses import replace

from duress.domain.devices import DEFAULT_HEARTBEAT_S, Device, DeviceKind
from duress.domain.facility import (
    Area,
    AreaKind,
    Building,
    Facility,
    Floor,
    Polygon,
    Unit,
    UnitKind,
)
from duress.domain.people import Badge, BadgeKind, Staff
from duress.domain.precision import Precision
from duress.domain.site import Site

ROOM_W = 5.0
ROOM_D = 6.0
CORRIDOR_Y0 = 10.0
CORRIDOR_Y1 = 13.0
SEGMENT_M = 15.0
BEACON_SPACING_M = 6.0
TX_POWER = -59.0

_UNIT_KINDS = (
    (UnitKind.MED_SURG, Precision.ROOM),
    (UnitKind.BEHAVIORAL_HEALTH, Precision.BED),
    (UnitKind.ED, Precision.ZONE),
)


def rect(x: float, y: float, w: float, h: float) -> Polygon:
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def build_hospital(
    floors: int = 1,
    rooms_per_side: int = 6,
    badges: int = 10,
    site_id: str = "sim-hospital",
    ble_only_every: int = 4,
    bays_every: int = 3,
    ir: bool = True,
    room_beacons: bool = False,
    door_monitors: bool = False,
) -> Site:
    """A site of ``floors`` floors with ``2 * rooms_per_side`` rooms each and ``badges`` badges.

    Every ``ble_only_every``-th room has a BLE beacon instead of an IR monitor (0: none does);
    every ``bays_every``-th north room is split into two bays with emitters (0: no bays); with
    ``ir=False`` no room has IR: each has a BLE beacon in its middle (a BLE-only site). With
    ``room_beacons`` every IR room has such a beacon in its middle too (a combined IR + BLE room
    monitor), beside its IR monitor. With ``door_monitors`` every IR room has an IR door
    monitor (``ir_door``, a "virtual wall") across its doorway too.
    """
    if floors < 1 or rooms_per_side < 1 or badges < 0:
        raise ValueError("floors and rooms_per_side must be >= 1 and badges >= 0")
    length = ROOM_W * (rooms_per_side + 1)
    areas: list[Area] = []
    devices: list[Device] = []
    floor_map: dict[str, Floor] = {}
    units: dict[str, Unit] = {}
    for level in range(1, floors + 1):
        f = f"f{level}"
        unit_kind, required = _UNIT_KINDS[(level - 1) % len(_UNIT_KINDS)]
        unit = f"u{level}"
        units[unit] = Unit(unit, f"Unit {level}", unit_kind, f, required)
        floor_map[f] = Floor(f, f"Floor {level}", "main", level, rect(0, 0, length, 23))
        gateway = f"gw-{f}"
        devices.append(Device(gateway, DeviceKind.GATEWAY, f, 60.0))
        areas.append(Area(f"{f}-stair", "Stairs", AreaKind.STAIRWELL, f, rect(0, 13, ROOM_W, 6)))
        areas.append(Area(f"{f}-elev", "Elevator", AreaKind.ELEVATOR, f, rect(0, 4, ROOM_W, 6)))
        segments = max(1, round(length / SEGMENT_M))
        seg_len = length / segments
        for s in range(segments):
            areas.append(
                Area(
                    f"{f}-corr-{s + 1}",
                    f"Corridor {level}.{s + 1}",
                    AreaKind.CORRIDOR,
                    f,
                    rect(s * seg_len, CORRIDOR_Y0, seg_len, CORRIDOR_Y1 - CORRIDOR_Y0),
                    unit=unit,
                )
            )
        x = BEACON_SPACING_M / 2
        b = 0
        while x < length:
            b += 1
            devices.append(
                Device(
                    f"ble-{f}-c{b}",
                    DeviceKind.BLE_BEACON,
                    f,
                    900.0,
                    position=(round(x, 2), (CORRIDOR_Y0 + CORRIDOR_Y1) / 2),
                    gateway=gateway,
                    tx_power=TX_POWER,
                )
            )
            x += BEACON_SPACING_M
        for side, y in (("s", CORRIDOR_Y0 - ROOM_D), ("n", CORRIDOR_Y1)):
            for i in range(1, rooms_per_side + 1):
                room = f"{f}-{side}{i:02d}"
                x0 = ROOM_W * i
                areas.append(
                    Area(
                        room,
                        f"Room {level}{side}{i:02d}",
                        AreaKind.ROOM,
                        f,
                        rect(x0, y, ROOM_W, ROOM_D),
                        unit=unit,
                    )
                )
                beacon = Device(
                    f"ble-{room}",
                    DeviceKind.BLE_BEACON,
                    f,
                    900.0,
                    position=(x0 + ROOM_W / 2, y + ROOM_D / 2),
                    gateway=gateway,
                    tx_power=TX_POWER,
                )
                if not ir or (ble_only_every and i % ble_only_every == 0):
                    devices.append(beacon)
                    continue
                if room_beacons:
                    devices.append(beacon)
                devices.append(
                    Device(
                        f"ir-{room}", DeviceKind.IR_MONITOR, f, 300.0, area=room, gateway=gateway
                    )
                )
                if side == "n" and bays_every and i % bays_every == 0:
                    for k, bx in enumerate((x0, x0 + ROOM_W / 2), start=1):
                        bay = f"{room}-b{k}"
                        areas.append(
                            Area(
                                bay,
                                f"Bay {k}",
                                AreaKind.BAY,
                                f,
                                rect(bx, y, ROOM_W / 2, ROOM_D),
                                parent=room,
                            )
                        )
                        devices.append(
                            Device(
                                f"em-{bay}",
                                DeviceKind.BAY_EMITTER,
                                f,
                                300.0,
                                area=bay,
                                gateway=gateway,
                            )
                        )
    facility = Facility(
        id=site_id,
        name="Simulated General Hospital",
        timezone="UTC",
        buildings={"main": Building("main", "Main")},
        floors=floor_map,
        units=units,
        areas={a.id: a for a in areas},
    )
    site = Site(facility=facility, devices={d.id: d for d in devices})
    if door_monitors:
        site = with_door_monitors(site)
    return with_badges(site, badges)


def with_door_monitors(site: Site) -> Site:
    """``site`` with an IR door monitor (``door-<room>``, reporting through the room monitor's
    gateway) across the doorway of every room that has an IR room monitor."""
    devices = dict(site.devices)
    for device in site.devices.values():
        if device.kind is DeviceKind.IR_MONITOR and device.area is not None:
            door = Device(
                f"door-{device.area}",
                DeviceKind.IR_DOOR,
                device.floor,
                DEFAULT_HEARTBEAT_S[DeviceKind.IR_DOOR],
                area=device.area,
                gateway=device.gateway,
            )
            devices.setdefault(door.id, door)
    return replace(site, devices=devices)


def with_badges(site: Site, count: int) -> Site:
    """``site`` with at least ``count`` staff badges (``sim-0001``, ... added as needed)."""
    badges = dict(site.badges)
    staff = dict(site.staff)
    units = sorted(site.facility.units)
    have = sum(1 for b in badges.values() if b.kind is BadgeKind.STAFF)
    n = 0
    while have < count:
        n += 1
        badge_id = f"sim-{n:04d}"
        if badge_id in badges:
            continue
        person = f"p-{badge_id}"
        home = units[n % len(units)] if units else None
        staff[person] = Staff(person, f"Simulated {n}", "rn", home_unit=home)
        badges[badge_id] = Badge(badge_id, BadgeKind.STAFF, person)
        have += 1
    return replace(site, badges=badges, staff=staff)
