"""The location benchmark's figures as one table, beside the issue's goals.

Per named scenario and seed: the engine's figure, the naive baseline's in brackets, and for room
and bay accuracy the evidence bound (what the IR codes allow at all); a goal that applies to a
figure marks it met (✓) or not (✗). Below it, throughput and the offline path's cost, and a
second table of where the wrong seconds in IR rooms went (:mod:`duress.sim.room_loss`: the
evidence's share beside the engine's, against what the room accuracy goal leaves). The same
table is printed by ``make bench`` and kept in docs/benchmarks.md ("Latest figures"), where a test
checks that it matches ``benchmarks/results/location.json``.

``python -m benchmarks.location.summary`` prints the Markdown; ``--write`` puts it into
docs/benchmarks.md between its markers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.table import Table

from benchmarks import doc_block, tables

IR_SCENARIOS = ("icu_bh_ir_rich", "ed_open_bays", "doorway_lingering", "degraded_monitor_offline")
BLE_ONLY = ("ble_only_medsurg", "wall_crossing_walk")


@dataclass(frozen=True)
class Goal:
    """The issue's goal for a figure: ``at_least`` or at most ``target``, in ``scenarios``."""

    target: float
    at_least: bool
    scenarios: tuple[str, ...]

    def met(self, value: float) -> bool:
        return value >= self.target if self.at_least else value <= self.target


@dataclass(frozen=True)
class Column:
    title: str
    figure: str
    digits: int
    goal: Goal | None = None
    bound: str | None = None
    """The evidence bound's figure shown beside it (scenarios with IR)."""
    percent: bool = False


COLUMNS = (
    Column(
        "room acc. in IR rooms",
        "room_accuracy_ir",
        3,
        Goal(0.995, True, IR_SCENARIOS),
        bound="room_accuracy_ir",
    ),
    Column("bay acc.", "bay_accuracy", 3, Goal(0.97, True, IR_SCENARIOS), bound="bay_accuracy"),
    Column("zone acc.", "zone_accuracy", 3, Goal(0.95, True, ("ble_only_medsurg",))),
    Column(
        "wrong room",
        "wrong_room_share",
        2,
        Goal(0.05, False, ("wall_crossing_walk",)),
        percent=True,
    ),
    Column("IR p95 (s)", "transition_ir_p95_s", 2, Goal(3.0, False, IR_SCENARIOS)),
    Column("BLE p95 (s)", "transition_ble_p95_s", 2, Goal(6.0, False, BLE_ONLY)),
    Column(
        "flaps /badge-h",
        "flaps_per_badge_hour",
        2,
        Goal(0.5, False, ("doorway_lingering",)),
    ),
)
THROUGHPUT_GOAL = 200_000
COST_GOAL = 3.0


def _number(value: float, column: Column) -> str:
    if column.percent:
        return f"{100 * value:.{column.digits}f} %"
    return f"{value:.{column.digits}f}"


def _cell(scenario: str, figures: Mapping[str, Any], column: Column) -> str:
    value = figures["engine"].get(column.figure)
    if value is None:
        return "–"
    text = _number(value, column)
    goal = column.goal
    if goal is not None and scenario in goal.scenarios:
        text += " ✓" if goal.met(value) else " ✗"
    baseline = figures["baseline"].get(column.figure)
    if baseline is not None:
        text += f" ({_number(baseline, column)})"
    bound = figures.get("evidence_bound", {}).get(column.bound) if column.bound else None
    if bound is not None:
        text += f" ≤ {bound:.3f}"
    return text


