"""Going back into a room after the BLE exit cue: only the hits since the exit count (fresh run)."""

from __future__ import annotations

from tests.sim.site_fixtures import at, ble, ir, two_floor_site

from duress.domain.location import LocationEngine, LocationParams


def _feed(engine: LocationEngine, start: int, end: int, ir_until: int, near: float) -> None:
    """Each second: IR from room r1 while t < ir_until; corridor beacons at rssi near / -85."""
    for t in range(start, end):
        if t < ir_until:
            engine.observe(ir("b1", "ir-r1", t + 0.2), at(t + 0.3))
        engine.observe(ble("b1", "ble-f1-1", t + 0.5, near), at(t + 0.6))
        engine.observe(ble("b1", "ble-f1-2", t + 0.5, -85.0), at(t + 0.6))


def _stay_exit_and_two_leaks(engine: LocationEngine) -> str | None:
    """Ten seconds in r1, out through the door (the exit cue), then two IR leaks through the open
    door while lingering: the zone shown after them."""
    _feed(engine, 0, 10, ir_until=10, near=-75.0)
    _feed(engine, 10, 12, ir_until=0, near=-55.0)
    assert engine.locate("b1", at(12)).zone == "c1"  # the exit cue ended the stay
    for t in (12.0, 12.8):
        engine.observe(ir("b1", "ir-r1", t), at(t + 0.1))
    return engine.locate("b1", at(13.5)).zone


def test_leaks_after_the_exit_cue_do_not_add_to_the_stays_own_hits() -> None:
    assert _stay_exit_and_two_leaks(LocationEngine(two_floor_site())) == "c1"


def test_walking_back_in_is_still_detected() -> None:
    engine = LocationEngine(two_floor_site())
    _stay_exit_and_two_leaks(engine)
    _feed(engine, 14, 20, ir_until=20, near=-75.0)  # IR keeps coming: really back inside
    assert engine.locate("b1", at(20)).room == "r1"


def test_without_the_fresh_run_the_stays_hits_re_enter_at_the_leaks() -> None:
    # the rule before: the score built up during the stay, plus two leaks, re-entered the room
    engine = LocationEngine(two_floor_site(), LocationParams(ir_exit_fresh_run=False))
    assert _stay_exit_and_two_leaks(engine) == "r1"
