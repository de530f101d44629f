"""Import an IMDF archive (Apple's Indoor Mapping Data Format) into site YAML.

An IMDF archive is a folder or zip of GeoJSON files; this reads ``venue.geojson`` (the origin),
``building.geojson``, ``level.geojson`` (floors), ``unit.geojson`` (spaces) and ``opening.geojson``
(doors, only counted for now). IMDF coordinates are WGS84 longitude/latitude; they are projected to
local metres around the venue's ``display_point`` with an equirectangular projection (exact to a few
millimetres over a hospital campus): ``x`` east, ``y`` north.

IMDF levels become floors (``level`` = ordinal + 1 for ordinal >= 0, so the ground floor is level 1
as in US numbering; basements keep their negative ordinal), IMDF units become areas with the kind
given by :data:`CATEGORY_KINDS`. Clinical units are not in IMDF: add them and each area's ``unit:``
after the import. See docs/floor-plans.md.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from duress.config.geojson import UniqueIds, assemble, rings, rounded, slug
from duress.domain.errors import ConfigError
from duress.domain.facility import AreaKind

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG)."""

FILES = ("venue", "building", "level", "unit", "opening")

CATEGORY_KINDS: dict[str, AreaKind | None] = {
    "room": AreaKind.ROOM,
    "nonpublic": AreaKind.ROOM,
    "unspecified": AreaKind.ROOM,
    "firstaid": AreaKind.ROOM,
    "classroom": AreaKind.ROOM,
    "conferenceroom": AreaKind.ROOM,
    "kitchen": AreaKind.ROOM,
    "laboratory": AreaKind.ROOM,
    "lounge": AreaKind.ROOM,
    "privatelounge": AreaKind.ROOM,
    "mothersroom": AreaKind.ROOM,
    "foodservice": AreaKind.ROOM,
    "fitnessroom": AreaKind.ROOM,
    "auditorium": AreaKind.ROOM,
    "walkway": AreaKind.CORRIDOR,
    "walkway.island": AreaKind.CORRIDOR,
    "footbridge": AreaKind.CORRIDOR,
    "ramp": AreaKind.CORRIDOR,
    "movingwalkway": AreaKind.CORRIDOR,
    "stairs": AreaKind.STAIRWELL,
    "steps": AreaKind.STAIRWELL,
    "escalator": AreaKind.STAIRWELL,
    "elevator": AreaKind.ELEVATOR,
    "restroom": AreaKind.BATHROOM,
    "restroom.family": AreaKind.BATHROOM,
    "restroom.female": AreaKind.BATHROOM,
    "restroom.female.wheelchair": AreaKind.BATHROOM,
    "restroom.male": AreaKind.BATHROOM,
    "restroom.male.wheelchair": AreaKind.BATHROOM,
    "restroom.transgender": AreaKind.BATHROOM,
    "restroom.transgender.wheelchair": AreaKind.BATHROOM,
    "restroom.unisex": AreaKind.BATHROOM,
    "restroom.unisex.wheelchair": AreaKind.BATHROOM,
    "restroom.wheelchair": AreaKind.BATHROOM,
    "shower": AreaKind.BATHROOM,
    "storage": AreaKind.EQUIPMENT_ROOM,
    "mailroom": AreaKind.EQUIPMENT_ROOM,
    "serverroom": AreaKind.EQUIPMENT_ROOM,
    "office": AreaKind.OFFICE,
    "huddleroom": AreaKind.OFFICE,
    "phoneroom": AreaKind.OFFICE,
    "lobby": AreaKind.LOBBY,
    "waitingroom": AreaKind.WAITING,
    "unenclosedarea": AreaKind.ZONE,
    "smokingarea": AreaKind.ZONE,
    # not operational spaces: skipped
    "structure": None,
    "column": None,
    "opentobelow": None,
    "brick": None,
    "concrete": None,
    "drywall": None,
    "glass": None,
    "wood": None,
    "vegetation": None,
    "road": None,
    "parking": None,
    "fieldofplay": None,
    "terrace": None,
    "platform": None,
}
"""IMDF unit category -> area kind (None: not imported). Unlisted categories import as ``room``."""


def project(lon: float, lat: float, origin: tuple[float, float]) -> tuple[float, float]:
    """Equirectangular projection of (lon, lat) to metres east/north of ``origin`` (lon, lat)."""
    lon0, lat0 = origin
    x = math.radians(lon - lon0) * math.cos(math.radians(lat0)) * EARTH_RADIUS_M
    y = math.radians(lat - lat0) * EARTH_RADIUS_M
    return x, y


