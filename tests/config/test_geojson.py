"""GeoJSON floor-plan import: features become the facility section; the round trip loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from duress.config.geojson import import_geojson, read_geojson, slug
from duress.config.loader import load_site
from duress.config.yamlout import dump_yaml
from duress.domain.errors import ConfigError
from duress.domain.facility import AreaKind, UnitKind
from duress.domain.precision import Precision

FIXTURE = Path(__file__).parent / "fixtures" / "clinic.geojson"
SITE = "site: {id: clinic, name: St. Luke Clinic, timezone: America/Chicago}\n"


def floors_by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in data["facility"]["floors"]}


def test_features_become_floors_units_and_areas() -> None:
    data = read_geojson(FIXTURE)
    floors = floors_by_id(data)
    assert list(floors) == ["l2", "l1"]  # l2 has no outline feature: level 0, envelope outline
    l1 = floors["l1"]
    assert l1["level"] == 1
    assert l1["building"] == "clinic"
    assert l1["outline"] == [[0, 0], [30, 0], [30, 12], [0, 12]]
    assert l1["units"] == [
        {"id": "urgent-care", "name": "Urgent Care", "kind": "ed", "required_precision": "zone"}
    ]
    areas = {a["id"]: a for a in l1["areas"]}
    assert areas["uc-open"]["name"] == "Urgent Care Open Area"  # id from the feature's id
    assert areas["uc-bay-1"] == {
        "id": "uc-bay-1",
        "name": "Bay 1",
        "kind": "bay",
        "parent": "uc-open",
        "polygon": [[0, 0], [3, 0], [3, 4], [0, 4]],
    }
    assert {"uc-waiting", "uc-waiting-2"} <= set(areas)  # a MultiPolygon becomes two areas
    assert floors["l2"]["outline"] == [[-1, -1], [6, -1], [6, 6], [-1, 6]]
    assert data["facility"]["buildings"] == [
        {"id": "clinic", "name": "Clinic"},
        {"id": "main", "name": "Main"},
    ]


def test_round_trip_import_yaml_load(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(SITE)
    (tmp_path / "facility.yaml").write_text(dump_yaml(read_geojson(FIXTURE)))
    site = load_site(tmp_path)
    facility = site.facility
    assert len(facility.floors) == 2
    assert facility.units["urgent-care"].kind is UnitKind.ED
    assert facility.areas["uc-bay-2"].parent == "uc-open"
    assert facility.areas["uc-hall"].kind is AreaKind.CORRIDOR
    assert facility.required_precision("uc-bay-1") is Precision.ZONE


def test_floor_filter(tmp_path: Path) -> None:
    data = read_geojson(FIXTURE, floors=["l1"])
    assert [f["id"] for f in data["facility"]["floors"]] == ["l1"]
    with pytest.raises(
        ConfigError, match="--floor 'l9' is not in the plan; the floors are: l1, l2"
    ):
        read_geojson(FIXTURE, floors=["l9"])


def test_bad_features_are_all_reported() -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"kind": "room", "id": "a"}, "geometry": None},
            {
                "type": "Feature",
                "properties": {"kind": "lab", "id": "b", "floor": "f1"},
                "geometry": None,
            },
            {
                "type": "Feature",
                "properties": {"kind": "room", "id": "c", "floor": "f1"},
                "geometry": {"type": "Point", "coordinates": [1, 2]},
            },
        ],
    }
    with pytest.raises(ConfigError) as info:
        import_geojson(collection, source="plan.geojson")
    assert info.value.problems == [
        "plan.geojson: features[0] (a): properties.floor is missing; "
        "name the floor the feature is on",
        "plan.geojson: features[1] (b): kind 'lab' is not an area kind; use floor, unit or one of: "
        "alcove, bathroom, bay, corridor, elevator, equipment_room, lobby, nurse_station, office, "
        "overflow, room, stairwell, waiting, zone",
        "plan.geojson: features[2] (c): a Point is not an area; draw a Polygon",
    ]


def test_not_a_feature_collection(tmp_path: Path) -> None:
    path = tmp_path / "x.geojson"
    path.write_text(json.dumps({"type": "Feature"}))
    with pytest.raises(ConfigError, match="not a GeoJSON FeatureCollection"):
        read_geojson(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Room 4B-12", "room-4b-12"), ("  ICU / Bay 3 ", "icu-bay-3"), ("!!", "x")],
)
def test_slug(name: str, expected: str) -> None:
    assert slug(name) == expected
