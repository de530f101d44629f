"""Floor maps as SVG, drawn from the site's polygons: pure functions, no I/O, no request.

One floor at a time, in the floor's own frame (metres, ``x`` to the right, ``y`` down, as the site
file draws it) with a ``viewBox``, so the same drawing fills a wall screen or a laptop panel.
On top of the areas:

- **highlights**: the area of an alert (a room, a bay, or a whole zone drawn as an area: a zone-level
  fix is not a point, and the map must not pretend it is);
- **the trail**: the areas an alert's person went through since the press, joined centre to centre,
  numbered from the press;
- **devices** (for engineers): an IR monitor or bay emitter colours the outline of the area it covers, a
  BLE beacon, locator or gateway is a dot at its position; both coloured by supervision status.

Every shape carries a ``<title>`` (a screen reader's and a mouse's label) and ``data-`` attributes the
page's script and the tests read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from duress.domain.devices import Device
from duress.domain.facility import Area, AreaKind, Facility, Point, Polygon, centroid

MARGIN_M = 1.0
CHAR_WIDTH = 0.6
"""Average glyph width as a share of the font size (system sans-serif), to decide if a label fits."""
LABELLED = frozenset(
    {AreaKind.ROOM, AreaKind.BAY, AreaKind.WAITING, AreaKind.LOBBY, AreaKind.NURSE_STATION}
)
DRAW_ORDER = {AreaKind.CORRIDOR: 0, AreaKind.ZONE: 1, AreaKind.BAY: 3}
"""Corridors and zones first, bays last (they sit inside rooms and open areas)."""


@dataclass(frozen=True, slots=True)
class Highlight:
    """An area to mark: ``tone`` is a CSS class (``real``, ``drill``, ``test``, ``trouble``,
    ``selected``...), ``label`` what the mark says, ``alert`` the alert it belongs to."""

    area: str
    tone: str
    label: str = ""
    alert: str | None = None
    stale: bool = False
    precise: bool = True
    """False for a zone- or floor-level fix: the area is drawn, no pin (it would be a false point)."""


@dataclass(frozen=True, slots=True)
class DeviceMark:
    device: Device
    status: str
    """``online``, ``silent``, ``offline``, ``unsupervised`` or ``unknown``."""
    detail: str = ""


def bounds(points: Iterable[Point]) -> tuple[float, float, float, float]:
    """``(min_x, min_y, max_x, max_y)`` of some points."""
    xs, ys = zip(*points, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def _points(polygon: Polygon) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in polygon)


def _label(area: Area, font: float) -> str:
    """The area's name if it fits across the area, else its last word (``Room 12`` → ``12``)."""
    min_x, _, max_x, _ = bounds(area.polygon)
    width = (max_x - min_x) * 0.92
    for text in (area.name, area.name.split()[-1] if area.name else ""):
        if text and len(text) * font * CHAR_WIDTH <= width:
            return text
    return ""


def floor_extent(facility: Facility, floor_id: str) -> tuple[float, float, float, float]:
    floor = facility.floors[floor_id]
    points = list(floor.outline)
    for area in facility.areas_on(floor_id):
        points.extend(area.polygon)
    return bounds(points)


