"""Which area contains a point: a small pure point-in-polygon index over a facility's areas.

The location engine maps a BLE position estimate to an area many thousand times a second, so the
lookup must be cheap and must not call into a geometry library. Each floor is cut into square
cells; a cell lists the areas whose bounding box touches it, finest level first (bays, then rooms,
then corridors and zones). A lookup is one dictionary access plus a ray-casting test on a handful
of small polygons.

Levels:

- ``bay``: :attr:`AreaKind.BAY` (a bed area; bed-level precision);
- ``room``: every enclosed place (room, bathroom, office, stairwell, ...), the room-level area;
- ``zone``: corridors and zones (:attr:`AreaKind.CORRIDOR`, :attr:`AreaKind.ZONE`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from duress.domain.facility import Area, AreaKind, Facility, Point, Polygon

ZONE_KINDS: Final = frozenset({AreaKind.CORRIDOR, AreaKind.ZONE})
"""Area kinds that are open zones rather than rooms."""


def level_of(kind: AreaKind) -> int:
    """0 for a bay, 1 for a room-level area, 2 for a corridor or zone."""
    if kind is AreaKind.BAY:
        return 0
    if kind in ZONE_KINDS:
        return 2
    return 1


def contains(polygon: Polygon, x: float, y: float) -> bool:
    """Ray casting: True when ``(x, y)`` is inside ``polygon`` (an edge point may go either way)."""
    inside = False
    n = len(polygon)
    if n < 3:
        return False
    x1, y1 = polygon[-1]
    for x2, y2 in polygon:
        if (y2 > y) != (y1 > y) and x < (x1 - x2) * (y - y2) / (y1 - y2) + x2:
            inside = not inside
        x1, y1 = x2, y2
    return inside


def distance_outside(polygon: Polygon, x: float, y: float) -> float:
    """0 inside ``polygon``, else the distance in metres from ``(x, y)`` to its nearest edge."""
    if contains(polygon, x, y):
        return 0.0
    best = math.inf
    x1, y1 = polygon[-1]
    for x2, y2 in polygon:
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / length2))
        px, py = x1 + t * dx - x, y1 + t * dy - y
        best = min(best, px * px + py * py)
        x1, y1 = x2, y2
    return math.sqrt(best)


def bbox(polygon: Sequence[Point]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    return min(xs), min(ys), max(xs), max(ys)


def _rectangle(polygon: Polygon) -> tuple[float, float, float, float] | None:
    """The bounding box of an axis-aligned rectangle; None for any other polygon."""
    if len(polygon) != 4:
        return None
    x1, y1 = polygon[-1]
    for x2, y2 in polygon:
        if x1 != x2 and y1 != y2:
            return None
        x1, y1 = x2, y2
    return bbox(polygon)


def _box(polygon: Polygon) -> tuple[float, float, float, float] | None:
    """The bounds ``(x0, y0, x1, y1)`` of a polygon whose ray casting is exactly the half-open box
    test ``x0 <= x < x1 and y0 <= y < y1``; None for any other polygon.

    That holds when its only edges that are not horizontal (or of zero length) are two vertical
    edges spanning ``y0..y1``, one at ``x0`` and one at ``x1``: a horizontal edge never counts in
    :func:`contains`, a vertical one at ``xe`` counts when ``y0 <= y < y1 and x < xe``.
    """
    if len(polygon) < 3:
        return None
    x0, y0, x1, y1 = bbox(polygon)
    if not (x0 < x1 and y0 < y1):
        return None
    verticals = []
    xa, ya = polygon[-1]
    for xb, yb in polygon:
        if ya != yb:
            if xa != xb:
                return None
            verticals.append((xa, min(ya, yb), max(ya, yb)))
        xa, ya = xb, yb
    if sorted(verticals) != [(x0, y0, y1), (x1, y0, y1)]:
        return None
    return x0, y0, x1, y1


_Candidate = tuple[int, str, Polygon, tuple[float, float, float, float] | None]
"""An area listed in a grid cell for :meth:`AreaIndex.area_at`: level, id, polygon, box."""


@dataclass(frozen=True, slots=True)
class Hit:
    """The areas containing a point, one per level (None where no area of that level does)."""

    bay: str | None
    room: str | None
    zone: str | None

    @property
    def finest(self) -> str | None:
        return self.bay or self.room or self.zone


class AreaIndex:
    """A grid index of a facility's areas, per floor. Build once per site; lookups are fast."""

    __slots__ = ("_cell", "_cells", "_fast", "_places", "_polygons")

    def __init__(self, facility: Facility, cell_m: float = 2.0) -> None:
        self._cell = cell_m
        self._polygons: dict[str, tuple[Polygon, int]] = {}
        rectangles: dict[str, tuple[float, float, float, float] | None] = {}
        boxes: dict[str, tuple[float, float, float, float] | None] = {}
        """Per area, its ``_rectangle`` and its ``_box``: worked out once, not once per cell."""
        cells: dict[tuple[str, int, int], list[tuple[int, str]]] = {}
        for area in facility.areas.values():
            if len(area.polygon) < 3:
                continue
            level = level_of(area.kind)
            self._polygons[area.id] = (area.polygon, level)
            rectangles[area.id] = _rectangle(area.polygon)
            boxes[area.id] = _box(area.polygon)
            x0, y0, x1, y1 = bbox(area.polygon)
            for ix in range(math.floor(x0 / cell_m), math.floor(x1 / cell_m) + 1):
                for iy in range(math.floor(y0 / cell_m), math.floor(y1 / cell_m) + 1):
                    cells.setdefault((area.floor, ix, iy), []).append((level, area.id))
        self._cells: dict[tuple[str, int, int], tuple[tuple[int, str], ...]] = {
            key: tuple(sorted(entries)) for key, entries in cells.items()
        }
        # Cells whose answer to area_at needs no polygon test: the first room-level (else zone)
        # area listed is an axis-aligned rectangle covering the whole cell.
        self._fast: dict[tuple[str, int, int], str] = {}
        for key, entries in self._cells.items():
            first = next((e for e in entries if e[0] > 0), None)
            if first is None:
                continue
            box = rectangles[first[1]]
            _, ix, iy = key
            if (
                box is not None
                and box[0] <= ix * cell_m
                and (ix + 1) * cell_m <= box[2]
                and box[1] <= iy * cell_m
                and (iy + 1) * cell_m <= box[3]
            ):
                self._fast[key] = first[1]
        # area_at's candidates per cell (rooms, then zones; no bays), each with its polygon and,
        # for a rectangle, the exact box test that replaces ray casting.
        self._places: dict[tuple[str, int, int], tuple[_Candidate, ...]] = {
            key: tuple(
                (level, area_id, self._polygons[area_id][0], boxes[area_id])
                for level, area_id in entries
                if level > 0
            )
            for key, entries in self._cells.items()
        }

    def locate(self, floor: str, x: float, y: float) -> Hit:
        """The bay, room-level area and zone containing ``(x, y)`` on ``floor``."""
        if not (math.isfinite(x) and math.isfinite(y)):
            return Hit(None, None, None)
        cell = self._cell
        entries = self._cells.get((floor, math.floor(x / cell), math.floor(y / cell)), ())
        found: list[str | None] = [None, None, None]
        for level, area_id in entries:
            if found[level] is None and contains(self._polygons[area_id][0], x, y):
                found[level] = area_id
        return Hit(found[0], found[1], found[2])

    def area_at(self, floor: str, x: float, y: float) -> str | None:
        """The room-level area, else the zone, containing the point (its zone-level place)."""
        cell = self._cell
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        key = (floor, math.floor(x / cell), math.floor(y / cell))
        fast = self._fast.get(key)
        if fast is not None:
            return fast
        zone: str | None = None
        for level, area_id, polygon, box in self._places.get(key, ()):
            if (
                box[0] <= x < box[2] and box[1] <= y < box[3]
                if box is not None
                else contains(polygon, x, y)
            ):
                if level == 1:
                    return area_id
                if zone is None:
                    zone = area_id
        return zone

    def distance_outside(self, area_id: str, x: float, y: float) -> float:
        """Distance from the point to the area (0 inside); infinity for an unknown area."""
        entry = self._polygons.get(area_id)
        if entry is None:
            return math.inf
        return distance_outside(entry[0], x, y)


def room_of(facility: Facility, area: Area) -> str | None:
    """The room-level area an area belongs to: itself for a room, the enclosing room for a bay."""
    level = level_of(area.kind)
    if level == 1:
        return area.id
    if level == 2:
        return None
    parent = facility.areas.get(area.parent) if area.parent else None
    while parent is not None:
        if level_of(parent.kind) == 1:
            return parent.id
        if level_of(parent.kind) == 2:
            return None
        parent = facility.areas.get(parent.parent) if parent.parent else None
    return None
