"""Where the wrong seconds in IR rooms went, on hand-made records and location rows; and on a
short simulated shift, where the classes add up to the evaluation's room accuracy."""

from __future__ import annotations

from typing import Any

import pytest

from duress.domain.observations import SightingKind
from duress.sim.evaluate import evaluate, track
from duress.sim.layout import build_hospital
from duress.sim.room_loss import CLASSES, received_sightings, room_loss
from duress.sim.scenario import Received, simulate
from tests.sim.site_fixtures import two_floor_site
from tests.sim.test_evaluate import loc
from tests.sim.test_evidence_bound import code, truth


def shift() -> tuple[list[dict[str, Any]], list[Received], list[dict[str, Any]]]:
    truths = (
        [truth(t, "c1") for t in range(10)]
        + [truth(t, "r1", room="r1") for t in range(10, 30)]
        + [truth(t, "r2", room="r2") for t in range(30, 40)]
    )
    # r1: a code leaked through the door as the wearer came up to it (7), its first code from
    # inside (13.5) and more; r2: none at all
    codes = [code(0, "ble-c1-0", SightingKind.BLE), code(7, "ir-r1"), code(13.5, "ir-r1")]
    codes += [code(t + 0.5, "ir-r1") for t in range(15, 30)]
    rows = [
        loc(0, "c1"),  # the first fix
        loc(15, "r1", "r1", "room"),  # the room shown at last
        loc(20, "c1"),  # dropped while still inside
        loc(23, "r2", "r2", "room"),  # another room
        loc(25, "r1", "r1", "room"),  # and the right one again, kept into r2's stay
    ]
    return truths, codes, rows


def test_each_wrong_second_falls_in_one_class() -> None:
    truths, codes, rows = shift()
    loss = room_loss(two_floor_site(), truths, rows, received_sightings(codes))
    assert loss.ir_room_seconds == 30
    assert loss.wrong == {
        "no_code": 10,  # 30-39: no code of r2 ever came
        "approach_code": 4,  # 10-13: only the code from before the door
        "other_room": 2,  # 23-24
        "entry_wait": 1,  # 14: r1's code at 13.5 in hand, the room not yet shown
        "dropped": 3,  # 20-22
    }
    assert loss.evidence_share == pytest.approx(14 / 30)
    assert loss.engine_share == pytest.approx(6 / 30)
    figures = loss.as_dict()
    assert figures["wrong_seconds"]["dropped"] == 3
    assert figures["entry_wait_share"] == pytest.approx(round(1 / 30, 5))
    assert set(figures) >= {f"{name}_share" for name in CLASSES}


def test_the_shares_add_up_to_the_evaluations_room_accuracy() -> None:
    truths, codes, rows = shift()
    loss = room_loss(two_floor_site(), truths, rows, received_sightings(codes))
    report = evaluate(truths, rows, two_floor_site())
    wrong = loss.evidence_share + loss.engine_share  # type: ignore[operator]
    assert report["room_accuracy_ir"] == pytest.approx(1 - wrong, abs=1e-4)


def test_seconds_before_the_first_fix_and_rooms_with_a_dead_monitor_are_left_out() -> None:
    truths, codes, rows = shift()
    late = [loc(12, "c1"), *rows[1:]]  # the first fix comes two seconds into r1
    loss = room_loss(two_floor_site(), truths, late, received_sightings(codes))
    assert loss.ir_room_seconds == 28
    assert loss.wrong["approach_code"] == 2  # 12, 13
    dead = room_loss(two_floor_site(), truths, rows, received_sightings(codes), offline={"ir-r2"})
    assert dead.ir_room_seconds == 20  # r2 is no IR room while its monitor sends nothing
    assert dead.wrong["no_code"] == 0


def test_a_badge_never_fixed_and_a_shift_without_ir_rooms() -> None:
    truths, codes, _ = shift()
    unknown = [loc(0, "c1", precision="unknown")]
    never = room_loss(two_floor_site(), truths, unknown, received_sightings(codes))
    assert never.ir_room_seconds == 0
    assert never.evidence_share is None
    assert never.engine_share is None
    assert never.share("dropped") is None
    assert never.as_dict()["engine_share"] is None


def test_on_a_simulated_shift_the_classes_account_for_every_wrong_second() -> None:
    site = build_hospital(floors=1, rooms_per_side=4, badges=6, ble_only_every=0, bays_every=1)
    records = list(simulate(site, minutes=6, seed=3))
    truths = [r for r in records if not isinstance(r, Received)]
    rows = list(track(site, records))
    report = evaluate(truths, rows, site)
    loss = room_loss(site, truths, rows, received_sightings(records))
    assert loss.ir_room_seconds > 1000
    assert loss.wrong["no_code"] > 0  # every entry waits for the room's first code
    wrong = loss.evidence_share + loss.engine_share  # type: ignore[operator]
    assert report["room_accuracy_ir"] == pytest.approx(1 - wrong, abs=1e-3)
