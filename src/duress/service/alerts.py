"""The alert desk: presses become alerts, alerts escalate in seconds, actions move them along.

Decisions are the domain's (activation, routing, escalation, the transition table); this module
sequences them with the store and the outside world:

1. *Decide* (no side effect): a press yields ``alert.raised`` + the first ``alert.notified`` (or a join
   of an open alert), appended in the same transaction as the press itself, so that one fsync covers
   both and the press is durable before anybody is paged.
2. *Commit*: the runtime appends the events.
3. *Adopt*: the committed events are folded into the open alerts, timers are armed at each alert's
   ``next_at``, and notices go to the delivery layer.

After a restart, :meth:`AlertDesk.replay` folds every alert's events back, re-arms the timers (a due
step runs at once) and re-sends the notices of the latest step that have no recorded status, under
the same idempotency keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from duress.channels.hl7_source_mapping import ExternalPress, SourceAction
from duress.domain.activation import TEST_KIND
from duress.domain.alert import Action, Alert, AlertState, apply, next_state
from duress.domain.errors import IllegalTransition, InvalidMessage, NotFound
from duress.domain.escalation import Step, first_step, next_step
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
    BadgeMoved,
    BadgeSignalled,
    ButtonPressed,
    Event,
    NoticeStatusChanged,
    PressUnmatched,
    StoredEvent,
    decode,
)
from duress.domain.notification import DeliveryStatus, EventPhase, Notice
from duress.domain.people import BadgeKind
from duress.domain.recipients import AlertPlace, Position, position_of_area, resolve_tier
from duress.domain.routing import TargetKind, Tier, policy_to_json, select_policy
from duress.domain.site import Site
from duress.domain.supervision import TROUBLE_KIND, TROUBLE_PRIORITY
from duress.service.alert_table import AlertTable
from duress.service.clock import Clock
from duress.service.escalation import Escalation, fold_records, timers_for
from duress.service.locating import BadgeLocator
from duress.service.paging import Paging
from duress.service.scheduler import Scheduler
from duress.store.base import Timer

log = structlog.get_logger(__name__)

GROUPING_WINDOW = timedelta(seconds=60)
"""Presses by different people in the same room within this time are one incident."""

Record = Callable[..., Awaitable[list[StoredEvent]]]
"""``record(events, timers=None)``: commit events (and timer changes) durably, then publish."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    alert: Alert
    events: list[StoredEvent]


