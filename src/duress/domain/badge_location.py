"""What the location engine answers: a badge's location with precision, confidence and age, and
the reasons it refuses a sighting."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from duress.domain.events import BadgeMoved
from duress.domain.precision import Precision


class RejectReason(StrEnum):
    UNKNOWN_BADGE = "unknown_badge"
    UNKNOWN_DEVICE = "unknown_device"
    NOT_A_LOCATOR = "not_a_locator"
    """A gateway, an IR device without an area, or a BLE device without a position."""
    KIND_MISMATCH = "kind_mismatch"
    """An IR sighting from a BLE device or the reverse."""
    NAIVE_TIMESTAMP = "naive_timestamp"
    FUTURE = "future"
    LATE = "late"
    OUT_OF_ORDER = "out_of_order"
    DUPLICATE = "duplicate"
    MISSING_RSSI = "missing_rssi"
    RSSI_OUT_OF_RANGE = "rssi_out_of_range"
    IMPLAUSIBLE_MOVE = "implausible_move"
    """Accepted evidence whose move was held back: another floor sooner than stairs allow."""


class Rejections:
    """Counts of rejected (or held-back) sightings by reason."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[RejectReason, int] = dict.fromkeys(RejectReason, 0)

    def add(self, reason: RejectReason) -> None:
        self._counts[reason] += 1

    def __getitem__(self, reason: RejectReason | str) -> int:
        return self._counts[RejectReason(reason)]

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def as_dict(self) -> dict[str, int]:
        return {reason.value: count for reason, count in self._counts.items()}

    def __repr__(self) -> str:
        nonzero = {k: v for k, v in self.as_dict().items() if v}
        return f"Rejections({nonzero})"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a badge is, how precisely, how sure, and since when.

    ``room`` is the room-level area, ``bay`` the bed area, ``zone`` the corridor/zone area or, for
    a badge in a room, that room (a room is its own zone). ``age_s`` is ``now - as_of`` when this
    value was produced. ``required`` is the precision the area requires (None when the area is
    unknown); ``meets_requirement`` compares it with ``precision``.
    """

    badge: str
    floor: str | None
    unit: str | None
    room: str | None
    bay: str | None
    zone: str | None
    precision: Precision
    confidence: float
    as_of: datetime | None
    since: datetime | None
    age_s: float
    required: Precision | None
    meets_requirement: bool
    source: str
    """``ir``, ``ble`` or ``none``."""
    stale: bool = False
    last_known: Location | None = field(default=None, compare=False)
    """For an ``unknown`` location that timed out: where the badge was last located."""

    @property
    def area(self) -> str | None:
        """The finest area known: the bay, else the room, else the zone."""
        return self.bay or self.room or self.zone

    @property
    def place(self) -> tuple[str | None, str | None, str | None, str | None, Precision]:
        """What identifies the place (a change of it is a move)."""
        return (self.floor, self.room, self.bay, self.zone, self.precision)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (times as RFC 3339 strings), including ``area``."""
        return {
            "badge": self.badge,
            "floor": self.floor,
            "unit": self.unit,
            "room": self.room,
            "bay": self.bay,
            "zone": self.zone,
            "area": self.area,
            "precision": self.precision.value,
            "confidence": round(self.confidence, 3),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "since": self.since.isoformat() if self.since else None,
            "age_s": round(self.age_s, 1) if math.isfinite(self.age_s) else None,
            "required": self.required.value if self.required else None,
            "meets_requirement": self.meets_requirement,
            "source": self.source,
            "stale": self.stale,
            "last_known_area": self.last_known.area if self.last_known else None,
        }

    def moved_event(self) -> BadgeMoved:
        """The :class:`BadgeMoved` event announcing this location."""
        ts = self.as_of or self.since or datetime.fromtimestamp(0, UTC)
        return BadgeMoved(
            ts=ts,
            badge=self.badge,
            floor=self.floor,
            unit=self.unit,
            area=self.area,
            precision=self.precision.value,
            confidence=round(self.confidence, 3),
            since=self.since or ts,
        )


def unknown(badge: str, last_known: Location | None = None, age_s: float = math.inf) -> Location:
    """The location of a badge never located, or (with ``last_known``, ``age_s`` old) of one whose
    evidence stopped too long ago: ``unknown`` and stale, carrying where it was last seen."""
    as_of = last_known.as_of if last_known is not None else None
    return Location(
        badge=badge,
        floor=None,
        unit=None,
        room=None,
        bay=None,
        zone=None,
        precision=Precision.UNKNOWN,
        confidence=0.0,
        as_of=as_of,
        since=as_of,
        age_s=age_s,
        required=None,
        meets_requirement=False,
        source="none",
        stale=last_known is not None,
        last_known=last_known,
    )
