"""Routing policies: who is notified, in which tiers, escalating after how many seconds.

A policy applies to alerts by unit, area, kind and weekly schedule; :func:`select_policy` picks the one
in force for an alert (the highest ``priority``, then the most specific). The chosen policy is frozen
into the alert when it is raised (:func:`policy_to_json`), so later edits of the site change no open
alert. Resolving a tier's targets to people is :mod:`duress.domain.recipients`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any


class TargetKind(StrEnum):
    STAFF = "staff"
    """One named person."""
    ROLE = "role"
    """Everyone holding a role in the alert's unit (e.g. its ``charge_nurse``)."""
    TEAM = "team"
    """A configured team (e.g. ``security``)."""
    ROTATION = "rotation"
    """Whoever is on call in a rotation."""
    PROXIMITY = "proximity"
    """The ``count`` nearest available responders within ``within_m`` metres (or on the same floor)."""


class StopOn(StrEnum):
    ACCEPTED = "accepted"
    ON_SCENE = "on_scene"


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    ref: str | None = None
    count: int | None = None
    within_m: float | None = None
    same_floor: bool = False


@dataclass(frozen=True, slots=True)
class Tier:
    """Notify ``targets``; if nobody has accepted ``escalate_after_s`` seconds later, go to the next tier.

    ``repeat`` re-notifies the same targets that many more times before escalating.
    """

    targets: tuple[Target, ...]
    escalate_after_s: float
    repeat: int = 0


EXPLICIT_KINDS = frozenset({"test", "trouble"})
"""Alert kinds that only policies naming them explicitly may route."""

HOLIDAY = 8
"""The day number of a holiday in :attr:`Window.days` (1..7 are ISO weekdays)."""


@dataclass(frozen=True, slots=True)
class Window:
    """A weekly time window: ``days`` are ISO weekdays (1 = Monday) and :data:`HOLIDAY` (8); ``end``
    at or before ``start`` wraps past midnight (``start == end`` is the whole day).

    On a configured holiday the day counts as :data:`HOLIDAY`, not as its weekday: a weekday day-shift
    window does not apply on Christmas unless it lists ``holiday``."""

    days: frozenset[int]
    start: time
    end: time

    def contains(self, local: datetime, holidays: frozenset[str] = frozenset()) -> bool:
        """True when the local (site-time) moment falls in this window."""
        now = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return self._day(local.date(), holidays) in self.days
        if self.start < self.end:
            return self.start <= now < self.end and self._day(local.date(), holidays) in self.days
        if now >= self.start:
            return self._day(local.date(), holidays) in self.days
        if now < self.end:
            return self._day(local.date() - timedelta(days=1), holidays) in self.days
        return False

    @staticmethod
    def _day(day: date, holidays: frozenset[str]) -> int:
        return HOLIDAY if day.isoformat() in holidays else day.isoweekday()


@dataclass(frozen=True, slots=True)
class Rotation:
    """An on-call rotation: ``members`` take shifts of ``shift_h`` hours in turn from ``start``."""

    id: str
    name: str
    members: tuple[str, ...]
    shift_h: float
    start: datetime

    def on_call(self, at: datetime) -> str | None:
        if not self.members:
            return None
        shifts = math.floor((at - self.start).total_seconds() / (self.shift_h * 3600))
        return self.members[shifts % len(self.members)]


