"""People moving through the site: a walking graph built from the floor plan, and staff routines.

The graph: each room-level area (room, stairwell, elevator, ...) gets a door on the wall nearest a
corridor, and an entry point just inside that corridor; inside one corridor polygon every pair of
its points (entries, portals to touching corridors) is joined by a straight walk; stairwells and
elevators that sit over each other on adjacent floors are joined by a vertical link that takes
``stairs_s_per_level`` (stairs) or ``elevator_wait_s + elevator_s_per_level`` (elevator).

A person repeats: choose a destination (mostly a room of their home unit, sometimes the corridor,
sometimes another floor), walk there at their own speed, dwell (log-normal), and on the way out
sometimes linger in the doorway (corridor side, where IR leaks through an open door).
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field

from duress.domain.area_index import ZONE_KINDS, distance_outside, level_of
from duress.domain.facility import Area, AreaKind, Point, Polygon
from duress.domain.site import Site
from duress.sim.radio import Door


@dataclass(frozen=True, slots=True)
class MovementParams:
    speed_mean_mps: float = 1.3
    """Hospital staff walking speed (free walking 1.2-1.4 m/s)."""
    speed_sigma_mps: float = 0.15
    dwell_median_s: float = 60.0
    dwell_sigma: float = 0.8
    """Log-normal shape of dwell times (median 60 s; p90 ≈ 170 s)."""
    corridor_share: float = 0.1
    """Share of destinations that are a spot in a corridor (talking, charting on the move)."""
    other_floor_share: float = 0.08
    doorway_linger_prob: float = 0.15
    doorway_linger_s: tuple[float, float] = (10.0, 40.0)
    stairs_s_per_level: float = 12.0
    elevator_wait_s: float = 25.0
    elevator_s_per_level: float = 4.0
    survey_dwell_s: float = 20.0
    """A surveyor (:meth:`Movement.survey`) stands this long in the middle of each room."""


def _centroid(polygon: Polygon) -> Point:
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    return (sum(xs) / len(xs), sum(ys) / len(ys))


def _toward(a: Point, b: Point, metres: float) -> Point:
    dx, dy = b[0] - a[0], b[1] - a[1]
    d = math.hypot(dx, dy)
    if d == 0:
        return a
    return (a[0] + dx / d * metres, a[1] + dy / d * metres)


def _nearest_on_polygon(polygon: Polygon, p: Point) -> Point:
    best = (math.inf, p)
    for i in range(len(polygon)):
        (x1, y1), (x2, y2) = polygon[i - 1], polygon[i]
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        t = (
            0.0
            if length2 == 0
            else max(0.0, min(1.0, ((p[0] - x1) * dx + (p[1] - y1) * dy) / length2))
        )
        q = (x1 + t * dx, y1 + t * dy)
        d = math.hypot(q[0] - p[0], q[1] - p[1])
        if d < best[0]:
            best = (d, q)
    return best[1]


def find_doors(site: Site) -> dict[str, Door]:
    """A door for every room-level area that lies within 1 m of a corridor on its floor."""
    areas = site.facility.areas.values()
    corridors: dict[str, list[Area]] = {}
    for a in areas:
        if a.kind in ZONE_KINDS and len(a.polygon) >= 3:
            corridors.setdefault(a.floor, []).append(a)
    doors: dict[str, Door] = {}
    for room in areas:
        if level_of(room.kind) != 1 or len(room.polygon) < 3:
            continue
        best: tuple[float, Point, Area] | None = None
        pts = room.polygon
        for i in range(len(pts)):
            mid = ((pts[i - 1][0] + pts[i][0]) / 2, (pts[i - 1][1] + pts[i][1]) / 2)
            for c in corridors.get(room.floor, ()):
                d = distance_outside(c.polygon, mid[0], mid[1])
                if best is None or d < best[0]:
                    best = (d, mid, c)
        if best is None or best[0] > 1.0:
            continue
        _, point, corridor = best
        centre = _centroid(corridor.polygon)
        near = _nearest_on_polygon(corridor.polygon, point)
        entry = _toward(near, centre, 0.8)
        doors[room.id] = Door(room.id, room.floor, point, entry, corridor.id)
    return doors


Node = tuple[str, float, float]
"""(floor, x, y)"""


class WalkGraph:
    """Where people can walk, and the quickest route (in seconds at 1 m/s) between two areas."""

    def __init__(self, site: Site, params: MovementParams) -> None:
        self.site = site
        self.params = params
        self.doors = find_doors(site)
        self.edges: dict[Node, list[tuple[Node, float]]] = {}
        corridor_nodes: dict[str, list[Node]] = {}
        facility = site.facility
        for door in self.doors.values():
            corridor_nodes.setdefault(door.corridor, []).append((door.floor, *door.entry))
        corridors = [a for a in facility.areas.values() if a.kind in ZONE_KINDS]
        for i, a in enumerate(corridors):
            for b in corridors[i + 1 :]:
                if a.floor != b.floor:
                    continue
                portal = _portal(a.polygon, b.polygon)
                if portal is not None:
                    node = (a.floor, *portal)
                    corridor_nodes.setdefault(a.id, []).append(node)
                    corridor_nodes.setdefault(b.id, []).append(node)
        self.corridor_nodes: set[Node] = {n for nodes in corridor_nodes.values() for n in nodes}
        for nodes in corridor_nodes.values():
            for i, n1 in enumerate(nodes):
                for n2 in nodes[i + 1 :]:
                    self._link(n1, n2, math.hypot(n1[1] - n2[1], n1[2] - n2[2]))
        for door in self.doors.values():
            inside = self.inside_point(door.room)
            self._link((door.floor, *door.point), (door.floor, *door.entry), 0.8)
            self._link((door.floor, *inside), (door.floor, *door.point), _dist(inside, door.point))
        levels = {f.id: f.level for f in facility.floors.values()}
        vertical = [
            a for a in facility.areas.values() if a.kind in (AreaKind.STAIRWELL, AreaKind.ELEVATOR)
        ]
        for i, a in enumerate(vertical):
            for b in vertical[i + 1 :]:
                if (
                    a.kind is not b.kind
                    or abs(levels.get(a.floor, 0) - levels.get(b.floor, 0)) != 1
                ):
                    continue
                if _dist(_centroid(a.polygon), _centroid(b.polygon)) > 2.0:
                    continue
                p = params
                cost = (
                    p.stairs_s_per_level
                    if a.kind is AreaKind.STAIRWELL
                    else p.elevator_wait_s + p.elevator_s_per_level
                )
                # a vertical link's cost is in seconds, a walking edge's in metres (about 1 m/s)
                self._link(
                    (a.floor, *self.inside_point(a.id)), (b.floor, *self.inside_point(b.id)), cost
                )

    def _link(self, a: Node, b: Node, cost: float) -> None:
        self.edges.setdefault(a, []).append((b, cost))
        self.edges.setdefault(b, []).append((a, cost))

    def inside_point(self, area_id: str) -> Point:
        """The point where a person stands in an area by default (its centroid)."""
        return _centroid(self.site.facility.areas[area_id].polygon)

    def route(self, start: Node, goal: Node) -> list[Node]:
        """The node sequence from ``start`` to ``goal`` (both graph nodes), or [] if none."""
        if start == goal:
            return [start]
        dist: dict[Node, float] = {start: 0.0}
        prev: dict[Node, Node] = {}
        heap: list[tuple[float, Node]] = [(0.0, start)]
        while heap:
            d, node = heapq.heappop(heap)
            if node == goal:
                break
            if d > dist.get(node, math.inf):
                continue
            for nxt, cost in self.edges.get(node, ()):
                nd = d + cost
                if nd < dist.get(nxt, math.inf):
                    dist[nxt] = nd
                    prev[nxt] = node
                    heapq.heappush(heap, (nd, nxt))
        if goal not in prev:
            return []
        path = [goal]
        while path[-1] != start:
            path.append(prev[path[-1]])
        return path[::-1]

    def room_node(self, area_id: str) -> Node:
        area = self.site.facility.areas[area_id]
        return (area.floor, *self.inside_point(area_id))


def _dist(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _portal(a: Polygon, b: Polygon) -> Point | None:
    """The midpoint of the overlap of two touching polygons' bounding boxes, or None."""
    ax0, ay0 = min(p[0] for p in a), min(p[1] for p in a)
    ax1, ay1 = max(p[0] for p in a), max(p[1] for p in a)
    bx0, by0 = min(p[0] for p in b), min(p[1] for p in b)
    bx1, by1 = max(p[0] for p in b), max(p[1] for p in b)
    x0, x1 = max(ax0, bx0), min(ax1, bx1)
    y0, y1 = max(ay0, by0), min(ay1, by1)
    if x1 - x0 < -0.01 or y1 - y0 < -0.01:
        return None
    if x1 - x0 < 0.5 and y1 - y0 < 0.5:
        return None  # touching at a corner only
    return ((x0 + x1) / 2, (y0 + y1) / 2)