class AlertDesk:
    def __init__(
        self,
        *,
        site: Site,
        clock: Clock,
        locator: BadgeLocator,
        scheduler: Scheduler,
        record: Record,
        record_bulk: Callable[[Sequence[Event]], Awaitable[list[StoredEvent]]],
        claim: Callable[[datetime], Awaitable[list[Timer]]],
        load: Callable[[str], Awaitable[list[StoredEvent]]],
        dispatch: Callable[[Sequence[Notice]], object],
        new_id: Callable[[], str] | None = None,
        reply_url: str | None = None,
    ) -> None:
        self.site = site
        self.clock = clock
        self.locator = locator
        self.scheduler = scheduler
        self._record = record
        self.escalation = Escalation(self, scheduler=scheduler, claim=claim)
        self._load = load
        self._new_id = new_id or (lambda: "a-" + uuid.uuid4().hex[:12])
        self._zone = ZoneInfo(site.facility.timezone)
        self.alerts = AlertTable()
        """Open alerts, and closed ones for an hour (the board shows recent history)."""
        self.paging = Paging(
            site=site,
            alerts=self.alerts,
            dispatch=dispatch,
            record_bulk=record_bulk,
            act=self.act,
            reply_url=reply_url,
        )
        self._responder_badges = [
            b
            for b in site.badges.values()
            if b.staff is not None and b.staff in site.staff and site.staff[b.staff].responder
        ]

    # --- queries ----------------------------------------------------------------------------

    def open_alerts(self) -> list[Alert]:
        """Open alerts, most urgent first, then oldest first."""
        return sorted(self.alerts.get_open(), key=lambda a: (a.priority, a.raised_at))

    def get(self, alert_id: str) -> Alert:
        alert = self.alerts.get(alert_id)
        if alert is None:
            raise NotFound("alert", alert_id)
        return alert

    def open_for_badge(self, badge: str) -> Alert | None:
        for alert in self.alerts.get_open():
            if badge in alert.parties:
                return alert
        return None

    # --- presses ----------------------------------------------------------------------------

    def decide_press(self, press: ButtonPressed, scratch: dict[str, Alert]) -> list[Event]:
        """The events a stored press leads to, folded into ``scratch`` (a working copy of the open
        alerts, so several presses in one batch see each other)."""
        now = self.clock.now()
        badge = self.site.badges.get(press.badge)
        wearer = self.site.wearer(press.badge)
        located = dict(self.locator.where(press.badge, now) or {})
        unit = located.get("unit") or (wearer.home_unit if wearer else None)
        rules = self.site.activation.rules_for(unit)
        pattern = rules.classify(press.presses, press.hold_s)
        if pattern is None:
            return [
                PressUnmatched(
                    ts=now,
                    badge=press.badge,
                    seq=press.seq,
                    presses=press.presses,
                    hold_s=press.hold_s,
                    unit=unit,
                )
            ]
        is_test = badge is not None and badge.kind is BadgeKind.TEST
        kind = TEST_KIND if is_test else pattern.kind
        existing = self._joinable(
            press.badge, located.get("room") or located.get("area"), scratch, now
        )
        if existing is not None:
            upgrade = pattern.priority < existing.priority and not is_test
            events: list[Event] = [
                AlertJoined(
                    ts=now,
                    alert=existing.id,
                    badge=press.badge,
                    press_seq=press.seq,
                    staff=wearer.id if wearer else None,
                    kind=kind if upgrade else existing.kind,
                    priority=pattern.priority if upgrade else existing.priority,
                ),
                BadgeSignalled(ts=now, badge=press.badge, signal="received", alert=existing.id),
            ]
            _fold_into(scratch, events)
            return events
        location = _location_fields(located)
        area_chain = self._area_chain(location.get("area"))
        policy = select_policy(
            self.site.policies,
            unit=unit,
            areas=area_chain,
            kind=kind,
            local=now.astimezone(self._zone),
            holidays=self.site.holidays,
        )
        notify_at = now + timedelta(seconds=rules.cancel_window_s)
        alert_id = self._new_id()
        raised = AlertRaised(
            ts=now,
            alert=alert_id,
            kind=kind,
            priority=pattern.priority,
            mode="test" if is_test else "real",
            badge=press.badge,
            press_seq=press.seq,
            staff=wearer.id if wearer else None,
            staff_name=wearer.name if wearer else None,
            role=wearer.role if wearer else None,
            unit=unit,
            location=location,
            policy=policy_to_json(policy) if policy else None,
            notify_at=notify_at,
            received_at=press.received_at,
        )
        events = [
            raised,
            BadgeSignalled(ts=now, badge=press.badge, signal="received", alert=alert_id),
        ]
        _fold_into(scratch, events)
        if notify_at <= now:
            events += self._step_events(scratch[alert_id], now, first=True, scratch=scratch)
        return events

    def _joinable(
        self, badge: str, room: Any, scratch: Mapping[str, Alert], now: datetime
    ) -> Alert | None:
        for alert in scratch.values():
            if alert.is_open and badge in alert.parties:
                return alert
        if room is None:
            return None
        for alert in scratch.values():
            same_room = alert.location.get("room") == room or alert.location.get("area") == room
            if alert.is_open and same_room and now - alert.raised_at <= GROUPING_WINDOW:
                return alert
        return None

    def _area_chain(self, area: Any) -> list[str]:
        chain: list[str] = []
        areas = self.site.facility.areas
        current = areas.get(str(area)) if area is not None else None
        while current is not None and current.id not in chain:
            chain.append(current.id)
            current = areas.get(current.parent) if current.parent else None
        return chain

    # --- escalation -------------------------------------------------------------------------

    def _step_events(
        self, alert: Alert, now: datetime, *, first: bool, scratch: dict[str, Alert]
    ) -> list[Event]:
        resolve = self._resolver(alert, now, scratch)
        step = first_step(alert, resolve, now) if first else next_step(alert, resolve, now)
        events = _events_of_step(alert, step, now)
        _fold_into(scratch, events)
        return events

    def _resolver(
        self, alert: Alert, now: datetime, alerts: Mapping[str, Alert]
    ) -> Callable[[Tier], list[Any]]:
        place = AlertPlace(alert.unit, position_of_area(self.site, alert.area))
        exclude = {alert.staff} if alert.staff else set()
        nearby: dict[str, Position] = {}
        busy: set[str] = set()
        located = False

        def resolve(tier: Tier) -> list[Any]:
            nonlocal located
            if not located and any(t.kind is TargetKind.PROXIMITY for t in tier.targets):
                # Where responders are, and who is busy, only matters for proximity targets.
                nearby.update(self._responder_positions(now))
                busy.update(
                    person
                    for other in alerts.values()
                    if other.is_open and other.id != alert.id
                    for person in (*other.accepted_by, *other.on_scene_by)
                )
                located = True
            return resolve_tier(
                tier,
                site=self.site,
                place=place,
                at=now,
                responders=nearby,
                busy=busy,
                exclude=exclude,
            )

        return resolve

    def _responder_positions(self, now: datetime) -> dict[str, Position]:
        positions: dict[str, Position] = {}
        for badge in self._responder_badges:
            fields = self.locator.where(badge.id, now)
            if fields is None or fields.get("stale") or badge.staff is None:
                continue
            position = position_of_area(self.site, fields.get("area"))
            if position is not None:
                positions[badge.staff] = position
        return positions

    # --- actions ----------------------------------------------------------------------------

    async def act(
        self,
        alert_id: str,
        action: Action,
        *,
        by: str,
        via: str = "api",
        code: str | None = None,
        severity: str | None = None,
        note: str = "",
    ) -> ActionResult:
        """Accept, decline, acknowledge, mark on scene, resolve or cancel an alert.

        Raises NotFound, IllegalTransition (closed alert, or not allowed now; nothing changes) or
        InvalidMessage (a bad resolution code)."""
        alert = fold_records(await self._load(alert_id)) or self.get(alert_id)
        self.alerts[alert_id] = alert  # what every instance has recorded, not only this one
        next_state(alert.state, action)  # raises IllegalTransition, changing nothing
        now = self.clock.now()
        events = self._action_events(
            alert, action, now, by=by, via=via, code=code, severity=severity, note=note
        )
        scratch = self.alerts.working_copy()
        _fold_into(scratch, events)
        stored = await self._record(events, timers_for(events, scratch))
        return ActionResult(self.alerts[alert_id], stored)

    def _action_events(
        self,
        alert: Alert,
        action: Action,
        now: datetime,
        *,
        by: str,
        via: str,
        code: str | None,
        severity: str | None,
        note: str,
    ) -> list[Event]:
        from duress.domain.alert import RESOLUTION_CODES, SEVERITIES

        if action is Action.ACCEPT:
            events: list[Event] = [AlertAccepted(ts=now, alert=alert.id, by=by, via=via)]
            if not alert.accepted_by:
                events += [
                    BadgeSignalled(ts=now, badge=b, signal="responder_coming", alert=alert.id)
                    for b in _badges_of(alert)
                ]
            return events
        if action is Action.DECLINE:
            return [AlertDeclined(ts=now, alert=alert.id, by=by, via=via)]
        if action is Action.ACKNOWLEDGE:
            return [AlertAcknowledged(ts=now, alert=alert.id, by=by)]
        if action is Action.ARRIVE:
            return [AlertOnScene(ts=now, alert=alert.id, by=by, via=via)]
        if action is Action.RESOLVE:
            if code not in RESOLUTION_CODES:
                raise InvalidMessage(
                    "bad_resolution",
                    f"resolution code {code!r} is not one of {', '.join(RESOLUTION_CODES)}",
                )
            if code == "event" and severity not in SEVERITIES:
                raise InvalidMessage(
                    "bad_severity",
                    f"a real event needs a severity: one of {', '.join(SEVERITIES)}",
                )
            return [
                AlertResolved(
                    ts=now,
                    alert=alert.id,
                    by=by,
                    code=code,
                    severity=severity if code == "event" else None,
                    note=note,
                )
            ]
        if action is Action.CANCEL:
            if not note.strip():
                raise InvalidMessage("missing_reason", "say why the alert is cancelled (note)")
            return [
                AlertCancelled(
                    ts=now, alert=alert.id, by=by, reason=note, notified=bool(alert.notified)
                )
            ]
        raise IllegalTransition(f"{action.value} is not an action people take on an alert")

    async def raise_trouble(
        self,
        *,
        subject: str,
        trouble: str,
        description: str,
        unit: str | None = None,
        floor: str | None = None,
        area: str | None = None,
    ) -> Alert:
        """Raise a supervision ``trouble`` alert for engineering (docs/supervision.md).

        ``subject`` names what is in trouble (``device:<id>``, ``badge:<id>``, ``site:synthetic``;
        never a bare badge id, so no press ever joins it) and ``trouble`` what is wrong (``silent``,
        ``offline``, ``battery_low``, ...). Mode ``real``, priority :data:`TROUBLE_PRIORITY`, routed
        only by policies that name the ``trouble`` kind (never a clinical policy); ``description``
        is what the notices say (carried as the alert's ``staff_name``)."""
        now = self.clock.now()
        policy = select_policy(
            self.site.policies,
            unit=unit,
            areas=self._area_chain(area),
            kind=TROUBLE_KIND,
            local=now.astimezone(self._zone),
            holidays=self.site.holidays,
        )
        alert_id = self._new_id()
        location = {"floor": floor, "unit": unit, "precision": "unknown", "device_area": area}
        raised = AlertRaised(
            ts=now,
            alert=alert_id,
            kind=TROUBLE_KIND,
            priority=TROUBLE_PRIORITY,
            mode="real",
            badge=subject,
            press_seq=0,
            staff=None,
            staff_name=description,
            role=None,
            unit=unit,
            location={**location, "subject": subject, "trouble": trouble},
            policy=policy_to_json(policy) if policy else None,
            notify_at=now,
            received_at=now,
        )
        scratch = self.alerts.working_copy()
        events: list[Event] = [raised]
        _fold_into(scratch, events)
        events += self._step_events(scratch[alert_id], now, first=True, scratch=scratch)
        await self._record(events, timers_for(events, scratch))
        return self.alerts[alert_id]

    async def take_external(self, press: ExternalPress) -> None:
        """An alert another system reported (a nurse-call duress button, another RTLS, over HL7):
        raise it, let it follow the sender's updates, and cancel it when the sender ends it.

        ``press.source_key`` stands where a press has its badge, so every phase of the same
        external alert finds the same alert here. Raising errors reach the sender as a negative
        acknowledgement, so it sends again."""
        now = self.clock.now()
        current = self.open_for_badge(press.source_key)
        if press.action is SourceAction.END:
            if current is not None and current.allows(Action.CANCEL):
                await self.act(
                    current.id,
                    Action.CANCEL,
                    by=f"hl7:{press.source}",
                    via="hl7",
                    note=f"ended at the source ({press.text or press.event})",
                )
            elif current is not None:
                log.info(
                    "alert.external_end_kept_open", alert=current.id, state=current.state.value
                )
            return
        scratch = self.alerts.working_copy()
        events: list[Event] = []
        if current is None:
            policy = select_policy(
                self.site.policies,
                unit=press.unit,
                areas=self._area_chain(press.location.get("area")),
                kind=press.kind,
                local=now.astimezone(self._zone),
                holidays=self.site.holidays,
            )
            alert_id = self._new_id()
            events.append(
                AlertRaised(
                    ts=now,
                    alert=alert_id,
                    kind=press.kind,
                    priority=press.priority,
                    mode=press.mode,
                    badge=press.source_key,
                    press_seq=0,
                    staff=None,
                    staff_name=None,
                    role=None,
                    unit=press.unit,
                    location=dict(press.location),
                    policy=policy_to_json(policy) if policy else None,
                    notify_at=now,
                    received_at=press.received_at,
                )
            )
            _fold_into(scratch, events)
            events += self._step_events(scratch[alert_id], now, first=True, scratch=scratch)
        else:
            place = dict(press.location)
            if (place.get("area"), place.get("precision")) != (
                current.location.get("area"),
                current.location.get("precision"),
            ):
                events.append(AlertRelocated(ts=now, alert=current.id, location=place))
            if press.priority < current.priority:
                events.append(
                    AlertJoined(
                        ts=now,
                        alert=current.id,
                        badge=press.source_key,
                        press_seq=0,
                        staff=None,
                        kind=press.kind,
                        priority=press.priority,
                    )
                )
            _fold_into(scratch, events)
        if events:
            await self._record(events, timers_for(events, scratch))

    def relocation_events(self, moved: BadgeMoved) -> list[Event]:
        """A located badge of an open alert moved: the alert follows it."""
        alert = self.open_for_badge(moved.badge)
        if alert is None or alert.badge != moved.badge:
            return []
        fields = dict(self.locator.where(moved.badge, self.clock.now()) or {})
        location = (
            _location_fields(fields)
            if fields
            else {
                "floor": moved.floor,
                "unit": moved.unit,
                "area": moved.area,
                "precision": moved.precision,
                "confidence": moved.confidence,
            }
        )
        if location.get("area") == alert.location.get("area") and location.get(
            "precision"
        ) == alert.location.get("precision"):
            return []
        return [AlertRelocated(ts=moved.ts, alert=alert.id, location=location)]

    # --- adopting committed events ----------------------------------------------------------

    def commit(self, stored: Iterable[StoredEvent]) -> None:
        """Fold committed events into the alerts, arm timers and send what they call for (a bus
        subscriber: it hears every committed batch)."""
        for record in stored:
            if not record.type.startswith("alert.") and record.type != "notice.status":
                continue
            event = decode(record)
            if isinstance(event, NoticeStatusChanged):
                continue
            before = self.alerts.get(record.subject.id)
            after = apply(before, event)
            if after is None:
                continue
            self.alerts[after.id] = after
            self.paging.after(before, after, event)
            self.escalation.arm(after)

    # --- start-up ---------------------------------------------------------------------------

    async def replay(self, records: Iterable[StoredEvent]) -> None:
        """Rebuild alerts from their events; re-arm timers; re-send unconfirmed notices."""
        statuses: set[str] = set()
        latest: dict[str, AlertNotified] = {}
        for record in records:
            event = decode(record)
            if isinstance(event, NoticeStatusChanged):
                if event.status in _HANDED_OVER:
                    statuses.add(event.key)
                continue
            if isinstance(event, AlertNotified):
                latest[event.alert] = event
            alert = apply(self.alerts.get(record.subject.id), event)
            if alert is not None:
                self.alerts[alert.id] = alert
        for alert in self.alerts.values():
            if not alert.is_open:
                continue
            step = latest.get(alert.id)
            if step is not None and not alert.escalation_stopped:
                for recipient in step.recipients:
                    self.paging.send(
                        alert,
                        recipient,
                        step.tier,
                        step.round,
                        EventPhase.START,
                        step.reason,
                        unless_sent=statuses,
                    )
            self.escalation.arm(alert)


