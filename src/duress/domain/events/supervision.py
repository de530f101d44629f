"""Supervision of gateways, devices and badges, and the daily synthetic end-to-end test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from duress.domain.events.base import BadgeEvent, Event, SubjectKind


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
class BadgeBatteryChanged(BadgeEvent):
    """A badge's battery crossed a threshold (as :class:`DeviceBatteryChanged`)."""

    type = "badge.battery"

    battery: float
    level: str
    previous: str


@dataclass(frozen=True, kw_only=True)
class ButtonStuck(BadgeEvent):
    """A badge's button looks stuck: a hold longer than plausible (``reason`` ``hold``) or button
    events without pause (``reason`` ``repeating``: ``presses`` events within ``window_s``). The
    presses are still handled as presses; this only tells engineering."""

    type = "button.stuck"

    reason: str
    presses: int
    hold_s: float
    window_s: float


@dataclass(frozen=True, kw_only=True)
class BadgeNotSeen(BadgeEvent):
    """A badge has not been heard from for ``hours`` (the site's threshold): not worn, not charged,
    or out of coverage. ``last_seen`` is null when it was not heard since the server started."""

    type = "badge.not_seen"

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
