"""The responder's phone view: the alerts sent to me, plain directions, accept / decline / on scene.

"Sent to me": the signed-in user is linked to a staff id (``duress users add --staff``) and that id is
among an open alert's notified recipients, or has accepted or arrived. The page listens to the event
stream like the board and re-fetches ``/respond/list``; the buttons call the alerts API (``via:
responder``) with the session's CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from duress.domain.accounts import Permission, Principal
from duress.domain.alert import Alert
from duress.service.runtime import Runtime
from duress.web.alert_view import alert_views
from duress.web.auth import require_page
from duress.web.dashboard import audit_alert_locations, common, templates, visible_alerts
from duress.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, require_page(Permission.READ_ALERTS)]


def sent_to(alert: Alert, staff: str) -> bool:
    return (
        any(str(r.get("id")) == staff for r in alert.notified)
        or staff in alert.accepted_by
        or staff in alert.on_scene_by
    )


def _answer(alert: Alert, me: str) -> str:
    if me in alert.on_scene_by:
        return "on scene"
    if me in alert.accepted_by:
        return "accepted"
    if me in alert.declined_by:
        return "declined"
    return ""


async def _context(request: Request, runtime: Runtime, principal: Principal) -> dict[str, Any]:
    mine: list[Alert] = []
    if principal.staff:
        mine = [a for a in visible_alerts(runtime, principal) if sent_to(a, principal.staff)]
    await audit_alert_locations(request, runtime, principal, mine, via="alert")
    views = await alert_views(runtime, mine)
    me = principal.staff or ""
    staff = runtime.site.staff.get(me)
    return {
        **common(request, principal),
        "site": runtime.site,
        "alerts": views,
        "me": me,
        "my_name": staff.name if staff else principal.name,
        "linked": bool(principal.staff),
        "mine": {a.id: _answer(a, me) for a in mine},
    }


@router.get("/respond", response_class=HTMLResponse)
async def page(request: Request, runtime: RuntimeDep, principal: Reader) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "respond.html", await _context(request, runtime, principal)
    )


@router.get("/respond/list", response_class=HTMLResponse)
async def fragment(request: Request, runtime: RuntimeDep, principal: Reader) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "respond_list.html", await _context(request, runtime, principal)
    )
