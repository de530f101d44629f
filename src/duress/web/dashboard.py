"""The security desk's live board and the floor map.

Server-rendered HTML. The page's script (``static/duress.js``, no build step) listens to the event
stream and re-fetches the fragments (``/dashboard/board``, ``/dashboard/map``) when something changes,
at most four times a second; it rings the alarm and flashes a card until someone at the desk
acknowledges it. Actions go to the alerts API with the session's CSRF token.

Routes (all HTML, left out of the OpenAPI schema, documented in docs/dashboard.md and docs/api.md):
``/`` (the board), ``/dashboard/board`` and ``/dashboard/map`` (fragments), ``/map`` (the map alone,
for a wall screen), ``/dashboard/alerts/{id}/assign`` (GET: the pick list; POST: assign).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import BaseModel, Field

from duress.domain.accounts import Forbidden, Permission, Principal
from duress.domain.alert import Action, Alert
from duress.domain.device_health import DeviceStatus
from duress.domain.errors import IllegalTransition, InvalidMessage
from duress.service.runtime import Runtime
from duress.web import privacy
from duress.web.alert_view import AlertView, ago, alert_views, person
from duress.web.auth import CSRF_COOKIE, accounts_of, require, require_page
from duress.web.deps import RuntimeDep
from duress.web.floor_map import DeviceMark, Highlight, render_floor

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["pct"] = lambda v: "" if v is None else f"{v * 100:.0f}%"
templates.env.filters["words"] = lambda v: str(v).replace("_", " ")
router = APIRouter(include_in_schema=False)
BOARD_ROWS = 200
ASSIGN_VIA = "dashboard-assign"

Viewer = Annotated[Principal, require_page(Permission.VIEW_BOARD)]
Actor = Annotated[Principal, require(Permission.ACT_ALERTS)]


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def visible_alerts(runtime: Runtime, principal: Principal) -> list[Alert]:
    """The open alerts of the principal's units."""
    return [a for a in runtime.alerts.open_alerts() if principal.sees_unit(a.unit)]


async def audit_alert_locations(
    request: Request, runtime: Runtime, principal: Principal, alerts: list[Alert], via: str
) -> None:
    """An open alert's location is shown with it: record the view (at most once a minute each)."""
    if not principal.can(Permission.READ_LOCATIONS):
        return
    shown = [(a.badge, a.staff) for a in alerts if a.location and a.staff]
    await accounts_of(request).viewed(principal, shown, via=via)


def common(request: Request, principal: Principal) -> dict[str, Any]:
    return {
        "viewer": principal,
        "csrf": request.cookies.get(CSRF_COOKIE, ""),
        "can_act": principal.can(Permission.ACT_ALERTS),
        "can_devices": principal.can(Permission.READ_DEVICES),
    }


async def board_context(request: Request, runtime: Runtime, principal: Principal) -> dict[str, Any]:
    """The board as ``principal`` may see it: their units' alerts, the badges the privacy rule shows
    them (each view audited), device health counts."""
    now = runtime.clock.now()
    site = runtime.site
    alerts = visible_alerts(runtime, principal)
    views = await alert_views(runtime, alerts)
    await audit_alert_locations(request, runtime, principal, alerts, via="board")
    badges: list[dict[str, Any]] = []
    if principal.can(Permission.READ_LOCATIONS):
        snapshot = privacy.visible_locations(
            runtime, principal, runtime.locator.snapshot(now), privacy.window(request)
        )
        for badge_id in sorted(snapshot)[:BOARD_ROWS]:
            staff = site.wearer(badge_id)
            badges.append(
                {"badge": badge_id, "who": staff.name if staff else "", **snapshot[badge_id]}
            )
        shown = [b["badge"] for b in badges]
        await accounts_of(request).viewed(principal, privacy.wearers(runtime, shown), via="board")
    states = list(runtime.health.states())
    counts = {s.value: sum(1 for d in states if d.status is s) for s in DeviceStatus}
    troubled = [
        {"device": d.device, "status": d.status.value, "age": ago(now, d.last_seen)}
        for d in states
        if d.status in (DeviceStatus.SILENT, DeviceStatus.OFFLINE, DeviceStatus.UNSUPERVISED)
    ]
    return {
        **common(request, principal),
        "site": site,
        "now": now,
        "alerts": views,
        "degraded": runtime.degraded,
        "unacked": sum(1 for v in views if not v.acked),
        "badges": badges,
        "located": len(badges),
        "device_counts": counts,
        "troubled": troubled[:50],
        "troubled_total": len(troubled),
    }


