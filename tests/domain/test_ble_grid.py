"""The BLE grid filter: its floor tables (walls, expected readings) and the filter itself, fed
the simulator's noise-free readings, alone and inside the engine (``ble_grid``, opt-in)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duress.domain.area_index import AreaIndex
from duress.domain.ble_grid import FloorGrid, GridState, _half_even, floor_grids, seed, step
from duress.domain.location import Location, LocationEngine, LocationParams
from duress.domain.observations import Sighting, SightingKind
from duress.domain.precision import Precision
from duress.domain.site import Site
from duress.sim.layout import build_hospital
from duress.sim.radio import BleModel, RadioParams

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
PARAMS = LocationParams(ble_grid=True, ble_grid_heading=False)
"""The symmetric walk (with its standing mode); headings have tests of their own below."""
HEADING = LocationParams(ble_grid=True, ble_grid_heading=True)


@pytest.fixture(scope="module")
def site() -> Site:
    # one floor, three BLE-only rooms each side of the corridor, a beacon in every room
    return build_hospital(floors=1, rooms_per_side=3, badges=2, ir=False)


def _ble(site: Site) -> list[tuple[str, str, float, float, float]]:
    out = []
    for d in site.devices.values():
        if d.kind.is_ble and d.position is not None:
            tx = d.tx_power if d.tx_power is not None else PARAMS.ble_default_tx_power
            out.append((d.id, d.floor, d.position[0], d.position[1], tx))
    return out


def _grid(
    site: Site, ir_areas: frozenset[str] = frozenset(), params: LocationParams = PARAMS
) -> FloorGrid:
    grids = floor_grids(AreaIndex(site.facility), site.facility, _ble(site), params, ir_areas)
    return grids["f1"]


def _centre(site: Site, area: str) -> tuple[float, float]:
    xs = [x for x, _ in site.facility.areas[area].polygon]
    ys = [y for _, y in site.facility.areas[area].polygon]
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def _readings(site: Site, x: float, y: float) -> list[tuple[str, float]]:
    """What a badge at ``(x, y)`` hears with no noise: every device above the sensitivity."""
    model = BleModel(site, RadioParams())
    out = []
    for device_id, _, _, _, _ in _ble(site):
        mean = model.mean_rssi("f1", x, y, device_id)
        if mean is not None and mean >= -95.0:
            out.append((device_id, round(mean, 1)))
    return out


def _step(grid: FloorGrid, state: GridState, t: float, heard: list[tuple[str, float]]) -> None:
    devs = [grid.devices[d] for d, _ in heard]
    rssi = [v for _, v in heard]
    strongest = devs[rssi.index(max(rssi))]
    step(state, t, devs, rssi, strongest, {}, PARAMS)


def _cell(grid: FloorGrid, x: float, y: float) -> int:
    return int((x - grid.x0) // grid.cell_m) + int((y - grid.y0) // grid.cell_m) * grid.nx


def test_every_cell_belongs_to_the_area_around_it(site: Site) -> None:
    grid = _grid(site)
    for area in ("f1-n01", "f1-s02", "f1-corr-1"):
        x, y = _centre(site, area)
        assert grid.area_ids[grid.area[_cell(grid, x, y)]] == area


def test_walls_are_counted_where_a_line_enters_or_leaves_a_room(site: Site) -> None:
    grid = _grid(site)
    room_x, room_y = _centre(site, "f1-n02")
    across_x, across_y = _centre(site, "f1-s02")
    corridor_x, corridor_y = _centre(site, "f1-corr-1")
    assert _walls(grid, room_x, room_y, room_x + 1.0, room_y) == 0
    assert _walls(grid, corridor_x, corridor_y, room_x, room_y) == 1
    assert _walls(grid, room_x, room_y, across_x, across_y) == 2


def _walls(grid: FloorGrid, ax: float, ay: float, bx: float, by: float) -> int:
    return grid._walls(ax, ay, bx, by, math.hypot(bx - ax, by - ay))


def _walls_by_floor(grid: FloorGrid, ax: float, ay: float, bx: float, by: float) -> int:
    """The wall walk written plainly: each step's cell by ``math.floor``."""
    steps = int(math.hypot(bx - ax, by - ay) / (0.5 * grid.cell_m)) + 1
    walls = 0
    prev: int | None = None
    prev_room = False
    for i in range(steps + 1):
        f = i / steps
        ix = math.floor((ax + (bx - ax) * f - grid.x0) / grid.cell_m)
        iy = math.floor((ay + (by - ay) * f - grid.y0) / grid.cell_m)
        a, room = -1, False
        if 0 <= ix < grid.nx and 0 <= iy < grid.ny:
            a = grid.area[ix + iy * grid.nx]
            room = grid.cell_in_room[ix + iy * grid.nx]
        if prev is not None and a != prev and (room or prev_room):
            walls += 1
        prev, prev_room = a, room
    return walls


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-0.2, 1.2),
    st.floats(-0.2, 1.2),
    st.floats(-0.2, 1.2),
    st.floats(-0.2, 1.2),
)
def test_the_wall_walk_visits_the_cells_floor_would_name(
    site: Site, ax: float, ay: float, bx: float, by: float
) -> None:
    # points anywhere over the floor and a little beyond it, as fractions of its extent
    grid = _grid(site)
    w = grid.nx * grid.cell_m
    h = grid.ny * grid.cell_m
    a = (grid.x0 + ax * w, grid.y0 + ay * h)
    b = (grid.x0 + bx * w, grid.y0 + by * h)
    assert _walls(grid, *a, *b) == _walls_by_floor(grid, *a, *b)


