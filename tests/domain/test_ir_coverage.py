"""IR coverage on a survey walk: detection inside each IR device's area, leaks outside it."""

from __future__ import annotations

import pytest
from tests.sim.site_fixtures import two_floor_site

from duress.domain.calibration import Checkpoint, SurveyWalk
from duress.domain.ir_coverage import IrCoverage, ir_coverage

SITE = two_floor_site()
T0 = 1_764_489_600.0


def _walk() -> SurveyWalk:
    """20 s in room r1, out into the corridor for 20 s, then 20 s in bay r3-b1."""
    return SurveyWalk(
        [
            Checkpoint(T0, "f1", 3.0, 7.0),
            Checkpoint(T0 + 20, "f1", 3.0, 7.0),
            Checkpoint(T0 + 25, "f1", 3.0, 11.5),
            Checkpoint(T0 + 45, "f1", 3.0, 11.5),
            Checkpoint(T0 + 50, "f1", 13.5, 11.5),
            Checkpoint(T0 + 55, "f1", 13.5, 7.0),
            Checkpoint(T0 + 75, "f1", 13.5, 7.0),
        ]
    )


def _by_device() -> dict[str, IrCoverage]:
    codes = [(T0 + k + 0.3, "ir-r1") for k in range(15)]  # 15 of r1's 23 seconds inside
    codes.append((T0 + 23.1, "ir-r1"))  # 0.2 m inside its wall: at the edge, counts neither way
    codes.append((T0 + 30.2, "ir-r1"))  # from the corridor: a leak
    codes.append((T0 - 10.0, "ir-r1"))  # before the walk: nothing known
    codes += [(T0 + k + 0.6, "em-r3-b1") for k in range(56, 74)]
    codes.append((T0 + 60.0, "no-such-device"))
    return {c.device: c for c in ir_coverage(SITE, _walk(), codes)}


def test_detection_counts_the_seconds_inside_with_a_code() -> None:
    r1 = _by_device()["ir-r1"]
    assert r1.area == "r1"
    assert r1.seconds_inside == 23  # 20 s standing and 3 s walking out, half a metre in
    assert r1.seconds_seen == 15
    assert r1.detection == pytest.approx(15 / 23)
    bay = _by_device()["em-r3-b1"]
    assert (bay.seconds_inside, bay.seconds_seen) == (23, 18)


def test_codes_from_outside_are_leaks_and_say_where() -> None:
    r1 = _by_device()["ir-r1"]
    assert r1.leaks == 1
    assert r1.leaked_into == (("c1", 1),)
    assert r1.note == "1 code(s) from outside: c1 (1)"


def test_a_device_that_sees_little_of_its_area_is_flagged() -> None:
    r3 = _by_device()["ir-r3"]  # the walk stood in its room (bay 1), it sent nothing
    assert r3.seconds_inside == 23
    assert r3.detection == 0.0
    assert "saw 0% of the seconds inside: check its aim" in r3.note


def test_areas_the_walk_missed_are_not_judged() -> None:
    by = _by_device()
    assert by["ir-r2"].seconds_inside == 0
    assert by["ir-r2"].detection is None
    assert by["ir-r2"].note == ""
    assert by["ir-r21"].seconds_inside == 0  # another floor
    assert "ir-nowhere" not in by  # no area: nothing to check
    short = IrCoverage("ir-x", "x", seconds_inside=4, seconds_seen=4, leaks=0)
    assert short.note == "only 4 s inside: stand in its area a while"
