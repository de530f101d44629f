"""The simulator: deterministic for a seed, truth every second, records in arrival order."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

import pytest

from duress.domain.facility import AreaKind
from duress.domain.observations import ButtonEvent, Heartbeat, Sighting, SightingKind
from duress.domain.site import Site
from duress.sim.layout import build_hospital, with_badges
from duress.sim.movement import MovementParams, WalkGraph, find_doors
from duress.sim.scenario import Received, SimParams, TruthRow, record_to_json, simulate
from tests.sim.site_fixtures import two_floor_site


def test_same_seed_same_records_other_seed_other_records() -> None:
    site = build_hospital(floors=2, rooms_per_side=4, badges=4)
    a = list(simulate(site, 2, seed=11))
    b = list(simulate(site, 2, seed=11))
    c = list(simulate(site, 2, seed=12))
    assert a == b
    assert a != c


def test_truth_every_second_and_arrivals_in_order() -> None:
    site = build_hospital(floors=1, rooms_per_side=4, badges=3)
    records = list(simulate(site, 1, seed=1))
    truth = [r for r in records if isinstance(r, dict)]
    assert len(truth) == 3 * 61
    per_badge = Counter(r["badge"] for r in truth)
    assert set(per_badge.values()) == {61}
    arrivals = [r.at for r in records if isinstance(r, Received)]
    assert arrivals == sorted(arrivals)
    kinds = Counter(
        r.observation.kind
        for r in records
        if isinstance(r, Received) and isinstance(r.observation, Sighting)
    )
    assert kinds[SightingKind.BLE] > 0
    assert kinds[SightingKind.IR] > 0
    for r in records:
        if isinstance(r, Received):
            assert r.at >= r.observation.ts


def test_people_stay_inside_the_building_and_move() -> None:
    site = build_hospital(floors=2, rooms_per_side=5, badges=6)
    truth: list[TruthRow] = [r for r in simulate(site, 10, seed=3) if isinstance(r, dict)]
    outside = sum(1 for r in truth if r["zone"] is None)
    assert outside / len(truth) < 0.01
    activities = Counter(r["activity"] for r in truth)
    assert activities["walk"] > 0
    assert activities["dwell"] > 0
    zones_per_badge = Counter()
    for badge in {r["badge"] for r in truth}:
        zones_per_badge[badge] = len({r["zone"] for r in truth if r["badge"] == badge})
    assert min(zones_per_badge.values()) >= 2


def test_button_presses_are_resent_with_one_seq() -> None:
    site = build_hospital(floors=1, rooms_per_side=3, badges=3)
    params = SimParams(accidental_press_per_badge_hour=600.0, real_press_per_badge_hour=600.0)
    presses = [
        r.observation
        for r in simulate(site, 2, seed=5, params=params)
        if isinstance(r, Received) and isinstance(r.observation, ButtonEvent)
    ]
    assert presses
    by_key = Counter((p.badge, p.seq) for p in presses)
    assert max(by_key.values()) <= params.press_resends + 1  # + a gateway duplicate
    assert {p.presses for p in presses} == {1, 3}


def test_walk_graph_has_doors_and_links_floors() -> None:
    site = two_floor_site()
    doors = find_doors(site)
    assert {"r1", "r2", "r3", "r4", "r21", "stair1", "stair2"} <= set(doors)
    assert doors["r1"].corridor == "c1"
    graph = WalkGraph(site, MovementParams())
    path = graph.route(graph.room_node("r1"), graph.room_node("r21"))
    assert path
    assert path[0][0] == "f1"
    assert path[-1][0] == "f2"


def test_simulator_runs_on_a_hand_built_site() -> None:
    site = with_badges(two_floor_site(), 8)
    records = list(simulate(site, 1, badges=8, seed=2))
    assert any(isinstance(r, Received) for r in records)
    assert all(isinstance(record_to_json(r), dict) for r in records[:50])
    with pytest.raises(ValueError, match="with_badges"):
        next(simulate(site, 1, badges=100))


def test_record_to_json_types() -> None:
    site = build_hospital(floors=1, rooms_per_side=2, badges=1)
    params = SimParams(accidental_press_per_badge_hour=3600.0)
    types = {record_to_json(r)["type"] for r in simulate(site, 1, seed=1, params=params)}
    assert types == {"truth", "sighting", "button", "heartbeat"}


def test_every_fixed_device_sends_heartbeats_on_its_interval() -> None:
    site = build_hospital(floors=1, rooms_per_side=2, badges=1)
    beats: dict[str, list[float]] = {}
    for r in simulate(site, 40, seed=1):
        if isinstance(r, Received) and isinstance(r.observation, Heartbeat):
            beat = r.observation
            assert (r.at - beat.ts).total_seconds() == pytest.approx(0.1)
            beats.setdefault(beat.device, []).append(beat.ts.timestamp())
    fixed = {d.id: d.heartbeat_s for d in site.devices.values() if d.heartbeat_s > 0}
    assert set(beats) == set(fixed)
    for device, times in beats.items():
        gaps = {round(b - a, 6) for a, b in itertools.pairwise(times)}
        assert gaps == {fixed[device]}, device
        assert times[0] - min(min(t) for t in beats.values()) < fixed[device]


def test_build_hospital_sizes() -> None:
    site = build_hospital(floors=3, rooms_per_side=10, badges=50)
    assert len(site.facility.floors) == 3
    assert sum(1 for b in site.badges) == 50
    assert len(with_badges(site, 10).badges) == 50
    assert len(replace(site, badges={}).badges) == 0
    with pytest.raises(ValueError, match="floors"):
        build_hospital(floors=0)


def test_a_surveyor_stands_in_every_room_in_turn() -> None:
    site = build_hospital(floors=2, rooms_per_side=2, badges=2)
    rooms = {
        a.id for a in site.facility.areas.values() if a.kind is AreaKind.ROOM and a.parent is None
    }
    records = list(simulate(site, minutes=12, badges=2, seed=1, survey=True))
    rows = [r for r in records if not isinstance(r, Received)]
    walk = [r for r in rows if r["badge"] == "sim-0001"]
    stays: dict[str, int] = {}
    for r in walk:
        if r["room"] is not None:
            stays[r["room"]] = stays.get(r["room"], 0) + 1
    assert rooms <= set(stays), rooms - set(stays)
    dwell = MovementParams().survey_dwell_s
    assert all(seconds >= dwell for room, seconds in stays.items() if room in rooms)
    assert all(isinstance(r["x"], float) and isinstance(r["y"], float) for r in walk)
    # the other badge is an ordinary walker
    assert any(r["activity"] != "dwell" for r in rows if r["badge"] == "sim-0002")


def test_door_monitors_add_codes_and_change_nothing_else() -> None:
    plain = build_hospital(floors=1, rooms_per_side=4, badges=6, ble_only_every=0)
    doors = build_hospital(
        floors=1, rooms_per_side=4, badges=6, ble_only_every=0, door_monitors=True
    )
    monitors = {d.id for d in doors.devices.values() if d.kind.is_ir_door}
    assert len(monitors) == 8  # one per IR room
    assert all(doors.devices[m].area == m.removeprefix("door-") for m in monitors)

    def split(site: Site) -> tuple[list[object], list[object]]:
        records = list(simulate(site, minutes=5, seed=4))
        truth = [r for r in records if not isinstance(r, Received)]
        others = [
            r
            for r in records
            if isinstance(r, Received)
            and isinstance(r.observation, Sighting)
            and r.observation.device not in monitors
        ]
        return truth, others

    truth_plain, sightings_plain = split(plain)
    truth_doors, sightings_doors = split(doors)
    assert truth_doors == truth_plain  # the same walks
    assert sightings_doors == sightings_plain  # the same codes and readings, at the same times
    records = list(simulate(doors, minutes=5, seed=4))
    door_codes = [
        r
        for r in records
        if isinstance(r, Received) and getattr(r.observation, "device", "") in monitors
    ]
    assert door_codes  # people walked through doors
