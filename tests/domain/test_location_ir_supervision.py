"""IR supervision in the engine: a room whose IR devices are all silent for too long is taken as
a room without IR (its silence stops counting against someone being in it), until one is heard."""

from __future__ import annotations

from tests.sim.site_fixtures import at, corridor_scan, ir, two_floor_site

from duress.domain.location import LocationEngine, LocationParams

INTERVAL_S = 300.0
"""The fixture's IR devices' heartbeat interval."""


def _beat_all_but(engine: LocationEngine, silent: set[str], second: float) -> None:
    for device in ("ir-r1", "ir-r2", "ir-r3", "em-r3-b1", "em-r3-b2", "ir-r21"):
        if device not in silent:
            engine.heartbeat(device, at(second))


def test_a_room_whose_monitor_stays_silent_is_taken_offline_after_two_intervals() -> None:
    engine = LocationEngine(two_floor_site())
    engine.advance(at(0))  # supervision starts with the engine's timer
    for second in range(0, 1300, 100):
        _beat_all_but(engine, {"ir-r1"}, second)
        engine.advance(at(second))
        if second <= 2 * INTERVAL_S:
            assert engine.ir_offline == frozenset(), second
    assert engine.ir_offline == frozenset({"r1"})


def test_a_code_or_a_heartbeat_brings_the_room_back_at_once() -> None:
    engine = LocationEngine(two_floor_site())
    engine.advance(at(0))
    engine.advance(at(700))  # nobody heard from: every IR room is offline
    assert engine.ir_offline == frozenset({"r1", "r2", "r3", "r21"})
    engine.heartbeat("ir-r2", at(700))
    assert "r2" not in engine.ir_offline
    engine.observe(ir("b1", "ir-r1", 700), at(700.2))
    assert "r1" not in engine.ir_offline
    engine.heartbeat("em-r3-b1", at(700))  # one bay emitter of r3 is enough for r3
    assert engine.ir_offline == frozenset({"r21"})


def test_heartbeats_of_other_devices_and_naive_times_are_ignored() -> None:
    engine = LocationEngine(two_floor_site())
    engine.advance(at(0))
    engine.heartbeat("gw1", at(650))
    engine.heartbeat("ble-r4", at(650))
    engine.heartbeat("ir-r1", at(650).replace(tzinfo=None))
    engine.advance(at(700))
    assert "r1" in engine.ir_offline


def test_off_with_zero() -> None:
    engine = LocationEngine(two_floor_site(), LocationParams(ir_offline_after=0.0))
    engine.advance(at(0))
    engine.advance(at(5000))
    assert engine.ir_offline == frozenset()


def test_new_parameters_keep_what_supervision_found() -> None:
    """New parameters rebuild the grid tables (without IR in the offline rooms)."""
    engine = LocationEngine(two_floor_site())
    engine.advance(at(0))
    for sighting in corridor_scan("b1", 700, 12.0):
        engine.observe(sighting, at(700.2))
    engine.advance(at(700))
    offline = engine.ir_offline
    assert offline
    engine.params = LocationParams()
    for sighting in corridor_scan("b1", 701, 12.0):
        engine.observe(sighting, at(701.2))
    engine.advance(at(702))
    assert engine.ir_offline == offline
    assert engine.locate("b1", at(702)).zone == "c1"
