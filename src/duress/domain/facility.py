"""The facility: site → buildings → floors → units → areas, each area a polygon in metres on its floor.

These are frozen value objects built by the configuration loader (``duress.config``) and read by every
other part. Geometry checks (overlaps, containment) happen at load time; here an area is only its
outline, kept as a tuple of ``(x, y)`` vertices in metres in the floor's own frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from duress.domain.precision import Precision

Point = tuple[float, float]
Polygon = tuple[Point, ...]


def centroid(polygon: Polygon) -> Point:
    """The area-weighted centre of a simple polygon (its vertex mean when degenerate)."""
    twice_area = cx = cy = 0.0
    n = len(polygon)
    for i in range(n):
        x0, y0 = polygon[i]
        x1, y1 = polygon[(i + 1) % n]
        cross = x0 * y1 - x1 * y0
        twice_area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(twice_area) < 1e-9:
        return (sum(p[0] for p in polygon) / n, sum(p[1] for p in polygon) / n)
    return (cx / (3 * twice_area), cy / (3 * twice_area))


class UnitKind(StrEnum):
    ED = "ed"
    ICU = "icu"
    BEHAVIORAL_HEALTH = "behavioral_health"
    MED_SURG = "med_surg"
    OR = "or"
    LABOR_DELIVERY = "labor_delivery"
    PEDIATRICS = "pediatrics"
    OUTPATIENT = "outpatient"
    SUPPORT = "support"
    PUBLIC = "public"
    OTHER = "other"


class AreaKind(StrEnum):
    ROOM = "room"
    BAY = "bay"
    CORRIDOR = "corridor"
    STAIRWELL = "stairwell"
    ELEVATOR = "elevator"
    BATHROOM = "bathroom"
    ALCOVE = "alcove"
    EQUIPMENT_ROOM = "equipment_room"
    OVERFLOW = "overflow"
    NURSE_STATION = "nurse_station"
    WAITING = "waiting"
    OFFICE = "office"
    LOBBY = "lobby"
    ZONE = "zone"

    @property
    def is_bed_level(self) -> bool:
        return self is AreaKind.BAY


@dataclass(frozen=True, slots=True)
class Area:
    """A place on a floor: a room, a bay inside a room or open area, a corridor segment, ...

    ``parent`` is the enclosing area (a bay's room or open area), ``unit`` the clinical unit it belongs
    to (None for shared spaces such as a public stairwell), ``required_precision`` the precision the
    hospital requires here (None: inherit from the unit).
    """

    id: str
    name: str
    kind: AreaKind
    floor: str
    polygon: Polygon
    unit: str | None = None
    parent: str | None = None
    required_precision: Precision | None = None


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    name: str
    kind: UnitKind
    floor: str
    required_precision: Precision = Precision.ROOM


@dataclass(frozen=True, slots=True)
class Floor:
    id: str
    name: str
    building: str
    level: int
    outline: Polygon


@dataclass(frozen=True, slots=True)
class Building:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Facility:
    """The whole physical site, with lookups by id."""

    id: str
    name: str
    timezone: str
    buildings: Mapping[str, Building] = field(default_factory=dict)
    floors: Mapping[str, Floor] = field(default_factory=dict)
    units: Mapping[str, Unit] = field(default_factory=dict)
    areas: Mapping[str, Area] = field(default_factory=dict)

    def required_precision(self, area_id: str) -> Precision:
        """The precision required in an area: its own, else its parent's, else its unit's, else zone."""
        area: Area | None = self.areas[area_id]
        while area is not None:
            if area.required_precision is not None:
                return area.required_precision
            if area.unit is not None:
                return self.units[area.unit].required_precision
            area = self.areas.get(area.parent) if area.parent else None
        return Precision.ZONE

    def unit_of(self, area_id: str) -> str | None:
        """The unit an area belongs to, looking through its parents."""
        area: Area | None = self.areas[area_id]
        while area is not None:
            if area.unit is not None:
                return area.unit
            area = self.areas.get(area.parent) if area.parent else None
        return None

    def areas_on(self, floor_id: str) -> Iterator[Area]:
        return (a for a in self.areas.values() if a.floor == floor_id)

    def children(self, area_id: str) -> Iterator[Area]:
        return (a for a in self.areas.values() if a.parent == area_id)
