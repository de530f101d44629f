"""``duress calibrate``: fit the BLE devices' 1 m readings (and the path loss) to a survey walk.

Registered by the main CLI as ``app.command()(calibrate.calibrate)``.

Input: the sightings of the walk (any format ``duress locate`` reads) and the walk itself, one
checkpoint a line (``{"ts", "floor", "x", "y"}`` in the site's metres, or ``"area"`` for the
middle of an area; optional ``"badge"``). Output: a table per device, and a YAML file with the
site's ``calibration:`` section (put it in the site folder, or paste it into the site file).
Bad walk lines are counted per reason and reported, never fatal; see docs/location.md,
"Calibration from a survey walk".
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeGuard

import typer
from rich.console import Console
from rich.table import Table

from duress.cli.location import (
    BUILTIN_PREFIX,
    InputFormat,
    collector_paused,
    json_object,
    load_any_site,
    read_sightings_file,
    reasons_table,
)
from duress.domain.calibration import (
    CalibrationFit,
    Checkpoint,
    FitOptions,
    Reading,
    SurveyWalk,
    fit_survey,
)
from duress.domain.errors import InvalidMessage
from duress.domain.ir_coverage import IrCoverage, ir_coverage
from duress.domain.location_params import LocationParams
from duress.domain.observations import SightingKind
from duress.domain.site import Site
from duress.ingest.codecs.fields import parse_timestamp
from duress.sim.layout import with_badges

_DEFAULTS = FitOptions()


def _centroid(site: Site, area_id: str) -> tuple[float, float] | None:
    area = site.facility.areas.get(area_id)
    if area is None or not area.polygon:
        return None
    xs = [p[0] for p in area.polygon]
    ys = [p[1] for p in area.polygon]
    return (sum(xs) / len(xs), sum(ys) / len(ys))


def _is_number(value: object) -> TypeGuard[float]:
    """A finite JSON number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def read_walk(
    lines: Iterable[str], site: Site, rejected: Counter[str]
) -> tuple[list[Checkpoint], set[str]]:
    """The walk's checkpoints and the badge ids it names; bad lines counted in ``rejected``."""
    checkpoints: list[Checkpoint] = []
    badges: set[str] = set()
    for line in lines:
        if not line.strip():
            continue
        obj = json_object(line, rejected, "walk: ")
        if obj is None:
            continue
        try:
            ts = parse_timestamp(obj.get("ts"), "ts").timestamp()
        except InvalidMessage:
            rejected["walk: no RFC 3339 ts with an offset"] += 1
            continue
        area = obj.get("area")
        if isinstance(area, str):
            middle = _centroid(site, area)
            if middle is None:
                rejected["walk: unknown area"] += 1
                continue
            floor: Any = site.facility.areas[area].floor
            x, y = middle
        else:
            floor, raw_x, raw_y = obj.get("floor"), obj.get("x"), obj.get("y")
            if not (_is_number(raw_x) and _is_number(raw_y)):
                rejected["walk: no numeric x and y (or an area)"] += 1
                continue
            x, y = float(raw_x), float(raw_y)
        if floor not in site.facility.floors:
            rejected["walk: unknown floor"] += 1
            continue
        badge = obj.get("badge")
        if isinstance(badge, str):
            badges.add(badge)
        checkpoints.append(Checkpoint(ts, str(floor), float(x), float(y)))
    return checkpoints, badges


def calibration_yaml(fit: CalibrationFit, source: str) -> str:
    """The ``calibration:`` section, each device's figures as a comment beside it."""
    cal = fit.calibration(source)
    lines = [
        "# Written by `duress calibrate` (docs/location.md, 'Calibration from a survey walk').",
        "# Put this file in the site folder (or paste the section into the site file).",
        "calibration:",
        f"  source: {json.dumps(source)}",
    ]
    if fit.model_fitted and not fit.model_plausible:
        lines.append(
            "  # the fitted model below is implausible for a building: check the walk's clock and "
            "checkpoints before using it"
        )
    if cal.path_loss_exponent is not None:
        lines.append(f"  path_loss_exponent: {cal.path_loss_exponent}")
    if cal.wall_loss_db is not None:
        lines.append(f"  wall_loss_db: {cal.wall_loss_db}")
    lines.append("  tx_power:" if cal.tx_power else "  tx_power: {}")
    for d in fit.devices:
        if d.tx_power is None:
            lines.append(f"    # {d.device}: not fitted: {d.note}")
            continue
        was = "default" if d.was is None else f"{d.was:g}"
        spread = f", spread {d.spread_db:.1f} dB" if d.spread_db is not None else ""
        lines.append(
            f"    {d.device}: {cal.tx_power[d.device]}  # was {was}; {d.samples} samples{spread}"
        )
    return "\n".join(lines) + "\n"


