"""The security desk's live board: open alerts, device health and badge locations.

Server-rendered HTML; a few lines of script listen to the event stream and re-fetch the board
fragment when something changes (at most a few times a second). No front-end build step.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from duress.domain.accounts import Permission, Principal
from duress.domain.device_health import DeviceStatus
from duress.domain.site import Site
from duress.service.runtime import Runtime
from duress.web import privacy
from duress.web.auth import CSRF_COOKIE, accounts_of, require_page
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


def _where(runtime: Runtime, location: Mapping[str, Any]) -> str:
    areas = runtime.site.facility.areas
    parts = []
    for key in ("floor", "unit"):
        value = location.get(key)
        if value:
            parts.append(str(value))
    area = (
        location.get("bay") or location.get("room") or location.get("zone") or location.get("area")
    )
    if area:
        parts.append(areas[area].name if area in areas else str(area))
    return " · ".join(parts) if parts else "location unknown"


def _names(site: Site, people: tuple[str, ...]) -> list[str]:
    return [site.staff[p].name if p in site.staff else p for p in people]


def board_context(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    site = runtime.site
    alerts = []
    for alert in runtime.alerts.open_alerts():
        loc = alert.location
        age = loc.get("age_s")
        alerts.append(
            {
                "id": alert.id,
                "kind": alert.kind,
                "priority": alert.priority,
                "mode": alert.mode,
                "state": alert.state.value.replace("_", " "),
                "who": f"{alert.staff_name} ({alert.role})"
                if alert.staff_name
                else "unknown wearer",
                "where": _where(runtime, loc),
                "precision": loc.get("precision") or "unknown",
                "confidence": loc.get("confidence"),
                "stale": bool(loc.get("stale")) or (age is not None and age > 30),
                "location_age": f"{age:.0f} s old" if age is not None else "",
                "elapsed": _age(now, alert.raised_at).removesuffix(" ago"),
                "tier": alert.tier + 1,
                "notified": len({str(r["id"]) for r in alert.notified}),
                "accepted": ", ".join(_names(site, alert.accepted_by)),
                "on_scene": ", ".join(_names(site, alert.on_scene_by)),
                "undelivered": alert.undelivered,
                "parties": len(alert.parties),
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
        "alerts": alerts,
        "badges": badges,
        "located": len(snapshot),
        "device_counts": counts,
        "silent": silent,
    }


Viewer = Annotated[Principal, require_page(Permission.VIEW_BOARD)]


async def _for(request: Request, runtime: Runtime, principal: Principal) -> dict[str, Any]:
    """The board as ``principal`` may see it: their units' alerts, the badges the privacy rule
    shows them (each view audited), and who they are (for the sign-out form)."""
    context = board_context(runtime)
    units = {a.id: a.unit for a in runtime.alerts.alerts.values()}
    context["alerts"] = [a for a in context["alerts"] if principal.sees_unit(units.get(a["id"]))]
    allowed = privacy.badge_filter(runtime, principal, privacy.window(request))
    if allowed is not None:
        context["badges"] = [b for b in context["badges"] if b["badge"] in allowed]
        context["located"] = len(context["badges"])
    shown = [b["badge"] for b in context["badges"]]
    await accounts_of(request).viewed(principal, privacy.wearers(runtime, shown), via="board")
    context["viewer"] = principal
    context["csrf"] = request.cookies.get(CSRF_COOKIE, "")
    return context


@router.get("/", response_class=HTMLResponse)
async def page(request: Request, runtime: RuntimeDep, principal: Viewer) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "dashboard.html", await _for(request, runtime, principal)
    )


@router.get("/dashboard/board", response_class=HTMLResponse)
async def board(request: Request, runtime: RuntimeDep, principal: Viewer) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "board.html", await _for(request, runtime, principal)
    )
