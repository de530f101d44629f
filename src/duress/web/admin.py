"""Admin and engineering views: device health, badges, units' required and achieved precision, and
routing per unit with its diagram.

Needs ``read_devices`` (admins, security operators, unit managers, auditors). Nothing here shows where
a person is: badges show when and through which gateway they were last heard, not where; a unit's
achieved precision is a count over the badges located in it.

Routing diagrams are Graphviz DOT (:func:`duress.program.routing_diagram.to_dot`) rendered to SVG by
``dot`` when it is installed (``make system-packages``), else the Mermaid text is shown.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections import Counter
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from duress.domain.accounts import Permission, Principal
from duress.domain.device_health import DeviceStatus
from duress.domain.errors import NotFound
from duress.domain.precision import Precision
from duress.program.routing_diagram import branches, to_dot, to_mermaid
from duress.service.runtime import Runtime
from duress.web.alert_view import ago
from duress.web.auth import require_page
from duress.web.dashboard import common, templates
from duress.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)
Engineer = Annotated[Principal, require_page(Permission.READ_DEVICES)]
DOT_TIMEOUT_S = 10.0
STATUS_ORDER = {
    DeviceStatus.OFFLINE: 0,
    DeviceStatus.SILENT: 1,
    DeviceStatus.UNSUPERVISED: 2,
    DeviceStatus.UNKNOWN: 3,
    DeviceStatus.ONLINE: 4,
}


def devices(runtime: Runtime) -> list[dict[str, Any]]:
    """Every supervised device with its health, troubles first."""
    now = runtime.clock.now()
    site = runtime.site
    rows = []
    for device in site.devices.values():
        if device.id not in runtime.health:
            continue
        state = runtime.health.state(device.id)
        area = site.facility.areas.get(device.area or "")
        floor = site.facility.floors.get(device.floor)
        rows.append(
            {
                "id": device.id,
                "name": device.name,
                "kind": device.kind.value,
                "floor": floor.name if floor else device.floor,
                "floor_id": device.floor,
                "where": area.name
                if area
                else (
                    f"({device.position[0]:g}, {device.position[1]:g}) m" if device.position else ""
                ),
                "status": state.status.value,
                "rank": STATUS_ORDER.get(state.status, 5),
                "last_seen": ago(now, state.last_seen),
                "battery": state.battery,
                "battery_level": state.battery_level.value,
                "heartbeat_s": device.heartbeat_s,
                "gateway": device.gateway or "",
            }
        )
    rows.sort(key=lambda r: (r["rank"], r["floor_id"], r["id"]))
    return rows


def badges(runtime: Runtime) -> list[dict[str, Any]]:
    """Every badge: who wears it, when it was last heard (not where), battery."""
    now = runtime.clock.now()
    site = runtime.site
    rows = []
    for badge in site.badges.values():
        seen = runtime.badge_watch.get(badge.id)
        staff = site.staff.get(badge.staff or "")
        rows.append(
            {
                "id": badge.id,
                "kind": badge.kind.value,
                "assigned": f"{staff.name} ({staff.role.replace('_', ' ')})" if staff else "",
                "last_seen": ago(now, seen.last_seen if seen else None),
                "gateway": (seen.gateway if seen else None) or "",
                "battery": seen.battery if seen else None,
                "battery_level": seen.battery_level.value if seen else "ok",
                "not_seen": bool(seen and seen.not_seen),
            }
        )
    rows.sort(key=lambda r: (not r["not_seen"], r["battery_level"] == "ok", r["id"]))
    return rows


def units(runtime: Runtime) -> list[dict[str, Any]]:
    """Each unit's required precision and what its located badges achieve now: the share meeting
    the requirement, and how many at each precision."""
    site = runtime.site
    snapshot = runtime.locator.snapshot(runtime.clock.now())
    rows = []
    for unit in sorted(site.facility.units.values(), key=lambda u: (u.floor, u.id)):
        located = [loc for loc in snapshot.values() if loc.get("unit") == unit.id]
        meeting = sum(1 for loc in located if loc.get("meets_requirement"))
        by_precision = Counter(str(loc.get("precision")) for loc in located)
        floor = site.facility.floors.get(unit.floor)
        rows.append(
            {
                "id": unit.id,
                "name": unit.name,
                "kind": unit.kind.value,
                "floor": floor.name if floor else unit.floor,
                "required": unit.required_precision.value,
                "located": len(located),
                "meeting": meeting,
                "share": meeting / len(located) if located else None,
                "by_precision": [
                    (p.value, by_precision[p.value]) for p in Precision if by_precision[p.value]
                ],
                "policies": [b.policy.name for b in branches(site, unit.id)],
            }
        )
    return rows


@lru_cache(maxsize=64)
def _render_dot(program: str, dot: str) -> bytes | None:
    """SVG from DOT text with Graphviz, or None when it fails (cached: a site's diagrams do not
    change while it runs)."""
    try:
        done = subprocess.run(
            [program, "-Tsvg"],
            input=dot.encode(),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 and done.stdout else None


async def routing_svg(runtime: Runtime, unit: str) -> bytes | None:
    """The unit's routing diagram as SVG; None when Graphviz is not installed."""
    program = shutil.which("dot")
    if program is None:
        return None
    return await asyncio.to_thread(_render_dot, program, to_dot(runtime.site, unit))


@router.get("/admin", response_class=HTMLResponse)
async def page(request: Request, runtime: RuntimeDep, principal: Engineer) -> HTMLResponse:
    device_rows = devices(runtime)
    counts = Counter(r["status"] for r in device_rows)
    graphviz = shutil.which("dot") is not None
    unit_rows = units(runtime)
    return templates.TemplateResponse(
        request,
        "admin.html",
        {
            **common(request, principal),
            "site": runtime.site,
            "devices": device_rows,
            "device_counts": counts,
            "badges": badges(runtime),
            "units": unit_rows,
            "graphviz": graphviz,
            "mermaid": {u["id"]: to_mermaid(runtime.site, u["id"]) for u in unit_rows},
        },
    )


@router.get("/admin/routing/{unit}.svg")
async def routing_diagram(unit: str, runtime: RuntimeDep, principal: Engineer) -> Response:
    if unit not in runtime.site.facility.units:
        raise NotFound("unit", unit)
    svg = await routing_svg(runtime, unit)
    if svg is None:
        raise NotFound("routing diagram (Graphviz dot is not installed; see /admin)", unit)
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=60"}
    )


@router.get("/admin/routing/{unit}.mmd")
async def routing_mermaid(unit: str, runtime: RuntimeDep, principal: Engineer) -> Response:
    if unit not in runtime.site.facility.units:
        raise NotFound("unit", unit)
    return Response(to_mermaid(runtime.site, unit), media_type="text/plain; charset=utf-8")
