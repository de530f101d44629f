"""The location benchmark reports the active engine and the pure one side by side (small run)."""

from __future__ import annotations

import pytest
from benchmarks.location import bench_location as bench

from duress import _native
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
