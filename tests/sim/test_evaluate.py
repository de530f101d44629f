"""Evaluation metrics on hand-made rows, and a short end-to-end run: simulate, locate, evaluate."""

from __future__ import annotations

from typing import Any

import pytest

from duress.domain.location import LocationEngine
from duress.sim.evaluate import evaluate, rows_by_badge, track
from duress.sim.layout import build_hospital
from duress.sim.scenario import simulate
from tests.sim.site_fixtures import at, two_floor_site


def truth(t: float, zone: str, room: str | None = None, bay: str | None = None) -> dict[str, Any]:
    return {
        "ts": at(t),
        "badge": "b1",
        "floor": "f1",
        "unit": "u1",
        "room": room,
        "bay": bay,
        "zone": zone,
    }


def loc(
    t: float, zone: str | None, room: str | None = None, precision: str = "zone"
) -> dict[str, Any]:
    return {
        "ts": at(t),
        "badge": "b1",
        "floor": "f1" if zone else None,
        "unit": "u1",
        "room": room,
        "bay": None,
        "zone": zone,
        "precision": precision,
        "confidence": 0.9,
        "required": "room",
        "meets": precision in ("room", "bed"),
    }


def test_metrics_on_hand_made_rows() -> None:
    site = two_floor_site()
    truths = [truth(t, "c1") for t in range(10)] + [
        truth(t, "r1", room="r1") for t in range(10, 20)
    ]
    locs = [loc(1, "c1"), loc(13, "r1", room="r1", precision="room")]
    report = evaluate(truths, locs, site)
    assert report["badges"] == 1
    # t=0, before the first fix, is scored by the time to first fix, not by the shares
    assert report["before_first_fix_s"] == pytest.approx(1.0)
    assert report["unknown_share"] == pytest.approx(0.0)
    assert report["zone_accuracy"] == pytest.approx(16 / 19, abs=1e-4)
    assert report["room_accuracy"] == pytest.approx(7 / 10)
    assert report["room_accuracy_ir"] == pytest.approx(7 / 10)
    assert report["transition_delay_s"]["p50"] == pytest.approx(3.0)
    assert report["time_to_first_fix_s"]["max"] == pytest.approx(1.0)
    # in a corridor the finest place there is, the zone, counts as meeting a room requirement
    assert report["required_met"] == pytest.approx(16 / 19, abs=1e-4)
    assert report["required_claimed"] == pytest.approx(
        7 / 19, abs=1e-4
    )  # the engine claims only rooms
    assert report["by_area_kind"]["room"]["room_accuracy"] == pytest.approx(0.7)
    assert report["flaps"] == 0
    # per area: where the required precision is met, and how long people were there
    assert report["by_area"] == {
        "c1": {
            "kind": "corridor",
            "required": "room",
            "seconds": 9.0,
            "zone_accuracy": 1.0,
            "required_met": 1.0,
        },
        "r1": {
            "kind": "room",
            "required": "room",
            "seconds": 10.0,
            "zone_accuracy": 0.7,
            "required_met": 0.7,
        },
    }


def test_bays_count_in_their_room_per_area() -> None:
    site = two_floor_site()
    truths = [truth(t, "r3", room="r3", bay="r3-b1") for t in range(10)]
    report = evaluate(truths, [loc(0, "r3", room="r3", precision="room")], site)
    assert set(report["by_area"]) == {"r3"}
    r3 = report["by_area"]["r3"]
    assert r3["zone_accuracy"] == pytest.approx(1.0)
    assert r3["required"] == "room"  # unit u1 (med-surg) asks for the room, also in a bay
    assert r3["required_met"] == pytest.approx(1.0)


def test_a_room_whose_ir_is_offline_is_scored_apart_from_the_ir_rooms() -> None:
    site = two_floor_site()
    truths = [truth(t, "c1") for t in range(10)] + [
        truth(t, "r1", room="r1") for t in range(10, 20)
    ]
    locs = [loc(0, "c1"), loc(14, "r1")]  # BLE found the room, 4 s late, as a zone
    working = evaluate(truths, locs, site)
    assert working["room_accuracy_ir"] == pytest.approx(0.0)
    assert working["transition_delay_ir_s"]["p95"] == pytest.approx(4.0)
    assert working["zone_accuracy_ir_offline"] is None
    dead = evaluate(truths, locs, site, offline={"ir-r1"})
    assert dead["room_accuracy_ir"] is None  # no IR room was visited
    assert dead["transition_delay_ir_s"]["n"] == 0
    assert dead["zone_accuracy_ir_offline"] == pytest.approx(6 / 10)
    assert dead["transition_delay_ir_offline_s"]["p95"] == pytest.approx(4.0)
    # a bay emitter that still works keeps its room an IR room
    bays = evaluate(
        [truth(t, "r3", room="r3") for t in range(5)], [loc(0, "r3")], site, offline={"ir-r3"}
    )
    assert bays["room_accuracy_ir"] == pytest.approx(0.0)
    assert bays["zone_accuracy_ir_offline"] is None