@dataclass(slots=True)
class Walker:
    """One person: position, a queue of legs to walk, and what they do next."""

    badge: str
    floor: str
    x: float
    y: float
    speed: float
    home_floor: str
    activity: str = "dwell"
    until: float = 0.0
    blind: bool = False
    legs: list[tuple[Node, float]] = field(default_factory=list)
    """Remaining waypoints, each with the seconds a vertical hop takes (0 for walking)."""
    after: str = "dwell"
    linger_room: str | None = None
    itinerary: list[str] | None = None
    """A surveyor's rooms still to visit, in order (None: an ordinary walker)."""


class Movement:
    """Moves every walker one second at a time, deterministically for a given ``rng``."""

    def __init__(
        self,
        site: Site,
        params: MovementParams,
        graph: WalkGraph | None = None,
        blind_spot_share: float = 0.1,
    ) -> None:
        self.blind_spot_share = blind_spot_share
        self.site = site
        self.params = params
        self.graph = graph or WalkGraph(site, params)
        rooms = [a for a in site.facility.areas.values() if a.id in self.graph.doors]
        self.rooms_on: dict[str, list[str]] = {}
        for a in rooms:
            if a.kind not in (AreaKind.STAIRWELL, AreaKind.ELEVATOR):
                self.rooms_on.setdefault(a.floor, []).append(a.id)
        self.corridors_on: dict[str, list[str]] = {}
        for door in self.graph.doors.values():
            self.corridors_on.setdefault(door.floor, []).append(door.room)
        self.floors = sorted(self.rooms_on)

    def spawn(self, badge: str, home_floor: str | None, rng: random.Random, now: float) -> Walker:
        floor = home_floor if home_floor in self.rooms_on else rng.choice(self.floors)
        room = rng.choice(self.rooms_on[floor])
        x, y = self._spot(room, rng)
        speed = max(
            0.8, min(1.8, rng.gauss(self.params.speed_mean_mps, self.params.speed_sigma_mps))
        )
        walker = Walker(badge, floor, x, y, speed, floor)
        self._dwell(walker, rng, now)
        return walker

    def survey(self, badge: str, now: float) -> Walker:
        """A surveyor: starts in the first room and visits every room of the site in turn, floor
        by floor (each floor's rooms nearest first), standing ``survey_dwell_s`` in the middle of
        each, in view of its IR devices (never in a blind spot); a room the walking graph does
        not reach from where it stands is skipped; at the end it stays in the last room."""
        order: list[str] = []
        for floor in self.floors:
            left = sorted(self.rooms_on[floor])
            here = self.graph.inside_point(left[0])
            while left:
                nxt = min(left, key=lambda r: _dist(here, self.graph.inside_point(r)))
                left.remove(nxt)
                order.append(nxt)
                here = self.graph.inside_point(nxt)
        first = order.pop(0)
        x, y = self.graph.inside_point(first)
        floor = self.site.facility.areas[first].floor
        walker = Walker(badge, floor, x, y, self.params.speed_mean_mps, floor, itinerary=order)
        walker.activity = "dwell"
        walker.until = now + self.params.survey_dwell_s
        return walker

    def _spot(self, room: str, rng: random.Random) -> Point:
        polygon = self.site.facility.areas[room].polygon
        xs = [p[0] for p in polygon]
        ys = [p[1] for p in polygon]
        cx, cy = _centroid(polygon)
        # somewhere in the middle 60 % of the bounding box, away from walls and doors
        return (
            cx + (rng.random() - 0.5) * 0.6 * (max(xs) - min(xs)),
            cy + (rng.random() - 0.5) * 0.6 * (max(ys) - min(ys)),
        )

    def _dwell(self, w: Walker, rng: random.Random, now: float) -> None:
        p = self.params
        w.activity = "dwell"
        w.blind = False
        if w.itinerary is not None:
            w.until = now + p.survey_dwell_s if w.itinerary else math.inf
            return
        w.until = now + max(
            5.0, min(900.0, p.dwell_median_s * math.exp(rng.gauss(0.0, p.dwell_sigma)))
        )

    def step(self, w: Walker, rng: random.Random, now: float) -> None:
        """Advance ``w`` by one second ending at ``now``."""
        if w.activity in ("dwell", "linger"):
            if now < w.until:
                return
            self._plan_next(w, rng, now)
            return
        if w.activity == "vertical":
            if now < w.until:
                return
            (w.floor, w.x, w.y), _ = w.legs.pop(0)
            w.activity = "walk"
        budget = w.speed
        while budget > 0 and w.legs:
            (floor, x, y), hop = w.legs[0]
            if floor != w.floor:
                # on the stairs / in the elevator: still on this floor until the hop is done
                w.activity = "vertical"
                w.until = now + hop
                return
            d = math.hypot(x - w.x, y - w.y)
            if d <= budget:
                w.x, w.y = x, y
                budget -= d
                w.legs.pop(0)
            else:
                w.x += (x - w.x) / d * budget
                w.y += (y - w.y) / d * budget
                budget = 0
        if not w.legs:
            if w.after == "linger":
                w.activity = "linger"
                lo, hi = self.params.doorway_linger_s
                w.until = now + rng.uniform(lo, hi)
                w.after = "dwell"
            else:
                self._dwell(w, rng, now)
                blind = rng.random() < self.blind_spot_share
                w.blind = blind and w.itinerary is None  # a surveyor stands in view

    def _plan_next(self, w: Walker, rng: random.Random, now: float) -> None:
        p = self.params
        g = self.graph
        w.blind = False  # a blind spot is where one stands: walking on, the badge is in view again
        if w.itinerary is not None:
            self._survey_next(w, now)
            return
        floor = w.home_floor
        if len(self.floors) > 1 and rng.random() < p.other_floor_share:
            floor = rng.choice([f for f in self.floors if f != w.floor] or self.floors)
        start = self._nearest_node(w)
        linger = w.activity == "dwell" and rng.random() < p.doorway_linger_prob
        legs: list[Node] = []
        if linger:
            room = self._room_at(w)
            door = g.doors.get(room) if room else None
            if door is not None:
                # stand on the corridor side, half a metre out of the doorway
                spot = _toward(door.point, door.entry, 0.5)
                legs = [*g.route(start, (door.floor, *door.point)), (door.floor, *spot)]
                w.after = "linger"
                self._set_legs(w, legs)
                w.activity = "walk"
                return
        if rng.random() < p.corridor_share:
            room = rng.choice(self.corridors_on.get(floor) or self.rooms_on[floor])
            door = g.doors[room]
            target: Point = _toward(door.entry, door.point, -1.0)
            goal = (door.floor, *door.entry)
        else:
            room = rng.choice(self.rooms_on[floor])
            target = self._spot(room, rng)
            goal = g.room_node(room)
        path = g.route(start, goal)
        if not path:
            self._dwell(w, rng, now)
            return
        legs = [*path, (goal[0], *target)]
        w.after = "dwell"
        self._set_legs(w, legs)
        w.activity = "walk"

    def _survey_next(self, w: Walker, now: float) -> None:
        if not w.itinerary:
            w.until = math.inf
            return
        room = w.itinerary.pop(0)
        goal = self.graph.room_node(room)
        path = self.graph.route(self._nearest_node(w), goal)
        if not path:
            self._survey_next(w, now)  # unreachable: skip it
            return
        self._set_legs(w, [*path, (goal[0], *self.graph.inside_point(room))])
        w.after = "dwell"
        w.activity = "walk"

    def _set_legs(self, w: Walker, nodes: list[Node]) -> None:
        legs: list[tuple[Node, float]] = []
        prev_floor = w.floor
        for i, node in enumerate(nodes):
            hop = 0.0
            if node[0] != prev_floor and i > 0:
                for nxt, cost in self.graph.edges.get(nodes[i - 1], ()):
                    if nxt == node:
                        hop = cost
            legs.append((node, hop))
            prev_floor = node[0]
        w.legs = legs

    def _room_at(self, w: Walker) -> str | None:
        for room, door in self.graph.doors.items():
            if door.floor != w.floor:
                continue
            polygon = self.site.facility.areas[room].polygon
            if distance_outside(polygon, w.x, w.y) == 0.0:
                return room
        return None

    def _nearest_node(self, w: Walker) -> Node:
        """Where a walker joins the graph: its room's inside point, else a corridor node."""
        room = self._room_at(w)
        if room is not None:
            return self.graph.room_node(room)
        best: tuple[float, Node] | None = None
        for node in self.graph.corridor_nodes:
            if node[0] != w.floor:
                continue
            d = math.hypot(node[1] - w.x, node[2] - w.y)
            if best is None or d < best[0]:
                best = (d, node)
        assert best is not None
        return best[1]
