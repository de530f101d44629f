"""The floor map is pure SVG built from the site's polygons."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.sites import small_site

from duress.domain.devices import Device, DeviceKind
from duress.web.floor_map import DeviceMark, Highlight, floor_extent, render_floor

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def test_every_area_of_the_floor_is_drawn_with_a_title_and_a_view_box() -> None:
    site = small_site()
    root = parse(render_floor(site.facility, "f1"))
    assert root.get("viewBox") == "-1 -1 42 26"  # the floor's 40 x 24 m and a metre of margin
    assert root.get("role") == "img"
    drawn = {p.get("data-area") for p in root.iter(f"{SVG}polygon") if p.get("data-area")}
    assert drawn == set(site.facility.areas)
    for polygon in root.iter(f"{SVG}polygon"):
        if polygon.get("data-area"):
            assert polygon.find(f"{SVG}title") is not None


def test_bays_are_drawn_after_their_open_area_so_they_stay_visible() -> None:
    root = parse(render_floor(small_site().facility, "f1"))
    order = [p.get("data-area") for p in root.iter(f"{SVG}polygon") if p.get("data-area")]
    assert order.index("ed-bay-1") > order.index("ed-open")
    assert order[0] == "f1-corr"  # corridors first, under everything


def test_a_room_fix_gets_a_pin_and_a_zone_fix_is_an_area_without_a_point() -> None:
    facility = small_site().facility
    room = parse(render_floor(facility, "f1", highlights=[Highlight("icu-1", "real", "Ana")]))
    [hit] = [g for g in room.iter(f"{SVG}g") if g.get("data-hit")]
    assert hit.get("data-hit") == "icu-1"
    assert hit.find(f"{SVG}circle") is not None
    assert "Ana" in "".join(hit.itertext())

    zone = parse(
        render_floor(facility, "f1", highlights=[Highlight("ed-open", "real", precise=False)])
    )
    [hit] = [g for g in zone.iter(f"{SVG}g") if g.get("data-hit")]
    assert "zone" in (hit.get("class") or "").split()
    assert hit.find(f"{SVG}circle") is None  # no false point
    corridor = parse(render_floor(facility, "f1", highlights=[Highlight("f1-corr", "real")]))
    [hit] = [g for g in corridor.iter(f"{SVG}g") if g.get("data-hit")]
    assert hit.find(f"{SVG}circle") is None


def test_tones_and_staleness_are_classes_and_unknown_areas_are_ignored() -> None:
    svg = render_floor(
        small_site().facility,
        "f1",
        highlights=[
            Highlight("icu-2", "drill selected", alert="a-1", stale=True),
            Highlight("no-such-room", "real"),
        ],
    )
    root = parse(svg)
    [hit] = [g for g in root.iter(f"{SVG}g") if g.get("data-hit")]
    assert set((hit.get("class") or "").split()) == {"hit", "drill", "selected", "stale"}
    assert hit.get("data-alert") == "a-1"


def test_the_trail_joins_area_centres_in_order_and_skips_other_floors() -> None:
    facility = small_site().facility
    root = parse(render_floor(facility, "f1", trail=["icu-1", "f1-corr", "elsewhere", "icu-2"]))
    [trail] = [g for g in root.iter(f"{SVG}g") if g.get("class") == "trail"]
    steps = list(trail.iter(f"{SVG}circle"))
    assert [c.get("data-step") for c in steps] == ["1", "2", "3"]
    assert (steps[0].get("cx"), steps[0].get("cy")) == ("5", "5")  # ICU 1's centre
    assert "press" in "".join(steps[0].itertext())
    one = parse(render_floor(facility, "f1", trail=["icu-1"]))
    assert not [g for g in one.iter(f"{SVG}g") if g.get("class") == "trail"]


def test_devices_colour_covered_areas_and_positions_by_status() -> None:
    site = small_site()
    marks = [
        DeviceMark(site.devices["ir-icu-1"], "online", "last heard 3 s ago"),
        DeviceMark(site.devices["ble-corr"], "silent"),
        DeviceMark(Device("ble-x", DeviceKind.BLE_BEACON, "f1", 900.0), "unknown"),  # no position
    ]
    root = parse(render_floor(site.facility, "f1", devices=marks))
    found = {e.get("data-device"): e for e in root.iter() if e.get("data-device")}
    assert set(found) == {"ir-icu-1", "ble-corr"}
    assert found["ir-icu-1"].tag == f"{SVG}polygon"
    assert found["ir-icu-1"].get("data-status") == "online"
    assert found["ble-corr"].tag == f"{SVG}circle"
    assert (found["ble-corr"].get("cx"), found["ble-corr"].get("cy")) == ("20", "12")
    assert "silent" in (found["ble-corr"].get("class") or "")


def test_text_is_escaped() -> None:
    svg = render_floor(
        small_site().facility, "f1", highlights=[Highlight("icu-1", "real", "<script>&")]
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;&amp;" in svg
    parse(svg)


def test_labels_fall_back_to_the_last_word_when_the_name_does_not_fit() -> None:
    root = parse(render_floor(small_site().facility, "f1"))
    labels = {t.text for t in root.iter(f"{SVG}text")}
    assert "ICU 1" in labels or "1" in labels
    assert "ED open area" not in labels  # a zone: no label


def test_floor_extent_covers_areas_outside_the_outline() -> None:
    assert floor_extent(small_site().facility, "f1") == (0, 0, 40, 24)
