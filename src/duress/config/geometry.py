"""Geometry checks of a facility with shapely: valid polygons, areas inside their floor and parent,
no overlapping rooms, BLE devices inside their floor.

Tolerances allow for hand-drawn plans and projected IMDF coordinates: an area may stick out of its
floor or parent by :data:`CONTAIN_TOLERANCE_M`; two rooms may overlap by
:data:`OVERLAP_TOLERANCE_M2` (a shared wall drawn twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import shapely
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.validation import explain_validity

from duress.config.source import Node
from duress.domain.facility import Area, AreaKind, Polygon

CONTAIN_TOLERANCE_M = 0.05
"""How far (metres) an area may stick out of its floor outline or its parent area."""
OVERLAP_TOLERANCE_M2 = 0.001
"""How much (square metres, i.e. 10 cm²) two areas that must not overlap may still overlap."""

OVERLAY_KINDS = frozenset({AreaKind.ZONE})
"""Kinds that are overlays (a team area, a coverage zone): they may overlap anything."""

Report = Callable[[Node, str, str], None]


@dataclass(frozen=True, slots=True)
class Placed:
    """An area (or floor outline) with where it was written, for reporting."""

    area: Area
    node: Node
    path: str


def check_polygon(polygon: Polygon, node: Node, path: str, report: Report) -> ShapelyPolygon | None:
    """The shapely polygon, or None after reporting why it is not a valid, non-empty polygon."""
    shape = ShapelyPolygon(polygon)
    if not shape.is_valid:
        why = explain_validity(shape)
        report(
            node,
            path,
            f"the polygon is not valid ({why}); list the vertices in order around the outline "
            "so that no edges cross",
        )
        return None
    if shape.area <= 1e-6:
        report(node, path, "the polygon has zero area; its vertices must not all lie on one line")
        return None
    return shape


def check_inside(
    inner: ShapelyPolygon,
    outer: ShapelyPolygon,
    node: Node,
    path: str,
    what: str,
    report: Report,
) -> None:
    if outer.buffer(CONTAIN_TOLERANCE_M, join_style="mitre").contains(inner):
        return
    outside = inner.difference(outer).area
    xmin, ymin, xmax, ymax = inner.bounds
    report(
        node,
        path,
        f"lies partly outside {what} ({outside:.2f} m² outside; area spans x {xmin:g}..{xmax:g}, "
        f"y {ymin:g}..{ymax:g}); move it or enlarge {what}",
    )


def check_point_inside(
    point: tuple[float, float],
    outer: ShapelyPolygon,
    node: Node,
    path: str,
    what: str,
    report: Report,
) -> None:
    if outer.buffer(CONTAIN_TOLERANCE_M, join_style="mitre").contains(ShapelyPoint(point)):
        return
    xmin, ymin, xmax, ymax = outer.bounds
    report(
        node,
        path,
        f"[{point[0]:g}, {point[1]:g}] lies outside {what} (x {xmin:g}..{xmax:g}, "
        f"y {ymin:g}..{ymax:g}); fix the position or the floor",
    )


def may_overlap(a: Area, b: Area, ancestors: Mapping[str, frozenset[str]]) -> bool:
    """Pairs allowed to overlap: an area and its ancestor, overlays, two corridor segments."""
    if a.kind in OVERLAY_KINDS or b.kind in OVERLAY_KINDS:
        return True
    if a.id in ancestors.get(b.id, frozenset()) or b.id in ancestors.get(a.id, frozenset()):
        return True
    return a.kind is AreaKind.CORRIDOR and b.kind is AreaKind.CORRIDOR


def check_overlaps(
    placed: list[Placed],
    shapes: Mapping[str, ShapelyPolygon],
    ancestors: Mapping[str, frozenset[str]],
    report: Report,
) -> None:
    """Report every pair of areas on one floor that overlap more than the tolerance.

    Each pair is reported once, at the area written later.
    """
    by_floor: dict[str, list[Placed]] = {}
    for item in placed:
        if item.area.id in shapes:
            by_floor.setdefault(item.area.floor, []).append(item)
    for items in by_floor.values():
        geoms = [shapes[p.area.id] for p in items]
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        for i, j in zip(left.tolist(), right.tolist(), strict=True):
            if i >= j:
                continue
            a, b = items[i], items[j]
            if may_overlap(a.area, b.area, ancestors):
                continue
            overlap = geoms[i].intersection(geoms[j]).area
            if overlap <= OVERLAP_TOLERANCE_M2:
                continue
            later, earlier = (
                (b, a) if (b.node.file, b.node.line) >= (a.node.file, a.node.line) else (a, b)
            )
            fix = (
                f"set `parent: {earlier.area.id}` if it lies inside it"
                if later.area.kind is AreaKind.BAY and later.area.parent is None
                else "move one of them so they only share a wall"
            )
            report(
                later.node,
                later.path,
                f"area {later.area.id!r} ({later.area.kind}) overlaps area {earlier.area.id!r} "
                f"({earlier.area.kind}, at {earlier.path}) by {overlap:.2f} m²; {fix}",
            )
