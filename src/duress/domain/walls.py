"""Walls: the edges of a floor's room-level polygons, and how many a straight line crosses (pure).

A wall is an edge of a room-level area (a room, a bathroom, a stairwell, ...; not a corridor, a
zone or a bay curtain), counted once even when two rooms share it. The radio simulator loses
``wall_loss_db`` per wall crossed; survey-walk calibration (:mod:`duress.domain.calibration`)
fits that loss from the walls between each reading's position and its device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duress.domain.area_index import ZONE_KINDS
from duress.domain.facility import AreaKind, Point

if TYPE_CHECKING:
    from duress.domain.site import Site

Segment = tuple[float, float, float, float]


def _walls(site: Site) -> dict[str, list[Segment]]:
    seen: set[tuple[str, float, float, float, float]] = set()
    walls: dict[str, list[Segment]] = {}
    for area in site.facility.areas.values():
        if area.kind in ZONE_KINDS or area.kind is AreaKind.BAY or len(area.polygon) < 3:
            continue
        pts = area.polygon
        for i in range(len(pts)):
            (x1, y1), (x2, y2) = pts[i - 1], pts[i]
            a, b = sorted(((round(x1, 2), round(y1, 2)), (round(x2, 2), round(y2, 2))))
            key = (area.floor, a[0], a[1], b[0], b[1])
            if key in seen:
                continue
            seen.add(key)
            walls.setdefault(area.floor, []).append((a[0], a[1], b[0], b[1]))
    return walls


def _crosses(ax: float, ay: float, bx: float, by: float, w: Segment) -> bool:
    cx, cy, dx, dy = w

    def orient(px: float, py: float, qx: float, qy: float, rx: float, ry: float) -> float:
        return (qx - px) * (ry - py) - (qy - py) * (rx - px)

    d1 = orient(cx, cy, dx, dy, ax, ay)
    d2 = orient(cx, cy, dx, dy, bx, by)
    d3 = orient(ax, ay, bx, by, cx, cy)
    d4 = orient(ax, ay, bx, by, dx, dy)
    return (d1 > 0) != (d2 > 0) and (d3 > 0) != (d4 > 0) and d1 != 0 and d2 != 0


class Walls:
    """The walls of a site, per floor, and how many a straight line crosses."""

    def __init__(self, site: Site) -> None:
        self._walls = _walls(site)
        # each wall with its bounding box first, for a cheap rejection before the exact test
        self._boxed: dict[str, list[tuple[float, float, float, float, Segment]]] = {
            floor: [
                (min(w[0], w[2]), max(w[0], w[2]), min(w[1], w[3]), max(w[1], w[3]), w)
                for w in walls
            ]
            for floor, walls in self._walls.items()
        }

    def count(self, floor: str, a: Point, b: Point) -> int:
        ax, ay = a
        bx, by = b
        lo_x, hi_x = (ax, bx) if ax < bx else (bx, ax)
        lo_y, hi_y = (ay, by) if ay < by else (by, ay)
        n = 0
        for x0, x1, y0, y1, w in self._boxed.get(floor, ()):
            if x1 < lo_x or x0 > hi_x or y1 < lo_y or y0 > hi_y:
                continue
            if _crosses(ax, ay, bx, by, w):
                n += 1
        return n
