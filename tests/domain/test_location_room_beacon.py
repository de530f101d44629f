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


# --- Beacon entry: the room's own beacon places a badge in its IR room without an IR code ----------


def _walk(engine: LocationEngine, start: int, end: int, corridor: float, room: float) -> None:
    """Each second, no IR: the corridor beacon ble-f1-1 (x 5, beside r1's door) and r1's beacon."""
    _feed(engine, start, end, ir_until=0, corridor=corridor, room=room)


def test_a_blind_spot_entry_is_placed_by_the_rooms_own_beacon_after_the_sustain() -> None:
    engine = LocationEngine(_site_with_room_beacon())
    _walk(engine, 0, 5, corridor=-60.0, room=-80.0)  # in the corridor
    assert engine.locate("b1", at(5)).room is None
    # walked into r1 and stands in an IR blind spot: no IR code, r1's beacon 20 dB ahead
    _walk(engine, 5, 7, corridor=-75.0, room=-55.0)
    assert engine.locate("b1", at(7)).room is None  # not yet: ir_beacon_entry_s (3 s)
    _walk(engine, 7, 12, corridor=-75.0, room=-55.0)
    location = engine.locate("b1", at(12))
    assert location.room == "r1"
    assert location.zone == "r1"
    assert location.precision is Precision.ROOM
    assert location.confidence <= 0.6  # BLE evidence: below the quiet hold and any IR hit
    assert location.source == "ble"
    # an IR code of the room then confirms it at IR confidence
    engine.observe(ir("b1", "ir-r1", 12.2), at(12.3))
    engine.observe(ir("b1", "ir-r1", 13.2), at(13.3))
    confirmed = engine.locate("b1", at(13.5))
    assert confirmed.room == "r1"
    assert confirmed.source == "ir"
    assert confirmed.confidence > 0.8


def test_a_badge_in_the_corridor_by_the_open_door_is_not_placed_in_the_room() -> None:
    engine = LocationEngine(_site_with_room_beacon())
    _walk(engine, 0, 5, corridor=-60.0, room=-80.0)
    # by the open door: the corridor beacon overhead stronger, the room's beacon close behind
    _walk(engine, 5, 40, corridor=-62.0, room=-66.0)
    assert engine.locate("b1", at(40)).room is None
    # the room's beacon now the strongest, but by less than ir_beacon_entry_db (6 dB)
    _walk(engine, 40, 80, corridor=-66.0, room=-62.0)
    assert engine.locate("b1", at(80)).room is None


def test_another_rooms_fresh_ir_blocks_the_beacon_entry() -> None:
    engine = LocationEngine(_site_with_room_beacon())
    _walk(engine, 0, 5, corridor=-60.0, room=-80.0)
    for t in range(5, 12):
        engine.observe(ir("b1", "ir-r2", t + 0.1), at(t + 0.2))  # r2 seen by IR every second
        engine.observe(ble("b1", "ble-f1-1", t + 0.5, -75.0), at(t + 0.6))
        engine.observe(ble("b1", "ble-r1", t + 0.5, -55.0), at(t + 0.6))
    assert engine.locate("b1", at(12)).room == "r2"


def test_leaving_a_room_entered_on_its_beacon() -> None:
    engine = LocationEngine(_site_with_room_beacon())
    _walk(engine, 0, 10, corridor=-75.0, room=-55.0)
    assert engine.locate("b1", at(10)).room == "r1"
    _walk(engine, 10, 16, corridor=-55.0, room=-80.0)  # walked out beside the corridor beacon
    location = engine.locate("b1", at(16))
    assert location.room is None
    assert location.zone == "c1"


def test_beacon_entry_needs_a_room_with_ir_and_can_be_turned_off() -> None:
    # r4 has a BLE beacon and no IR (a BLE-only room): BLE places it at zone precision, as before
    engine = LocationEngine(two_floor_site())
    for t in range(20):
        engine.observe(ble("b1", "ble-f1-4", t + 0.5, -80.0), at(t + 0.6))
        engine.observe(ble("b1", "ble-r4", t + 0.5, -55.0), at(t + 0.6))
    location = engine.locate("b1", at(20))
    assert location.zone == "r4"
    assert location.room is None
    assert location.precision is Precision.ZONE
    off = LocationEngine(_site_with_room_beacon())
    off.params = replace(off.params, ir_beacon_entry=False)
    _walk(off, 0, 20, corridor=-75.0, room=-55.0)
    assert off.locate("b1", at(20)).room is None
