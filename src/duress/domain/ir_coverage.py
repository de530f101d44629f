"""IR coverage on a survey walk: how often each IR device saw the test badge in its area (pure).

IR devices have no parameter to fit, but a survey walk (:mod:`duress.domain.calibration`) tells
whether each one works as installed: of the whole seconds the walker spent inside its area (its
room for a monitor, its bay for an emitter), in how many a code of it was measured (*detection*;
the simulator's default line of sight is 0.85 a second, 0.77 with decoding), and how many of its
codes were measured while the walker was outside its area (*leaks*: an open door, a reflection, a
monitor aimed through a window), and where. A monitor that sees little of its own room is aimed
badly or covered; one that leaks far into the corridor places people in its room who are not.

Seconds whose position is within ``edge_m`` of the area's edge count neither way (a checkpoint is
as good as where the surveyor said they stood), and a code measured there is no leak.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from duress.domain.area_index import AreaIndex, distance_outside
from duress.domain.facility import Polygon

if TYPE_CHECKING:
    from duress.domain.calibration import SurveyWalk
    from duress.domain.site import Site

EDGE_M = 0.5
"""Seconds and codes within this of an area's edge count neither inside nor outside it."""
WEAK_DETECTION = 0.5
"""Below this share of the seconds inside, the device is reported as seeing too little."""
MIN_SECONDS = 10
"""Fewer seconds inside than this are too few to judge a device's detection."""


@dataclass(frozen=True, slots=True)
class IrCoverage:
    device: str
    area: str
    seconds_inside: int
    """Whole seconds of the walk well inside the device's area."""
    seconds_seen: int
    """Of those, the seconds in which a code of the device was measured."""
    leaks: int
    """Codes of the device measured while the walker was well outside its area."""
    leaked_into: tuple[tuple[str, int], ...] = ()
    """Where the walker was at those codes (area id, codes), most first."""

    @property
    def detection(self) -> float | None:
        """The share of the seconds inside with a code (None: never inside)."""
        return self.seconds_seen / self.seconds_inside if self.seconds_inside else None

    @property
    def note(self) -> str:
        """What a clinical engineer should look at, or ``""``."""
        notes = []
        if 0 < self.seconds_inside < MIN_SECONDS:
            notes.append(f"only {self.seconds_inside} s inside: stand in its area a while")
        elif self.detection is not None and self.detection < WEAK_DETECTION:
            notes.append(
                f"saw {self.detection:.0%} of the seconds inside: check its aim, and what blocks "
                "it where the walk stood"
            )
        if self.leaks:
            where = ", ".join(f"{area} ({n})" for area, n in self.leaked_into[:3])
            notes.append(f"{self.leaks} code(s) from outside: {where}")
        return "; ".join(notes)


def ir_coverage(
    site: Site,
    walk: SurveyWalk,
    codes: Iterable[tuple[float, str]],
    edge_m: float = EDGE_M,
) -> tuple[IrCoverage, ...]:
    """Per IR device of the site, its detection and leaks on ``walk``; ``codes``: the test badge's
    IR sightings as ``(measured at, device)``."""
    index = AreaIndex(site.facility)
    devices = {
        d.id: d.area
        for d in site.devices.values()
        if d.kind.is_ir and d.area is not None and d.area in site.facility.areas
    }
    polygons = {area: site.facility.areas[area].polygon for area in devices.values()}

    def where(ts: float, area: str) -> tuple[int, str | None] | None:
        """(+1 well inside, -1 well outside, 0 at the edge; the walker's area) at ``ts``."""
        here = walk.position(ts)
        if here is None:
            return None
        floor, x, y = here
        hit = index.locate(floor, x, y)
        place = hit.bay or hit.room or hit.zone
        if floor != site.facility.areas[area].floor:
            return -1, place
        if area in (hit.bay, hit.room):
            inside_by = _inside_depth(polygons[area], x, y)
            return (1 if inside_by >= edge_m else 0), place
        return (-1 if distance_outside(polygons[area], x, y) >= edge_m else 0), place

    seen: dict[str, set[int]] = {d: set() for d in devices}
    leaks: dict[str, Counter[str]] = {d: Counter() for d in devices}
    for ts, device in codes:
        area = devices.get(device)
        if area is None:
            continue
        state = where(ts, area)
        if state is None:
            continue
        side, place = state
        if side > 0:
            seen[device].add(math.floor(ts))
        elif side < 0:
            leaks[device][place or "outside every area"] += 1
    by_area: dict[str, list[str]] = {}
    for device, area in devices.items():
        by_area.setdefault(area, []).append(device)
    inside: dict[str, list[int]] = {d: [] for d in devices}
    if walk.checkpoints:
        first = math.ceil(walk.checkpoints[0].ts)
        last = math.floor(walk.checkpoints[-1].ts)
        for second in range(first, last):
            here = walk.position(second + 0.5)
            if here is None:
                continue
            floor, x, y = here
            hit = index.locate(floor, x, y)
            for area in (hit.bay, hit.room):
                if area in by_area and _inside_depth(polygons[area], x, y) >= edge_m:
                    for device in by_area[area]:
                        inside[device].append(second)
    out = []
    for device, area in sorted(devices.items()):
        seconds = inside[device]
        out.append(
            IrCoverage(
                device=device,
                area=area,
                seconds_inside=len(seconds),
                seconds_seen=sum(1 for s in seconds if s in seen[device]),
                leaks=sum(leaks[device].values()),
                leaked_into=tuple(leaks[device].most_common()),
            )
        )
    return tuple(out)


def _inside_depth(polygon: Polygon, x: float, y: float) -> float:
    """How far inside ``polygon`` the point is: the distance to its nearest edge."""
    best = math.inf
    x1, y1 = polygon[-1]
    for x2, y2 in polygon:
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        f = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / length2))
        best = min(best, math.hypot(x - (x1 + f * dx), y - (y1 + f * dy)))
        x1, y1 = x2, y2
    return best
