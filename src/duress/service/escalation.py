"""Escalation timers: when each open alert's next step is due, and taking it.

Each open alert's next step is a row in the store's timers (set or cleared in the same transaction
as the events that decide it, see :func:`timers_for`). One job per instance wakes at the earliest step
it knows of, and at least every second for steps other instances scheduled; it claims due timers from
the store (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so each step is taken by exactly one instance),
reloads each alert from its events, and records the steps with their next timers in one transaction.
A watchdog checks that every open alert still escalating has its next step armed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from duress.domain.alert import Alert, apply
from duress.domain.events import (
    AlertAccepted,
    AlertCancelled,
    AlertNotified,
    AlertOnScene,
    AlertRaised,
    AlertResolved,
    AlertUndelivered,
    AlertWatchdogFired,
    Event,
    StoredEvent,
    decode,
)
from duress.service.scheduler import Scheduler
from duress.store.base import Timer, Timers

if TYPE_CHECKING:
    from duress.service.alerts import AlertDesk

TICK = "alerts:timers"
TIMER_PREFIX = "alert:"
TIMER_POLL = timedelta(seconds=1)
"""How often the timer job also looks for steps that other instances scheduled."""
CLOSED_KEPT = timedelta(hours=1)
WATCHDOG_INTERVAL = timedelta(seconds=10)

_TIMED = (
    AlertRaised,
    AlertNotified,
    AlertUndelivered,
    AlertAccepted,
    AlertOnScene,
    AlertResolved,
    AlertCancelled,
)
"""Events after which an alert's timer is set or cleared."""


def timer_key(alert_id: str) -> str:
    return TIMER_PREFIX + alert_id


def fold_records(records: Iterable[StoredEvent]) -> Alert | None:
    """The alert its stored events describe (None without an ``alert.raised``)."""
    alert: Alert | None = None
    for record in records:
        if record.type.startswith("alert."):
            alert = apply(alert, decode(record))
    return alert


def timers_for(events: Iterable[Event], alerts: Mapping[str, Alert]) -> Timers:
    """The timer changes ``events`` call for, from the alerts as they will be after them: set
    to the next step's time, or cleared when escalation is over. Events that do not change an
    alert's next step leave its timer (and whoever holds a claim on it) alone."""
    out: dict[str, datetime | None] = {}
    for event in events:
        if not isinstance(event, _TIMED) or event.subject.id not in alerts:
            continue
        alert = alerts[event.subject.id]
        escalating = alert.is_open and not alert.escalation_stopped and not alert.undelivered
        if escalating and alert.next_at is not None:
            if not isinstance(event, AlertAccepted | AlertOnScene):
                out[timer_key(alert.id)] = alert.next_at
        else:
            out[timer_key(alert.id)] = None
    return out


class Escalation:
    """The timer job and the watchdog of one instance's alert desk."""

    def __init__(
        self,
        desk: AlertDesk,
        *,
        scheduler: Scheduler,
        claim: Callable[[datetime], Awaitable[list[Timer]]],
    ) -> None:
        self.desk = desk
        self.scheduler = scheduler
        self._claim = claim

    async def tick(self) -> None:
        """The timer job: claim due alert timers from the store and take each alert's next step.

        Claims come from the store (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so with several
        instances each due step is taken by exactly one of them; the step reloads the alert from
        its events, so it acts on what every instance has recorded."""
        try:
            claimed = await self._claim(self.desk.clock.now())
            if claimed:
                await self._steps([t.key.removeprefix(TIMER_PREFIX) for t in claimed])
        finally:
            self._forget_closed(self.desk.clock.now())
            now = self.desk.clock.now()
            self.schedule_tick(self._next_known(now, now + TIMER_POLL), replace=True)

    async def _steps(self, alert_ids: Sequence[str]) -> None:
        """Take the due steps of several alerts: each reloaded from its events, all decided, then
        recorded in one transaction (one disk flush however many fall due at once)."""
        now = self.desk.clock.now()
        scratch = self.desk.alerts.working_copy()
        events: list[Event] = []
        timers: dict[str, datetime | None] = {}
        for alert_id in alert_ids:
            key = timer_key(alert_id)
            alert = fold_records(await self.desk._load(alert_id)) or self.desk.alerts.get(alert_id)
            if alert is None:
                timers[key] = None
                continue
            scratch[alert_id] = self.desk.alerts[alert_id] = alert
            if (
                not alert.is_open
                or alert.escalation_stopped
                or alert.undelivered
                or alert.next_at is None
            ):
                timers[key] = None
            elif now < alert.next_at:
                timers[key] = alert.next_at  # not due yet: give the claim back
            else:
                step = self.desk._step_events(alert, now, first=alert.tier < 0, scratch=scratch)
                events += step
                timers.update(timers_for(step, scratch))
        await self.desk._record(events, timers)

    def _next_known(self, now: datetime, latest: datetime) -> datetime:
        """The earliest next step after ``now`` among this instance's open alerts, else ``latest``.

        A step already due that the last claim did not return is another instance's (or done):
        it is looked for again at the next poll, not in a busy loop."""
        due = [
            a.next_at
            for a in self.desk.alerts.get_open()
            if a.next_at is not None and a.next_at > now and not a.escalation_stopped
        ]
        return min([latest, *due])

    def _forget_closed(self, now: datetime) -> None:
        """Closed alerts stay on the board for an hour, then leave memory (the store keeps them)."""
        gone = self.desk.alerts.closed_before(now - CLOSED_KEPT)
        for alert_id in gone:
            del self.desk.alerts[alert_id]
        if gone:
            self.desk.paging.forget(gone)

    def schedule_tick(self, at: datetime, *, replace: bool = False) -> None:
        """Make sure the timer job runs no later than ``at`` (with ``replace``: exactly at ``at``)."""
        current = self.scheduler.due_at(TICK)
        if replace or current is None or at < current:
            self.scheduler.schedule(TICK, at, self.tick)

    def arm(self, alert: Alert) -> None:
        """Make sure the timer job looks no later than the alert's next step."""
        if alert.is_open and alert.next_at is not None and not alert.escalation_stopped:
            self.schedule_tick(alert.next_at)

    async def watchdog(self) -> None:
        """Every open alert that should still escalate must have a next step and a running timer
        job; if not, say so on its timeline and re-arm it (late by at most one watchdog period)."""
        now = self.desk.clock.now()
        fired: list[Event] = []
        timers: dict[str, datetime | None] = {}
        lost_job = self.scheduler.due_at(TICK) is None
        for alert in self.desk.open_alerts():
            if alert.escalation_stopped or alert.undelivered:
                continue
            if alert.next_at is None:
                detail = "no next step was planned; escalating now"
                timers[timer_key(alert.id)] = now
                self.desk.alerts[alert.id] = replace(alert, next_at=now)
            elif lost_job:
                detail = "the escalation timer was not running; re-armed"
            else:
                continue
            fired.append(AlertWatchdogFired(ts=now, alert=alert.id, detail=detail))
        if fired:
            await self.desk._record(fired, timers)
        self.schedule_tick(now + TIMER_POLL)
        self.scheduler.schedule("alerts:watchdog", now + WATCHDOG_INTERVAL, self.watchdog)
