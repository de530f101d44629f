"""``duress config``: check a site configuration and import floor plans.

Registered by the main CLI as ``app.add_typer(config_app, name="config")``.

- ``duress config check PATH``: load and validate; print a summary, or every problem and exit 1.
- ``duress config import --format geojson|imdf SOURCE --out FILE [--floor F ...]``: write the
  ``facility:`` section of a site from a floor plan.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from duress.config.geojson import read_geojson
from duress.config.imdf import count_openings, import_imdf, read_archive
from duress.config.loader import load_site
from duress.config.summary import SiteSummary, summarize
from duress.config.yamlout import dump_yaml
from duress.domain.errors import ConfigError

config_app = typer.Typer(
    name="config",
    help="Check the site configuration and import floor plans.",
    no_args_is_help=True,
    add_completion=False,
)


class PlanFormat(StrEnum):
    GEOJSON = "geojson"
    IMDF = "imdf"


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@config_app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="Site YAML file, or a folder of *.yaml files.")],
) -> None:
    """Validate a site configuration; print its summary, or every problem found (exit status 1)."""
    console = _console()
    try:
        site = load_site(path)
    except ConfigError as exc:
        count = len(exc.problems)
        console.print(f"[bold red]{count} problem{'s' if count != 1 else ''}[/] in {path}:")
        for problem in exc.problems:
            console.print(f"  {problem}", markup=False)
        raise typer.Exit(1) from None
    render_summary(summarize(site), console)
    console.print(f"[green]OK[/]: {path} is a valid site configuration.")


def render_summary(summary: SiteSummary, console: Console) -> None:
    """Print a site summary as Rich tables."""
    console.print(
        f"[bold]{summary.name}[/] ({summary.id}), {summary.timezone}: "
        f"{summary.buildings} building(s), "
        f"{summary.floors} floor(s), {summary.areas} areas, {summary.devices} devices, "
        f"{summary.staff} staff, {summary.badges} badges, {summary.teams} teams, "
        f"{summary.policies} routing policies"
    )
    counts = Table(title="Areas and devices")
    counts.add_column("Area kind")
    counts.add_column("Count", justify="right")
    counts.add_column("Device kind")
    counts.add_column("Count", justify="right")
    areas = list(summary.areas_by_kind.items())
    devices = list(summary.devices_by_kind.items())
    for i in range(max(len(areas), len(devices))):
        a = areas[i] if i < len(areas) else ("", "")
        d = devices[i] if i < len(devices) else ("", "")
        counts.add_row(a[0], str(a[1]), d[0], str(d[1]))
    console.print(counts)
    units = Table(title="Units")
    for column in ("Unit", "Kind", "Floor", "Required precision", "Areas", "IR devices", "Staff"):
        units.add_column(
            column, justify="right" if column in ("Areas", "IR devices", "Staff") else "left"
        )
    units.add_column("Coverage roles")
    for u in summary.units:
        units.add_row(
            u.id,
            u.kind,
            u.floor,
            u.required_precision.value,
            str(u.areas),
            str(u.ir_devices),
            str(u.staff),
            ", ".join(u.coverage_roles) or "[yellow]none[/]",
        )
    console.print(units)
    people = Table(title="People")
    people.add_column("Role")
    people.add_column("Staff", justify="right")
    for role, n in summary.staff_by_role.items():
        people.add_row(role, str(n))
    console.print(people)
    badge_kinds = ", ".join(f"{n} {kind}" for kind, n in summary.badges_by_kind.items())
    console.print(
        f"Badges: {summary.badges} ({badge_kinds}); {summary.spare_badges} unassigned. "
        f"Responders: {summary.responders}."
    )
    if summary.ble_devices:
        if summary.calibration_source is None:
            console.print(
                f"BLE devices: {summary.ble_devices}, [yellow]not calibrated[/] (no survey walk: "
                "see duress calibrate)."
            )
        else:
            console.print(
                f"BLE devices: {summary.ble_devices}, {summary.ble_calibrated} calibrated by a "
                f"survey walk ({summary.calibration_source or 'no source given'})."
            )


@config_app.command("import")
def import_plan(
    source: Annotated[Path, typer.Argument(help="GeoJSON file, or IMDF folder or zip.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="YAML file to write (facility section).")
    ],
    fmt: Annotated[
        PlanFormat, typer.Option("--format", "-f", help="Format of SOURCE.")
    ] = PlanFormat.GEOJSON,
    floor: Annotated[
        list[str] | None, typer.Option("--floor", help="Import only this floor id (repeatable).")
    ] = None,
) -> None:
    """Import a floor plan (GeoJSON in metres, or IMDF) into the facility section of a site."""
    console = _console()
    floors = tuple(floor or ())
    try:
        if fmt is PlanFormat.GEOJSON:
            data = read_geojson(source, floors=floors)
            note = ""
        else:
            collections = read_archive(source)
            data = import_imdf(collections, floors=floors, source=str(source))
            openings = count_openings(collections)
            note = f" ({openings} openings not imported)" if openings else ""
    except ConfigError as exc:
        console.print(f"[bold red]cannot import {source}[/]:")
        for problem in exc.problems:
            console.print(f"  {problem}", markup=False)
        raise typer.Exit(1) from None
    floors_out = data["facility"]["floors"]
    header = (
        f"Imported from {source.name} ({fmt.value}) by `duress config import`.\n"
        "Add the clinical units (units:) and each area's `unit:`,\n"
        "then check with `duress config check`."
    )
    out.write_text(dump_yaml(data, header=header), encoding="utf-8")
    n_areas = sum(len(f["areas"]) for f in floors_out)
    console.print(f"wrote {out}: {len(floors_out)} floor(s), {n_areas} areas{note}")