def _runs(result: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(scenario, seed, figures) of every named scenario's run, the main seed's first
    (informational scenarios left out)."""
    seed = str(result["settings"]["seed"])
    for name, figures in result["scenarios"].items():
        if "informational" in figures:
            continue
        yield name, seed, figures
        for other, run in figures.get("other_seeds", {}).items():
            yield name, other, run


def rows(result: Mapping[str, Any]) -> list[list[str]]:
    """One row per named scenario and seed (informational scenarios left out)."""
    return [
        [f"`{name}`", seed, *(_cell(name, run, c) for c in COLUMNS)]
        for name, seed, run in _runs(result)
    ]


def speed_line(result: Mapping[str, Any]) -> str:
    rate = result["engine_sightings_per_s"]
    cost = result["cost_vs_json_decode"]
    rate_mark = "✓" if rate >= THROUGHPUT_GOAL else "✗"
    cost_mark = "✓" if cost <= COST_GOAL else "✗"
    return (
        f"Throughput {rate:,} sightings/s {rate_mark} (goal {THROUGHPUT_GOAL:,}; "
        f"{result['engine']['engine']} engine); the whole `duress locate` path "
        f"{cost:.2f} × `json.loads` {cost_mark} (goal {COST_GOAL:g} ×); "
        f"`json.loads` {result['json_loads_per_s']:,} lines/s on this machine. "
        f"Run {result['at']}."
    )


HEADERS = ("scenario", "seed", *(c.title for c in COLUMNS))

ROOM_GOAL_LOSS = 1.0 - 0.995
"""The share of IR-room time the room accuracy goal leaves to be wrong."""
LOSS_COLUMNS = (
    ("wrong", None),
    ("no code yet", "no_code_share"),
    ("approach code only", "approach_code_share"),
    ("evidence", "evidence_share"),
    ("entry wait", "entry_wait_share"),
    ("dropped", "dropped_share"),
    ("other room", "other_room_share"),
    ("engine", "engine_share"),
)
LONE_COLUMNS = (
    ("waiting bound", None),
    ("lone codes entering", "entering_per_badge_hour"),
    ("lone codes passing", "passing_per_badge_hour"),
)
"""After the room loss: the accuracy an engine that waits for a code from inside the room could
reach at most (one minus the evidence's share), and the lone codes (:mod:`duress.sim.lone_codes`)
per badge-hour to someone walking in and to a passer-by."""
LOSS_HEADERS = (
    "scenario",
    "seed",
    *(title for title, _ in LOSS_COLUMNS),
    *(title for title, _ in LONE_COLUMNS),
)
LOSS_LEGEND = (
    "Where the wrong seconds in IR rooms went (`duress.sim.room_loss`; shares of the time in IR "
    f"rooms; the goal leaves {100 * ROOM_GOAL_LOSS:.2f} %). *Evidence*: no code of the room had "
    "arrived since the wearer came in, or only codes leaked as they came up to the door; "
    "*engine*: a code of the room was in hand and the room was not shown (not yet, no longer, "
    "or another room instead). Acting on the codes leaked on the way in would mean acting on every "
    "door leak to a passer-by: with two codes per entry those seconds are the engine's choice. ✗ "
    "marks time with no code yet alone above what the goal leaves (no engine could meet it). "
    "*Waiting bound*: one minus the evidence, the most an engine that waits for a code from "
    "inside the room could reach (✗ below the goal). *Lone codes* (`duress.sim.lone_codes`): per "
    "badge-hour, first codes of a room after 10 s without one that came to someone outside it, "
    "who walked in within 3 s (*entering*: what one code per entry buys, about a second each) or "
    "had not been in it for a minute (*passing*: the room shown to someone outside it)."
)


def _loss_cells(loss: Mapping[str, Any]) -> list[str]:
    cells: list[str] = []
    for _, key in LOSS_COLUMNS:
        if key is None:
            value = (loss.get("evidence_share") or 0.0) + (loss.get("engine_share") or 0.0)
        else:
            value = loss.get(key)
        if value is None:
            cells.append("–")
            continue
        text = f"{100 * value:.2f} %"
        if key == "no_code_share" and value > ROOM_GOAL_LOSS:
            text += " ✗"
        cells.append(text)
    return cells


def _lone_cells(run: Mapping[str, Any]) -> list[str]:
    evidence = run["room_loss"].get("evidence_share")
    if evidence is None:
        cells = ["–"]
    else:
        bound = 1.0 - evidence
        cells = [f"{bound:.4f}" + (" ✗" if bound < 1.0 - ROOM_GOAL_LOSS else "")]
    lone = run.get("lone_codes", {})
    for _, key in LONE_COLUMNS[1:]:
        value = lone.get(key)
        cells.append("–" if value is None else f"{value:.1f}")
    return cells


def loss_rows(result: Mapping[str, Any]) -> list[list[str]]:
    """One row per named scenario and seed with IR rooms: the room loss's classes, the waiting
    bound and the lone codes."""
    return [
        [f"`{name}`", seed, *_loss_cells(run["room_loss"]), *_lone_cells(run)]
        for name, seed, run in _runs(result)
        if "room_loss" in run
    ]


LEGEND = (
    "Engine figure, ✓/✗ where the issue sets a goal for it, the naive baseline in brackets, and "
    "after ≤ the evidence bound (room and bay accuracy with IR)."
)


def markdown(result: Mapping[str, Any]) -> str:
    lines = [*tables.markdown_table(HEADERS, rows(result)), "", LEGEND, speed_line(result)]
    losses = loss_rows(result)
    if losses:
        lines += ["", *tables.markdown_table(LOSS_HEADERS, losses), "", LOSS_LEGEND]
    return "\n".join(lines)


def table(result: Mapping[str, Any]) -> Table:
    """The same figures for the console (``make bench``): one part of a cell a line (engine and
    mark, baseline, bound), for narrow columns."""
    return tables.console_table(
        "location: engine (baseline) ≤ evidence bound; ✓/✗ the issue's goals",
        HEADERS,
        rows(result),
        speed_line(result),
        cell=lambda text: text.replace(" (", "\n(").replace(" ≤", "\n≤"),
    )


def loss_table(result: Mapping[str, Any]) -> Table:
    """The room loss's classes for the console (``make bench``); the unit is in the title."""
    return tables.console_table(
        "location: where the wrong seconds in IR rooms went (% of IR-room time)",
        LOSS_HEADERS,
        loss_rows(result),
        LOSS_LEGEND,
        cell=lambda text: text.replace(" %", ""),
        headers_word_a_line=True,
        min_width=4,
    )


def summary(result: Mapping[str, Any]) -> Group:
    """What ``python -m benchmarks`` prints after the location benchmark's raw figures."""
    return Group(table(result), loss_table(result))


GENERATED = doc_block.GeneratedBlock(
    name="location-figures",
    command="python -m benchmarks.location.summary",
    benchmark="location",
    render=markdown,
    what="the location figures",
)
"""The block of docs/benchmarks.md this module keeps."""

if __name__ == "__main__":
    raise SystemExit(GENERATED.main(sys.argv[1:]))
