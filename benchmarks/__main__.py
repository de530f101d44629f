"""Run every benchmark, print its figures as a table, write them to benchmarks/results/<name>.json.

A module may also define ``summary(record)``, a Rich renderable of the written record (the
location benchmark's table of figures against the issue's goals), printed after the raw figures.

A benchmark is a module ``benchmarks/<name>/bench_<what>.py`` with a function ``run() -> dict``
returning its figures (nested dicts of numbers and short strings). Figures of all modules in one
folder are merged into ``results/<name>.json`` with the time and machine of the run, so that runs can
be compared. ``python -m benchmarks NAME ...`` runs only those folders.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def discover(only: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(HERE.glob("*/bench_*.py")):
        name = path.parent.name
        if only and name not in only:
            continue
        found.setdefault(name, []).append(f"benchmarks.{name}.{path.stem}")
    return found


def flatten(figures: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in figures.items():
        label = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += flatten(value, label + ".")
        else:
            rows.append((label, value))
    return rows


def main(argv: list[str]) -> int:
    console = Console()
    groups = discover(argv)
    if not groups:
        console.print(f"no benchmarks found for {argv or 'any name'} under {HERE}")
        return 1
    RESULTS.mkdir(exist_ok=True)
    for name, modules in groups.items():
        figures: dict[str, Any] = {}
        summaries = []
        started = time.perf_counter()
        for module_name in modules:
            console.print(f"[bold]{module_name}[/bold] …")
            module = importlib.import_module(module_name)
            figures.update(module.run())
            if hasattr(module, "summary"):
                summaries.append(module.summary)
        elapsed = time.perf_counter() - started
        record = {
            "benchmark": name,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "python": platform.python_version(),
                "cpu": platform.processor() or platform.machine(),
            },
            "seconds": round(elapsed, 1),
            **figures,
        }
        (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
        table = Table(title=f"{name} ({elapsed:.1f} s) → benchmarks/results/{name}.json")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for label, value in flatten(figures):
            table.add_row(label, f"{value:,.3f}" if isinstance(value, float) else str(value))
        console.print(table)
        for summary in summaries:  # a module's own view of the figures, e.g. a table of goals
            console.print(summary(record))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    raise SystemExit(main(sys.argv[1:]))