def test_the_expected_reading_is_the_log_distance_model_less_the_walls(site: Site) -> None:
    grid = _grid(site)
    device = grid.devices["ble-f1-n02"]
    x, y = _centre(site, "f1-n02")
    cell = _cell(grid, x + 2.0, y)
    cx = grid.x0 + (cell % grid.nx + 0.5) * grid.cell_m
    cy = grid.y0 + (cell // grid.nx + 0.5) * grid.cell_m
    inside = grid.expected(device, cell)
    # no wall inside the room: the log-distance model alone (kept in 0.5 dB steps)
    model = -59.0 - 10 * PARAMS.ble_path_loss_exponent * math.log10(math.hypot(cx - x, cy - y))
    assert inside == pytest.approx(model, abs=0.25)
    across_x, across_y = _centre(site, "f1-s02")
    across = grid.expected(device, _cell(grid, across_x, across_y))
    assert across < inside - 2 * PARAMS.ble_grid_wall_db  # two walls and metres more


def test_the_filter_finds_the_room_a_standing_badge_is_in(site: Site) -> None:
    grid = _grid(site)
    x, y = _centre(site, "f1-s03")
    heard = _readings(site, x, y)
    state = seed(grid, grid.devices[max(heard, key=lambda h: h[1])[0]], -1, 0.0)
    for t in range(1, 6):
        _step(grid, state, float(t), heard)
    assert grid.area_ids[state.best] == "f1-s03"
    assert state.best_mass > 0.9
    assert sum(state.probs) == pytest.approx(1.0)
    assert sum(state.masses.values()) == pytest.approx(1.0)


def test_the_filter_follows_a_walk_out_of_a_room_into_the_corridor(site: Site) -> None:
    grid = _grid(site)
    room_x, room_y = _centre(site, "f1-n02")
    state = seed(grid, grid.devices["ble-f1-n02"], -1, 0.0)
    for t in range(1, 4):
        _step(grid, state, float(t), _readings(site, room_x, room_y))
    assert grid.area_ids[state.best] == "f1-n02"
    corridor = site.facility.areas["f1-corr-1"].polygon
    corridor_y = (min(y for _, y in corridor) + max(y for _, y in corridor)) / 2
    # out through the door and 6 m down the corridor, one metre a second
    path = [(room_x, room_y - k) for k in range(1, 5)]
    path += [(room_x + k, corridor_y) for k in range(1, 7)]
    for k, (x, y) in enumerate(path):
        _step(grid, state, 4.0 + k, _readings(site, x, y))
    assert grid.area_ids[state.best] == "f1-corr-1"


def test_a_badge_seeded_at_the_wrong_end_is_found_again(site: Site) -> None:
    grid = _grid(site)
    state = seed(grid, grid.devices["ble-f1-n01"], -1, 0.0)
    x, y = _centre(site, "f1-s03")
    heard = _readings(site, x, y)
    for t in range(1, 15):
        _step(grid, state, float(t), heard)
    assert grid.area_ids[state.best] == "f1-s03"


def test_a_room_with_ir_is_less_likely_while_its_ir_is_silent(site: Site) -> None:
    grid = _grid(site, ir_areas=frozenset({"f1-n02"}))
    # just inside the room, by the wall it shares with the corridor
    wall_y = max(y for _, y in site.facility.areas["f1-corr-1"].polygon) + 0.3
    heard = _readings(site, _centre(site, "f1-n02")[0], wall_y)
    devs = [grid.devices[d] for d, _ in heard]
    rssi = [v for _, v in heard]
    strongest = grid.devices["ble-f1-n02"]
    n02 = grid.area_number["f1-n02"]
    never = LocationParams(ble_grid=True, ble_grid_ir_quiet=0.0)
    masses = []
    for ir_seen, params in (({n02: True}, PARAMS), ({}, PARAMS), ({n02: True}, never)):
        state = seed(grid, strongest, -1, 0.0)
        for t in range(1, 6):
            step(state, float(t), devs, rssi, strongest, ir_seen, params)
        masses.append(state.masses.get(n02, 0.0))
    seen, silent, excluded = masses
    assert seen > 0.5

    def odds(mass: float) -> float:
        return mass / max(1e-12, 1.0 - mass)

    assert odds(silent) < odds(seen) / 5  # the silence weighs against the room
    assert excluded == 0.0  # ble_grid_ir_quiet = 0: BLE never places a badge in a room with IR


def test_a_standing_badge_is_taken_to_stand_and_a_walking_one_to_walk(site: Site) -> None:
    grid = _grid(site)
    x, y = _centre(site, "f1-n02")
    state = seed(grid, grid.devices["ble-f1-n02"], -1, 0.0)
    assert state.still == 0.5
    for t in range(1, 10):
        _step(grid, state, float(t), _readings(site, x, y))
    assert state.still > 0.8  # the same readings again and again: standing still
    standing = max(state.probs)
    corridor = site.facility.areas["f1-corr-1"].polygon
    corridor_y = (min(y for _, y in corridor) + max(y for _, y in corridor)) / 2
    path = [(x, y - k) for k in range(1, 5)] + [(x + k, corridor_y) for k in range(1, 7)]
    for k, (px, py) in enumerate(path):
        _step(grid, state, 10.0 + k, _readings(site, px, py))
    assert state.still < 0.5  # the readings moved: walking
    assert grid.area_ids[state.best] == "f1-corr-1"
    assert standing > max(state.probs)  # a walker's posterior is spread wider


def test_walking_only_keeps_the_posterior_spread(site: Site) -> None:
    grid = _grid(site)
    x, y = _centre(site, "f1-n02")
    walking_only = LocationParams(ble_grid=True, ble_grid_still_switch=0.0)
    peaks = []
    for params in (PARAMS, walking_only):
        state = seed(grid, grid.devices["ble-f1-n02"], -1, 0.0)
        heard = _readings(site, x, y)
        devs = [grid.devices[d] for d, _ in heard]
        rssi = [v for _, v in heard]
        for t in range(1, 10):
            step(state, float(t), devs, rssi, devs[rssi.index(max(rssi))], {}, params)
        peaks.append(max(state.probs))
        if params is walking_only:
            assert state.still == 0.5  # the mode is not tracked
    assert peaks[0] > peaks[1]  # standing: the evidence accumulates at the spot


def test_a_step_back_in_time_changes_nothing(site: Site) -> None:
    grid = _grid(site)
    state = seed(grid, grid.devices["ble-f1-n01"], -1, 5.0)
    before = (list(state.cells), list(state.probs))
    _step(grid, state, 4.0, _readings(site, *_centre(site, "f1-n01")))
    assert (list(state.cells), list(state.probs)) == before


def _feed(engine: LocationEngine, site: Site, t: float, x: float, y: float) -> None:
    """One scan at ``t`` from ``(x, y)``, its readings arriving 0.1 s later."""
    for device, rssi in _readings(site, x, y):
        sighting = Sighting(
            ts=T0 + timedelta(seconds=t),
            badge="sim-0001",
            device=device,
            kind=SightingKind.BLE,
            rssi=rssi,
        )
        engine.observe(sighting, T0 + timedelta(seconds=t + 0.1))


def test_the_engine_with_the_grid_places_a_badge_in_its_ble_only_room(site: Site) -> None:
    engine = LocationEngine(site, PARAMS)
    x, y = _centre(site, "f1-s01")
    for t in range(8):
        _feed(engine, site, float(t), x, y)
    location = engine.locate("sim-0001", T0 + timedelta(seconds=8))
    assert location.zone == "f1-s01"
    assert location.precision is Precision.ZONE  # BLE never claims more than zone
    assert 0.3 < location.confidence <= 0.7
    assert location.age_s < 2


def test_the_engine_with_the_grid_changes_zone_soon_after_a_walk_out(site: Site) -> None:
    engine = LocationEngine(site, PARAMS)
    room_x, room_y = _centre(site, "f1-n03")
    for t in range(6):
        _feed(engine, site, float(t), room_x, room_y)
    assert engine.locate("sim-0001", T0 + timedelta(seconds=6)).zone == "f1-n03"
    corridor = site.facility.areas["f1-corr-1"].polygon
    corridor_y = (min(y for _, y in corridor) + max(y for _, y in corridor)) / 2
    path = [(room_x, room_y - k) for k in range(1, 5)] + [(room_x - 1.0, corridor_y)] * 4
    for k, (x, y) in enumerate(path):
        _feed(engine, site, 6.0 + k, x, y)
    location = engine.locate("sim-0001", T0 + timedelta(seconds=6 + len(path)))
    assert location.zone != "f1-n03"
    assert location.zone is not None
    assert site.facility.areas[location.zone].kind.value == "corridor"


def test_probability_by_a_door_is_not_yet_inside_the_room(site: Site) -> None:
    grid = _grid(site)
    x, y = _centre(site, "f1-n02")
    n02 = grid.area_number["f1-n02"]
    assert grid.area_room[n02]
    assert not grid.area_room[grid.area_number["f1-corr-1"]]
    middle = seed(grid, grid.devices["ble-f1-n02"], -1, 0.0)
    for t in range(1, 8):
        _step(grid, middle, float(t), _readings(site, x, y))
    assert middle.core[n02] > 0.5 * middle.masses[n02]  # in the middle: mostly core cells
    # on the corridor side of the room's wall, half a metre out
    wall_y = min(py for _, py in site.facility.areas["f1-n02"].polygon)
    door = seed(grid, grid.devices["ble-f1-n02"], -1, 0.0)
    for t in range(1, 8):
        _step(grid, door, float(t), _readings(site, x, wall_y - 0.5))
    assert door.core.get(n02, 0.0) < PARAMS.ble_grid_core  # never deep enough to enter
    edge = [c for c in range(grid.nx * grid.ny) if grid.area[c] == n02 and not grid.core[c]]
    assert edge  # the cells along its walls


def test_a_filter_starts_near_the_strongest_device_and_wider_on_request(site: Site) -> None:
    grid = _grid(site)
    device = grid.devices["ble-f1-n02"]
    narrow = seed(grid, device, -1, 0.0, spread_m=0.0)
    wide = seed(grid, device, -1, 0.0, spread_m=3.0)
    assert set(narrow.cells) == set(grid.dev_near[device])
    assert set(narrow.cells) < set(wide.cells)
    assert sum(narrow.probs) == pytest.approx(1.0)
    n02 = grid.area_number["f1-n02"]
    outside = seed(grid, device, n02, 0.0, spread_m=3.0)  # not the room just left
    assert all(grid.area[c] != n02 for c in outside.cells)


def _engine_feed(site: Site, params: LocationParams, area: str, seconds: int) -> Location:
    """A badge standing at ``area``'s centre, its readings reported once a second (a scan's
    readings measured together, arriving 0.2 s later), through the engine."""
    engine = LocationEngine(site, params)
    badge = min(site.badges)
    heard = _readings(site, *_centre(site, area))
    for k in range(seconds):
        measured = T0 + timedelta(seconds=k)
        for device, rssi in heard:
            sighting = Sighting(measured, badge, device, SightingKind.BLE, rssi)
            engine.observe(sighting, measured + timedelta(seconds=0.2))
    return engine.locate(badge, T0 + timedelta(seconds=seconds))


def test_the_engine_uses_the_grid_filter_by_default(site: Site) -> None:
    assert LocationParams().ble_grid is True
    grid = _engine_feed(site, LocationParams(), "f1-n02", 8)
    centroid = _engine_feed(site, LocationParams(ble_grid=False), "f1-n02", 8)
    assert grid.zone == centroid.zone == "f1-n02"
    # the grid filter's confidence (0.3 + 0.4 x the area's probability: at most 0.7), not the
    # centroid's
    assert 0.6 < grid.confidence <= 0.7
    assert grid.confidence != centroid.confidence


def test_estimates_more_often_than_reports_still_feed_the_grid_filter(site: Site) -> None:
    # A new filter starts from the readings of ble_grid_start_s: with estimates every 0.5 s and
    # reports once a second, a start that looked back only ble_update_s found no reading at all
    # and the engine fell back to the centroid rule for good.
    fast = _engine_feed(site, LocationParams(ble_update_s=0.5), "f1-n02", 8)
    centroid = _engine_feed(site, LocationParams(ble_update_s=0.5, ble_grid=False), "f1-n02", 8)
    assert fast.zone == "f1-n02"
    assert fast.confidence != centroid.confidence  # the grid filter's, not the centroid's


_HALVES = st.integers(-4000, 4000).map(lambda k: k * 0.5)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False) | _HALVES)
def test_half_even_rounds_as_round_does(x: float) -> None:
    # the grid's tables round expected readings natively; ties go to the even neighbour
    assert _half_even(x) == float(round(x))


