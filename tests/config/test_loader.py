"""The site loader: every problem at once, each with file, line, key path, value and fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duress.config.loader import load_site
from duress.domain.devices import DEFAULT_HEARTBEAT_S, DeviceKind
from duress.domain.errors import ConfigError
from duress.domain.facility import AreaKind
from duress.domain.people import BadgeKind
from duress.domain.precision import Precision
from duress.domain.routing import StopOn, TargetKind

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

MINIMAL = """\
site: {id: test, name: Test Hospital, timezone: America/Chicago}
facility:
  buildings: [{id: main, name: Main}]
  floors:
    - id: f1
      level: 1
      outline: [[0, 0], [40, 0], [40, 20], [0, 20]]
      units:
        - {id: ed, name: ED, kind: ed, required_precision: zone}
      areas:
        - {id: ed-main, kind: room, unit: ed, rect: [0, 0, 20, 8]}
        - {id: bay-1, kind: bay, parent: ed-main, rect: [0, 0, 3, 5]}
        - {id: bay-2, kind: bay, parent: ed-main, rect: [3, 0, 3, 5]}
        - {id: c1, kind: corridor, rect: [0, 8, 40, 3]}
        - {id: r1, kind: room, unit: ed, polygon: [[20, 0], [24, 0], [24, 8], [20, 8]]}
devices:
  - {id: be-1, kind: bay_emitter, area: bay-1}
  - {id: gw-1, kind: gateway, floor: f1, position: [5, 9]}
  - {id: ble-1, kind: ble_beacon, floor: f1, position: [10, 9], tx_power: -59, gateway: gw-1}
people:
  staff:
    - {id: n-1, name: Ann Lee, role: rn, home_unit: ed, contacts: [{channel: wctp, address: "12"}]}
    - {id: n-2, name: Bo Kim, role: charge_nurse, home_unit: ed}
  badges: [{id: b-1, staff: n-1}, {id: b-2}, {id: t-1, kind: test}]
  teams: [{id: security, name: Security, members: [n-2]}]
  coverage: [{unit: ed, roles: [rn, charge_nurse]}]
routing:
  holidays: ["2026-12-25", 2026-01-01]
  policies:
    - id: ed
      units: [ed]
      schedule: [{days: [mon, tue], start: "07:00", end: 19:00}]
      tiers:
        - targets: [{role: charge_nurse}, {team: security}, {proximity: {count: 3, within_m: 40}}]
          escalate_after_s: 30
