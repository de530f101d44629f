"""The naive baseline locator: strongest single reading, IR first, no hysteresis."""

from __future__ import annotations

from duress.sim.baseline import StrongestReadingLocator, track_baseline
from duress.sim.evaluate import evaluate
from duress.sim.layout import build_hospital
from duress.sim.scenario import Received, simulate
from tests.sim.site_fixtures import at, ble, ir, two_floor_site


def test_ir_hit_places_the_badge_at_once() -> None:
    locator = StrongestReadingLocator(two_floor_site())
    assert locator.observe(ir("b1", "ir-r1", 0)) == ("f1", "r1", None, "r1", "room")
    assert locator.observe(ir("b1", "ir-r1", 1)) is None  # unchanged
    assert locator.observe(ir("b1", "em-r3-b1", 2)) == ("f1", "r3", "r3-b1", "r3", "bed")


def test_strongest_raw_ble_reading_wins_without_filtering() -> None:
    locator = StrongestReadingLocator(two_floor_site())
    assert locator.observe(ble("b1", "ble-f1-1", 0, -60)) == ("f1", None, None, "c1", "zone")
    # one strong reading from the far corridor segment switches at once (no filter, no sustain)
    assert locator.observe(ble("b1", "ble-f1-4", 0.5, -50)) == ("f1", None, None, "c2", "zone")


def test_ble_is_ignored_while_ir_is_recent_and_unknown_devices_are_skipped() -> None:
    locator = StrongestReadingLocator(two_floor_site())
    locator.observe(ir("b1", "ir-r1", 0))
    assert locator.observe(ble("b1", "ble-f1-4", 0.5, -40)) is None
    assert locator.observe(ble("b1", "nope", 5, -40)) is None


def test_baseline_rows_score_like_engine_rows() -> None:
    site = build_hospital(floors=1, rooms_per_side=4, badges=3)
    records = list(simulate(site, minutes=2, seed=3))
    truth = [r for r in records if not isinstance(r, Received)]
    rows = list(track_baseline(site, records))
    assert rows
    assert rows[0]["ts"] >= at(0).replace(year=2000)
    report = evaluate(truth, rows, site)
    assert report["zone_accuracy"] is not None
    assert report["zone_accuracy"] > 0.3