@dataclass(frozen=True, slots=True)
class Policy:
    """A routing policy: which alerts it applies to (units, areas, kinds, schedule) and its tiers.

    An empty ``units`` / ``areas`` / ``kinds`` tuple matches all; an empty ``schedule`` matches always.
    """

    id: str
    name: str
    tiers: tuple[Tier, ...]
    units: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    schedule: tuple[Window, ...] = ()
    stop_on: StopOn = StopOn.ACCEPTED
    priority: int = 0

    def matches(
        self,
        *,
        unit: str | None,
        areas: Iterable[str],
        kind: str,
        local: datetime,
        holidays: frozenset[str] = frozenset(),
    ) -> bool:
        """Whether this policy applies to an alert of ``kind`` in ``unit`` / ``areas`` at ``local``.

        ``areas`` is the alert's area with its enclosing areas. A ``test`` or ``trouble`` alert
        matches only a policy that names its kind: test presses and device trouble never page
        clinical responders by accident.
        """
        if self.units and unit not in self.units:
            return False
        if self.areas and not set(self.areas) & set(areas):
            return False
        if kind in EXPLICIT_KINDS and kind not in self.kinds:
            return False
        if self.kinds and kind not in self.kinds:
            return False
        return not self.schedule or any(w.contains(local, holidays) for w in self.schedule)

    @property
    def specificity(self) -> int:
        return (4 if self.areas else 0) + (2 if self.units else 0) + (1 if self.kinds else 0)


def select_policy(
    policies: Iterable[Policy],
    *,
    unit: str | None,
    areas: Iterable[str],
    kind: str,
    local: datetime,
    holidays: frozenset[str] = frozenset(),
) -> Policy | None:
    """The policy in force: among those that match, the highest ``priority``, then the most specific
    (areas over units over kinds), then the first by id. None when nothing matches."""
    area_list = list(areas)
    matching = [
        p
        for p in policies
        if p.matches(unit=unit, areas=area_list, kind=kind, local=local, holidays=holidays)
    ]
    if not matching:
        return None
    return min(matching, key=lambda p: (-p.priority, -p.specificity, p.id))


# --- Freezing a policy into an alert ------------------------------------------------------------


def policy_to_json(policy: Policy) -> dict[str, Any]:
    """The policy as JSON, to be stored in the ``alert.raised`` event."""
    return {
        "id": policy.id,
        "name": policy.name,
        "priority": policy.priority,
        "units": list(policy.units),
        "areas": list(policy.areas),
        "kinds": list(policy.kinds),
        "stop_on": policy.stop_on.value,
        "schedule": [
            {"days": sorted(w.days), "start": w.start.isoformat(), "end": w.end.isoformat()}
            for w in policy.schedule
        ],
        "tiers": [
            {
                "escalate_after_s": tier.escalate_after_s,
                "repeat": tier.repeat,
                "targets": [_target_json(t) for t in tier.targets],
            }
            for tier in policy.tiers
        ],
    }


def _target_json(target: Target) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": target.kind.value}
    for name in ("ref", "count", "within_m"):
        value = getattr(target, name)
        if value is not None:
            out[name] = value
    if target.same_floor:
        out["same_floor"] = True
    return out


def policy_from_json(data: Mapping[str, Any]) -> Policy:
    """The policy frozen in an alert, back from JSON."""
    get: Callable[[str], Any] = data.get
    return Policy(
        id=str(data["id"]),
        name=str(get("name") or data["id"]),
        priority=int(get("priority") or 0),
        units=tuple(get("units") or ()),
        areas=tuple(get("areas") or ()),
        kinds=tuple(get("kinds") or ()),
        stop_on=StopOn(get("stop_on") or StopOn.ACCEPTED.value),
        schedule=tuple(
            Window(
                days=frozenset(int(d) for d in w["days"]),
                start=time.fromisoformat(w["start"]),
                end=time.fromisoformat(w["end"]),
            )
            for w in get("schedule") or ()
        ),
        tiers=tuple(
            Tier(
                escalate_after_s=float(t["escalate_after_s"]),
                repeat=int(t.get("repeat") or 0),
                targets=tuple(
                    Target(
                        kind=TargetKind(x["kind"]),
                        ref=x.get("ref"),
                        count=x.get("count"),
                        within_m=x.get("within_m"),
                        same_floor=bool(x.get("same_floor", False)),
                    )
                    for x in t["targets"]
                ),
            )
            for t in data["tiers"]
        ),
    )
