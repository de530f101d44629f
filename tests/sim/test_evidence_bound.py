"""The evidence bound on hand-made records: seconds in an IR room (or bay) before any code of it
arrived during the stay; and on a short simulated shift, where the engine stays under it."""

from __future__ import annotations

from typing import Any

import pytest

from duress.domain.observations import Sighting, SightingKind
from duress.sim.evaluate import evaluate, track
from duress.sim.evidence_bound import evidence_bound
from duress.sim.layout import build_hospital
from duress.sim.scenario import Received, Record, simulate
from tests.sim.site_fixtures import at, two_floor_site


def truth(t: float, zone: str, room: str | None = None, bay: str | None = None) -> dict[str, Any]:
    return {"ts": at(t), "badge": "b1", "floor": "f1", "unit": "u1"} | {
        "room": room,
        "bay": bay,
        "zone": zone,
        "activity": "walk",
    }


def code(t: float, device: str, kind: SightingKind = SightingKind.IR) -> Received:
    rssi = -70.0 if kind is SightingKind.BLE else None
    return Received(at(t), Sighting(at(t), "b1", device, kind, rssi))


def in_order(codes: list[Received], truths: list[dict[str, Any]]) -> list[Record]:
    """Reports received by a second come before that second's truth row, as the simulator
    yields them."""
    keyed: list[tuple[Any, int, Record]] = [(c.at, 0, c) for c in codes]
    keyed += [(r["ts"], 1, r) for r in truths]  # type: ignore[misc]
    return [record for _, _, record in sorted(keyed, key=lambda k: (k[0], k[1]))]


def test_room_seconds_before_the_rooms_first_code_are_unknown() -> None:
    truths = [truth(t, "c1") for t in range(10)] + [
        truth(t, "r1", room="r1") for t in range(10, 30)
    ]
    # a corridor beacon first (the badge's first report), then r1's first code at 13.5
    codes = [code(0, "ble-c1-0", SightingKind.BLE), code(13.5, "ir-r1"), code(20, "ir-r1")]
    bound = evidence_bound(two_floor_site(), in_order(codes, truths))
    assert bound.ir_room_seconds == 20
    assert bound.ir_room_unknown_seconds == 4  # 10, 11, 12, 13
    assert bound.room_accuracy_ir == pytest.approx(16 / 20)


def test_a_room_whose_monitor_is_offline_is_no_ir_room() -> None:
    truths = [truth(t, "c1") for t in range(10)] + [
        truth(t, "r1", room="r1") for t in range(10, 30)
    ]
    codes = [code(0, "ble-c1-0", SightingKind.BLE)]  # r1's monitor sends nothing
    records = in_order(codes, truths)
    assert evidence_bound(two_floor_site(), records).ir_room_unknown_seconds == 20
    dead = evidence_bound(two_floor_site(), records, offline={"ir-r1"})
    assert dead.ir_room_seconds == 0
    assert dead.transition_ir_p95_s is None


def test_a_code_within_the_lead_before_the_stay_counts() -> None:
    # truth switches at the second (the wall was crossed during the second before it), and a
    # code leaked through the open door as the wearer came up to it is evidence too
    truths = [truth(t, "c1") for t in range(10)] + [
        truth(t, "r1", room="r1") for t in range(10, 20)
    ]
    codes = [code(0, "ble-c1-0", SightingKind.BLE), code(6, "ir-r1")]
    assert evidence_bound(two_floor_site(), in_order(codes, truths)).ir_room_unknown_seconds == 0
    # a code from longer ago than the lead is not evidence of this stay
    codes = [code(0, "ble-c1-0", SightingKind.BLE), code(3, "ir-r1")]
    assert evidence_bound(two_floor_site(), in_order(codes, truths)).ir_room_unknown_seconds == 10
    bound = evidence_bound(two_floor_site(), in_order(codes, truths), lead_s=8.0)
    assert bound.ir_room_unknown_seconds == 0


def test_another_room_ends_a_stay_a_corridor_does_not() -> None:
    truths = (
        [truth(t, "r1", room="r1") for t in range(10)]
        + [truth(t, "c1") for t in range(10, 20)]
        + [truth(t, "r1", room="r1") for t in range(20, 30)]  # back from the corridor
        + [truth(t, "r2", room="r2") for t in range(30, 40)]
        + [truth(t, "r1", room="r1") for t in range(40, 50)]  # back from another room
    )
    codes = [code(0, "ir-r1"), code(5, "ir-r1"), code(31, "ir-r2")]
    bound = evidence_bound(two_floor_site(), in_order(codes, truths))
    assert bound.ir_room_seconds == 40
    # an engine that kept r1 through the corridor is right without a new code; after r2 it
    # needs one: the last 10 s, and r2's first second
    assert bound.ir_room_unknown_seconds == 11


