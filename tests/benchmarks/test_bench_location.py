"""The location benchmark reports the active engine and the pure one side by side (small run)."""

from __future__ import annotations

import pytest
from benchmarks.location import bench_location as bench

from duress import _native
from duress.domain.devices import DeviceKind
from duress.domain.observations import Sighting
from duress.sim.layout import build_hospital
from duress.sim.scenario import Received, simulate


@pytest.mark.slow
def test_throughput_and_cost_figures_for_both_engines() -> None:
    site = build_hospital(floors=1, rooms_per_side=4, badges=6)
    pairs = [
        (r.observation, r.at)
        for r in simulate(site, minutes=0.5, seed=1)
        if isinstance(r, Received) and isinstance(r.observation, Sighting)
    ]
    speed = bench.throughput(site, pairs)
    cost = bench.cost_ratio(site, pairs)
    assert speed["speed_sightings"] == len(pairs) > 100
    for figure in ("engine_sightings_per_s", "engine_sightings_per_s_pure"):
        assert speed[figure] > 0
    assert speed["engine_speedup_vs_pure"] > 0
    for figure in ("cost_vs_json_decode", "cost_vs_json_decode_pure", "observe_vs_json_decode"):
        assert cost[figure] > 0
    if _native.status()["engine"] == "pure":  # nothing beside it: the same figures
        assert speed["engine_sightings_per_s_pure"] == speed["engine_sightings_per_s"]


def test_informational_scenarios_are_apart_from_the_named_ones() -> None:
    named = {s.name for s in bench.SCENARIOS}
    extra = {s.name for s in bench.EXTRA_SCENARIOS}
    assert "icu_bh_ir_plus_room_beacons" in extra
    assert not named & extra
    icu = next(s for s in bench.SCENARIOS if s.name == "icu_bh_ir_rich")
    beacons = next(s for s in bench.EXTRA_SCENARIOS if s.name == "icu_bh_ir_plus_room_beacons")
    assert beacons.params == icu.params
    assert beacons.offline is icu.offline is None
    plain, both = icu.site(), beacons.site()
    assert plain.facility == both.facility
    assert plain.badges == both.badges
    added = set(both.devices) - set(plain.devices)
    ir_rooms = {d.area for d in plain.devices.values() if d.kind is DeviceKind.IR_MONITOR}
    assert added == {f"ble-{room}" for room in ir_rooms}
