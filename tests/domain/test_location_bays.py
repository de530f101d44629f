"""Bays: the bay move (the latest evidence wins between the bays of the held room)."""

from __future__ import annotations

from tests.sim.site_fixtures import at, ble, ir, two_floor_site

from duress.domain.location import LocationEngine, LocationParams
from duress.domain.precision import Precision


def _second(engine: LocationEngine, t: int, *codes: str) -> None:
    """One second: the IR codes given (at t+0.2), and the same BLE picture as ever (at t+0.5)."""
    for code in codes:
        engine.observe(ir("b1", code, t + 0.2), at(t + 0.3))
    engine.observe(ble("b1", "ble-f1-2", t + 0.5, -75.0), at(t + 0.6))


def _walk_into_a_blind_spot_of_bay_2(engine: LocationEngine, end: int) -> None:
    """In bay 1 for ten seconds, one hit of bay 2 a second after bay 1's last (walking over),
    then an IR blind spot of bay 2: nothing from the room, the BLE picture unchanged."""
    for t in range(10):
        _second(engine, t, "ir-r3", "em-r3-b1")
    _second(engine, 10, "ir-r3", "em-r3-b2")
    for t in range(11, end):
        _second(engine, t)


def test_walking_into_a_blind_spot_of_the_next_bay_moves_the_bay() -> None:
    early = LocationEngine(two_floor_site())
    _walk_into_a_blind_spot_of_bay_2(early, 12)
    assert early.locate("b1", at(12)).bay == "r3-b1"  # bay 1 not yet silent long enough
    engine = LocationEngine(two_floor_site())
    _walk_into_a_blind_spot_of_bay_2(engine, 60)
    location = engine.locate("b1", at(60))
    assert (location.room, location.bay) == ("r3", "r3-b2")
    assert location.precision is Precision.BED
    assert location.since == at(10.2)  # the first hit of bay 2


def test_a_bay_move_completes_in_the_quiet_hold() -> None:
    # bay 1 must be silent for 12 s: by then the room is quiet (no IR for more than ir_hold_s)
    engine = LocationEngine(two_floor_site(), LocationParams(ir_bay_move_quiet_s=12.0))
    _walk_into_a_blind_spot_of_bay_2(engine, 20)
    assert engine.locate("b1", at(20)).bay == "r3-b1"
    _second(engine, 20)
    _second(engine, 21)
    location = engine.locate("b1", at(22))
    assert (location.room, location.bay, location.source) == ("r3", "r3-b2", "ir")


def test_a_late_lone_reflection_from_the_next_bay_does_not_move_the_bay() -> None:
    engine = LocationEngine(two_floor_site())
    for t in range(10):
        _second(engine, t, "ir-r3", "em-r3-b1")
    for t in range(10, 60):  # an IR blind spot of bay 1, one reflection from bay 2 at t=25
        _second(engine, t, *(("em-r3-b2",) if t == 25 else ()))
    assert engine.locate("b1", at(60)).bay == "r3-b1"


def test_a_reflection_between_hits_of_the_held_bay_does_not_move_it() -> None:
    engine = LocationEngine(two_floor_site())
    for t in range(40):  # in bay 1, seen every other second; a reflection from bay 2 at t=13
        codes = ("ir-r3", "em-r3-b1") if t < 10 or t % 2 == 0 else ("ir-r3",)
        _second(engine, t, *codes, *(("em-r3-b2",) if t == 13 else ()))
        assert engine.locate("b1", at(t + 1)).bay == "r3-b1"


def test_the_bay_returns_only_on_newer_evidence() -> None:
    # after the move to bay 2, bay 1's older (higher) score does not take the bay back
    engine = LocationEngine(two_floor_site())
    for t in range(30):
        _second(engine, t, "ir-r3", "em-r3-b1")
    _second(engine, 30, "ir-r3", "em-r3-b2")
    moved = [
        engine.observe(ble("b1", "ble-f1-2", t + 0.5, -75.0), at(t + 0.6)) for t in range(31, 40)
    ]
    assert [m.bay for m in moved if m is not None] == ["r3-b2"]
    assert engine.locate("b1", at(40)).bay == "r3-b2"


def test_the_bay_move_turns_off() -> None:
    engine = LocationEngine(two_floor_site(), LocationParams(ir_bay_move_gap_s=0.0))
    _walk_into_a_blind_spot_of_bay_2(engine, 60)
    assert engine.locate("b1", at(60)).bay == "r3-b1"  # the bay hold keeps bay 1
