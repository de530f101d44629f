"""The first security-desk page: recent presses, badge locations and device health, live.

Server-rendered HTML; a few lines of script listen to the event stream and re-fetch the board
fragment when something changes (at most a few times a second). No front-end build step.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from duress.domain.device_health import DeviceStatus
from duress.service.runtime import Runtime
from duress.web.deps import RuntimeDep

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)
BOARD_ROWS = 200


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def _age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = max(0.0, (now - then).total_seconds())
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def board_context(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    site = runtime.site
    presses = []
    for press in reversed(runtime.recent_presses):
        staff = site.staff.get(press.staff) if press.staff else None
        located = runtime.locator.snapshot(now).get(press.badge, {})
        presses.append(
            {
                "badge": press.badge,
                "who": f"{staff.name} ({staff.role})" if staff else "unknown wearer",
                "what": f"hold {press.hold_s:.1f} s" if press.hold_s else f"{press.presses} press",
                "where": located.get("area") or "location unknown",
                "age": _age(now, press.ts),
            }
        )
    snapshot = runtime.locator.snapshot(now)
    badges = []
    for badge_id in sorted(snapshot)[:BOARD_ROWS]:
        fields = snapshot[badge_id]
        staff = site.wearer(badge_id)
        badges.append({"badge": badge_id, "who": staff.name if staff else "", **fields})
    states = list(runtime.health.states())
    counts = {s.value: sum(1 for d in states if d.status is s) for s in DeviceStatus}
    silent = [
        {"device": d.device, "age": _age(now, d.last_seen)}
        for d in states
        if d.status is DeviceStatus.SILENT
    ]
    return {
        "site": site,
        "now": now,
        "presses": presses,
        "badges": badges,
        "located": len(snapshot),
        "device_counts": counts,
        "silent": silent,
    }


@router.get("/", response_class=HTMLResponse)
async def page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "dashboard.html", board_context(runtime))


@router.get("/dashboard/board", response_class=HTMLResponse)
async def board(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "board.html", board_context(runtime))
