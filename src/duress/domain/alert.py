"""The alert lifecycle: one transition table, and the alert as a fold of its events.

::

    raised ──notify──► notified ──accept──► accepted ──arrive──► on_scene ──resolve──► resolved
       └──────────────────┴──────────────────┴──cancel──► cancelled

The table :data:`TRANSITIONS` is the single source of truth: every action on an alert is checked
against it (an illegal one raises :class:`~duress.domain.errors.IllegalTransition` and changes
nothing), and the diagram in ``docs/alerts.md`` is generated from it (:func:`mermaid`).

An alert's state is never stored as such: it is :func:`fold`-ed from the alert's events, so the
timeline and the state cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from duress.domain.errors import IllegalTransition
from duress.domain.events import (
    AlertAccepted,
    AlertAcknowledged,
    AlertCancelled,
    AlertDeclined,
    AlertJoined,
    AlertNotified,
    AlertOnScene,
    AlertRaised,
    AlertRelocated,
    AlertResolved,
    AlertUndelivered,
    BadgeSignalled,
    Event,
)
from duress.domain.routing import Policy, StopOn, policy_from_json


class AlertState(StrEnum):
    RAISED = "raised"
    NOTIFIED = "notified"
    ACCEPTED = "accepted"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self not in (AlertState.RESOLVED, AlertState.CANCELLED)


class Action(StrEnum):
    NOTIFY = "notify"
    ACCEPT = "accept"
    DECLINE = "decline"
    ACKNOWLEDGE = "acknowledge"
    ARRIVE = "arrive"
    RESOLVE = "resolve"
    CANCEL = "cancel"
    JOIN = "join"
    RELOCATE = "relocate"


S, A = AlertState, Action
_KEEP = (A.JOIN, A.RELOCATE, A.ACKNOWLEDGE)
TRANSITIONS: Mapping[AlertState, Mapping[Action, AlertState]] = {
    S.RAISED: {
        A.NOTIFY: S.NOTIFIED,
        A.ACCEPT: S.ACCEPTED,
        A.ARRIVE: S.ON_SCENE,
        A.RESOLVE: S.RESOLVED,
        A.CANCEL: S.CANCELLED,
        **dict.fromkeys(_KEEP, S.RAISED),
    },
    S.NOTIFIED: {
        A.NOTIFY: S.NOTIFIED,
        A.ACCEPT: S.ACCEPTED,
        A.DECLINE: S.NOTIFIED,
        A.ARRIVE: S.ON_SCENE,
        A.RESOLVE: S.RESOLVED,
        A.CANCEL: S.CANCELLED,
        **dict.fromkeys(_KEEP, S.NOTIFIED),
    },
    S.ACCEPTED: {
        A.NOTIFY: S.ACCEPTED,
        A.ACCEPT: S.ACCEPTED,
        A.DECLINE: S.ACCEPTED,
        A.ARRIVE: S.ON_SCENE,
        A.RESOLVE: S.RESOLVED,
        A.CANCEL: S.CANCELLED,
        **dict.fromkeys(_KEEP, S.ACCEPTED),
    },
    S.ON_SCENE: {
        A.ACCEPT: S.ON_SCENE,
        A.DECLINE: S.ON_SCENE,
        A.ARRIVE: S.ON_SCENE,
        A.RESOLVE: S.RESOLVED,
        **dict.fromkeys(_KEEP, S.ON_SCENE),
    },
    S.RESOLVED: {},
    S.CANCELLED: {},
}
"""For each state, the actions allowed in it and the state each leads to. Closed alerts allow none."""

RESOLUTION_CODES = ("event", "false_alarm", "accidental", "drill", "test", "recovered")
"""``recovered`` closes a supervision trouble alert whose problem cleared by itself."""
SEVERITIES = ("minor", "moderate", "major", "critical")


def next_state(state: AlertState, action: Action) -> AlertState:
    """The state ``action`` leads to from ``state``; raises IllegalTransition when not allowed."""
    allowed = TRANSITIONS[state]
    if action not in allowed:
        if not allowed:
            raise IllegalTransition(
                f"the alert is {state.value}: a closed alert cannot {action.value}"
            )
        choices = ", ".join(a.value for a in allowed)
        raise IllegalTransition(
            f"cannot {action.value} an alert that is {state.value}; allowed: {choices}"
        )
    return allowed[action]


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    kind: str
    priority: int
    mode: str
    badge: str
    press_seq: int
    staff: str | None
    staff_name: str | None
    role: str | None
    unit: str | None
    location: Mapping[str, Any]
    policy: Policy | None
    raised_at: datetime
    received_at: datetime
    notify_at: datetime
    state: AlertState = AlertState.RAISED
    tier: int = -1
    """The tier last notified (-1: none yet)."""
    round: int = 0
    next_at: datetime | None = None
    """When the next escalation step is due (None: none scheduled)."""
    notified: tuple[Mapping[str, Any], ...] = ()
    accepted_by: tuple[str, ...] = ()
    declined_by: tuple[str, ...] = ()
    on_scene_by: tuple[str, ...] = ()
    acknowledged_by: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    """Badges of everyone in this incident (the first presser first)."""
    undelivered: str | None = None
    resolution: str | None = None
    severity: str | None = None
    note: str = ""
    closed_at: datetime | None = None
    closed_by: str | None = None
    accepted_at: datetime | None = None
    on_scene_at: datetime | None = None
    first_notified_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state.is_open

    @property
    def escalation_stopped(self) -> bool:
        """True once the state the policy stops escalating at is reached (or the alert closed)."""
        if not self.is_open:
            return True
        stop_on = self.policy.stop_on if self.policy else StopOn.ACCEPTED
        if stop_on is StopOn.ON_SCENE:
            return self.state is AlertState.ON_SCENE
        return self.state in (AlertState.ACCEPTED, AlertState.ON_SCENE)

    @property
    def area(self) -> str | None:
        area = self.location.get("area")
        return str(area) if area is not None else None

    def allows(self, action: Action) -> bool:
        return action in TRANSITIONS[self.state]


def fold(events: Iterable[Event]) -> Alert | None:
    """The alert described by its events, in order (None when there is no ``alert.raised``)."""
    alert: Alert | None = None
    for event in events:
        alert = apply(alert, event)
    return alert


def apply(alert: Alert | None, event: Event) -> Alert | None:
    """One event folded into the alert. Events for a closed alert change nothing but the timeline."""
    if isinstance(event, AlertRaised):
        return Alert(
            id=event.alert,
            kind=event.kind,
            priority=event.priority,
            mode=event.mode,
            badge=event.badge,
            press_seq=event.press_seq,
            staff=event.staff,
            staff_name=event.staff_name,
            role=event.role,
            unit=event.unit,
            location=dict(event.location),
            policy=policy_from_json(event.policy) if event.policy is not None else None,
            raised_at=event.ts,
            received_at=event.received_at,
            notify_at=event.notify_at,
            next_at=event.notify_at,
            parties=(event.badge,),
        )
    if alert is None or isinstance(event, BadgeSignalled):
        return alert
    if isinstance(event, AlertNotified):
        return replace(
            alert,
            state=_moved(alert, Action.NOTIFY),
            tier=event.tier,
            round=event.round,
            next_at=event.next_at,
            notified=alert.notified + tuple(event.recipients),
            first_notified_at=alert.first_notified_at or event.ts,
        )
    if isinstance(event, AlertUndelivered):
        return replace(alert, undelivered=event.reason, next_at=None)
    if isinstance(event, AlertAccepted):
        return replace(
            alert,
            state=_moved(alert, Action.ACCEPT),
            accepted_by=_add(alert.accepted_by, event.by),
            accepted_at=alert.accepted_at or event.ts,
        )
    if isinstance(event, AlertDeclined):
        return replace(
            alert,
            state=_moved(alert, Action.DECLINE),
            declined_by=_add(alert.declined_by, event.by),
        )
    if isinstance(event, AlertAcknowledged):
        return replace(alert, acknowledged_by=_add(alert.acknowledged_by, event.by))
    if isinstance(event, AlertOnScene):
        return replace(
            alert,
            state=_moved(alert, Action.ARRIVE),
            on_scene_by=_add(alert.on_scene_by, event.by),
            on_scene_at=alert.on_scene_at or event.ts,
        )
    if isinstance(event, AlertResolved):
        return replace(
            alert,
            state=_moved(alert, Action.RESOLVE),
            resolution=event.code,
            severity=event.severity,
            note=event.note,
            closed_at=event.ts,
            closed_by=event.by,
            next_at=None,
        )
    if isinstance(event, AlertCancelled):
        return replace(
            alert,
            state=_moved(alert, Action.CANCEL),
            note=event.reason,
            closed_at=event.ts,
            closed_by=event.by,
            next_at=None,
        )
    if isinstance(event, AlertJoined):
        return replace(
            alert,
            parties=_add(alert.parties, event.badge),
            kind=event.kind,
            priority=event.priority,
        )
    if isinstance(event, AlertRelocated):
        return replace(alert, location=dict(event.location))
    return alert


def _moved(alert: Alert, action: Action) -> AlertState:
    # A stored event is a fact: if it no longer fits the table (written by another version), the
    # alert keeps its state rather than refusing its own history.
    return TRANSITIONS[alert.state].get(action, alert.state)


def _add(items: tuple[str, ...], item: str) -> tuple[str, ...]:
    return items if item in items else (*items, item)


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram, generated from :data:`TRANSITIONS`."""
    lines = ["stateDiagram-v2", "    [*] --> raised"]
    for state, actions in TRANSITIONS.items():
        by_target: dict[AlertState, list[str]] = {}
        for action, target in actions.items():
            if target is not state:
                by_target.setdefault(target, []).append(action.value)
        for target, names in by_target.items():
            lines.append(f"    {state.value} --> {target.value}: {', '.join(names)}")
    lines += ["    resolved --> [*]", "    cancelled --> [*]"]
    return "\n".join(lines) + "\n"


def transition_table_markdown() -> str:
    """The table as Markdown: for each state, the actions that keep it and those that move it."""
    rows = ["| state | allowed actions (→ new state) |", "|---|---|"]
    for state, actions in TRANSITIONS.items():
        cells = [
            f"`{a.value}`" + (f" → `{t.value}`" if t is not state else "")
            for a, t in actions.items()
        ]
        rows.append(f"| `{state.value}` | {', '.join(cells) if cells else 'none (closed)'} |")
    return "\n".join(rows) + "\n"
