"""What the edge reports, once decoded: sightings, button events and device heartbeats.

Every wire format (the native JSON, ESPresense, HL7, ...) is decoded into these; the rest of the system
never sees bytes. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SightingKind(StrEnum):
    IR = "ir"
    BLE = "ble"


@dataclass(frozen=True, slots=True)
class Sighting:
    """``badge`` saw (IR, BLE beacon) or was heard by (BLE locator) ``device`` at ``ts``."""

    ts: datetime
    badge: str
    device: str
    kind: SightingKind
    rssi: float | None = None
    gateway: str | None = None


@dataclass(frozen=True, slots=True)
class ButtonEvent:
    """A badge's button activity: ``presses`` presses, or a hold of ``hold_s`` seconds.

    ``seq`` is the badge's own sequence number: badges resend a press several times, and the same
    ``(badge, seq)`` is one press.
    """

    ts: datetime
    badge: str
    seq: int
    presses: int = 1
    hold_s: float = 0.0
    gateway: str | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A device (or a badge) says it is alive, optionally with its battery level (0-100 %)."""

    ts: datetime
    device: str
    battery: float | None = None
    gateway: str | None = None


Observation = Sighting | ButtonEvent | Heartbeat
