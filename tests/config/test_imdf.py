"""IMDF import: WGS84 projected to local metres, unit categories mapped, round trip loads."""

from __future__ import annotations

import math
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from duress.config.imdf import CATEGORY_KINDS, count_openings, project, read_archive, read_imdf
from duress.config.loader import load_site
from duress.config.yamlout import dump_yaml
from duress.domain.errors import ConfigError
from duress.domain.facility import AreaKind

FIXTURE = Path(__file__).parent / "fixtures" / "imdf-clinic"
SITE = "site: {id: st-luke, name: St. Luke Clinic, timezone: America/Chicago}\n"


def areas_of(data: dict[str, Any], floor: str) -> dict[str, dict[str, Any]]:
    (f,) = [f for f in data["facility"]["floors"] if f["id"] == floor]
    return {a["id"]: a for a in f["areas"]}


def test_levels_become_floors_in_local_metres() -> None:
    data = read_imdf(FIXTURE)
    floors = data["facility"]["floors"]
    assert [(f["id"], f["level"], f["name"]) for f in floors] == [
        ("f1", 1, "Level 1"),
        ("f2", 2, "Level 2"),
    ]
    assert floors[0]["building"] == "clinic-building"
    assert floors[0]["outline"] == [[0, 0], [40, 0], [40, 20], [0, 20]]
    assert data["facility"]["buildings"] == [{"id": "clinic-building", "name": "Clinic Building"}]


def test_unit_categories_map_to_area_kinds() -> None:
    areas = areas_of(read_imdf(FIXTURE), "f1")
    kinds = {a["id"]: a["kind"] for a in areas.values()}
    assert kinds == {
        "f1-exam-room-101": "room",
        "f1-exam-room-102": "room",
        "f1-restroom": "bathroom",
        "f1-supply-storage": "equipment_room",
        "f1-corridor": "corridor",  # an unnamed walkway
        "f1-stair-1": "stairwell",
        "f1-elevator": "elevator",
        "f1-waiting-room": "waiting",
    }  # the `structure` unit is skipped
    assert areas["f1-exam-room-102"]["polygon"] == [[5, 0], [10, 0], [10, 6], [5, 6]]
    assert areas["f1-exam-room-102"]["name"] == "Exam Room 102"


def test_round_trip_from_a_zip(tmp_path: Path) -> None:
    archive = tmp_path / "clinic.imdf.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for file in FIXTURE.iterdir():
            z.write(file, f"clinic/{file.name}")
    collections = read_archive(archive)
    assert count_openings(collections) == 3
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "site.yaml").write_text(SITE)
    (site_dir / "facility.yaml").write_text(dump_yaml(read_imdf(archive)))
    site = load_site(site_dir)
    assert len(site.facility.floors) == 2
    assert site.facility.areas["f2-upper-hall"].kind is AreaKind.CORRIDOR
    assert site.facility.areas["f2-clean-utility"].kind is AreaKind.ROOM
    assert len(site.facility.areas) == 12


def test_floor_filter_and_missing_files(tmp_path: Path) -> None:
    data = read_imdf(FIXTURE, floors=["f2"])
    assert [f["id"] for f in data["facility"]["floors"]] == ["f2"]
    partial = tmp_path / "partial"
    shutil.copytree(FIXTURE, partial)
    (partial / "unit.geojson").unlink()
    with pytest.raises(ConfigError, match=r"lacks unit\.geojson"):
        read_imdf(partial)


def test_every_imdf_restroom_category_is_a_bathroom() -> None:
    restrooms = [c for c in CATEGORY_KINDS if c.startswith("restroom")]
    assert len(restrooms) == 11
    assert all(CATEGORY_KINDS[c] is AreaKind.BATHROOM for c in restrooms)


@given(
    dx=st.floats(min_value=-2000, max_value=2000),
    dy=st.floats(min_value=-2000, max_value=2000),
    lat0=st.floats(min_value=-70, max_value=70),
)
def test_projection_round_trips_within_a_millimetre(dx: float, dy: float, lat0: float) -> None:
    r = 6_371_008.8
    lon0 = 10.0
    lon = lon0 + math.degrees(dx / (r * math.cos(math.radians(lat0))))
    lat = lat0 + math.degrees(dy / r)
    x, y = project(lon, lat, (lon0, lat0))
    assert abs(x - dx) < 1e-3
    assert abs(y - dy) < 1e-3
