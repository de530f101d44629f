"""The alerts API: list and filter alerts, read one with its timeline, and act on it.

Every action is recorded with the acting person (``by``: the signed-in user's staff id or name, or
the token; never taken from the body) and the way they acted (``via``). Actions not allowed in the
alert's state answer 409 with what is allowed, and change nothing. A unit manager sees and acts on
their units' alerts only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from duress.domain.accounts import Forbidden, Permission, Principal
from duress.domain.alert import Action, Alert
from duress.domain.commands import ActOnAlert
from duress.domain.events import Subject, SubjectKind
from duress.web import privacy
from duress.web.api import EventOut
from duress.web.auth import accounts_of, require
from duress.web.deps import RuntimeDep

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
Reader = Annotated[Principal, require(Permission.READ_ALERTS)]
Actor = Annotated[Principal, require(Permission.ACT_ALERTS)]


class AlertOut(BaseModel):
    id: str
    state: str
    kind: str
    priority: int
    mode: str
    badge: str
    staff: str | None
    staff_name: str | None
    role: str | None
    unit: str | None
    location: dict[str, Any]
    policy: str | None
    raised_at: str
    tier: int
    round: int
    next_at: str | None
    notified: list[dict[str, Any]]
    accepted_by: list[str]
    declined_by: list[str]
    on_scene_by: list[str]
    acknowledged_by: list[str]
    parties: list[str]
    undelivered: str | None
    resolution: str | None
    severity: str | None
    note: str
    closed_at: str | None
    seconds_to_accept: float | None = Field(description="From raised to the first accept.")
    seconds_to_scene: float | None = Field(
        description="From raised to the first responder on scene."
    )

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        def iso(value: Any) -> str | None:
            return value.isoformat() if value is not None else None

        def since_raised(value: Any) -> float | None:
            return round((value - alert.raised_at).total_seconds(), 3) if value else None

        return cls(
            id=alert.id,
            state=alert.state.value,
            kind=alert.kind,
            priority=alert.priority,
            mode=alert.mode,
            badge=alert.badge,
            staff=alert.staff,
            staff_name=alert.staff_name,
            role=alert.role,
            unit=alert.unit,
            location=dict(alert.location),
            policy=alert.policy.id if alert.policy else None,
            raised_at=alert.raised_at.isoformat(),
            tier=alert.tier,
            round=alert.round,
            next_at=iso(alert.next_at),
            notified=[dict(r) for r in alert.notified],
            accepted_by=list(alert.accepted_by),
            declined_by=list(alert.declined_by),
            on_scene_by=list(alert.on_scene_by),
            acknowledged_by=list(alert.acknowledged_by),
            parties=list(alert.parties),
            undelivered=alert.undelivered,
            resolution=alert.resolution,
            severity=alert.severity,
            note=alert.note,
            closed_at=iso(alert.closed_at),
            seconds_to_accept=since_raised(alert.accepted_at),
            seconds_to_scene=since_raised(alert.on_scene_at),
        )


class AlertWithTimeline(AlertOut):
    timeline: list[EventOut]


class ActionIn(BaseModel):
    """Who acts is the authenticated caller; a ``by`` in the body is ignored."""

    via: str = Field(default="api", max_length=32, description="How: api, dashboard, a channel.")
    note: str = Field(default="", max_length=2000)


class ResolveIn(ActionIn):
    code: Literal["event", "false_alarm", "accidental", "drill", "test", "recovered"]
    severity: Literal["minor", "moderate", "major", "critical"] | None = Field(
        default=None, description="Required when code is `event`."
    )


class CancelIn(ActionIn):
    note: str = Field(min_length=1, max_length=2000, description="Why it is cancelled.")


@router.get("", summary="List alerts, most urgent and oldest first")
async def list_alerts(
    request: Request,
    runtime: RuntimeDep,
    principal: Reader,
    state: Annotated[Literal["open", "closed", "all"], Query()] = "open",
    unit: Annotated[str | None, Query()] = None,
    kind: Annotated[str | None, Query()] = None,
    mode: Annotated[Literal["real", "drill", "test"] | None, Query()] = None,
) -> list[AlertOut]:
    found = list(runtime.alerts.alerts.values())
    if state != "all":
        found = [a for a in found if a.is_open == (state == "open")]
    found = [
        a
        for a in found
        if principal.sees_unit(a.unit)
        and (unit is None or a.unit == unit)
        and (kind is None or a.kind == kind)
        and (mode is None or a.mode == mode)
    ]
    found.sort(key=lambda a: (not a.is_open, a.priority, a.raised_at))
    await _viewed(request, runtime, principal, found)
    return [AlertOut.of(a) for a in found]


async def _viewed(
    request: Request, runtime: Any, principal: Principal, alerts: list[Alert]
) -> None:
    """Audit the live locations shown: open alerts, and closed ones within the privacy window."""
    visible = privacy.badge_filter(runtime, principal, privacy.window(request))
    shown = [
        (a.badge, a.staff)
        for a in alerts
        if a.location and (visible is None or a.badge in visible) and a.is_open
    ]
    await accounts_of(request).viewed(principal, shown, via="alert")


def _check_unit(principal: Principal, alert: Alert) -> None:
    if not principal.sees_unit(alert.unit):
        raise Forbidden(
            f"alert {alert.id} is not in your units ({', '.join(sorted(principal.units))})"
        )


@router.get("/{alert_id}", summary="One alert with its whole timeline")
async def get_alert(
    alert_id: str, request: Request, runtime: RuntimeDep, principal: Reader
) -> AlertWithTimeline:
    alert = runtime.alerts.get(alert_id)
    _check_unit(principal, alert)
    await _viewed(request, runtime, principal, [alert])
    events = await runtime.read(subject=Subject(SubjectKind.ALERT, alert_id), limit=10_000)
    return AlertWithTimeline(
        **AlertOut.of(alert).model_dump(), timeline=[EventOut.of(e) for e in events]
    )


async def _act(
    runtime: Any, principal: Principal, alert_id: str, action: Action, body: ActionIn, **extra: Any
) -> AlertOut:
    _check_unit(principal, runtime.alerts.get(alert_id))
    result = await runtime.bus.handle(
        ActOnAlert(alert_id, action, by=principal.actor, via=body.via, note=body.note, **extra)
    )
    return AlertOut.of(result.alert)


@router.post("/{alert_id}/accept", summary="Accept: I am going")
async def accept(alert_id: str, body: ActionIn, runtime: RuntimeDep, principal: Actor) -> AlertOut:
    return await _act(runtime, principal, alert_id, Action.ACCEPT, body)


@router.post("/{alert_id}/decline", summary="Decline: I cannot go")
async def decline(alert_id: str, body: ActionIn, runtime: RuntimeDep, principal: Actor) -> AlertOut:
    return await _act(runtime, principal, alert_id, Action.DECLINE, body)


@router.post("/{alert_id}/acknowledge", summary="Acknowledge at the desk (silences the board)")
async def acknowledge(
    alert_id: str, body: ActionIn, runtime: RuntimeDep, principal: Actor
) -> AlertOut:
    return await _act(runtime, principal, alert_id, Action.ACKNOWLEDGE, body)


@router.post("/{alert_id}/on-scene", summary="A responder is on scene")
async def on_scene(
    alert_id: str, body: ActionIn, runtime: RuntimeDep, principal: Actor
) -> AlertOut:
    return await _act(runtime, principal, alert_id, Action.ARRIVE, body)


@router.post("/{alert_id}/resolve", summary="Resolve with what it was")
async def resolve(
    alert_id: str, body: ResolveIn, runtime: RuntimeDep, principal: Actor
) -> AlertOut:
    return await _act(
        runtime, principal, alert_id, Action.RESOLVE, body, code=body.code, severity=body.severity
    )


@router.post("/{alert_id}/cancel", summary="Cancel, with the reason")
async def cancel(alert_id: str, body: CancelIn, runtime: RuntimeDep, principal: Actor) -> AlertOut:
    return await _act(runtime, principal, alert_id, Action.CANCEL, body)
