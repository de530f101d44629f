"""People's movement: an IR blind spot is a place where one stands, not a state one walks with."""

from __future__ import annotations

import random

from duress.sim.layout import build_hospital
from duress.sim.movement import Movement, MovementParams


def test_a_blind_spot_ends_when_its_dwell_does() -> None:
    site = build_hospital(floors=1, rooms_per_side=4, badges=6)
    movement = Movement(site, MovementParams(dwell_median_s=10.0), blind_spot_share=1.0)
    rng = random.Random(4)
    walkers = [movement.spawn(f"sim-000{i}", None, rng, 0.0) for i in range(1, 7)]
    seen = {"dwell": 0, "dwell_blind": 0, "moving": 0}
    for now in range(1, 900):
        for w in walkers:
            movement.step(w, rng, float(now))
            if w.activity == "dwell":
                seen["dwell"] += 1
                seen["dwell_blind"] += w.blind
            else:
                seen["moving"] += 1
                assert not w.blind, f"{w.badge} is {w.activity} at {now} s, still in a blind spot"
    assert seen["moving"] > 100
    # every dwell spot is blind here (the spawn spot aside)
    assert seen["dwell_blind"] > 0.8 * seen["dwell"]
