"""The seeds study of the two entry rules: its aggregation, its table, and the docs' copy of it."""

from __future__ import annotations

from typing import Any

import pytest
from benchmarks.location_seeds import bench_entry_rule as study


def _figures(room: float, flaps: float, p95: float) -> dict[str, float | None]:
    return {
        "room_accuracy_ir": room,
        "zone_accuracy": 0.93,
        "wrong_room_share": 0.004,
        "flaps_per_badge_hour": flaps,
        "transition_ir_p95_s": p95,
    }


def _per_seed() -> dict[str, Any]:
    return {
        "doorway_lingering": {
            "42": {"one_code": _figures(0.990, 1.0, 2.0), "two_codes": _figures(0.981, 0.5, 3.3)},
            "7": {"one_code": _figures(0.992, 0.5, 2.5), "two_codes": _figures(0.983, 0.25, 2.9)},
        },
        "icu_bh_ir_rich": {
            "42": {"one_code": _figures(0.996, 2.0, 1.5), "two_codes": _figures(0.98, 1.0, 2.0)},
        },
    }


def _result() -> dict[str, Any]:
    return {
        "at": "2026-11-30T17:10:00+00:00",
        "settings": {"seeds": [42, 7]},
        "summary": study.aggregate(_per_seed()),
    }


def test_the_summary_has_means_extremes_and_the_seeds_each_goal_was_met_on() -> None:
    summary = study.aggregate(_per_seed())
    door = summary["doorway_lingering"]
    assert door["seeds"] == 2
    flaps = door["rules"]["one_code"]["flaps_per_badge_hour"]
    assert flaps == {"mean": 0.75, "min": 0.5, "max": 1.0, "seeds_met": 1}
    two = door["rules"]["two_codes"]
    assert two["flaps_per_badge_hour"]["seeds_met"] == 2
    assert two["transition_ir_p95_s"] == {"mean": 3.1, "min": 2.9, "max": 3.3, "seeds_met": 1}
    assert two["room_accuracy_ir"]["seeds_met"] == 0
    assert "seeds_met" not in two["zone_accuracy"]  # no goal for it
    icu = summary["icu_bh_ir_rich"]["rules"]["one_code"]
    assert icu["room_accuracy_ir"]["seeds_met"] == 1
    assert "seeds_met" not in icu["flaps_per_badge_hour"]  # the flap goal is the doorway's


def test_a_figure_missing_on_a_seed_is_left_out_of_its_mean() -> None:
    per_seed = _per_seed()
    per_seed["doorway_lingering"]["7"]["one_code"]["transition_ir_p95_s"] = None
    p95 = study.aggregate(per_seed)["doorway_lingering"]["rules"]["one_code"]["transition_ir_p95_s"]
    assert (p95["mean"], p95["seeds_met"]) == (2.0, 1)


def test_each_cell_shows_both_rules_the_worst_p95_and_the_seeds_met() -> None:
    cells = {row[0]: dict(zip(study.HEADERS, row, strict=True)) for row in study.rows(_result())}
    door = cells["`doorway_lingering`"]
    assert door["room acc. in IR rooms"] == "0.9910 (0) → 0.9820 (0)"
    assert door["flaps /badge-h"] == "0.75 (1) → 0.38 (2)"
    assert door["IR p95 (s), worst seed"] == "2.50 (2) → 3.30 (1)"
    assert door["wrong room"] == "0.40 % → 0.40 %"
    assert cells["`icu_bh_ir_rich`"]["flaps /badge-h"] == "2.00 → 1.00"
    text = study.markdown(_result())
    assert text.endswith("Seeds 42, 7; run 2026-11-30T17:10:00+00:00.")


@pytest.mark.slow
def test_one_scenario_and_seed_gives_both_rules_figures() -> None:
    name, seed, figures = study._one(("ed_open_bays", 3))
    assert (name, seed) == ("ed_open_bays", 3)
    assert set(figures) == set(study.VARIANTS)
    for rule in figures.values():
        assert set(rule) == set(study.FIGURES)
        assert 0.9 < rule["room_accuracy_ir"] <= 1.0  # type: ignore[operator]