def map_context(
    runtime: Runtime,
    principal: Principal,
    views: list[AlertView],
    *,
    floor: str | None,
    selected: str | None,
    devices: bool,
) -> dict[str, Any]:
    """One floor's SVG with the alerts on it, the selected alert's trail and (for engineers)
    device status. The floor: the one asked for, else the selected (or most urgent) alert's."""
    facility = runtime.site.facility
    chosen = next((v for v in views if v.id == selected), None)
    if chosen is None:
        chosen = next((v for v in views if v.floor in facility.floors), None)
    if floor not in facility.floors:
        floor = chosen.floor if chosen and chosen.floor in facility.floors else None
    floors = sorted(facility.floors.values(), key=lambda f: (f.level, f.id))
    if floor is None and floors:
        floor = floors[0].id
    show_devices = devices and principal.can(Permission.READ_DEVICES)
    svg = ""
    on_floor = [v for v in views if v.floor == floor and v.area]
    if floor is not None:
        highlights = [
            Highlight(
                area=str(v.area),
                tone=f"{v.tone}{' selected' if chosen and v.id == chosen.id else ''}",
                label=f"{v.who} · {v.elapsed}",
                alert=v.id,
                stale=v.stale,
                precise=v.precise,
            )
            for v in sorted(on_floor, key=lambda v: chosen is not None and v.id == chosen.id)
        ]
        marks: list[DeviceMark] = []
        if show_devices:
            now = runtime.clock.now()
            for device in runtime.site.devices.values():
                if device.floor != floor or device.id not in runtime.health:
                    continue
                state = runtime.health.state(device.id)
                detail = f"last heard {ago(now, state.last_seen)}"
                if state.battery is not None:
                    detail += f", battery {state.battery:.0f}%"
                marks.append(DeviceMark(device, state.status.value, detail))
        trail = chosen.trail if chosen and chosen.floor == floor else []
        svg = render_floor(
            facility,
            floor,
            highlights=highlights,
            trail=trail,
            devices=marks,
            title=f"{facility.floors[floor].name}: floor map",
        )
    return {
        "floors": floors,
        "floor": floor,
        "selected": chosen.id if chosen else None,
        "chosen": chosen,
        "devices": show_devices,
        "svg": Markup(svg),  # built from escaped parts by duress.web.floor_map
        "elsewhere": [
            {"id": v.id, "who": v.who, "floor": v.floor}
            for v in views
            if v.floor != floor and v.floor in facility.floors
        ],
    }


async def _map(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    floor: str | None,
    alert: str | None,
    devices: bool,
) -> dict[str, Any]:
    alerts = visible_alerts(runtime, principal)
    views = await alert_views(runtime, alerts)
    await audit_alert_locations(request, runtime, principal, alerts, via="board")
    return {
        **common(request, principal),
        "site": runtime.site,
        **map_context(runtime, principal, views, floor=floor, selected=alert, devices=devices),
    }


Floor = Annotated[str | None, Query(max_length=64)]
AlertId = Annotated[str | None, Query(max_length=64)]
Devices = Annotated[bool, Query()]


@router.get("/", response_class=HTMLResponse)
async def page(
    request: Request,
    runtime: RuntimeDep,
    principal: Viewer,
    floor: Floor = None,
    alert: AlertId = None,
    devices: Devices = False,
) -> HTMLResponse:
    context = await board_context(request, runtime, principal)
    context.update(
        map_context(
            runtime, principal, context["alerts"], floor=floor, selected=alert, devices=devices
        )
    )
    return templates.TemplateResponse(request, "dashboard.html", context)


@router.get("/dashboard/board", response_class=HTMLResponse)
async def board(request: Request, runtime: RuntimeDep, principal: Viewer) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "board.html", await board_context(request, runtime, principal)
    )


