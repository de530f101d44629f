"""``duress routes test`` and ``duress routes diagram``: see and check routing without raising anything."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from duress.config.loader import load_site
from duress.domain.errors import ConfigError
from duress.domain.routing_preview import RoutingPreview, preview
from duress.domain.site import Site
from duress.program.routing_diagram import schedule_text, to_dot, to_mermaid

routes_app = typer.Typer(
    help="See and test who is paged, without raising an alert.", no_args_is_help=True
)
console = Console()
errors = Console(stderr=True)
DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

SiteOption = Annotated[
    Path, typer.Option("--site", "-s", help="The site configuration (file or folder).")
]


class DiagramFormat(StrEnum):
    SVG = "svg"
    PNG = "png"
    MERMAID = "mermaid"
    DOT = "dot"


def _load(path: Path) -> Site:
    try:
        return load_site(path)
    except ConfigError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None


def parse_when(text: str | None, zone: ZoneInfo, now: datetime) -> datetime:
    """``2026-03-01T03:00`` (site time), ``sun 03:00`` (the next Sunday), ``03:00`` (next), or now."""
    local_now = now.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    if not text:
        return local_now
    words = text.strip().lower().split()
    try:
        if "-" in words[0]:
            parsed = datetime.fromisoformat(text.strip())
            return parsed.astimezone(zone).replace(tzinfo=None) if parsed.tzinfo else parsed
        clock = datetime.strptime(words[-1], "%H:%M").time()
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a time; write 2026-03-01T03:00, 'sun 03:00' or 03:00"
        ) from None
    day = local_now.date()
    if len(words) == 2:
        if words[0][:3] not in DAYS:
            raise typer.BadParameter(f"{words[0]!r} is not a day; write mon, tue, ... sun")
        day += timedelta(days=(DAYS[words[0][:3]] - day.weekday()) % 7)
    when = datetime.combine(day, clock)
    if len(words) == 1 and when < local_now:
        when += timedelta(days=1)
    return when


@routes_app.command("test")
def try_routing(
    site: SiteOption,
    unit: Annotated[str, typer.Option("--unit", "-u", help="The unit of the press.")],
    kind: Annotated[
        str, typer.Option("--kind", "-k", help="Alert kind: assist, security, test, ...")
    ] = "assist",
    area: Annotated[
        str | None, typer.Option("--area", "-a", help="The room, bay or zone of the press.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="When, site time: 2026-03-01T03:00, 'sun 03:00', 03:00. Default: now."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Print, tier by tier, who would be paged, through which channel, and when."""
    loaded = _load(site)
    if unit not in loaded.facility.units:
        errors.print(
            f"[red]error:[/red] unknown unit {unit!r}; units: {', '.join(sorted(loaded.facility.units))}"
        )
        raise typer.Exit(2)
    if area is not None and area not in loaded.facility.areas:
        errors.print(f"[red]error:[/red] unknown area {area!r}; see facility.floors[*].areas")
        raise typer.Exit(2)
    zone = ZoneInfo(loaded.facility.timezone)
    when = parse_when(at, zone, datetime.now(zone))
    result = preview(loaded, unit=unit, area=area, kind=kind, at=when)
    if as_json:
        console.print_json(json.dumps(_json(result)))
    else:
        _print(result)
    if result.policy is None:
        raise typer.Exit(1)


def _print(result: RoutingPreview) -> None:
    where = result.area or f"unit {result.unit}"
    console.print(
        f"[bold]A {result.kind} press in {where} at {result.at:%a %Y-%m-%d %H:%M}[/bold] (site time)"
    )
    if result.policy is None:
        for warning in result.warnings:
            console.print(f"[red]{warning}[/red]")
        return
    p = result.policy
    console.print(
        f"Policy [bold]{p.name}[/bold] ({p.id}, priority {p.priority}; {schedule_text(p.schedule)}); escalation stops when {p.stop_on.value.replace('_', ' ')}."
    )
    table = Table(show_lines=True)
    for column in ("Tier", "When", "Who", "Why", "Channels"):
        table.add_column(column)
    for tier in result.tiers:
        when = "skipped" if tier.skipped else f"+{tier.at_s:g} s"
        if tier.repeats:
            when += f"\n(paged {tier.repeats + 1}×)"
        for person in tier.recipients:
            channels = ", ".join(f"{c.channel} {c.address}" for c in person.contacts)
            table.add_row(str(tier.index + 1), when, person.name, person.reason, channels)
        for pending in tier.pending:
            table.add_row(
                str(tier.index + 1),
                when,
                pending,
                "decided at the press, from live locations",
                "their own contacts",
            )
        if not tier.recipients and not tier.pending:
            table.add_row(str(tier.index + 1), when, "nobody", "", "")
    console.print(table)
    last = p.tiers[-1].escalate_after_s
    console.print(
        f"After the last tier: tier {len(p.tiers)} again every {last:g} s until someone accepts."
    )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")


def _json(result: RoutingPreview) -> dict[str, object]:
    return {
        "unit": result.unit,
        "area": result.area,
        "kind": result.kind,
        "at": result.at.isoformat(),
        "policy": result.policy.id if result.policy else None,
        "tiers": [
            {
                "tier": t.index + 1,
                "at_s": t.at_s,
                "skipped": t.skipped,
                "repeats": t.repeats,
                "recipients": [r.as_json() for r in t.recipients],
                "decided_at_press": list(t.pending),
            }
            for t in result.tiers
        ],
        "warnings": list(result.warnings),
    }


@routes_app.command("diagram")
def diagram(
    site: SiteOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    unit: Annotated[
        str | None, typer.Option("--unit", "-u", help="Only this unit (default: all).")
    ] = None,
    fmt: Annotated[
        DiagramFormat, typer.Option("--format", "-f", help="svg, png, mermaid or dot.")
    ] = DiagramFormat.SVG,
) -> None:
    """Draw the routing as a diagram a nurse manager can read."""
    loaded = _load(site)
    if unit is not None and unit not in loaded.facility.units:
        errors.print(
            f"[red]error:[/red] unknown unit {unit!r}; units: {', '.join(sorted(loaded.facility.units))}"
        )
        raise typer.Exit(2)
    if fmt is DiagramFormat.MERMAID:
        out.write_text(to_mermaid(loaded, unit), encoding="utf-8")
    elif fmt is DiagramFormat.DOT:
        out.write_text(to_dot(loaded, unit), encoding="utf-8")
    else:
        dot = shutil.which("dot")
        if dot is None:
            errors.print(
                "[red]error:[/red] Graphviz is not installed (no `dot`): install the graphviz package, or use --format mermaid or dot"
            )
            raise typer.Exit(2)
        rendered = subprocess.run(
            [dot, f"-T{fmt.value}"],
            input=to_dot(loaded, unit).encode(),
            capture_output=True,
            check=False,
        )
        if rendered.returncode != 0:
            errors.print(
                f"[red]error:[/red] dot failed: {rendered.stderr.decode(errors='replace')}"
            )
            raise typer.Exit(2)
        out.write_bytes(rendered.stdout)
    console.print(f"wrote {out}")
