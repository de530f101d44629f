"""IR door monitors (docs/location.md, rule 2, door entry and door exit): a door monitor's code says
the badge is in a room's doorway. With it, one code of the room is an entry, not a leak to someone
walking past the open door; and a room whose door monitor saw the wearer, with no code of the room
since, is left."""

from __future__ import annotations

from dataclasses import replace

from tests.sim.site_fixtures import at, corridor_scan, ir, two_floor_site

from duress.domain.devices import Device, DeviceKind
from duress.domain.location import LocationEngine
from duress.domain.location_params import LocationParams
from duress.domain.precision import Precision
from duress.domain.site import Site
from duress.sim.layout import with_door_monitors


def _site() -> Site:
    """The two-floor site with a door monitor across r1's doorway (r1: x 0-6, y 4-10)."""
    site = two_floor_site()
    door = Device("door-r1", DeviceKind.IR_DOOR, "f1", 300.0, area="r1", gateway="gw1")
    return replace(site, devices={**site.devices, door.id: door})


def _engine(**changes: object) -> LocationEngine:
    return LocationEngine(_site(), LocationParams(**changes))  # type: ignore[arg-type]


def _corridor(engine: LocationEngine, start: int, end: int, x: float = 3.0) -> None:
    """The badge in the corridor outside r1's door from ``start`` to ``end`` (BLE scans)."""
    for t in range(start, end):
        for sighting in corridor_scan("b1", t + 0.5, x):
            engine.observe(sighting, at(t + 0.6))


def _code(engine: LocationEngine, device: str, t: float) -> None:
    engine.observe(ir("b1", device, t), at(t + 0.1))


def test_a_lone_code_of_the_room_after_its_door_monitor_is_an_entry() -> None:
    engine = _engine()
    _corridor(engine, 0, 10)
    _code(engine, "door-r1", 10.2)
    assert engine.locate("b1", at(10.4)).zone == "c1"  # the door monitor alone: in the doorway
    _code(engine, "ir-r1", 10.9)
    here = engine.locate("b1", at(11.0))
    assert (here.room, here.precision) == ("r1", Precision.ROOM)


def test_the_same_lone_code_without_the_door_monitor_waits_for_a_second() -> None:
    engine = _engine()
    _corridor(engine, 0, 10)
    _code(engine, "ir-r1", 10.9)
    assert engine.locate("b1", at(11.0)).zone == "c1"  # a leak to a passer-by, for all it knows


def test_a_code_leaked_on_the_way_in_counts_once_the_door_monitor_sees_the_wearer() -> None:
    engine = _engine()
    _corridor(engine, 0, 10)
    _code(engine, "ir-r1", 9.6)  # through the open door, as the wearer came up to it
    assert engine.locate("b1", at(9.8)).zone == "c1"
    _code(engine, "door-r1", 10.3)
    assert engine.locate("b1", at(10.4)).room == "r1"


def test_a_door_monitor_seen_too_long_before_the_code_is_no_entry() -> None:
    engine = _engine()
    _corridor(engine, 0, 10)
    _code(engine, "door-r1", 6.0)
    _code(engine, "ir-r1", 9.5)  # 3.5 s later, more than ir_door_window_s
    assert engine.locate("b1", at(9.7)).zone == "c1"
    off = _engine(ir_door_window_s=0.0)  # door entry off
    _corridor(off, 0, 10)
    _code(off, "door-r1", 9.2)
    _code(off, "ir-r1", 9.5)
    assert off.locate("b1", at(9.7)).zone == "c1"


def _stay_in_r1(engine: LocationEngine, start: int, end: int) -> None:
    for t in range(start, end):
        _code(engine, "ir-r1", t + 0.3)


def test_the_door_monitor_ends_a_stay_when_no_code_of_the_room_follows() -> None:
    engine = _engine()
    _stay_in_r1(engine, 0, 20)
    assert engine.locate("b1", at(20)).room == "r1"
    _code(engine, "door-r1", 20.5)  # walking out through the doorway
    _corridor(engine, 21, 23)
    assert engine.locate("b1", at(23)).zone == "c1"  # 1.5 s after the door code, not 6 s


def test_a_code_of_the_room_after_the_door_monitor_keeps_the_stay() -> None:
    engine = _engine()
    _stay_in_r1(engine, 0, 20)
    _code(engine, "door-r1", 20.5)  # near the door, inside
    _code(engine, "ir-r1", 21.0)
    _corridor(engine, 21, 23)  # (BLE alone does not end a fresh IR stay)
    assert engine.locate("b1", at(23)).room == "r1"
    off = _engine(ir_door_exit_s=0.0)  # door exit off: the IR hold decides
    _stay_in_r1(off, 0, 20)
    _code(off, "door-r1", 20.5)
    assert off.locate("b1", at(23)).room == "r1"


def test_the_doorway_of_the_room_just_left_does_not_let_a_leak_back_in() -> None:
    engine = _engine()
    _stay_in_r1(engine, 0, 20)
    _code(engine, "door-r1", 20.5)
    _corridor(engine, 21, 24)
    assert engine.locate("b1", at(24)).zone == "c1"
    # lingering in the doorway: its monitor sees them, and a code leaks now and then
    _code(engine, "door-r1", 24.2)
    _code(engine, "ir-r1", 24.8)
    _corridor(engine, 24, 26)
    assert engine.locate("b1", at(26)).zone == "c1"


def test_door_alone_enters_on_the_door_monitor_but_not_the_room_just_left() -> None:
    engine = _engine(ir_door_alone=True)
    _corridor(engine, 0, 10)
    _code(engine, "door-r1", 10.2)
    assert engine.locate("b1", at(10.4)).room == "r1"
    engine = _engine(ir_door_alone=True)
    _stay_in_r1(engine, 0, 20)
    _code(engine, "door-r1", 20.5)
    _corridor(engine, 21, 24)
    assert engine.locate("b1", at(24)).zone == "c1"
    _code(engine, "door-r1", 24.2)  # standing in the doorway after
    assert engine.locate("b1", at(24.4)).zone == "c1"


def test_a_door_monitor_of_a_room_outside_the_site_is_not_a_locator() -> None:
    site = with_door_monitors(two_floor_site())
    assert {d.id for d in site.devices.values() if d.kind.is_ir_door} >= {"door-r1", "door-r2"}
    engine = LocationEngine(site)
    _code(engine, "door-r2", 1.0)
    assert engine.rejections.total == 0
    assert engine.locate("b1", at(1.1)).precision is Precision.UNKNOWN  # a doorway is no place
