"""Import floor plans drawn as a GeoJSON FeatureCollection (coordinates in metres) into site YAML.

Each feature is a Polygon (or MultiPolygon) with ``properties``:

- ``kind``: an area kind (``room``, ``bay``, ``corridor``, ...), or ``floor`` for a floor's outline,
  or ``unit`` for a clinical unit (geometry optional);
- ``id`` (else the feature's ``id``), ``name``, ``floor`` (the floor id; required on areas and
  units),
  ``unit``, ``parent``, ``required_precision``;
- on floors: ``level`` (integer) and ``building``; on units: ``unit_kind`` (default ``other``).

The result is the ``facility:`` section as plain data, ready for
:func:`duress.config.yamlout.dump_yaml` and then :func:`duress.config.loader.load_site` (which
checks the geometry). See docs/floor-plans.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, shape
from shapely.geometry import Polygon as ShapelyPolygon

from duress.domain.errors import ConfigError
from duress.domain.facility import AreaKind

DEFAULT_BUILDING = "main"


def slug(text: str) -> str:
    """A readable id from a name: ``"Room 4B-12"`` -> ``"room-4b-12"``."""
    out = re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")
    return out or "x"


class UniqueIds:
    """Hands out ids, suffixing ``-2``, ``-3``... when one is taken."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def __call__(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{wanted}-{n}"
        self.taken.add(candidate)
        return candidate


def rings(geometry: Mapping[str, Any] | None, *, where: str) -> list[list[list[float]]]:
    """The exterior rings of a Polygon or MultiPolygon geometry (holes are dropped)."""
    if not geometry:
        raise ValueError(f"{where}: the feature has no geometry; draw a Polygon")
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ValueError(
            f"{where}: the geometry cannot be read ({exc}); write a GeoJSON Polygon"
        ) from None
    polygons: Iterable[ShapelyPolygon]
    if isinstance(geom, ShapelyPolygon):
        polygons = [geom]
    elif isinstance(geom, MultiPolygon):
        polygons = list(geom.geoms)
    else:
        raise ValueError(f"{where}: a {geom.geom_type} is not an area; draw a Polygon")
    return [[[float(x), float(y)] for x, y in list(p.exterior.coords)[:-1]] for p in polygons]


def rounded(ring: list[list[float]], digits: int = 3) -> list[list[float]]:
    return [[round(x, digits) + 0.0, round(y, digits) + 0.0] for x, y in ring]


