"""Domain events: every fact the system learns or decides, in the past tense.

Each event names its ``subject`` (the alert, badge or device it is about) and turns into a
:class:`NewEvent` record for the event store; :func:`decode` turns a stored record back into the typed
event. Current state (open alerts, badge locations, device health) is a projection of these.

Adding an event: subclass :class:`Event` as a frozen keyword-only dataclass, set ``type`` and
``subject_kind``, and name the field that holds the subject's id in ``subject_field``. Payload fields
must be JSON-representable (str, int, float, bool, None, lists, dicts, datetimes as RFC 3339 strings).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from duress.domain.errors import UnknownEventType


class SubjectKind(StrEnum):
    ALERT = "alert"
    BADGE = "badge"
    DEVICE = "device"
    SITE = "site"
    ACCOUNT = "account"
    TOKEN = "token"


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    id: str


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event as the store takes it: a type, a time, a subject and a JSON payload."""

    type: str
    ts: datetime
    subject: Subject
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the store returns it, with its position ``seq`` in the one total order."""

    seq: int
    type: str
    ts: datetime
    subject: Subject
    payload: Mapping[str, Any]


_REGISTRY: dict[str, type[Event]] = {}


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all domain events."""

    type: ClassVar[str]
    subject_kind: ClassVar[SubjectKind]
    subject_field: ClassVar[str]

    ts: datetime

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            if cls.type in _REGISTRY:
                raise TypeError(f"event type {cls.type!r} is defined twice")
            _REGISTRY[cls.type] = cls

    @property
    def subject(self) -> Subject:
        return Subject(self.subject_kind, str(getattr(self, self.subject_field)))

    def to_record(self) -> NewEvent:
        payload = {
            f.name: _to_json(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name != "ts"
        }
        return NewEvent(type=self.type, ts=self.ts, subject=self.subject, payload=payload)


def decode(record: StoredEvent | NewEvent) -> Event:
    """The typed event for a stored record; raises :class:`UnknownEventType` for an unknown type."""
    cls = _REGISTRY.get(record.type)
    if cls is None:
        raise UnknownEventType(record.type)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name == "ts":
            continue
        if f.name in record.payload:
            kwargs[f.name] = _from_json(record.payload[f.name], f.type)
    return cls(ts=record.ts, **kwargs)


def event_types() -> Mapping[str, type[Event]]:
    """Every registered event type, by name (for docs and for the store's consumers)."""
    return dict(_REGISTRY)


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    return value


def _from_json(value: Any, annotation: Any) -> Any:
    text = str(annotation)
    if isinstance(value, str) and "datetime" in text:
        return datetime.fromisoformat(value)
    if isinstance(value, list) and "tuple" in text:
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


# --- Ingest and devices -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ButtonPressed(Event):
    """A badge's button event arrived (stored durably before anything acknowledges it)."""

    type = "button.pressed"
    subject_kind = SubjectKind.BADGE
    subject_field = "badge"

    badge: str
    seq: int
    presses: int
    hold_s: float
    received_at: datetime
    gateway: str | None = None
    staff: str | None = None


@dataclass(frozen=True, kw_only=True)
class BadgeMoved(Event):
    """A badge's location changed: a new area, or the same area at a different precision."""

    type = "badge.moved"
    subject_kind = SubjectKind.BADGE
    subject_field = "badge"

    badge: str
    floor: str | None
    unit: str | None
    area: str | None
    precision: str
    confidence: float
    since: datetime


@dataclass(frozen=True, kw_only=True)
class DeviceCameOnline(Event):
    """A supervised device was heard from after being unknown or silent."""

    type = "device.online"
    subject_kind = SubjectKind.DEVICE
    subject_field = "device"

    device: str
    battery: float | None = None


@dataclass(frozen=True, kw_only=True)
class DeviceWentSilent(Event):
    """A supervised device missed its heartbeat interval (``silent_s`` since last heard)."""

    type = "device.silent"
    subject_kind = SubjectKind.DEVICE
    subject_field = "device"

    device: str
    last_seen: datetime
    silent_s: float


# --- Alerts ----------------------------------------------------------------------------------
# An alert's whole story is its events, in order; ``duress.domain.alert.Alert`` folds them.


@dataclass(frozen=True, kw_only=True)
class PressUnmatched(Event):
    """A button event matched no activation pattern of its unit (e.g. a single press where three are
    needed): recorded for false-alarm analysis, no alert raised."""

    type = "button.unmatched"
    subject_kind = SubjectKind.BADGE
    subject_field = "badge"

    badge: str
    seq: int
    presses: int
    hold_s: float
    unit: str | None


@dataclass(frozen=True, kw_only=True)
class AlertRaised(Event):
    """A press became an alert. ``policy`` is the routing policy frozen at this moment (later edits of
    the site do not change it); ``location`` is where the badge was at the press, with its precision,
    confidence and age; ``notify_at`` is when tier 1 goes out (later than ``ts`` only inside a unit's
    cancel window)."""

    type = "alert.raised"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
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
class AlertNotified(Event):
    """A tier's notices were handed to the channels (tier and round count from 0). Recorded before the
    sends, so that a restart re-sends the same notices under the same idempotency keys rather than
    skipping them. ``next_at`` is when this alert escalates next unless stopped (None: no step left)."""

    type = "alert.notified"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    tier: int
    round: int
    recipients: tuple[Mapping[str, Any], ...]
    skipped: tuple[int, ...] = ()
    next_at: datetime | None = None
    reason: str = "raised"


@dataclass(frozen=True, kw_only=True)
class AlertUndelivered(Event):
    """No tier of the alert's policy could reach anybody (or no policy matched): the wearer is told, and
    the security desk sees it on the board."""

    type = "alert.undelivered"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class AlertAccepted(Event):
    type = "alert.accepted"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    by: str
    via: str = "api"


@dataclass(frozen=True, kw_only=True)
class AlertDeclined(Event):
    type = "alert.declined"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    by: str
    via: str = "api"


@dataclass(frozen=True, kw_only=True)
class AlertAcknowledged(Event):
    """The security desk saw the alert (silences the board's alarm; does not stop escalation)."""

    type = "alert.acknowledged"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    by: str


@dataclass(frozen=True, kw_only=True)
class AlertOnScene(Event):
    type = "alert.on_scene"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    by: str
    via: str = "api"


@dataclass(frozen=True, kw_only=True)
class AlertResolved(Event):
    """Closed with what it was: ``event`` (with ``severity``), ``false_alarm``, ``accidental``,
    ``drill`` or ``test``."""

    type = "alert.resolved"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    by: str
    code: str
    severity: str | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class AlertCancelled(Event):
    """Cancelled by the wearer or an operator. ``notified`` says whether anyone had been told (they
    are told of the cancel too)."""

    type = "alert.cancelled"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    by: str
    reason: str
    notified: bool


@dataclass(frozen=True, kw_only=True)
class AlertJoined(Event):
    """Another press joined an open alert: the same badge pressing again, or another person pressing in
    the same room within the grouping window (one incident). ``kind``/``priority`` are the alert's
    after the join (a more urgent press upgrades it)."""

    type = "alert.joined"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    badge: str
    press_seq: int
    staff: str | None
    kind: str
    priority: int


@dataclass(frozen=True, kw_only=True)
class AlertRelocated(Event):
    """The person of an open alert moved: everyone notified is told the new place."""

    type = "alert.relocated"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    location: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class NoticeStatusChanged(Event):
    """A channel reported on one notice: queued, sent, delivered, read, replied or failed."""

    type = "notice.status"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    key: str
    recipient: str
    channel: str
    status: str
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class BadgeSignalled(Event):
    """What the wearer's badge is told: ``sent`` (the press is stored), ``received`` (an alert is
    raised), ``responder_coming`` (someone accepted), ``undelivered`` (nobody could be notified)."""

    type = "badge.signalled"
    subject_kind = SubjectKind.BADGE
    subject_field = "badge"

    badge: str
    signal: str
    alert: str | None = None


@dataclass(frozen=True, kw_only=True)
class AlertWatchdogFired(Event):
    """An open alert that should escalate had no next step scheduled; the watchdog re-armed it."""

    type = "alert.watchdog"
    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str
    detail: str


# --- Supervision -------------------------------------------------------------------------------
# See docs/supervision.md: gateways' last wills, battery levels, stuck buttons, badges not seen, and
# the daily synthetic end-to-end test.


@dataclass(frozen=True, kw_only=True)
class GatewayWentOffline(Event):
    """A gateway's last will (``offline`` on its status topic) arrived: it and the devices it carries
    (``devices``) are unsupervised from now on, until it comes back."""

    type = "gateway.offline"
    subject_kind = SubjectKind.DEVICE
    subject_field = "gateway"

    gateway: str
    devices: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GatewayCameOnline(Event):
    """A gateway that had gone offline is back (``online`` on its status topic, or heard from): its
    devices are supervised again. ``offline_s`` is how long it was away."""

    type = "gateway.online"
    subject_kind = SubjectKind.DEVICE
    subject_field = "gateway"

    gateway: str
    devices: tuple[str, ...] = ()
    offline_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class DeviceBatteryChanged(Event):
    """A fixed device's battery crossed a threshold: ``level`` is ``ok``, ``warning`` (replace soon:
    the lead time) or ``low`` (trouble)."""

    type = "device.battery"
    subject_kind = SubjectKind.DEVICE
    subject_field = "device"

    device: str
    battery: float
    level: str
    previous: str


@dataclass(frozen=True, kw_only=True)
class BadgeBatteryChanged(Event):
    """A badge's battery crossed a threshold (as :class:`DeviceBatteryChanged`)."""

    type = "badge.battery"
    subject_kind = SubjectKind.BADGE
    subject_field = "badge"

    badge: str
    battery: float
    level: str
    previous: str


@dataclass(frozen=True, kw_only=True)
class ButtonStuck(Event):
    """A badge's button looks stuck: a hold longer than plausible (``reason`` ``hold``) or button
    events without pause (``reason`` ``repeating``: ``presses`` events within ``window_s``). The
    presses are still handled as presses; this only tells engineering."""

    type = "button.stuck"
    subject_kind = SubjectKind.BADGE
    subject_field = "badge"

    badge: str
    reason: str
    presses: int
    hold_s: float
    window_s: float


@dataclass(frozen=True, kw_only=True)
class BadgeNotSeen(Event):
    """A badge has not been heard from for ``hours`` (the site's threshold): not worn, not charged,
    or out of coverage. ``last_seen`` is null when it was not heard since the server started."""

    type = "badge.not_seen"
    subject_kind = SubjectKind.BADGE
    subject_field = "badge"

    badge: str
    last_seen: datetime | None
    hours: float
    staff: str | None = None


@dataclass(frozen=True, kw_only=True)
class SyntheticPassed(Event):
    """The daily synthetic end-to-end test passed: a test badge's press injected at a gateway's
    topic was stored, raised a ``test`` alert and reached a test recipient in ``path_s`` seconds."""

    type = "synthetic.passed"
    subject_kind = SubjectKind.SITE
    subject_field = "site"

    site: str
    badge: str
    gateway: str
    seq: int
    alert: str
    path_s: float


@dataclass(frozen=True, kw_only=True)
class SyntheticFailed(Event):
    """The daily synthetic end-to-end test failed: ``stage`` is the last stage reached (``injected``,
    ``pressed``, ``raised``, ``notified``) when ``deadline_s`` ran out, or ``publish`` when the press
    could not be injected. A trouble alert follows."""

    type = "synthetic.failed"
    subject_kind = SubjectKind.SITE
    subject_field = "site"

    site: str
    badge: str
    gateway: str
    seq: int
    stage: str
    path_s: float
    deadline_s: float
    alert: str | None = None
    detail: str = ""


# --- Accounts, access and privacy (the audit trail) -----------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AccountCreated(Event):
    """A local user was created (``by``: the admin, ``cli`` or ``first-run``)."""

    type = "account.created"
    subject_kind = SubjectKind.ACCOUNT
    subject_field = "user"

    user: str
    role: str
    units: tuple[str, ...] = ()
    staff: str | None = None
    by: str


@dataclass(frozen=True, kw_only=True)
class AccountDisabled(Event):
    """A user was disabled: every session ends, their tokens stop working."""

    type = "account.disabled"
    subject_kind = SubjectKind.ACCOUNT
    subject_field = "user"

    user: str
    by: str


@dataclass(frozen=True, kw_only=True)
class PasswordChanged(Event):
    """A user's password was changed (by themselves or reset by an admin)."""

    type = "account.password_changed"
    subject_kind = SubjectKind.ACCOUNT
    subject_field = "user"

    user: str
    by: str


@dataclass(frozen=True, kw_only=True)
class TokenIssued(Event):
    """An API token was issued (its secret is never recorded)."""

    type = "token.issued"
    subject_kind = SubjectKind.TOKEN
    subject_field = "token"

    token: str
    name: str
    scopes: tuple[str, ...]
    user: str | None = None
    by: str


@dataclass(frozen=True, kw_only=True)
class TokenRevoked(Event):
    type = "token.revoked"
    subject_kind = SubjectKind.TOKEN
    subject_field = "token"

    token: str
    by: str


@dataclass(frozen=True, kw_only=True)
class SignedIn(Event):
    """A user signed in (``via``: ``password`` or ``link``, a one-time login link)."""

    type = "session.started"
    subject_kind = SubjectKind.ACCOUNT
    subject_field = "user"

    user: str
    address: str
    via: str = "password"


@dataclass(frozen=True, kw_only=True)
class SignedOut(Event):
    type = "session.ended"
    subject_kind = SubjectKind.ACCOUNT
    subject_field = "user"

    user: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class SignInFailed(Event):
    """A sign-in was refused: ``reason`` is ``wrong_password``, ``disabled`` or ``throttled``."""

    type = "login.failed"
    subject_kind = SubjectKind.ACCOUNT
    subject_field = "user"

    user: str
    address: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class LocationViewed(Event):
    """Somebody was shown a badge's location (``via``: ``api``, ``board``, ``alert``)."""

    type = "location.viewed"
    subject_kind = SubjectKind.BADGE
    subject_field = "badge"

    badge: str
    staff: str | None = None
    by: str
    via: str


@dataclass(frozen=True, kw_only=True)
class AccessDenied(Event):
    """An authenticated request was refused for want of a permission, scope or CSRF token."""

    type = "access.denied"
    subject_kind = SubjectKind.ACCOUNT
    subject_field = "who"

    who: str
    method: str
    path: str
    reason: str