def _table(fit: CalibrationFit, default_tx: float) -> Table:
    """The fitted devices (the others are listed after it, with why)."""
    table = Table(title="BLE devices fitted (1 m reading, dBm)")
    for column in ("device", "samples", "nearest m", "was", "fitted", "change dB", "spread dB"):
        table.add_column(column, justify="left" if column == "device" else "right", no_wrap=True)
    for d in fit.devices:
        if d.tx_power is None:
            continue
        was = d.was if d.was is not None else default_tx
        table.add_row(
            d.device,
            f"{d.samples:,}",
            "–" if d.nearest_m is None else f"{d.nearest_m:.1f}",
            f"{was:g}" + ("" if d.was is not None else " (default)"),
            f"{d.tx_power:.1f}",
            f"{d.tx_power - was:+.1f}",
            "–" if d.spread_db is None else f"{d.spread_db:.1f}",
        )
    return table


def _print_notes(fit: CalibrationFit, options: FitOptions, console: Console) -> None:
    for d in fit.devices:
        if d.tx_power is not None and d.note:
            console.print(f"[yellow]{d.device}[/]: {d.note}")
    missed = [d.device for d in fit.devices if d.tx_power is None]
    if missed:
        console.print(
            f"[yellow]{len(missed)} not fitted[/] (fewer than {options.min_samples} samples within "
            f"{options.max_distance_m:g} m; they keep their configured value): "
            + ", ".join(missed)
            + ". Walk close past each and stop near it for a minute; the YAML says how close "
            "the walk came."
        )


def _print_ir(coverage: tuple[IrCoverage, ...], console: Console) -> None:
    """The IR devices the walk went into (or that leaked): detection and leaks; checked, since
    IR devices have nothing to calibrate."""
    if not coverage:
        return
    shown = [c for c in coverage if c.seconds_inside or c.leaks]
    if shown:
        table = Table(title="IR devices on the walk (checked, not calibrated)")
        for column in ("device", "area", "s inside", "seen", "leaks"):
            justify = "left" if column in ("device", "area") else "right"
            table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for c in shown:
            share = "–" if c.detection is None else f"{c.detection:.0%}"
            table.add_row(c.device, c.area, f"{c.seconds_inside}", share, f"{c.leaks}")
        console.print(table)
        for c in shown:
            if c.note:
                console.print(f"[yellow]{c.device}[/]: {c.note}")
    visited = [c for c in coverage if c.seconds_inside]
    inside = sum(c.seconds_inside for c in visited)
    seen = sum(c.seconds_seen for c in visited)
    detection = f", codes in {seen / inside:.0%} of the seconds inside" if inside else ""
    leaks = sum(c.leaks for c in coverage)
    console.print(
        f"IR: the walk went into the areas of {len(visited)} of {len(coverage)} devices"
        f"{detection}; {leaks} codes from outside their areas."
    )


