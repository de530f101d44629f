"""The pure helpers of the location engine: the area index and the RSSI filter."""

from __future__ import annotations

import math

import pytest
from tests.sim.site_fixtures import rect, two_floor_site

from duress.domain.area_index import AreaIndex, _box, contains, distance_outside
from duress.domain.rssi_filter import WindowedMedian, distance_m, median, rssi_at


def test_contains_and_distance() -> None:
    square = rect(0, 0, 4, 4)
    assert contains(square, 2, 2)
    assert not contains(square, 5, 2)
    assert distance_outside(square, 2, 2) == 0.0
    assert distance_outside(square, 7, 2) == pytest.approx(3.0)
    assert distance_outside(square, 7, 8) == pytest.approx(5.0)
    assert not contains(((0.0, 0.0), (1.0, 1.0)), 0.5, 0.5)


def test_index_finds_bay_room_and_zone() -> None:
    index = AreaIndex(two_floor_site().facility)
    hit = index.locate("f1", 16, 7)
    assert (hit.bay, hit.room, hit.zone) == ("r3-b2", "r3", None)
    assert hit.finest == "r3-b2"
    assert index.locate("f1", 31, 11).zone == "c2"
    assert index.locate("f2", 3, 7).room == "r21"
    assert index.locate("f1", 100, 100).finest is None
    assert index.locate("f9", 1, 1).finest is None
    assert index.locate("f1", math.nan, 1).finest is None
    assert index.area_at("f1", 16, 7) == "r3"
    assert index.area_at("f1", 20, 11) == "c1"
    assert index.area_at("f1", 20, 1) is None
    assert index.distance_outside("r1", 3, 12) == pytest.approx(2.0)
    assert index.distance_outside("nope", 0, 0) == math.inf


def test_median_and_window() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    window = WindowedMedian(window_s=5, max_samples=5)
    for t, v in enumerate([-70, -71, -40, -72, -69]):  # one multipath burst at -40
        window.add(float(t), float(v))
    assert window.value(4.0) == -70
    assert window.value(20.0) is None
    for t in range(10):
        window.add(30.0 + t, -60.0)
    assert len(window.samples) == 5


def test_log_distance_round_trip() -> None:
    assert rssi_at(1.0, -59, 2.5) == -59
    assert rssi_at(10.0, -59, 2.0) == pytest.approx(-79)
    assert distance_m(rssi_at(7.0, -59, 2.7), -59, 2.7) == pytest.approx(7.0)
    assert distance_m(0.0, -59, 2.5) == 0.1


def test_area_lookup_fast_cells_agree_with_ray_casting() -> None:
    import random

    from duress.sim.layout import build_hospital

    site = build_hospital(floors=1, rooms_per_side=6)
    index = AreaIndex(site.facility)
    slow = AreaIndex(site.facility)
    slow._fast.clear()  # every lookup by ray casting: no whole-cell answers, no box tests
    slow._places = {
        key: tuple((level, area, polygon, None) for level, area, polygon, _ in candidates)
        for key, candidates in slow._places.items()
    }
    rng = random.Random(3)
    for i in range(40_000):
        if i % 2:  # on the walls, corners and cell edges too (the layout is on a 0.5 m grid)
            x, y = rng.randint(-2, 80) / 2, rng.randint(-2, 48) / 2
        else:
            x, y = rng.uniform(-1, 40), rng.uniform(-1, 24)
        assert index.area_at("f1", x, y) == slow.area_at("f1", x, y)
    assert index._fast  # some cells need no polygon test
    assert any(box for c in index._places.values() for _, _, _, box in c)  # some box tests


def test_box_test_is_ray_casting_exactly() -> None:
    import random

    rectangle = ((0.0, 0.0), (4.0, 0.0), (4.0, 3.0), (0.0, 3.0))
    with_extra_vertex = ((0.0, 0.0), (2.0, 0.0), (4.0, 0.0), (4.0, 3.0), (0.0, 3.0))
    clockwise = tuple(reversed(rectangle))
    for polygon in (rectangle, with_extra_vertex, clockwise):
        box = _box(polygon)
        assert box == (0.0, 0.0, 4.0, 3.0)
        rng = random.Random(5)
        for _ in range(5_000):
            x, y = rng.randint(-4, 20) / 4, rng.randint(-4, 16) / 4
            inside = box[0] <= x < box[2] and box[1] <= y < box[3]
            assert inside == contains(polygon, x, y), (polygon, x, y)
    assert _box(((0.0, 0.0), (4.0, 0.0), (4.0, 3.0))) is None  # a triangle
    assert _box(((0.0, 0.0), (4.0, 0.0), (4.0, 3.0), (2.0, 3.0), (2.0, 5.0), (0.0, 5.0))) is None
    assert _box(((0.0, 0.0), (4.0, 0.0), (4.0, 0.0), (0.0, 0.0))) is None  # no area