def test_a_bay_emitter_names_its_bay_and_its_room() -> None:
    truths = [truth(t, "c1") for t in range(5)] + [
        truth(t, "r3", room="r3", bay="r3-b2") for t in range(5, 15)
    ]
    # the room's monitor at 6, the other bay's emitter (a reflection) at 7, the bay's own at 11
    codes = [
        code(0, "ble-c1-0", SightingKind.BLE),
        code(6, "ir-r3"),
        code(7, "em-r3-b1"),
        code(11, "em-r3-b2"),
    ]
    bound = evidence_bound(two_floor_site(), in_order(codes, truths))
    assert (bound.ir_room_seconds, bound.ir_room_unknown_seconds) == (10, 1)  # second 5
    assert (bound.bay_seconds, bound.bay_unknown_seconds) == (10, 6)  # seconds 5 to 10
    assert bound.as_dict()["bay_accuracy"] == pytest.approx(0.4)


def test_seconds_before_the_badges_first_report_and_rooms_without_ir_are_left_out() -> None:
    truths = [truth(t, "r4", room="r4") for t in range(10)] + [
        truth(t, "r1", room="r1") for t in range(10, 20)
    ]
    codes = [code(15, "ir-r1")]  # the badge's first report; r4 has no IR
    bound = evidence_bound(two_floor_site(), in_order(codes, truths))
    assert (bound.ir_room_seconds, bound.ir_room_unknown_seconds) == (5, 0)
    assert bound.bay_accuracy is None
    assert evidence_bound(two_floor_site(), []).room_accuracy_ir is None


def test_the_engine_stays_under_the_bound_on_a_simulated_shift() -> None:
    site = build_hospital(floors=1, rooms_per_side=4, badges=6, ble_only_every=0, bays_every=1)
    records = list(simulate(site, minutes=6, seed=3))
    truths = [r for r in records if not isinstance(r, Received)]
    report = evaluate(truths, list(track(site, records)), site)
    bound = evidence_bound(site, records)
    assert bound.ir_room_seconds > 1000
    assert bound.bay_seconds > 300
    assert 0.9 < bound.room_accuracy_ir < 1.0  # type: ignore[operator]
    assert report["room_accuracy_ir"] <= bound.room_accuracy_ir + 0.005  # type: ignore[operator]
    assert report["bay_accuracy"] <= bound.bay_accuracy + 0.005  # type: ignore[operator]


def test_an_ir_entry_waits_for_the_rooms_first_code() -> None:
    truths = [truth(t, "c1") for t in range(10)] + [
        truth(t, "r1", room="r1") for t in range(10, 30)
    ]
    codes = [code(0, "ble-c1-0", SightingKind.BLE), code(13.5, "ir-r1"), code(20, "ir-r1")]
    bound = evidence_bound(two_floor_site(), in_order(codes, truths))
    assert bound.ir_entry_delays == (3.5,)
    assert bound.transition_ir_p95_s == 3.5
    assert bound.as_dict()["ir_entries"] == 1


def test_a_code_in_the_second_before_the_entry_makes_it_immediate() -> None:
    truths = [truth(t, "c1") for t in range(10)] + [
        truth(t, "r1", room="r1") for t in range(10, 20)
    ]
    just_before = [code(0, "ble-c1-0", SightingKind.BLE), code(9.5, "ir-r1")]
    assert evidence_bound(two_floor_site(), in_order(just_before, truths)).ir_entry_delays == (0.0,)
    # a leak 3 s before the entry is not this entry's evidence: the next code is
    leaked = [code(0, "ble-c1-0", SightingKind.BLE), code(7, "ir-r1"), code(12, "ir-r1")]
    assert evidence_bound(two_floor_site(), in_order(leaked, truths)).ir_entry_delays == (2.0,)
    # unless the lead is widened to it
    wide = evidence_bound(two_floor_site(), in_order(leaked, truths), entry_lead_s=5.0)
    assert wide.ir_entry_delays == (0.0,)


def test_an_entry_left_before_any_code_is_unseen_and_a_first_zone_is_no_entry() -> None:
    truths = (
        [truth(t, "r1", room="r1") for t in range(5)]  # the badge's first zone: no entry
        + [truth(t, "c1") for t in range(5, 10)]
        + [truth(t, "r2", room="r2") for t in range(10, 13)]  # no code of r2 during the stay
        + [truth(t, "c1") for t in range(13, 20)]
    )
    codes = [code(0, "ir-r1"), code(14, "ir-r2")]  # r2's code comes after the badge left
    bound = evidence_bound(two_floor_site(), in_order(codes, truths))
    assert bound.ir_entry_delays == ()
    assert bound.ir_entries_unseen == 1
    assert bound.transition_ir_p95_s is None
