"""The engine's timer (``LocationEngine.advance``): a BLE scan is judged once it is due, not when
the badge's next scan starts arriving."""

from __future__ import annotations

from datetime import timedelta

from tests.sim.site_fixtures import at, corridor_scan, ir, two_floor_site

from duress.domain.location import Location, LocationEngine, LocationParams

ARRIVAL_S = 0.2
"""Every reading of a scan arrives this long after it was measured (less than ``ble_grid_lag_s``:
the scan is not due when it arrives)."""


def _walk(engine: LocationEngine, *, tick: bool) -> list[tuple[float, Location, str]]:
    """Stand in c1 at x 12 for 20 s, then walk east at 1.25 m/s to x 48 and stand there;
    the changes with when and how they came (``observe`` or ``advance``)."""
    changes: list[tuple[float, Location, str]] = []
    for second in range(70):
        x = 12.0 if second < 20 else min(48.0, 12.0 + 1.25 * (second - 20))
        arrival = at(second) + timedelta(seconds=ARRIVAL_S)
        for sighting in corridor_scan("b1", second, x):
            location = engine.observe(sighting, arrival)
            if location is not None:
                changes.append((second + ARRIVAL_S, location, "observe"))
        if tick:  # the timer, twice a second
            for t in (second + 0.5, second + 1.0):
                for location in engine.advance(at(t)):
                    changes.append((t, location, "advance"))
    return changes


def _first(changes: list[tuple[float, Location, str]], zone: str) -> tuple[float, str]:
    return next((t, how) for t, loc, how in changes if loc.zone == zone)


def test_a_due_scan_is_judged_on_the_timer_before_the_next_scan_arrives() -> None:
    site = two_floor_site()
    timed = _walk(LocationEngine(site), tick=True)
    untimed = _walk(LocationEngine(site), tick=False)
    t_timed, how = _first(timed, "c2")
    t_untimed, _ = _first(untimed, "c2")
    assert how == "advance"
    assert t_timed < t_untimed  # the same readings, judged earlier
    # and the two end in the same place, with the same sequence of zones
    assert [loc.zone for _, loc, _ in timed] == [loc.zone for _, loc, _ in untimed]


def test_advance_does_nothing_with_the_timer_off_or_nothing_due() -> None:
    site = two_floor_site()
    off = _walk(LocationEngine(site, LocationParams(ble_grid_timer=False)), tick=True)
    assert all(how == "observe" for _, _, how in off)
    engine = LocationEngine(site)
    assert engine.advance(at(0)) == []  # no badge yet
    for sighting in corridor_scan("b1", 0, 12.0):
        engine.observe(sighting, at(0.2))
    assert engine.advance(at(0.3)) == []  # the scan is not due until ble_grid_lag_s after it


def test_a_badge_that_ir_places_is_left_to_its_ir() -> None:
    engine = LocationEngine(two_floor_site())
    for second in range(3):
        engine.observe(ir("b1", "ir-r1", second), at(second + ARRIVAL_S))
        for sighting in corridor_scan("b1", second, 45.0):  # BLE says c2, far from r1
            engine.observe(sighting, at(second + ARRIVAL_S))
    assert engine.locate("b1", at(3)).room == "r1"
    assert engine.advance(at(3)) == []
    assert engine.locate("b1", at(3)).room == "r1"


def test_a_forgotten_badge_is_not_advanced() -> None:
    engine = LocationEngine(two_floor_site())
    for sighting in corridor_scan("b1", 0, 45.0):
        engine.observe(sighting, at(0.2))
    engine.forget("b1")
    assert engine.advance(at(5)) == []
    assert engine.report("b1") is None


def test_advance_looks_at_the_badges_at_most_every_half_step() -> None:
    engine = LocationEngine(two_floor_site())
    for second in range(20):  # standing at x 12 (c1), then a scan that says x 45 (c2)
        for sighting in corridor_scan("b1", second, 12.0 if second < 19 else 45.0):
            engine.observe(sighting, at(second + ARRIVAL_S))
    half_step = 0.5 * LocationParams().ble_grid_step_s
    assert engine.advance(at(19.5 - half_step / 2)) == []  # the last scan is not due yet
    assert engine.advance(at(19.5)) == []  # due now, but looked at too recently: nothing done
    assert engine.locate("b1", at(19.5)).zone == "c1"
    later = engine.advance(at(19.5 + half_step))
    assert [loc.zone for loc in later] == ["c2"]