"""


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_site(path)
    return info.value.problems


def problem_text(tmp_path: Path, text: str) -> str:
    """The problems loading ``text`` as a site file reports, one a line."""
    return "\n".join(problems_of(write(tmp_path, text)))


def edited(old: str, new: str, base: str = MINIMAL) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


# -- a valid site --------------------------------------------------------------------------------


def test_minimal_site_loads_into_domain_objects(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, MINIMAL))
    assert site.id == "test"
    assert site.facility.timezone == "America/Chicago"
    assert site.facility.floors["f1"].building == "main"
    assert site.facility.units["ed"].floor == "f1"
    assert site.facility.areas["ed-main"].polygon == ((0, 0), (20, 0), (20, 8), (0, 8))
    assert site.facility.required_precision("bay-1") is Precision.ZONE
    assert site.devices["be-1"].floor == "f1"  # derived from its area
    assert site.devices["be-1"].heartbeat_s == DEFAULT_HEARTBEAT_S[DeviceKind.BAY_EMITTER]
    assert site.devices["ble-1"].tx_power == -59
    assert site.wearer("b-1") is not None
    assert site.badges["b-2"].staff is None
    assert site.badges["t-1"].kind is BadgeKind.TEST
    assert site.staff["n-1"].contacts[0].address == "12"
    assert site.holidays == frozenset({"2026-12-25", "2026-01-01"})
    (policy,) = site.policies
    assert policy.name == "ed"
    assert policy.stop_on is StopOn.ACCEPTED
    window = policy.schedule[0]
    assert window.days == frozenset({1, 2})
    assert (window.start.hour, window.end.hour) == (7, 19)  # unquoted 19:00 still a time
    kinds = [t.kind for t in policy.tiers[0].targets]
    assert kinds == [TargetKind.ROLE, TargetKind.TEAM, TargetKind.PROXIMITY]
    assert policy.tiers[0].targets[2].count == 3


def test_example_site_loads_with_expected_counts() -> None:
    site = load_site(EXAMPLES / "mercy-general")
    facility = site.facility
    assert site.id == "mercy-general"
    assert len(facility.floors) == 3
    assert set(facility.units) == {"ed", "admin", "icu", "ms-2b", "bh", "ms-3a"}
    kinds = {a.kind for a in facility.areas.values()}
    for kind in (
        AreaKind.BAY,
        AreaKind.CORRIDOR,
        AreaKind.STAIRWELL,
        AreaKind.ELEVATOR,
        AreaKind.BATHROOM,
        AreaKind.ALCOVE,
        AreaKind.EQUIPMENT_ROOM,
        AreaKind.OVERFLOW,
        AreaKind.NURSE_STATION,
    ):
        assert kind in kinds
    assert len(facility.areas) == 275
    ed_bays = [
        a
        for a in facility.areas.values()
        if a.kind is AreaKind.BAY and facility.unit_of(a.id) == "ed"
    ]
    assert len(ed_bays) == 20
    emitters = {d.area for d in site.devices.values() if d.kind is DeviceKind.BAY_EMITTER}
    assert {b.id for b in ed_bays} <= emitters
    gateways = [d for d in site.devices.values() if d.kind is DeviceKind.GATEWAY]
    assert {g.floor for g in gateways} == {"f1", "f2", "f3"}
    assert facility.units["bh"].required_precision is Precision.BED
    assert len(site.staff) >= 150
    assert len(site.badges) == 188
    assert sum(b.kind is BadgeKind.TEST for b in site.badges.values()) == 4
    assert "security" in site.teams
    after = [
        t.escalate_after_s for t in next(p for p in site.policies if p.id == "ed-duress").tiers
    ]
    assert after[:2] == [30, 60]  # tier 2 at 30 s, tier 3 at 90 s


def test_example_files_are_what_the_generator_writes() -> None:
    import runpy

    module = runpy.run_path(str(EXAMPLES / "make_mercy_general.py"))
    for name, text in module["render"]().items():
        assert (EXAMPLES / "mercy-general" / name).read_text(encoding="utf-8") == text, name


def test_broken_example_reports_all_three_problems() -> None:
    problems = problems_of(EXAMPLES / "broken-site.yaml")
    text = (EXAMPLES / "broken-site.yaml").read_text()
    assert len(problems) == 3
    key, poly, ref = problems
    assert key.startswith(
        f"{EXAMPLES / 'broken-site.yaml'}:{line_of(text, 'requried_precision')}: "
    )
    assert "facility.floors[0].units[0].requried_precision: unknown key" in key
    assert "did you mean 'required_precision'?" in key
    assert (
        f":{line_of(text, 'exam-2')}: facility.floors[0].areas[1].polygon: the polygon is not valid"
        in poly
    )
    assert (
        f":{line_of(text, 'n-0999')}: people.badges[1].staff: 'n-0999' is not a known staff id"
        in ref
    )
    assert "leave staff empty for a spare badge" in ref


# -- problems: structure -------------------------------------------------------------------------


def test_unknown_key_names_file_line_path_and_suggestion(tmp_path: Path) -> None:
    text = edited("kind: gateway, floor: f1", "kind: gateway, flor: f1")
    (problem, *_) = problems_of(write(tmp_path, text))
    assert problem.startswith(
        f"{tmp_path / 'site.yaml'}:{line_of(text, 'flor:')}: devices[1].flor: "
    )
    assert "unknown key 'flor' (did you mean 'floor'?)" in problem


def test_many_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL
    text = edited("kind: bay_emitter", "kind: bay_emiter", text)
    text = edited("timezone: America/Chicago", "timezone: America/Chicgo", text)
    text = edited("{role: charge_nurse}", "{role: charge_nurs}", text)
    text = edited("{team: security}", "{team: securty}", text)
    text = edited("end: 19:00", "end: 25:00", text)
    text = edited("rect: [3, 0, 3, 5]", "rect: [2, 0, 3, 5]", text)
    text = edited("position: [10, 9]", "position: [100, 9]", text)
    problems = problems_of(write(tmp_path, text))
    joined = "\n".join(problems)
    assert len(problems) == 7, joined
    assert (
        "devices[0].kind: 'bay_emiter' is not a valid device kind (did you mean 'bay_emitter'?)"
        in joined
    )
    assert (
        "site.timezone: 'America/Chicgo' is not a known IANA time zone "
        "(did you mean 'America/Chicago'?)" in joined
    )
    assert "no staff member has the role 'charge_nurs' (did you mean 'charge_nurse'?)" in joined
    assert "'securty' is not a known team id (did you mean 'security'?)" in joined
    assert "schedule[0].end: 25:00 is not a time of day" in joined
    assert "area 'bay-2' (bay) overlaps area 'bay-1'" in joined
    assert "devices[2].position: [100, 9] lies outside the outline of floor 'f1'" in joined


def test_missing_required_keys_and_wrong_types(tmp_path: Path) -> None:
    text = edited(
        "- {id: n-2, name: Bo Kim, role: charge_nurse, home_unit: ed}", "- {id: n-2, role: [x]}"
    )
    text = edited("level: 1", "level: one", text)
    joined = problem_text(tmp_path, text)
    assert "people.staff[1]: missing required key 'name'" in joined
    assert "people.staff[1].role: a list of 1 is not text" in joined
    assert "facility.floors[0].level: 'one' is not a whole number" in joined


def test_duplicate_ids_name_the_first_definition(tmp_path: Path) -> None:
    text = edited("{id: b-2}", "{id: b-1}")
    (problem,) = problems_of(write(tmp_path, text))
    assert "people.badges[1].id: 'b-1' is already the id of another badge" in problem
    assert f"site.yaml:{line_of(text, 'badges:')}, people.badges[0].id" in problem


def test_duplicate_key_in_one_mapping(tmp_path: Path) -> None:
    text = edited("{id: b-2}", "{id: b-2, id: b-3}")
    (problem,) = problems_of(write(tmp_path, text))
    assert "people.badges[1].id: the key appears twice" in problem


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "area: bay-1",
            "area: bay-9",
            "devices[0].area: 'bay-9' is not a known area id (did you mean",
        ),
        (
            "kind: gateway, floor: f1",
            "kind: gateway, floor: f9",
            "devices[1].floor: 'f9' is not a known floor id",
        ),
        (
            "gateway: gw-1",
            "gateway: be-1",
            "devices[2].gateway: 'be-1' is a bay_emitter, not a gateway",
        ),
        (
            "home_unit: ed, contacts",
            "home_unit: icu, contacts",
            "people.staff[0].home_unit: 'icu' is not a known unit id",
        ),
        (
            "parent: ed-main, rect: [0",
            "parent: ed-mian, rect: [0",
            "areas[1].parent: 'ed-mian' is not a known area id (did you mean 'ed-main'?)",
        ),
        (
            "members: [n-2]",
            "members: [n-3]",
            "people.teams[0].members[0]: 'n-3' is not a known staff id",
        ),
        (
            "coverage: [{unit: ed",
            "coverage: [{unit: er",
            "people.coverage[0].unit: 'er' is not a known unit id",
        ),
        (
            "units: [ed]",
            "units: [ed, icu]",
            "routing.policies[0].units[1]: 'icu' is not a known unit id",
        ),
        (
            "kind: room, unit: ed, rect",
            "kind: room, unit: or, rect",
            "areas[0].unit: 'or' is not a known unit id",
        ),
        (
            "{id: b-1, staff: n-1}",
            "{id: b-1, staff: n-1, kind: visitor}",
            "people.badges[0].kind: 'visitor' is not a valid badge kind",
        ),
    ],
)
def test_dangling_references_and_bad_enums(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    joined = problem_text(tmp_path, edited(old, new))
    assert expected in joined


def test_policy_details(tmp_path: Path) -> None:
    text = edited("units: [ed]", "units: [ed]\n      stop_on: acepted\n      areas: [bay-7]")
    text = edited("days: [mon, tue]", "days: [mon, tue, funday]", text)
    text = edited("escalate_after_s: 30", "escalate_after_s: -1", text)
    text = edited(
        "{proximity: {count: 3, within_m: 40}}",
        "{proximity: {count: 0}}, {team: security, role: rn}",
        text,
    )
    joined = problem_text(tmp_path, text)
    assert "stop_on: 'acepted' is not a valid stop on (did you mean 'accepted'?)" in joined
    assert "areas[0]: 'bay-7' is not a known area id" in joined
    assert "days[2]: 'funday' is not a day" in joined
    assert "escalate_after_s: -1 is out of range" in joined
    assert "proximity.count: 0 is out of range" in joined
    assert "targets[3]: a target has exactly one key" in joined


# -- problems: geometry --------------------------------------------------------------------------


def test_geometry_problems(tmp_path: Path) -> None:
    text = edited("rect: [3, 0, 3, 5]}", "rect: [18, 0, 4, 5]}")  # bay sticks out of ed-main
    text = edited(
        "[[20, 0], [24, 0], [24, 8], [20, 8]]", "[[19, 0], [24, 0], [24, 8], [19, 8]]", text
    )
    text = edited(
        "{id: c1, kind: corridor, rect: [0, 8, 40, 3]}",
        "{id: c1, kind: corridor, rect: [0, 8, 45, 3]}",
        text,
    )
    text = edited(
        "[[0, 0], [40, 0], [40, 20], [0, 20]]", "[[0, 0], [40, 0], [40, 20], [0, 20]]", text
    )
    joined = problem_text(tmp_path, text)
    assert "areas[2].rect: lies partly outside its parent area 'ed-main'" in joined
    assert "areas[4].polygon: area 'r1' (room) overlaps area 'ed-main'" in joined
    assert (
        "areas[3].rect: lies partly outside the outline of floor 'f1' (15.00 m² outside" in joined
    )


def test_polygon_shape_problems(tmp_path: Path) -> None:
    text = edited("[[20, 0], [24, 0], [24, 8], [20, 8]]", "[[20, 0], [24, 0]]")
    text = edited("rect: [0, 8, 40, 3]", "rect: [0, 8, 40, 0]", text)
    joined = problem_text(tmp_path, text)
    assert "areas[4].polygon: has 2 distinct point(s); a polygon needs at least 3" in joined
    assert "areas[3].rect[3]: 0 is out of range" in joined


def test_shared_walls_and_corridor_touching_are_fine(tmp_path: Path) -> None:
    # r1 drawn 0.1 mm into ed-main (8 cm²): below the overlap tolerance
    text = edited(
        "[[20, 0], [24, 0], [24, 8], [20, 8]]", "[[19.9999, 0], [24, 0], [24, 8], [19.9999, 8]]"
    )
    assert load_site(write(tmp_path, text)).facility.areas["r1"]


def test_ir_device_needs_area_and_ble_needs_position(tmp_path: Path) -> None:
    text = edited(
        "{id: be-1, kind: bay_emitter, area: bay-1}", "{id: be-1, kind: bay_emitter, floor: f1}"
    )
    text = edited("position: [10, 9], tx_power", "tx_power", text)
    joined = problem_text(tmp_path, text)
    assert "devices[0]: an bay_emitter must name the area it covers" in joined
    assert "devices[2]: a ble_beacon needs its position on the floor" in joined


def test_an_ir_door_watches_a_rooms_doorway(tmp_path: Path) -> None:
    door = "{id: be-1, kind: bay_emitter, area: bay-1}"
    site = load_site(
        write(tmp_path, edited(door, door + "\n  - {id: d-1, kind: ir_door, area: r1}"))
    )
    assert site.devices["d-1"].kind is DeviceKind.IR_DOOR
    assert site.devices["d-1"].floor == "f1"  # derived from the room
    assert site.devices["d-1"].heartbeat_s == 300.0
    text = edited(door, door + "\n  - {id: d-1, kind: ir_door, area: c1}")
    text = edited(door, door + "\n  - {id: d-2, kind: ir_door, area: bay-1}", text)
    text = edited(door, door + "\n  - {id: d-3, kind: ir_door, floor: f1}", text)
    joined = problem_text(tmp_path, text)
    assert "an ir_door watches a room's doorway, and 'c1' is a corridor" in joined
    assert "and 'bay-1' is a bay; name the room the door opens into" in joined
    assert "an ir_door must name the room whose doorway it watches; add `area: <room id>`" in joined


# -- files and folders ---------------------------------------------------------------------------


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = edited("  badges: [{id: b-1", "  badges: [{id: b-1 ]")
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.startswith(f"{tmp_path / 'site.yaml'}:{line_of(text, 'badges:')}: YAML syntax")


def test_folder_sections_merge_and_lists_concatenate(tmp_path: Path) -> None:
    head, _, rest = MINIMAL.partition("devices:\n")
    devices, _, tail = rest.partition("people:\n")
    dev_lines = devices.splitlines()
    write(tmp_path, head + "people:\n" + tail, "site.yaml")
    write(tmp_path, "devices:\n" + dev_lines[0] + "\n", "devices-a.yaml")
    write(tmp_path, "devices:\n" + "\n".join(dev_lines[1:]) + "\n", "devices-b.yaml")
    site = load_site(tmp_path)
    assert set(site.devices) == {"be-1", "gw-1", "ble-1"}


def test_folder_conflicting_sections_are_reported(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL, "a.yaml")
    write(tmp_path, "site: {id: other, name: Other, timezone: UTC}\n", "b.yaml")
    problem, *others = problems_of(tmp_path)
    assert len(others) == 2  # site.name and site.timezone too
    assert "b.yaml:1: site.id: also defined in" in problem
    assert "a.yaml:1" in problem


def test_problems_in_a_folder_name_their_own_file(tmp_path: Path) -> None:
    head, _, rest = MINIMAL.partition("people:\n")
    write(tmp_path, head, "site.yaml")
    write(tmp_path, "people:\n" + rest.replace("staff: n-1}", "staff: n-0999}"), "people.yaml")
    (problem,) = problems_of(tmp_path)
    assert problem.startswith(f"{tmp_path / 'people.yaml'}:")
    assert "people.badges[0].staff: 'n-0999'" in problem


def test_missing_path(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "nope.yaml")
    assert "no such file or folder" in problem


# -- properties ----------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    widths=st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=10),
    depth=st.integers(min_value=1, max_value=10),
)
def test_rooms_side_by_side_always_load(
    tmp_path_factory: pytest.TempPathFactory, widths: list[int], depth: int
) -> None:
    """Rooms laid wall to wall inside the floor never overlap, whatever their widths."""
    x = 0
    areas = []
    for i, w in enumerate(widths):
        areas.append(f"        - {{id: r{i}, kind: room, rect: [{x}, 0, {w}, {depth}]}}")
        x += w
    text = (
        "site: {id: s, name: S, timezone: UTC}\nfacility:\n  buildings: [{id: b}]\n  floors:\n"
        "    - id: f1\n      level: 1\n"
        f"      outline: [[0, 0], [{x}, 0], [{x}, {depth}], [0, {depth}]]\n"
        "      areas:\n" + "\n".join(areas) + "\n"
    )
    site = load_site(write(tmp_path_factory.mktemp("h"), text))
    assert len(site.facility.areas) == len(widths)


@settings(max_examples=30, deadline=None)
@given(shift=st.floats(min_value=0.05, max_value=3.5))
def test_overlapping_rooms_always_reported(
    tmp_path_factory: pytest.TempPathFactory, shift: float
) -> None:
    text = (
        "site: {id: s, name: S, timezone: UTC}\nfacility:\n  buildings: [{id: b}]\n  floors:\n"
        "    - id: f1\n      level: 1\n      outline: [[0, 0], [20, 0], [20, 10], [0, 10]]\n"
        "      areas:\n        - {id: a, kind: room, rect: [0, 0, 4, 4]}\n"
        f"        - {{id: b, kind: room, rect: [{4 - shift!r}, 0, 4, 4]}}\n"
    )
    (problem,) = problems_of(write(tmp_path_factory.mktemp("h"), text))
    assert "area 'b' (room) overlaps area 'a'" in problem
