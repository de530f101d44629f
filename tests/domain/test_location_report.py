"""A place reported by the location engine, aged later exactly as the engine ages it."""

from __future__ import annotations

import pytest
from tests.sim.site_fixtures import at, ble, ir, two_floor_site

from duress.domain.location import LocationEngine, LocationParams
from duress.domain.location_report import age_at, confidence_at, location_at, report_of
from duress.domain.precision import Precision


@pytest.mark.parametrize("later_s", [0.0, 3.0, 14.0, 16.0, 90.0, 119.0, 121.0, 600.0])
def test_an_aged_report_is_what_the_engine_says_at_that_time(later_s: float) -> None:
    params = LocationParams()
    engine = LocationEngine(two_floor_site(), params)
    for t in range(3):
        engine.observe(ir("b1", "ir-r1", t), at(t))
    report = report_of(engine.locate("b1", at(2.5)), params)
    assert report is not None
    then = at(2 + later_s)
    assert location_at("b1", report, then.timestamp(), params) == engine.locate("b1", then)


def test_a_ble_zone_reports_its_shortfall_and_ages_too() -> None:
    params = LocationParams()
    engine = LocationEngine(two_floor_site(), params)
    for t in range(8):
        engine.observe(ble("b2", "ble-f1-2", t, -62.0), at(t))
    located = engine.locate("b2", at(8))
    report = report_of(located, params)
    assert report is not None
    assert report.precision == located.precision.value
    aged = location_at("b2", report, at(40).timestamp(), params)
    assert aged == engine.locate("b2", at(40))
    assert aged.stale


def test_a_badge_never_located_has_no_report() -> None:
    params = LocationParams()
    engine = LocationEngine(two_floor_site(), params)
    assert report_of(engine.locate("b1", at(0)), params) is None


def test_past_the_unknown_timeout_the_last_known_place_is_kept() -> None:
    params = LocationParams(unknown_after_s=30.0)
    engine = LocationEngine(two_floor_site(), params)
    engine.observe(ir("b1", "ir-r1", 0), at(0))
    report = report_of(engine.locate("b1", at(0)), params)
    assert report is not None
    later = location_at("b1", report, at(31).timestamp(), params)
    assert later.precision is Precision.UNKNOWN
    assert later.last_known is not None
    assert later.last_known.room == "r1"


@pytest.mark.parametrize("later_s", [0.0, 14.0, 121.0])
def test_the_engine_reports_the_place_it_ages(later_s: float) -> None:
    params = LocationParams()
    engine = LocationEngine(two_floor_site(), params)
    for t in range(3):
        engine.observe(ir("b1", "ir-r1", t), at(t))
    report = engine.report("b1")
    assert report is not None
    assert report.room == "r1"
    then = at(2 + later_s)
    assert location_at("b1", report, then.timestamp(), params) == engine.locate("b1", then)
    assert engine.report("b9") is None  # never located


def test_confidence_halves_every_half_life_and_age_is_never_negative() -> None:
    params = LocationParams(confidence_half_life_s=10.0)
    engine = LocationEngine(two_floor_site(), params)
    engine.observe(ir("b1", "ir-r1", 0), at(0))
    report = engine.report("b1")
    assert report is not None
    assert age_at(report, report.as_of - 5.0) == 0.0  # a clock behind the evidence
    assert age_at(report, report.as_of + 20.0) == 20.0
    assert confidence_at(report, 20.0, params) == pytest.approx(report.confidence / 4)
