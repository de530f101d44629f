"""What arrives from badges and devices, and what the location engine concludes from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from duress.domain.events.base import BadgeEvent, Event, SubjectKind


@dataclass(frozen=True, kw_only=True)
class ButtonPressed(BadgeEvent):
    """A badge's button event arrived (stored durably before anything acknowledges it)."""

    type = "button.pressed"

    seq: int
    presses: int
    hold_s: float
    received_at: datetime
    gateway: str | None = None
    staff: str | None = None


@dataclass(frozen=True, kw_only=True)
class BadgeMoved(BadgeEvent):
    """A badge's location changed: a new area, or the same area at a different precision."""

    type = "badge.moved"

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
