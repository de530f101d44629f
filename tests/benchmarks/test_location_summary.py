"""The location benchmark's table of figures against the issue's goals, and the docs' copy of it."""

from __future__ import annotations

from typing import Any

from benchmarks.location import summary


def _figures(**engine: float | None) -> dict[str, Any]:
    keys = [c.figure for c in summary.COLUMNS]
    base = dict.fromkeys(keys)
    return {"engine": {**base, **engine}, "baseline": dict(base)}


def _result(scenarios: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": "2026-11-30T14:30:44+00:00",
        "settings": {"seed": 42},
        "scenarios": scenarios,
        "engine": {"engine": "compiled"},
        "engine_sightings_per_s": 250_000,
        "cost_vs_json_decode": 3.4,
        "json_loads_per_s": 400_000,
    }


def test_a_goal_marks_its_figure_met_or_not_only_where_it_applies() -> None:
    doorway = _figures(flaps_per_badge_hour=1.25, room_accuracy_ir=0.996, zone_accuracy=0.9)
    doorway["evidence_bound"] = {"room_accuracy_ir": 0.9919}
    medsurg = _figures(zone_accuracy=0.952, flaps_per_badge_hour=0.0)
    medsurg["baseline"]["zone_accuracy"] = 0.89
    rows = summary.rows(_result({"doorway_lingering": doorway, "ble_only_medsurg": medsurg}))
    cells = {row[0]: dict(zip(summary.HEADERS, row, strict=True)) for row in rows}
    door = cells["`doorway_lingering`"]
    assert door["flaps /badge-h"] == "1.25 ✗"
    assert door["room acc. in IR rooms"] == "0.996 ✓ ≤ 0.992"
    assert door["zone acc."] == "0.900"  # no zone goal in the doorway scenario
    assert door["bay acc."] == "–"
    med = cells["`ble_only_medsurg`"]
    assert med["zone acc."] == "0.952 ✓ (0.890)"
    assert med["flaps /badge-h"] == "0.00"


def test_other_seeds_get_rows_and_informational_scenarios_none() -> None:
    icu = _figures(room_accuracy_ir=0.98)
    icu["other_seeds"] = {"7": _figures(room_accuracy_ir=0.984)}
    extra = _figures(room_accuracy_ir=0.987)
    extra["informational"] = "not an issue scenario"
    rows = summary.rows(_result({"icu_bh_ir_rich": icu, "icu_bh_ir_plus_room_beacons": extra}))
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("`icu_bh_ir_rich`", "42", "0.980 ✗"),
        ("`icu_bh_ir_rich`", "7", "0.984 ✗"),
    ]


def test_the_speed_line_marks_each_speed_goal() -> None:
    line = summary.speed_line(_result({}))
    assert "250,000 sightings/s ✓" in line
    assert "3.40 × `json.loads` ✗" in line


def test_the_room_loss_table_marks_time_with_no_code_above_what_the_goal_leaves() -> None:
    icu = _figures(room_accuracy_ir=0.991)
    loss = {
        "evidence_share": 0.006,
        "engine_share": 0.003,
        "no_code_share": 0.0045,
        "approach_code_share": 0.0015,
        "entry_wait_share": 0.001,
        "dropped_share": 0.0015,
        "other_room_share": 0.0005,
    }
    icu["room_loss"] = loss
    icu["other_seeds"] = {"7": _figures(room_accuracy_ir=0.996)}
    icu["other_seeds"]["7"]["room_loss"] = loss | {
        "evidence_share": 0.006,
        "no_code_share": 0.0055,
        "engine_share": 0.0,
    }
    medsurg = _figures(zone_accuracy=0.95)  # no IR rooms: no row
    result = _result({"icu_bh_ir_rich": icu, "ble_only_medsurg": medsurg})
    rows = summary.loss_rows(result)
    cells = [dict(zip(summary.LOSS_HEADERS, row, strict=True)) for row in rows]
    assert [(c["scenario"], c["seed"]) for c in cells] == [
        ("`icu_bh_ir_rich`", "42"),
        ("`icu_bh_ir_rich`", "7"),
    ]
    assert cells[0]["wrong"] == "0.90 %"
    assert cells[0]["evidence"] == "0.60 %"
    assert cells[0]["no code yet"] == "0.45 %"
    assert cells[0]["dropped"] == "0.15 %"
    assert cells[1]["no code yet"] == "0.55 % ✗"  # beyond any engine
    assert cells[1]["wrong"] == "0.60 %"
    text = summary.markdown(result)
    assert cells[0]["waiting bound"] == "0.9940 ✗"  # below the goal: waiting cannot meet it
    assert cells[0]["lone codes entering"] == "–"  # not in this result
    assert "| scenario | seed | wrong | no code yet |" in text
    assert summary.LOSS_LEGEND in text
    assert summary.LOSS_LEGEND not in summary.markdown(_result({"ble_only_medsurg": medsurg}))


def test_the_room_loss_table_ends_with_the_waiting_bound_and_the_lone_codes() -> None:
    icu = _figures(room_accuracy_ir=0.991)
    icu["room_loss"] = {"evidence_share": 0.004, "engine_share": 0.005, "no_code_share": 0.003}
    icu["lone_codes"] = {"entering_per_badge_hour": 21.36, "passing_per_badge_hour": 9.24}
    (row,) = summary.loss_rows(_result({"icu_bh_ir_rich": icu}))
    cells = dict(zip(summary.LOSS_HEADERS, row, strict=True))
    assert cells["waiting bound"] == "0.9960"
    assert cells["lone codes entering"] == "21.4"
    assert cells["lone codes passing"] == "9.2"