def render_floor(
    facility: Facility,
    floor_id: str,
    *,
    highlights: Sequence[Highlight] = (),
    trail: Sequence[str] = (),
    devices: Sequence[DeviceMark] = (),
    title: str | None = None,
) -> str:
    """The SVG of one floor. ``trail`` is a sequence of area ids, oldest first (areas on other floors
    are left out); unknown area ids in ``highlights`` or ``trail`` are ignored, never an error."""
    floor = facility.floors[floor_id]
    areas = {a.id: a for a in facility.areas_on(floor_id)}
    min_x, min_y, max_x, max_y = floor_extent(facility, floor_id)
    width, height = max_x - min_x + 2 * MARGIN_M, max_y - min_y + 2 * MARGIN_M
    font = max(0.6, min(1.4, max(width, height) / 90))
    box = f"{_num(min_x - MARGIN_M)} {_num(min_y - MARGIN_M)} {_num(width)} {_num(height)}"
    name = title or f"{floor.name} map"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="floor-map" viewBox="{box}" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{escape(name)}" '
        f'data-floor="{escape(floor_id)}" style="--font: {_num(font)}px">',
        f"<title>{escape(name)}</title>",
        f'<polygon class="outline" points="{_points(floor.outline)}"/>',
        '<g class="areas">',
    ]
    ordered = sorted(areas.values(), key=lambda a: (DRAW_ORDER.get(a.kind, 2), a.id))
    for area in ordered:
        unit = f' data-unit="{escape(area.unit)}"' if area.unit else ""
        out.append(
            f'<polygon class="area {area.kind.value}" data-area="{escape(area.id)}"{unit} '
            f'points="{_points(area.polygon)}"><title>{escape(area.name)}</title></polygon>'
        )
    out.append("</g>")
    out.append('<g class="labels" aria-hidden="true">')
    for area in ordered:
        if area.kind not in LABELLED:
            continue
        text = _label(area, font * (0.75 if area.kind is AreaKind.BAY else 1.0))
        if text:
            x, y = centroid(area.polygon)
            size = "small" if area.kind is AreaKind.BAY else ""
            out.append(
                f'<text class="label {size}" x="{_num(x)}" y="{_num(y)}">{escape(text)}</text>'
            )
    out.append("</g>")
    if devices:
        out.extend(_devices(devices, areas, font))
    steps = [areas[a] for a in trail if a in areas]
    if len(steps) > 1:
        out.extend(_trail(steps, font))
    for mark in highlights:
        hit = areas.get(mark.area)
        if hit is not None:
            out.extend(_highlight(hit, mark, font))
    out.append("</svg>")
    return "\n".join(out)


def _devices(devices: Sequence[DeviceMark], areas: dict[str, Area], font: float) -> list[str]:
    out = ['<g class="devices">']
    for mark in devices:
        device = mark.device
        label = f"{device.name or device.id} ({device.kind.value}): {mark.status}"
        if mark.detail:
            label += f", {mark.detail}"
        attrs = (
            f'class="device {device.kind.value} {escape(mark.status)}" '
            f'data-device="{escape(device.id)}" data-status="{escape(mark.status)}"'
        )
        if device.area in areas and device.kind.is_ir:
            out.append(
                f'<polygon {attrs} points="{_points(areas[device.area].polygon)}">'
                f"<title>{escape(label)}</title></polygon>"
            )
        elif device.position is not None:
            x, y = device.position
            out.append(
                f'<circle {attrs} cx="{_num(x)}" cy="{_num(y)}" r="{_num(font * 0.35)}">'
                f"<title>{escape(label)}</title></circle>"
            )
    out.append("</g>")
    return out


def _trail(steps: Sequence[Area], font: float) -> list[str]:
    points = [centroid(a.polygon) for a in steps]
    path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
    out = [
        '<g class="trail" aria-label="Trail since the press">',
        f'<polyline points="{path}"/>',
    ]
    for n, ((x, y), area) in enumerate(zip(points, steps, strict=True), start=1):
        word = "press" if n == 1 else f"step {n}"
        out.append(
            f'<circle class="step" data-step="{n}" cx="{_num(x)}" cy="{_num(y)}" '
            f'r="{_num(font * 0.5)}"><title>{word}: {escape(area.name)}</title></circle>'
        )
    out.append("</g>")
    return out


def _highlight(area: Area, mark: Highlight, font: float) -> list[str]:
    zone = not mark.precise or area.kind in (AreaKind.ZONE, AreaKind.CORRIDOR)
    classes = " ".join(
        c for c in ("hit", mark.tone, "zone" if zone else "", "stale" if mark.stale else "") if c
    )
    alert = f' data-alert="{escape(mark.alert)}"' if mark.alert else ""
    label = mark.label or area.name
    x, y = centroid(area.polygon)
    out = [
        f'<g class="{escape(classes)}" data-hit="{escape(area.id)}"{alert}>',
        f'<polygon points="{_points(area.polygon)}"><title>{escape(label)}</title></polygon>',
    ]
    if not zone:
        # A room or bay fix: a pin at its centre. A zone fix gets no pin: the whole area is the answer.
        out.append(f'<circle class="pin" cx="{_num(x)}" cy="{_num(y)}" r="{_num(font * 0.6)}"/>')
    out.append(
        f'<text class="hit-label" x="{_num(x)}" y="{_num(y - font * 1.2)}">{escape(label)}</text>'
    )
    out.append("</g>")
    return out


__all__ = ["DeviceMark", "Highlight", "bounds", "centroid", "floor_extent", "render_floor"]