def calibrate(
    site: Annotated[
        str, typer.Option(help="Site YAML (file or folder), or builtin:hospital[-doors][:FxR].")
    ],
    sightings: Annotated[Path, typer.Option(help="Sightings of the walk, one message a line.")],
    walk: Annotated[
        Path,
        typer.Option(help='Walk checkpoints, JSONL: {"ts", "floor", "x", "y"} or {"ts", "area"}.'),
    ],
    badge: Annotated[
        str | None,
        typer.Option(help="The test badge (default: the one the walk file names)."),
    ] = None,
    format: Annotated[InputFormat, typer.Option(help="Input format.")] = InputFormat.NATIVE,
    mapping: Annotated[
        Path | None,
        typer.Option(help="YAML id mapping of a wild format (the keys of the site's ingest:)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the calibration: section (YAML) here.")
    ] = None,
    fit_model: Annotated[
        bool,
        typer.Option(help="Fit the path-loss exponent and the wall loss too (else keep them)."),
    ] = True,
    min_samples: Annotated[
        int, typer.Option(min=3, help="Samples a device needs to be fitted.")
    ] = _DEFAULTS.min_samples,
    max_distance: Annotated[
        float, typer.Option(min=1.0, help="Samples farther from their device (m) are not used.")
    ] = _DEFAULTS.max_distance_m,
    max_gap: Annotated[
        float,
        typer.Option(min=1.0, help="Checkpoints farther apart (s) leave the position unknown."),
    ] = 120.0,
    walk_offset: Annotated[
        float,
        typer.Option(
            help="Seconds to add to the walk's times (when its clock and the badge's differ)."
        ),
    ] = 0.0,
    stops_only: Annotated[
        bool,
        typer.Option(
            help="Use only the readings taken while standing (two checkpoints at one place): "
            "immune to a walk clock off the badge's; use with --no-fit-model."
        ),
    ] = False,
    badges: Annotated[int, typer.Option(min=1, help="Badges of a builtin: site.")] = 10,
) -> None:
    """Fit each BLE device's 1 m reading (and the path loss) to a survey walk."""
    console = Console(highlight=False, soft_wrap=True)
    the_site = load_any_site(site, badges)
    if site.startswith(BUILTIN_PREFIX):
        the_site = with_badges(the_site, badges)
    rejected: Counter[str] = Counter()
    try:
        checkpoints, named = read_walk(walk.read_text().splitlines(), the_site, rejected)
    except OSError as exc:
        raise typer.BadParameter(f"{walk}: {exc}") from None
    checkpoints = [replace(c, ts=c.ts + walk_offset) for c in checkpoints]
    if not checkpoints:
        raise typer.BadParameter(
            f"{walk}: no usable checkpoint; write one JSON object a line with "
            '"ts" (RFC 3339), "floor", "x" and "y" (metres), or "ts" and "area"'
        )
    if badge is None:
        if len(named) != 1:
            raise typer.BadParameter(
                f"{walk} names {len(named)} badges ({', '.join(sorted(named)) or 'none'}); "
                "say which one walked with --badge"
            )
        badge = next(iter(named))
    with collector_paused():
        decoded = read_sightings_file(sightings, the_site, format, mapping, rejected)
    readings: list[Reading] = []
    codes: list[tuple[float, str]] = []
    others = 0
    for _, s in decoded:
        if s.badge != badge:
            others += 1
        elif s.kind is SightingKind.BLE and s.rssi is not None:
            readings.append(Reading(s.ts.timestamp(), s.device, s.rssi))
        elif s.kind is SightingKind.IR:
            codes.append((s.ts.timestamp(), s.device))
    if not readings:
        raise typer.BadParameter(
            f"{sightings}: no BLE reading of badge {badge!r}; check --badge and --format"
        )
    options = FitOptions(
        fit_model=fit_model,
        min_samples=min_samples,
        max_distance_m=max_distance,
        stops_only=stops_only,
    )
    the_walk = SurveyWalk(checkpoints, max_gap_s=max_gap)
    _print_ir(ir_coverage(the_site, the_walk, codes), console)
    fit = fit_survey(the_site, the_walk, readings, options)
    start = datetime.fromtimestamp(checkpoints[0].ts).astimezone()
    source = (
        f"survey walk of {start:%Y-%m-%d %H:%M %Z}, badge {badge}, {len(checkpoints):,} "
        f"checkpoints, {fit.samples:,} samples"
    )
    console.print(_table(fit, LocationParams().ble_default_tx_power))
    _print_notes(fit, options, console)
    fitted = sum(1 for d in fit.devices if d.tx_power is not None)
    model = (
        f"path-loss exponent {fit.path_loss_exponent:.2f}, wall loss {fit.wall_loss_db:.1f} dB"
        + (" (fitted)" if fit.model_fitted else " (kept)")
    )
    spread = f"{fit.spread_db:.1f} dB" if fit.spread_db is not None else "–"
    console.print(
        f"{len(readings):,} BLE readings of {badge}, {fit.samples:,} used "
        f"({fit.outliers:,} outliers, {fit.weak:,} near the receivers' sensitivity left out); "
        f"{fitted} of {len(fit.devices)} devices fitted; {model}; spread {spread}"
        + (f"; {others:,} sightings of other badges ignored" if others else "")
    )
    if fit.model_fitted and not fit.model_plausible:
        console.print(
            f"[yellow]the fitted model is implausible[/] (exponent {fit.path_loss_exponent:.2f}, "
            f"wall loss {fit.wall_loss_db:.1f} dB): the walk may not match its readings; check "
            "the walk's clock against the badge's (--walk-offset), or keep the model "
            "(--no-fit-model, with --stops-only when the clock is in doubt)"
        )
    skipped = Counter(fit.skipped) + rejected
    if skipped:
        console.print(reasons_table("not used", skipped))
    text = calibration_yaml(fit, source)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        console.print(f"calibration → {out}")