def _walk_along_the_corridor(
    site: Site, params: LocationParams, seconds: int
) -> tuple[FloorGrid, GridState, float]:
    """Stand in corridor f1-corr-1 for 5 s, then walk east at 1.4 m/s for ``seconds``; the
    filter and the walker's x at the end."""
    grid = _grid(site, params=params)
    corridor = site.facility.areas["f1-corr-1"].polygon
    y = (min(v for _, v in corridor) + max(v for _, v in corridor)) / 2
    x0 = min(v for v, _ in corridor) + 2.0
    state = seed(grid, grid.devices[_readings(site, x0, y)[0][0]], -1, 0.0)
    x = x0
    for t in range(1, 6 + seconds):
        x = x0 + max(0, t - 5) * 1.4
        heard = _readings(site, x, y)
        devs = [grid.devices[d] for d, _ in heard]
        rssi = [v for _, v in heard]
        step(state, float(t), devs, rssi, devs[rssi.index(max(rssi))], {}, params)
    return grid, state, x


def _mean_x(grid: FloorGrid, state: GridState) -> float:
    return sum(
        (grid.x0 + (c % grid.nx + 0.5) * grid.cell_m) * q
        for c, q in zip(state.cells, state.probs, strict=True)
    )


def test_headings_keep_a_walker_closer_than_the_symmetric_walk(site: Site) -> None:
    lags = []
    for params in (PARAMS, HEADING):
        grid, state, x = _walk_along_the_corridor(site, params, 8)
        lags.append(x - _mean_x(grid, state))
    symmetric, heading = lags
    assert heading < symmetric  # the prior leads the walker instead of spreading behind
    assert abs(heading) < 1.5