@router.get("/dashboard/map", response_class=HTMLResponse)
async def map_fragment(
    request: Request,
    runtime: RuntimeDep,
    principal: Viewer,
    floor: Floor = None,
    alert: AlertId = None,
    devices: Devices = False,
) -> HTMLResponse:
    """The map fragment the board swaps in."""
    return await _map_response("map.html", request, runtime, principal, floor, alert, devices)


@router.get("/map", response_class=HTMLResponse)
async def map_page(
    request: Request,
    runtime: RuntimeDep,
    principal: Viewer,
    floor: Floor = None,
    alert: AlertId = None,
    devices: Devices = False,
) -> HTMLResponse:
    """The map alone, for a wall screen."""
    return await _map_response("map_page.html", request, runtime, principal, floor, alert, devices)


async def _map_response(
    template: str,
    request: Request,
    runtime: Runtime,
    principal: Principal,
    floor: str | None,
    alert: str | None,
    devices: bool,
) -> HTMLResponse:
    context = await _map(request, runtime, principal, floor, alert, devices)
    return templates.TemplateResponse(request, template, context)


# --- assign ----------------------------------------------------------------------------------------


def _candidates(runtime: Runtime, alert: Alert) -> list[dict[str, str]]:
    """Who can be assigned: those notified first (in the order paged), then every responder."""
    site = runtime.site
    out: dict[str, dict[str, str]] = {}
    for r in alert.notified:
        rid = str(r.get("id"))
        if rid in site.staff and rid not in out:
            out[rid] = {"id": rid, "name": person(site, rid), "why": str(r.get("reason") or "")}
    for staff in sorted(site.staff.values(), key=lambda s: s.name):
        if staff.responder and staff.id not in out:
            out[staff.id] = {
                "id": staff.id,
                "name": staff.name,
                "why": staff.role.replace("_", " "),
            }
    return [c for c in out.values() if c["id"] not in alert.accepted_by]


def _alert_for(runtime: Runtime, principal: Principal, alert_id: str) -> Alert:
    alert = runtime.alerts.get(alert_id)  # NotFound: 404
    if not principal.sees_unit(alert.unit):
        raise Forbidden(f"alert {alert.id} is not in your units")
    return alert


@router.get("/dashboard/alerts/{alert_id}/assign", response_class=HTMLResponse)
async def assign_choices(
    alert_id: str, request: Request, runtime: RuntimeDep, principal: Viewer
) -> HTMLResponse:
    alert = _alert_for(runtime, principal, alert_id)
    return templates.TemplateResponse(
        request, "assign.html", {"alert": alert, "candidates": _candidates(runtime, alert)}
    )


class AssignIn(BaseModel):
    staff: str = Field(max_length=64, description="The staff id of the responder to send.")
    note: str = Field(default="", max_length=2000)


@router.post("/dashboard/alerts/{alert_id}/assign")
async def assign(
    alert_id: str, body: AssignIn, request: Request, runtime: RuntimeDep, principal: Actor
) -> dict[str, Any]:
    """Send a responder: recorded as ``alert.accepted`` by that responder ``via: dashboard-assign``,
    after an ``alert.acknowledged`` by the desk operator who assigned (so the log says who did it)."""
    alert = _alert_for(runtime, principal, alert_id)
    if body.staff not in runtime.site.staff:
        raise InvalidMessage(
            "unknown_staff", f"no staff member {body.staff!r} in this site; pick one"
        )
    if not alert.allows(Action.ACCEPT):
        allowed = ", ".join(a.value for a in Action if alert.allows(a)) or "nothing (closed)"
        raise IllegalTransition(
            f"cannot assign an alert that is {alert.state.value}; allowed: {allowed}"
        )
    if principal.actor not in alert.acknowledged_by:
        await runtime.alerts.act(alert_id, Action.ACKNOWLEDGE, by=principal.actor, via="dashboard")
    result = await runtime.alerts.act(
        alert_id, Action.ACCEPT, by=body.staff, via=ASSIGN_VIA, note=body.note
    )
    return {"id": result.alert.id, "state": result.alert.state.value, "assigned": body.staff}