def test_a_flap_is_counted_when_truth_never_went_there() -> None:
    site = two_floor_site()
    truths = [truth(t, "c1") for t in range(60)]
    locs = [loc(0, "c1"), loc(10, "c2"), loc(15, "c1")]
    report = evaluate(truths, locs, site)
    assert report["flaps"] == 1
    assert report["flaps_per_badge_hour"] == pytest.approx(60.0)


def test_a_bay_flap_is_counted_when_truth_never_went_to_that_bay() -> None:
    site = two_floor_site()
    truths = [truth(t, "r3", room="r3", bay="r3-b1") for t in range(60)]
    locs = [
        {**loc(0, "r3", room="r3", precision="bed"), "bay": "r3-b1"},
        {**loc(10, "r3", room="r3", precision="bed"), "bay": "r3-b2"},
        {**loc(14, "r3", room="r3", precision="bed"), "bay": "r3-b1"},
        {**loc(30, "r3", room="r3", precision="room"), "bay": None},  # bay dropped: no flap
        {**loc(40, "r3", room="r3", precision="bed"), "bay": "r3-b1"},
    ]
    report = evaluate(truths, locs, site)
    assert report["flaps"] == 0  # the zone (the room) never changed
    assert report["bay_flaps"] == 1
    assert report["bay_flaps_per_badge_hour"] == pytest.approx(60.0)


def test_a_badge_never_fixed_counts_as_unknown_throughout() -> None:
    site = two_floor_site()
    report = evaluate([truth(t, "c1") for t in range(10)], [], site)
    assert report["never_fixed"] == 1
    assert report["before_first_fix_s"] == 0.0
    assert report["unknown_share"] == pytest.approx(1.0)


def test_a_wrong_room_is_counted_but_a_corridor_is_not() -> None:
    site = two_floor_site()
    truths = [truth(t, "r1", room="r1") for t in range(10)]
    locs = [loc(0, "r2", room="r2", precision="room"), loc(4, "c1"), loc(6, "r1", room="r1")]
    report = evaluate(truths, locs, site)
    assert report["wrong_room_share"] == pytest.approx(0.4)
    assert report["zone_accuracy"] == pytest.approx(0.4)


def test_missed_transition_is_counted() -> None:
    site = two_floor_site()
    truths = [truth(0, "c1"), truth(1, "r2", room="r2"), truth(2, "c1")]
    report = evaluate(truths, [loc(0, "c1")], site)
    assert report["transitions_missed"] == 1


def test_end_to_end_small_site() -> None:
    site = build_hospital(floors=2, rooms_per_side=6, badges=10)
    records = list(simulate(site, 6, seed=7))
    engine = LocationEngine(site)
    rows = list(track(site, records, engine=engine))
    report = evaluate([r for r in records if isinstance(r, dict)], rows, site)
    assert report["room_accuracy_ir"] >= 0.85
    assert report["bay_accuracy"] is None or report["bay_accuracy"] >= 0.75
    assert report["zone_accuracy"] >= 0.7
    assert report["floor_accuracy"] >= 0.95
    assert report["time_to_first_fix_s"]["p95"] <= 5.0
    assert report["never_fixed"] == 0
    assert report["flaps_per_badge_hour"] <= 5.0
    assert report["transition_delay_s"]["p50"] <= 10.0
    assert engine.rejections["duplicate"] > 0  # the gateways' redeliveries were caught


def test_rows_are_grouped_by_badge_in_their_order() -> None:
    rows = [{"badge": "b2", "n": 1}, {"badge": "b1", "n": 2}, {"badge": "b2", "n": 3}]
    grouped = rows_by_badge(rows)
    assert {badge: [r["n"] for r in group] for badge, group in grouped.items()} == {
        "b2": [1, 3],
        "b1": [2],
    }
    assert rows_by_badge([]) == {}