_HANDED_OVER = frozenset(
    {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.REPLIED}
)
"""A notice with one of these statuses reached its channel; others are re-sent after a restart."""

ALERT_EVENT_TYPES = (
    "alert.raised",
    "alert.notified",
    "alert.undelivered",
    "alert.accepted",
    "alert.declined",
    "alert.acknowledged",
    "alert.on_scene",
    "alert.resolved",
    "alert.cancelled",
    "alert.joined",
    "alert.relocated",
    "notice.status",
)


def _events_of_step(alert: Alert, step: Step, now: datetime) -> list[Event]:
    if step.delivered_to_nobody:
        events: list[Event] = [AlertUndelivered(ts=now, alert=alert.id, reason=step.reason)]
        if alert.undelivered is None:
            events += [
                BadgeSignalled(ts=now, badge=b, signal="undelivered", alert=alert.id)
                for b in _badges_of(alert)
            ]
        return events
    return [
        AlertNotified(
            ts=now,
            alert=alert.id,
            tier=step.tier,
            round=step.round,
            recipients=tuple(r.as_json() for r in step.recipients),
            skipped=step.skipped,
            next_at=step.next_at,
            reason=step.reason,
        )
    ]


def _badges_of(alert: Alert) -> tuple[str, ...]:
    """The badges to signal: a trouble alert's party is a device or the site, never a wearer."""
    return () if alert.kind == TROUBLE_KIND else alert.parties


def _fold_into(scratch: dict[str, Alert], events: Iterable[Event]) -> None:
    for event in events:
        alert_id = event.subject.id
        if event.subject.kind.value != "alert":
            continue
        folded = apply(scratch.get(alert_id), event)
        if folded is not None:
            scratch[alert_id] = folded


def _location_fields(located: Mapping[str, Any]) -> dict[str, Any]:
    if not located:
        return {"precision": "unknown", "area": None}
    keys = (
        "floor",
        "unit",
        "room",
        "bay",
        "zone",
        "area",
        "precision",
        "confidence",
        "age_s",
        "as_of",
        "stale",
    )
    return {k: located.get(k) for k in keys}


__all__ = ["ALERT_EVENT_TYPES", "ActionResult", "AlertDesk", "AlertState"]
