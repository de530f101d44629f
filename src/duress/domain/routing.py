"""Routing policies as configured: who is notified, in which tiers, escalating after how many seconds.

This module holds the policy's shape as loaded from the site configuration. Choosing a policy for an
alert, resolving targets to people and running the escalation belong to the alert lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class Window:
    """A weekly time window: ``days`` are ISO weekdays (1 = Monday); ``end`` before ``start`` wraps
    past midnight. ``holidays`` selects whether the window applies on configured holidays."""

    days: frozenset[int]
    start: time
    end: time


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
