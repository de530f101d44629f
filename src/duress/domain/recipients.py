"""Resolving a tier's targets to the people (and desks) to notify, each with how to reach them.

Targets: a named person, a role in the alert's unit (its ``charge_nurse``), a team (its members and
its own desk contacts), whoever is on call in a rotation, and the N nearest available responders by
their current location. A recipient without any contact method cannot be reached and is reported as
such rather than counted as notified.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime

from duress.domain.facility import Point, centroid
from duress.domain.people import Contact
from duress.domain.routing import Target, TargetKind, Tier
from duress.domain.site import Site

FLOOR_PENALTY_M = 25.0
"""Distance added per floor between a responder and the alert when proximity crosses floors."""


@dataclass(frozen=True, slots=True)
class Recipient:
    id: str
    name: str
    contacts: tuple[Contact, ...]
    reason: str
    """Why this recipient: ``role charge_nurse of icu``, ``team security``, ``nearest responder, 12 m``."""

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "reason": self.reason,
            "contacts": [{"channel": c.channel, "address": c.address} for c in self.contacts],
        }


@dataclass(frozen=True, slots=True)
class Position:
    """Where a responder is: a floor and a point on it (the centre of their current area)."""

    floor: str
    point: Point
    level: int


@dataclass(frozen=True, slots=True)
class AlertPlace:
    unit: str | None
    position: Position | None


def resolve_tier(
    tier: Tier,
    *,
    site: Site,
    place: AlertPlace,
    at: datetime,
    responders: Mapping[str, Position],
    busy: Set[str] = frozenset(),
    exclude: Set[str] = frozenset(),
) -> list[Recipient]:
    """Everyone ``tier`` names, once each, in target order. ``responders`` maps staff id to current
    position (for proximity), ``busy`` are responders engaged elsewhere, ``exclude`` are ids never to
    notify (the person in danger)."""
    seen: set[str] = set(exclude)
    out: list[Recipient] = []
    for target in tier.targets:
        for recipient in _resolve(target, site, place, at, responders, busy):
            if recipient.id not in seen:
                seen.add(recipient.id)
                out.append(recipient)
    return out


def _resolve(
    target: Target,
    site: Site,
    place: AlertPlace,
    at: datetime,
    responders: Mapping[str, Position],
    busy: Set[str],
) -> list[Recipient]:
    if target.kind is TargetKind.STAFF:
        staff = site.staff.get(target.ref or "")
        return [_person(site, staff.id, "named in policy")] if staff else []
    if target.kind is TargetKind.ROLE:
        if place.unit is None:
            return []
        return [
            _person(site, s.id, f"{target.ref} of {place.unit}")
            for s in sorted(site.staff.values(), key=lambda s: s.id)
            if s.role == target.ref and s.home_unit == place.unit
        ]
    if target.kind is TargetKind.TEAM:
        team = site.teams.get(target.ref or "")
        if team is None:
            return []
        out = []
        if team.contacts:
            out.append(Recipient(team.id, team.name, team.contacts, f"team {team.id}"))
        out += [_person(site, m, f"team {team.id}") for m in team.members if m in site.staff]
        return out
    if target.kind is TargetKind.ROTATION:
        rotation = site.rotations.get(target.ref or "")
        person = rotation.on_call(at) if rotation else None
        return [_person(site, person, f"on call in {target.ref}")] if person else []
    return _nearest(target, site, place, responders, busy)


def _nearest(
    target: Target,
    site: Site,
    place: AlertPlace,
    responders: Mapping[str, Position],
    busy: Set[str],
) -> list[Recipient]:
    if place.position is None:
        return []
    origin = place.position
    ranked: list[tuple[float, str]] = []
    for staff_id, pos in responders.items():
        if staff_id in busy or staff_id not in site.staff or not site.staff[staff_id].responder:
            continue
        if pos.floor != origin.floor and target.same_floor:
            continue
        metres = math.dist(pos.point, origin.point)
        if pos.floor != origin.floor:
            metres += FLOOR_PENALTY_M * max(1, abs(pos.level - origin.level))
        if target.within_m is None or metres <= target.within_m:
            ranked.append((metres, staff_id))
    ranked.sort()
    count = target.count if target.count is not None else 1
    return [_person(site, sid, f"nearest responder, {m:.0f} m") for m, sid in ranked[:count]]


def _person(site: Site, staff_id: str, reason: str) -> Recipient:
    staff = site.staff[staff_id]
    return Recipient(staff.id, staff.name, staff.contacts, reason)


def position_of_area(site: Site, area_id: str | None) -> Position | None:
    """The centre of an area as a position, or None for an unknown area."""
    if area_id is None or area_id not in site.facility.areas:
        return None
    area = site.facility.areas[area_id]
    level = site.facility.floors[area.floor].level
    return Position(area.floor, centroid(area.polygon), level)
