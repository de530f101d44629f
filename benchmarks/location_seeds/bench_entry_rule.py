"""Location over many seeds: one IR code or two per room entry, and IR door monitors, in every IR
scenario.

The location benchmark (``benchmarks/location``) runs each named scenario on two seeds; its
doorway figures rest on a few events (24 badges for 20 minutes are 8 badge-hours: 0.5 flaps a
badge-hour is 4 flaps), so one seed decides little. This study replays each IR scenario of
:data:`benchmarks.location.bench_location.SCENARIOS` on :data:`SEEDS` with each entry rule of
:data:`VARIANTS` (``ir_one_hit_m`` 2, one code while BLE agrees, the default until 2026-11-30
18:00; and 0, two codes for every entry, the default since: decision 0028), and reports per scenario and rule the mean of each figure over the seeds
and on how many seeds each of the issue's goals was met. The same records go through both rules.
Two more variants replay the same scenario with an IR door monitor across the doorway of every
IR room (:func:`duress.sim.layout.with_door_monitors`; the simulator draws their codes from a
stream of their own, so the walks and every other report are the same): the default engine,
whose door entry and door exit use them (docs/location.md, rule 2), and ``ir_door_alone`` on,
with the simulator's door beam (0.6 m) and a narrower one (0.4 m, :data:`DOOR_BEAMS`).

Scenarios and seeds run in parallel processes (one per core, at most :data:`WORKERS`); figures are
the engine's (compiled when built, as in the location benchmark). ``python -m benchmarks
location_seeds`` runs it (under 2 minutes on two cores); docs/benchmarks.md keeps its table
("One code or two per room entry"), which a test checks against
``benchmarks/results/location_seeds.json``; ``python -m benchmarks.location_seeds.bench_entry_rule
--write`` updates it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from statistics import fmean
from typing import Any

from rich.table import Table

from benchmarks import doc_block, tables
from benchmarks.location import bench_location as location
from duress.domain.location import LocationParams
from duress.sim.evaluate import evaluate, track
from duress.sim.layout import with_door_monitors
from duress.sim.radio import RadioParams
from duress.sim.scenario import Received, Record

SEEDS = (42, 7, 1, 2, 3, 4, 5, 6)
VARIANTS: dict[str, dict[str, Any]] = {
    "one_code": {"ir_one_hit_m": 2.0},
    "two_codes": {"ir_one_hit_m": 0.0},
    "door_monitors": {},
    "door_alone": {"ir_door_alone": True},
    "door_alone_narrow": {"ir_door_alone": True},
}
"""Entry rules by name: the ``LocationParams`` changes from the defaults."""
DOOR_BEAMS: dict[str, float] = {
    "door_monitors": RadioParams().ir_door_beam_m,
    "door_alone": RadioParams().ir_door_beam_m,
    "door_alone_narrow": 0.4,
}
"""The variants replayed on the scenario's site with door monitors, and the width of the door
monitors' beam in the simulator (``ir_door_beam_m``: 0.6 m by default; 0.4 m stops short of
someone lingering half a metre out of the doorway)."""
SCENARIOS = ("icu_bh_ir_rich", "ed_open_bays", "doorway_lingering", "degraded_monitor_offline")
FIGURES = (
    "room_accuracy_ir",
    "zone_accuracy",
    "wrong_room_share",
    "flaps_per_badge_hour",
    "transition_ir_p95_s",
)
GOALS: dict[str, tuple[float, bool, tuple[str, ...]]] = {
    # figure: (target, at least, the scenarios where the issue sets it)
    "room_accuracy_ir": (0.995, True, SCENARIOS),
    "transition_ir_p95_s": (3.0, False, SCENARIOS),
    "flaps_per_badge_hour": (0.5, False, ("doorway_lingering",)),
}
WORKERS = 4


def _one(task: tuple[str, int]) -> tuple[str, int, dict[str, dict[str, float | None]]]:
    """Both entry rules' figures for one scenario and seed (run in a worker process)."""
    name, seed = task
    scenario = next(s for s in location.SCENARIOS if s.name == name)
    plain = scenario.site()
    doors = with_door_monitors(plain)
    replays: dict[float | None, list[Record]] = {None: location._records(scenario, plain, seed)}
    for beam in sorted(set(DOOR_BEAMS.values())):
        radio = replace(scenario.params.radio, ir_door_beam_m=beam)
        beamed = replace(scenario, params=replace(scenario.params, radio=radio))
        replays[beam] = location._records(beamed, doors, seed)
    dead = scenario.offline(plain) if scenario.offline is not None else set()
    out: dict[str, dict[str, float | None]] = {}
    for variant, changes in VARIANTS.items():
        width = DOOR_BEAMS.get(variant)
        site, records = (plain if width is None else doors), replays[width]
        truth = [r for r in records if not isinstance(r, Received)]
        rows = list(track(site, records, LocationParams(**changes)))
        figures = location._figures(evaluate(truth, rows, site, offline=dead))
        out[variant] = {figure: figures[figure] for figure in FIGURES}
    return name, seed, out


