"""Lone codes, on hand-made truth and codes; and on a short simulated shift with open doors."""

from __future__ import annotations

import pytest

from duress.domain.observations import SightingKind
from duress.sim.layout import build_hospital
from duress.sim.lone_codes import KINDS, lone_codes
from duress.sim.room_loss import received_sightings
from duress.sim.scenario import Received, simulate
from tests.sim.site_fixtures import two_floor_site
from tests.sim.test_evidence_bound import code, truth


def shift() -> list[dict[str, object]]:
    """Corridor 0-9, r1 10-29, corridor 30-99, r2 100-119, corridor 120-199 (200 s)."""
    return (
        [truth(t, "c1") for t in range(10)]
        + [truth(t, "r1", room="r1") for t in range(10, 30)]
        + [truth(t, "c1") for t in range(30, 100)]
        + [truth(t, "r2", room="r2") for t in range(100, 120)]
        + [truth(t, "c1") for t in range(120, 200)]
    )


def test_each_lone_code_is_classed_by_where_the_wearer_was() -> None:
    codes = [
        code(8.5, "ir-r1"),  # r1 entered at 10: walking in
        code(9.5, "ir-r1"),  # 1 s after the last: not lone
        code(15.0, "ir-r1"),  # 5.5 s after: not lone
        code(26.0, "ir-r1"),  # 11 s of silence, the wearer inside: a first code after a quiet spell
        code(45.0, "ir-r1"),  # left r1 at 30: a leak to someone who left it
        code(60.0, "ir-r2"),  # 40 s before r2: passing its door
        code(95.0, "ir-r2"),  # 5 s before r2: later than walking in
        code(97.5, "ir-r2"),  # 2.5 s after the last: not lone, though the wearer walks in
        code(150.0, "ir-r1"),  # r1 two minutes ago: passing
        code(0.5, "ble-c1-0", SightingKind.BLE),  # BLE: never a code
    ]
    lone = lone_codes(two_floor_site(), shift(), received_sightings(codes))
    assert lone.counts == {"inside": 1, "entering": 1, "lingering": 1, "passing": 3}
    assert lone.badge_hours == pytest.approx(200 / 3600)
    assert lone.per_badge_hour("passing") == pytest.approx(3 / (200 / 3600))
    assert lone.passing_per_entering == 3.0
    figures = lone.as_dict()
    assert figures["counts"]["lingering"] == 1
    assert set(figures) >= {f"{kind}_per_badge_hour" for kind in KINDS}


def test_the_windows_are_settings() -> None:
    codes = [code(95.0, "ir-r2"), code(45.0, "ir-r1")]
    site = two_floor_site()
    wide = lone_codes(site, shift(), received_sightings(codes), enter_s=6.0, left_s=10.0)
    # r2's code 5 s before the entry is walking in with 6 s; r1 left 15 s before: passing
    assert wide.counts == {"inside": 0, "entering": 1, "lingering": 0, "passing": 1}


def test_offline_devices_and_codes_before_the_shift_are_left_out() -> None:
    codes = [code(60.0, "ir-r2"), code(-5.0, "ir-r1")]
    site = two_floor_site()
    assert sum(lone_codes(site, shift(), received_sightings(codes)).counts.values()) == 1
    dead = lone_codes(site, shift(), received_sightings(codes), offline={"ir-r2"})
    assert sum(dead.counts.values()) == 0
    empty = lone_codes(site, [], received_sightings(codes))
    assert empty.per_badge_hour("passing") is None
    assert empty.passing_per_entering is None


def test_a_simulated_shift_has_lone_codes_to_walkers_in_insiders_and_passers_by() -> None:
    site = build_hospital(floors=1, rooms_per_side=4, badges=6, ble_only_every=0)
    records = list(simulate(site, minutes=20, seed=3))
    truth_rows = [r for r in records if not isinstance(r, Received)]
    lone = lone_codes(site, truth_rows, received_sightings(records))
    assert lone.counts["entering"] > 0
    assert lone.counts["inside"] > 0
    assert lone.counts["passing"] > 0  # open doors leak to passers-by
    assert lone.badge_hours == pytest.approx(len(truth_rows) / 3600)
