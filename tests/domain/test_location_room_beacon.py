"""A BLE beacon inside an IR room (a combined IR + BLE room monitor) is evidence of being in that
room: the room fingerprint (docs/location.md, rule 5) leaves it out of the change, and while it is
the strongest device the badge is not taken to have left."""

from __future__ import annotations

from dataclasses import replace

from tests.sim.site_fixtures import TX, at, ble, ir, two_floor_site

from duress.domain.devices import Device, DeviceKind
from duress.domain.location import LocationEngine
from duress.domain.precision import Precision
from duress.domain.site import Site


def _site_with_room_beacon() -> Site:
    """The two-floor site with a BLE beacon in the middle of IR room r1 (x 0-6, y 4-10)."""
    site = two_floor_site()
    beacon = Device("ble-r1", DeviceKind.BLE_BEACON, "f1", 900.0, position=(3, 7), tx_power=TX)
    return replace(site, devices={**site.devices, beacon.id: beacon})


def _feed(
    engine: LocationEngine, start: int, end: int, ir_until: int, corridor: float, room: float
) -> None:
    """Each second: IR from r1 while t < ir_until; corridor beacon ble-f1-1 and r1's own beacon."""
    for t in range(start, end):
        if t < ir_until:
            engine.observe(ir("b1", "ir-r1", t + 0.2), at(t + 0.3))
        engine.observe(ble("b1", "ble-f1-1", t + 0.5, corridor), at(t + 0.6))
        engine.observe(ble("b1", "ble-r1", t + 0.5, room), at(t + 0.6))


def test_the_rooms_own_beacon_changing_strongly_does_not_end_the_stay() -> None:
    engine = LocationEngine(_site_with_room_beacon())
    _feed(engine, 0, 5, ir_until=5, corridor=-75.0, room=-80.0)  # walked in, near the door
    assert engine.locate("b1", at(5)).room == "r1"
    # an IR blind spot beside the room's beacon: 25 dB up (counted among the strongest three
    # devices, it alone would raise the change to 7.5 dB, above ir_exit_db); the corridor steady
    _feed(engine, 5, 60, ir_until=0, corridor=-75.0, room=-55.0)
    location = engine.locate("b1", at(60))
    assert location.room == "r1"
    assert location.precision is Precision.ROOM  # the quiet hold
    assert location.age_s < 2


def test_the_rooms_own_beacon_as_the_strongest_device_keeps_the_room() -> None:
    engine = LocationEngine(_site_with_room_beacon())
    _feed(engine, 0, 5, ir_until=5, corridor=-75.0, room=-60.0)
    # the corridor beacon 12 dB up (a change above ir_exit_db), the room's beacon still strongest
    _feed(engine, 5, 60, ir_until=0, corridor=-63.0, room=-57.0)
    assert engine.locate("b1", at(60)).room == "r1"


def test_a_real_exit_is_still_detected_before_the_ir_hold() -> None:
    engine = LocationEngine(_site_with_room_beacon())
    _feed(engine, 0, 10, ir_until=10, corridor=-75.0, room=-60.0)
    assert engine.locate("b1", at(10)).room == "r1"
    # walked out: no IR, the corridor beacon 20 dB up, the room's beacon behind the wall
    _feed(engine, 10, 14, ir_until=0, corridor=-55.0, room=-85.0)
    location = engine.locate("b1", at(14))
    assert location.room is None
    assert location.zone == "c1"  # 4 s after the last IR hit, before ir_hold_s (6 s)
