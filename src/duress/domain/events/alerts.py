"""An alert's whole story, in order; :func:`duress.domain.alert.fold` turns it into the alert."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from duress.domain.events.base import AlertEvent, BadgeEvent


@dataclass(frozen=True, kw_only=True)
class PressUnmatched(BadgeEvent):
    """A button event matched no activation pattern of its unit (e.g. a single press where three are
    needed): recorded for false-alarm analysis, no alert raised."""

    type = "button.unmatched"

    seq: int
    presses: int
    hold_s: float
    unit: str | None


@dataclass(frozen=True, kw_only=True)
class AlertRaised(AlertEvent):
    """A press became an alert. ``policy`` is the routing policy frozen at this moment (later edits of
    the site do not change it); ``location`` is where the badge was at the press, with its precision,
    confidence and age; ``notify_at`` is when tier 1 goes out (later than ``ts`` only inside a unit's
    cancel window)."""

    type = "alert.raised"

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
    policy: Mapping[str, Any] | None
    notify_at: datetime
    received_at: datetime


@dataclass(frozen=True, kw_only=True)
class AlertNotified(AlertEvent):
    """A tier's notices were handed to the channels (tier and round count from 0). Recorded before the
    sends, so that a restart re-sends the same notices under the same idempotency keys rather than
    skipping them. ``next_at`` is when this alert escalates next unless stopped (None: no step left)."""

    type = "alert.notified"

    tier: int
    round: int
    recipients: tuple[Mapping[str, Any], ...]
    skipped: tuple[int, ...] = ()
    next_at: datetime | None = None
    reason: str = "raised"


@dataclass(frozen=True, kw_only=True)
class AlertUndelivered(AlertEvent):
    """No tier of the alert's policy could reach anybody (or no policy matched): the wearer is told, and
    the security desk sees it on the board."""

    type = "alert.undelivered"

    reason: str


@dataclass(frozen=True, kw_only=True)
class AlertAccepted(AlertEvent):
    type = "alert.accepted"

    by: str
    via: str = "api"


@dataclass(frozen=True, kw_only=True)
class AlertDeclined(AlertEvent):
    type = "alert.declined"

    by: str
    via: str = "api"


@dataclass(frozen=True, kw_only=True)
class AlertAcknowledged(AlertEvent):
    """The security desk saw the alert (silences the board's alarm; does not stop escalation)."""

    type = "alert.acknowledged"

    by: str


@dataclass(frozen=True, kw_only=True)
class AlertOnScene(AlertEvent):
    type = "alert.on_scene"

    by: str
    via: str = "api"


@dataclass(frozen=True, kw_only=True)
class AlertResolved(AlertEvent):
    """Closed with what it was: ``event`` (with ``severity``), ``false_alarm``, ``accidental``,
    ``drill`` or ``test``."""

    type = "alert.resolved"

    by: str
    code: str
    severity: str | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class AlertCancelled(AlertEvent):
    """Cancelled by the wearer or an operator. ``notified`` says whether anyone had been told (they
    are told of the cancel too)."""

    type = "alert.cancelled"

    by: str
    reason: str
    notified: bool


@dataclass(frozen=True, kw_only=True)
class AlertJoined(AlertEvent):
    """Another press joined an open alert: the same badge pressing again, or another person pressing in
    the same room within the grouping window (one incident). ``kind``/``priority`` are the alert's
    after the join (a more urgent press upgrades it)."""

    type = "alert.joined"

    badge: str
    press_seq: int
    staff: str | None
    kind: str
    priority: int


@dataclass(frozen=True, kw_only=True)
class AlertRelocated(AlertEvent):
    """The person of an open alert moved: everyone notified is told the new place."""

    type = "alert.relocated"

    location: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class NoticeStatusChanged(AlertEvent):
    """A channel reported on one notice: queued, sent, delivered, read, replied or failed."""

    type = "notice.status"

    key: str
    recipient: str
    channel: str
    status: str
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class BadgeSignalled(BadgeEvent):
    """What the wearer's badge is told: ``sent`` (the press is stored), ``received`` (an alert is
    raised), ``responder_coming`` (someone accepted), ``undelivered`` (nobody could be notified)."""

    type = "badge.signalled"

    signal: str
    alert: str | None = None


@dataclass(frozen=True, kw_only=True)
class AlertWatchdogFired(AlertEvent):
    """An open alert that should escalate had no next step scheduled; the watchdog re-armed it."""

    type = "alert.watchdog"

    detail: str