def read_archive(source: Path) -> dict[str, dict[str, Any]]:
    """The feature collections of an IMDF folder or zip, by file stem (``venue``, ``level``...)."""
    out: dict[str, dict[str, Any]] = {}
    try:
        if source.is_dir():
            for stem in FILES:
                file = source / f"{stem}.geojson"
                if file.exists():
                    out[stem] = json.loads(file.read_text(encoding="utf-8"))
        elif zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive:
                for name in archive.namelist():
                    stem = Path(name).name.removesuffix(".geojson")
                    if name.endswith(".geojson") and stem in FILES and stem not in out:
                        out[stem] = json.loads(archive.read(name).decode("utf-8"))
        else:
            raise ConfigError([f"{source}: not an IMDF folder or zip archive"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, zipfile.BadZipFile) as exc:
        raise ConfigError([f"{source}: cannot read the IMDF archive ({exc})"]) from None
    missing = [f"{stem}.geojson" for stem in ("venue", "level", "unit") if stem not in out]
    if missing:
        raise ConfigError([f"{source}: the IMDF archive lacks {', '.join(missing)}"])
    return out


def read_imdf(source: Path, *, floors: Collection[str] = ()) -> dict[str, Any]:
    """Read an IMDF folder or zip and import it (see :func:`import_imdf`)."""
    return import_imdf(read_archive(source), floors=floors, source=str(source))


def _label(value: object, fallback: str = "") -> str:
    """An IMDF LABELS object (``{"en": "Lobby"}``) or plain string as text."""
    if isinstance(value, Mapping):
        if "en" in value:
            return str(value["en"])
        return str(next(iter(value.values()), fallback))
    return str(value) if value else fallback


def _features(collection: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not collection:
        return []
    features = collection.get("features")
    return list(features) if isinstance(features, list) else []


def _origin(venue: Mapping[str, Any], source: str) -> tuple[float, float]:
    features = _features(venue)
    if not features:
        raise ConfigError([f"{source}: venue.geojson holds no venue feature"])
    props = features[0].get("properties") or {}
    point = props.get("display_point") or {}
    coords = point.get("coordinates") if isinstance(point, Mapping) else None
    if isinstance(coords, list) and len(coords) >= 2:
        return float(coords[0]), float(coords[1])
    ring = rings(features[0].get("geometry"), where=f"{source}: venue")[0]
    return sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)


def import_imdf(
    collections: Mapping[str, Mapping[str, Any]],
    *,
    floors: Collection[str] = (),
    source: str = "imdf",
) -> dict[str, Any]:
    """Turn IMDF feature collections (by file stem) into ``{"facility": {...}}`` in local metres."""
    origin = _origin(collections.get("venue") or {}, source)
    problems: list[str] = []

    def local(ring: list[list[float]]) -> list[list[float]]:
        return rounded([list(project(lon, lat, origin)) for lon, lat in ring], 2)

    building_ids = UniqueIds()
    buildings: dict[str, str] = {}
    building_names: dict[str, str] = {}
    for feature in _features(collections.get("building")):
        name = _label((feature.get("properties") or {}).get("name"), "Building")
        bid = building_ids(slug(name))
        buildings[str(feature.get("id"))] = bid
        building_names[bid] = name
    several = len(buildings) > 1
    floor_ids = UniqueIds()
    floor_defs: dict[str, dict[str, Any]] = {}
    level_floor: dict[str, str] = {}
    for i, feature in enumerate(_features(collections.get("level"))):
        props = feature.get("properties") or {}
        where = f"{source}: level.geojson features[{i}]"
        try:
            ordinal = int(props.get("ordinal", 0))
            level = ordinal + 1 if ordinal >= 0 else ordinal
            short = slug(_label(props.get("short_name"), str(level)))
            bref = (props.get("building_ids") or [None])[0]
            building = (
                buildings.get(str(bref), "main") if bref else next(iter(buildings.values()), "main")
            )
            if building not in building_names:
                building_names[building] = "Main Building"
            base = short if not short[0].isdigit() else f"f{short}"
            fid = floor_ids(f"{building}-{base}" if several else base)
            ring = rings(feature.get("geometry"), where=where)[0]
        except (ValueError, TypeError) as exc:
            problems.append(str(exc))
            continue
        level_floor[str(feature.get("id"))] = fid
        floor_defs[fid] = {
            "id": fid,
            "name": _label(props.get("name"), fid),
            "building": building,
            "level": level,
            "outline": local(ring),
        }
    area_ids = UniqueIds()
    areas: dict[str, list[dict[str, Any]]] = {}
    for i, feature in enumerate(_features(collections.get("unit"))):
        props = feature.get("properties") or {}
        where = f"{source}: unit.geojson features[{i}] ({feature.get('id')})"
        floor = level_floor.get(str(props.get("level_id")))
        if floor is None:
            problems.append(
                f"{where}: level_id {props.get('level_id')!r} names no level in level.geojson"
            )
            continue
        category = str(props.get("category") or "unspecified")
        kind = CATEGORY_KINDS.get(category, AreaKind.ROOM)
        if kind is None:
            continue
        name = _label(props.get("name"))
        base = area_ids(f"{floor}-{slug(name)}" if name else f"{floor}-{kind.value}")
        try:
            parts = rings(feature.get("geometry"), where=where)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        for n, ring in enumerate(parts):
            area: dict[str, Any] = {"id": base if n == 0 else area_ids(f"{base}-{n + 1}")}
            if name:
                area["name"] = name
            area["kind"] = kind.value
            area["polygon"] = local(ring)
            areas.setdefault(floor, []).append(area)
    if problems:
        raise ConfigError(problems)
    return assemble(floor_defs, {}, areas, floors=floors, source=source, buildings=building_names)


def count_openings(collections: Mapping[str, Mapping[str, Any]]) -> int:
    """How many openings (doors) the archive holds; they are not imported yet."""
    return len(_features(collections.get("opening")))