def test_headings_learn_the_walking_direction(site: Site) -> None:
    _, state, _ = _walk_along_the_corridor(site, HEADING, 8)
    heads = list(state.heads)
    assert len(heads) == 4 * len(state.cells)
    by_heading = [sum(heads[h::4]) for h in range(4)]  # +x, -x, +y, -y
    assert by_heading[0] == max(by_heading)  # walking east
    assert by_heading[0] > 3 * by_heading[1]
    # every cell's headings are part of its probability (the rest is standing)
    for i, q in enumerate(state.probs):
        assert sum(heads[4 * i : 4 * i + 4]) <= q + 1e-12


def test_headings_conserve_probability_where_walls_turn_them(site: Site) -> None:
    grid = _grid(site, params=HEADING)
    x, y = _centre(site, "f1-n02")
    state = seed(grid, grid.devices["ble-f1-n02"], -1, 0.0)
    heard = _readings(site, x, y)
    devs = [grid.devices[d] for d, _ in heard]
    rssi = [v for _, v in heard]
    for t in range(1, 12):  # standing in a small room: headings run into its walls
        step(state, float(t), devs, rssi, devs[rssi.index(max(rssi))], {}, HEADING)
        assert sum(state.probs) == pytest.approx(1.0)
    assert grid.area_ids[state.best] == "f1-n02"


def test_the_engine_walks_with_headings_only_on_floors_without_ir() -> None:
    ble_only = LocationEngine(build_hospital(floors=1, rooms_per_side=2, badges=1, ir=False))
    with_ir = LocationEngine(build_hospital(floors=1, rooms_per_side=2, badges=1))
    everywhere = LocationEngine(
        build_hospital(floors=1, rooms_per_side=2, badges=1),
        LocationParams(ble_grid_heading_with_ir=True),
    )
    off = LocationEngine(
        build_hospital(floors=1, rooms_per_side=2, badges=1, ir=False),
        LocationParams(ble_grid_heading=False),
    )
    walks = [e._build_grids()["f1"].walk_headings for e in (ble_only, with_ir, everywhere, off)]
    assert walks == [True, False, True, False]