def _met(figure: str, value: float | None) -> bool:
    target, at_least, _ = GOALS[figure]
    return value is not None and (value >= target if at_least else value <= target)


def aggregate(
    per_seed: Mapping[str, Mapping[str, Mapping[str, Mapping[str, float | None]]]],
) -> dict[str, Any]:
    """Per scenario and rule: each figure's mean over the seeds, its worst seed, and on how many
    seeds each goal that applies was met. ``per_seed``: scenario → seed → rule → figures."""
    out: dict[str, Any] = {}
    for name, seeds in per_seed.items():
        rules: dict[str, Any] = {}
        present = [v for v in VARIANTS if all(v in runs for runs in seeds.values())]
        for variant in present:
            runs = [seeds[seed][variant] for seed in seeds]
            figures: dict[str, Any] = {}
            for figure in FIGURES:
                values = [v for run in runs if (v := run[figure]) is not None]
                entry: dict[str, Any] = {
                    "mean": round(fmean(values), 4) if values else None,
                    "min": min(values) if values else None,
                    "max": max(values) if values else None,
                }
                goal = GOALS.get(figure)
                if goal is not None and name in goal[2]:
                    entry["seeds_met"] = sum(_met(figure, run[figure]) for run in runs)
                figures[figure] = entry
            rules[variant] = figures
        out[name] = {"seeds": len(seeds), "rules": rules}
    return out


def run() -> dict[str, Any]:
    tasks = [(name, seed) for name in SCENARIOS for seed in SEEDS]
    workers = max(1, min(WORKERS, os.cpu_count() or 1))
    per_seed: dict[str, dict[str, Any]] = {name: {} for name in SCENARIOS}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for name, seed, figures in pool.map(_one, tasks):
            per_seed[name][str(seed)] = figures
    return {
        "settings": {
            "seeds": list(SEEDS),
            "variants": VARIANTS,
            "door_beams_m": DOOR_BEAMS,
            "badges_per_scenario": location.BADGES,
            "minutes_per_scenario": location.MINUTES,
            "workers": workers,
        },
        "per_seed": per_seed,
        "summary": aggregate(per_seed),
    }


# --- the table ----------------------------------------------------------------------------------

COLUMNS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("room acc. in IR rooms", "room_accuracy_ir", lambda v: f"{v:.4f}"),
    ("zone acc.", "zone_accuracy", lambda v: f"{v:.3f}"),
    ("wrong room", "wrong_room_share", lambda v: f"{100 * v:.2f} %"),
    ("flaps /badge-h", "flaps_per_badge_hour", lambda v: f"{v:.2f}"),
    ("IR p95 (s), worst seed", "transition_ir_p95_s", lambda v: f"{v:.2f}"),
)
HEADERS = ("scenario", *(title for title, _, _ in COLUMNS))
LEGEND = (
    "Each cell: one code → two codes per room entry (the default) → with an IR door monitor at "
    "every IR room's door (door entry and exit, the default engine) → the same with "
    "`ir_door_alone` → and with the door monitors' beam 0.4 m instead of 0.6 m; means over the "
    "seeds (the IR p95: the worst seed), and in brackets on how many seeds the issue's goal for "
    "the figure was met."
)


def _cell(rules: Mapping[str, Any], figure: str, show: Callable[[float], str]) -> str:
    parts = []
    for variant in (v for v in VARIANTS if v in rules):
        entry = rules[variant][figure]
        value = entry["max"] if figure == "transition_ir_p95_s" else entry["mean"]
        text = "–" if value is None else show(value)
        if "seeds_met" in entry:
            text += f" ({entry['seeds_met']})"
        parts.append(text)
    return " → ".join(parts)


def rows(result: Mapping[str, Any]) -> list[list[str]]:
    out = []
    for name, entry in result["summary"].items():
        out.append([f"`{name}`", *(_cell(entry["rules"], f, show) for _, f, show in COLUMNS)])
    return out


def markdown(result: Mapping[str, Any]) -> str:
    seeds = ", ".join(str(s) for s in result["settings"]["seeds"])
    lines = [
        *tables.markdown_table(HEADERS, rows(result)),
        "",
        f"{LEGEND} Seeds {seeds}; run {result['at']}.",
    ]
    return "\n".join(lines)


def summary(result: Mapping[str, Any]) -> Table:
    """What ``python -m benchmarks`` prints after the raw figures."""
    return tables.console_table(
        "location over seeds: one code → two codes → door monitors → door alone → narrow beam",
        HEADERS,
        rows(result),
        LEGEND,
        cell=lambda text: text.replace(" → ", "\n→ "),
    )


GENERATED = doc_block.GeneratedBlock(
    name="location-seeds",
    command="python -m benchmarks.location_seeds.bench_entry_rule",
    benchmark="location_seeds",
    render=markdown,
    what="the seeds study",
)
"""The block of docs/benchmarks.md this module keeps."""

if __name__ == "__main__":
    raise SystemExit(GENERATED.main(sys.argv[1:]))