def envelope(rings_: Iterable[list[list[float]]], margin: float = 0.0) -> list[list[float]]:
    points = [p for ring in rings_ for p in ring]
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    x0, y0, x1, y1 = min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin
    return rounded([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def read_geojson(path: Path, *, floors: Collection[str] = ()) -> dict[str, Any]:
    """Read a GeoJSON file and import it (see :func:`import_geojson`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the GeoJSON ({exc})"]) from None
    return import_geojson(data, floors=floors, source=str(path))


def import_geojson(
    data: Mapping[str, Any], *, floors: Collection[str] = (), source: str = "geojson"
) -> dict[str, Any]:
    """Turn a FeatureCollection into ``{"facility": {"buildings": [...], "floors": [...]}}``.

    ``floors`` keeps only those floor ids (all when empty). Raises ConfigError listing every feature
    that cannot be imported.
    """
    if data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise ConfigError(
            [
                f"{source}: not a GeoJSON FeatureCollection; the top level needs "
                '"type": "FeatureCollection" and a "features" list'
            ]
        )
    problems: list[str] = []
    floor_defs: dict[str, dict[str, Any]] = {}
    units: dict[str, dict[str, Any]] = {}
    areas: dict[str, list[dict[str, Any]]] = {}
    area_ids = UniqueIds()
    kinds = {k.value for k in AreaKind}
    for i, feature in enumerate(data["features"]):
        props = dict(feature.get("properties") or {})
        ident = str(props.get("id") or feature.get("id") or "")
        where = f"{source}: features[{i}]" + (f" ({ident})" if ident else "")
        kind = str(props.get("kind", "")).strip()
        floor = props.get("floor")
        try:
            if kind == "floor":
                fid = ident or (str(floor) if floor else "")
                if not fid:
                    raise ValueError(f"{where}: a floor feature needs properties.id")
                ring = rings(feature.get("geometry"), where=where)[0]
                floor_defs[fid] = {
                    "id": fid,
                    "name": str(props.get("name") or fid),
                    "building": str(props.get("building") or DEFAULT_BUILDING),
                    "level": int(props.get("level", 0)),
                    "outline": rounded(ring),
                }
                continue
            if not floor:
                raise ValueError(
                    f"{where}: properties.floor is missing; name the floor the feature is on"
                )
            if kind == "unit":
                if not ident:
                    raise ValueError(f"{where}: a unit feature needs properties.id")
                units[ident] = _unit(ident, props, str(floor))
                continue
            if kind not in kinds:
                raise ValueError(
                    f"{where}: kind {kind!r} is not an area kind; use floor, unit or one of: "
                    f"{', '.join(sorted(kinds))}"
                )
            base = area_ids(slug(ident) if ident else f"{floor}-{kind}")
            for n, ring in enumerate(rings(feature.get("geometry"), where=where)):
                area: dict[str, Any] = {"id": base if n == 0 else area_ids(f"{base}-{n + 1}")}
                if props.get("name"):
                    area["name"] = str(props["name"])
                area["kind"] = kind
                for key in ("unit", "parent", "required_precision"):
                    if props.get(key):
                        area[key] = str(props[key])
                area["polygon"] = rounded(ring)
                areas.setdefault(str(floor), []).append(area)
                if area.get("unit") and area["unit"] not in units:
                    units[area["unit"]] = _unit(area["unit"], {}, str(floor))
        except (ValueError, TypeError) as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(problems)
    return assemble(floor_defs, units, areas, floors=floors, source=source)


def _unit(ident: str, props: Mapping[str, Any], floor: str) -> dict[str, Any]:
    unit: dict[str, Any] = {"id": ident, "name": str(props.get("name") or ident)}
    unit["kind"] = str(props.get("unit_kind") or "other")
    if props.get("required_precision"):
        unit["required_precision"] = str(props["required_precision"])
    unit["floor"] = floor
    return unit


def assemble(
    floor_defs: Mapping[str, dict[str, Any]],
    units: Mapping[str, dict[str, Any]],
    areas: Mapping[str, list[dict[str, Any]]],
    *,
    floors: Collection[str] = (),
    source: str,
    buildings: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build the facility section; a floor without outline gets its areas' envelope (+1 m)."""
    all_floors = dict(floor_defs)
    for fid in sorted(set(areas) - set(all_floors)):
        all_floors[fid] = {
            "id": fid,
            "name": fid,
            "building": DEFAULT_BUILDING,
            "level": 0,
            "outline": envelope((a["polygon"] for a in areas[fid]), margin=1.0),
        }
    unknown = [f for f in floors if f not in all_floors]
    if unknown:
        raise ConfigError(
            [
                f"{source}: --floor {f!r} is not in the plan; the floors are: "
                f"{', '.join(sorted(all_floors)) or 'none'}"
                for f in unknown
            ]
        )
    if not all_floors:
        raise ConfigError([f"{source}: the plan holds no floors or areas"])
    chosen = [f for f in all_floors.values() if not floors or f["id"] in floors]
    out_floors = []
    for floor in sorted(chosen, key=lambda f: (f["level"], f["id"])):
        entry = dict(floor)
        floor_units = [
            {k: v for k, v in u.items() if k != "floor"}
            for u in units.values()
            if u["floor"] == floor["id"]
        ]
        if floor_units:
            entry["units"] = floor_units
        entry["areas"] = areas.get(floor["id"], [])
        out_floors.append(entry)
    building_names = dict(buildings or {})
    used = sorted({f["building"] for f in out_floors})
    out_buildings = [
        {"id": b, "name": building_names.get(b, b.replace("-", " ").title())} for b in used
    ]
    return {"facility": {"buildings": out_buildings, "floors": out_floors}}
