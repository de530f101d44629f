"""Load a site configuration (a YAML file, or a folder of them) into the frozen :class:`Site`.

``load_site(path)`` returns the site or raises :class:`~duress.domain.errors.ConfigError` listing
every problem at once, each naming the file, the line, the key path, the bad value and the fix::

    site.yaml:42: people.badges[3].staff: 'n-0999' is not a known staff id; use one of the ids
    under people.staff or leave staff empty for a spare badge

The YAML schema is documented in ``docs/configuration.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from shapely.geometry import Polygon as ShapelyPolygon

from duress.config import geometry
from duress.config.calibration_section import read_calibration_section
from duress.config.ingest_mapping import read_ingest_section
from duress.config.location_section import read_location_section
from duress.config.reader import Problems, Reader, one_of, show, suggest
from duress.config.source import Node, SourceError, read_source
from duress.domain.activation import DEFAULT_RULES, Activation, ActivationRules, Pattern
from duress.domain.calibration import calibrate_site
from duress.domain.devices import DEFAULT_HEARTBEAT_S, Device, DeviceKind
from duress.domain.errors import ConfigError
from duress.domain.facility import Area, AreaKind, Building, Facility, Floor, Unit, UnitKind
from duress.domain.ingest_mapping import IngestMapping
from duress.domain.people import Badge, BadgeKind, Contact, CoverageRule, Staff, Team
from duress.domain.precision import Precision
from duress.domain.routing import (
    HOLIDAY,
    Policy,
    Rotation,
    StopOn,
    Target,
    TargetKind,
    Tier,
    Window,
)
from duress.domain.site import Site
from duress.domain.supervision import (
    BatteryThresholds,
    StuckButtonRules,
    SupervisionRules,
    SyntheticTest,
)

SECTIONS = (
    "site",
    "facility",
    "devices",
    "people",
    "routing",
    "activation",
    "channels",
    "server",
    "ingest",
    "supervision",
    "calibration",
    "location",
)
SITE_KEYS = ("id", "name", "timezone")
BUILDING_KEYS = ("id", "name")
FLOOR_KEYS = ("id", "name", "building", "level", "outline", "units", "areas")
UNIT_KEYS = ("id", "name", "kind", "required_precision")
AREA_KEYS = ("id", "name", "kind", "unit", "parent", "polygon", "rect", "required_precision")
DEVICE_KEYS = (
    "id",
    "name",
    "kind",
    "floor",
    "area",
    "position",
    "gateway",
    "tx_power",
    "heartbeat_s",
)
STAFF_KEYS = ("id", "name", "role", "home_unit", "responder", "contacts")
CONTACT_KEYS = ("channel", "address")
BADGE_KEYS = ("id", "kind", "staff")
TEAM_KEYS = ("id", "name", "members", "contacts")
COVERAGE_KEYS = ("unit", "roles")
ROUTING_KEYS = ("holidays", "rotations", "policies")
ROTATION_KEYS = ("id", "name", "members", "shift_h", "start")
ACTIVATION_KEYS = ("default", "units")
RULES_KEYS = ("patterns", "cancel_window_s")
PATTERN_KEYS = ("kind", "priority", "min_presses", "max_presses", "hold_s")
POLICY_KEYS = ("id", "name", "priority", "units", "areas", "kinds", "schedule", "stop_on", "tiers")
WINDOW_KEYS = ("days", "start", "end")
TIER_KEYS = ("targets", "escalate_after_s", "repeat")
PROXIMITY_KEYS = ("count", "within_m", "same_floor")
SUPERVISION_KEYS = ("battery", "stuck_button", "badge_not_seen_h", "synthetic")
BATTERY_KEYS = ("warning_pct", "low_pct")
STUCK_KEYS = ("max_hold_s", "max_presses", "window_s")
SYNTHETIC_KEYS = ("at", "badge", "gateway", "deadline_s")

CHANNELS = frozenset({"wctp", "hl7_acm", "sms", "email", "cap", "dashboard"})
"""Contact channels a staff member or team may list (``contacts[].channel``), besides
``webhook:<name>`` for a webhook named under ``channels.webhooks``."""

DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7, "holiday": HOLIDAY}
DAY_GROUPS = {
    "all": frozenset(range(1, 9)),
    "weekdays": frozenset(range(1, 6)),
    "weekends": frozenset({6, 7}),
}
TIME_PATTERN = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

_WHERE = {
    "building": "facility.buildings",
    "floor": "facility.floors",
    "unit": "facility.floors[*].units",
    "area": "facility.floors[*].areas",
    "device": "devices",
    "staff": "people.staff",
    "badge": "people.badges",
    "team": "people.teams",
    "policy": "routing.policies",
    "rotation": "routing.rotations",
}


def _deepest(node: Node, path: str) -> Node:
    """The node a dotted ``channels.a.b[2].c`` path points at, as far as it exists."""
    current = node
    for part in path.replace("[", ".").replace("]", "").split(".")[1:]:
        child = current.get(part) if current.is_mapping else None
        if child is None and current.is_sequence and part.isdigit():
            items = current.children()
            child = items[int(part)] if int(part) < len(items) else None
        if child is None:
            break
        current = child
    return current


def load_site(path: Path) -> Site:
    """Read and validate the site at ``path`` (a YAML file or a folder of ``*.yaml`` files).

    Raises :class:`ConfigError` whose ``problems`` lists every problem found.
    """
    try:
        root = read_source(path)
    except SourceError as exc:
        raise ConfigError(exc.problems) from None
    return build_site(root)


def build_site(root: Node) -> Site:
    """Validate a positioned document (see :func:`duress.config.source.read_source`) into a Site."""
    builder = _Builder()
    site = builder.build(root)
    if builder.problems or site is None:
        raise ConfigError(builder.problems.lines())
    return site


@dataclass(slots=True)
class _Ref:
    kind: str
    value: str
    node: Node
    path: str
    fix: str


@dataclass(slots=True)
class _Registry:
    ids: dict[str, dict[str, tuple[Node, str]]] = field(default_factory=dict)
    refs: list[_Ref] = field(default_factory=list)


class _Builder:
    def __init__(self) -> None:
        self.problems = Problems()
        self.r = Reader(self.problems)
        self.reg = _Registry()
        self.placed: list[geometry.Placed] = []
        self.area_nodes: dict[str, tuple[Node, str]] = {}
        self.floor_shapes: dict[str, ShapelyPolygon] = {}
        self.floor_nodes: dict[str, tuple[Node, str]] = {}
        self.roles: set[str] = set()
        self.gateway_ids: set[str] = set()
        self.role_refs: list[tuple[str, Node, str]] = []
        self.device_checks: list[tuple[Device, dict[str, Node], str]] = []

    # -- registry --------------------------------------------------------------------------------

    def declare(self, kind: str, value: str | None, node: Node | None, path: str) -> bool:
        """Record an id; report a duplicate. True when the id is new."""
        if value is None or node is None:
            return False
        known = self.reg.ids.setdefault(kind, {})
        if value in known:
            first_node, first_path = known[value]
            self.r.fail(
                node,
                path,
                f"{value!r} is already the id of another {kind} "
                f"({first_node.file}:{first_node.line}, "
                f"{first_path}); ids must be unique, rename one",
            )
            return False
        known[value] = (node, path)
        return True

    def ref(
        self, kind: str, value: str | None, node: Node | None, path: str, fix: str = ""
    ) -> None:
        if value is not None and node is not None:
            self.reg.refs.append(_Ref(kind, value, node, path, fix))

    def check_refs(self) -> None:
        for ref in self.reg.refs:
            known = self.reg.ids.get(ref.kind, {})
            if ref.value in known:
                continue
            hint = suggest(ref.value, known)
            fix = ref.fix or f"use one of the ids under {_WHERE[ref.kind]}"
            self.r.fail(
                ref.node, ref.path, f"{ref.value!r} is not a known {ref.kind} id{hint}; {fix}"
            )

    # -- the whole document ---------------------------------------------------------------------

    def build(self, root: Node) -> Site | None:
        top = self.r.mapping(
            root, "", SECTIONS, required=("site", "facility"), what="a site document"
        )
        if top is None:
            return None
        site_id, site_name, timezone = self.site_section(top.get("site"))
        self.site_zone = zoneinfo.ZoneInfo(timezone) if timezone else dt.UTC
        buildings, floors, units, areas = self.facility_section(top.get("facility"))
        devices = self.devices_section(top.get("devices"))
        staff, badges, teams, coverage = self.people_section(top.get("people"))
        holidays, rotations, policies = self.routing_section(top.get("routing"))
        activation = self.activation_section(top.get("activation"))
        channels = self.channels_section(top.get("channels"))
        if top.get("server") is not None:
            from duress.config.settings import check_server_section

            check_server_section(top["server"], self.r)
        # The `ingest:` section (gateway signing, wild-format id mappings): duress.config.ingest_mapping.
        ingest = IngestMapping()
        if top.get("ingest") is not None:
            ingest = read_ingest_section(top["ingest"], self.r, self.ref) or ingest
        supervision = self.supervision_section(top.get("supervision"), badges, devices)
        # The `calibration:` section (a survey walk's measurements; its transmit powers replace
        # the configured ones): duress.config.calibration_section.
        calibration = None
        if top.get("calibration") is not None:
            calibration = read_calibration_section(top["calibration"], self.r, devices)
        # The `location:` section (engine parameters for this site): duress.config.location_section.
        location: dict[str, float | int | bool] = {}
        if top.get("location") is not None:
            location = read_location_section(top["location"], self.r)
        self.check_refs()
        self.check_area_tree(areas)
        self.check_geometry(areas, devices)
        if self.problems:
            return None
        facility = Facility(
            id=site_id or "",
            name=site_name or "",
            timezone=timezone or "UTC",
            buildings=buildings,
            floors=floors,
            units=units,
            areas=areas,
        )
        site = Site(
            facility=facility,
            devices=devices,
            staff=staff,
            badges=badges,
            teams=teams,
            coverage=tuple(coverage),
            policies=tuple(policies),
            holidays=frozenset(holidays),
            rotations={r.id: r for r in rotations},
            activation=activation,
            channels=channels,
            ingest=ingest,
            supervision=supervision,
            location=location,
        )
        return site if calibration is None else calibrate_site(site, calibration)

    # -- site -----------------------------------------------------------------------------------

    def site_section(self, node: Node | None) -> tuple[str | None, str | None, str | None]:
        m = self.r.mapping(node, "site", SITE_KEYS, required=("id", "name", "timezone"))
        if not m:
            return None, None, None
        site_id = self.r.ident(m.get("id"), "site.id")
        name = self.r.text(m.get("name"), "site.name")
        tz = self.r.text(m.get("timezone"), "site.timezone")
        if tz is not None:
            try:
                zoneinfo.ZoneInfo(tz)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                hint = suggest(tz, zoneinfo.available_timezones())
                self.r.fail(
                    m["timezone"],
                    "site.timezone",
                    f"{tz!r} is not a known IANA time zone{hint}; write e.g. America/Chicago",
                )
                tz = None
        return site_id, name, tz

    # -- facility -------------------------------------------------------------------------------

    def facility_section(
        self, node: Node | None
    ) -> tuple[dict[str, Building], dict[str, Floor], dict[str, Unit], dict[str, Area]]:
        buildings: dict[str, Building] = {}
        floors: dict[str, Floor] = {}
        units: dict[str, Unit] = {}
        areas: dict[str, Area] = {}
        m = self.r.mapping(node, "facility", ("buildings", "floors"), required=("floors",))
        if m is None:
            return buildings, floors, units, areas
        for i, b in enumerate(self.r.sequence(m.get("buildings"), "facility.buildings")):
            path = f"facility.buildings[{i}]"
            bm = self.r.mapping(b, path, BUILDING_KEYS, required=("id",))
            if bm is None:
                continue
            bid = self.r.ident(bm.get("id"), f"{path}.id")
            name = self.r.text(bm.get("name"), f"{path}.name") if "name" in bm else bid
            if bid is not None and self.declare("building", bid, bm["id"], f"{path}.id"):
                buildings[bid] = Building(id=bid, name=name or bid)
        only_building = next(iter(buildings)) if len(buildings) == 1 else None
        for i, f in enumerate(self.r.sequence(m.get("floors"), "facility.floors")):
            self.floor(f, f"facility.floors[{i}]", only_building, floors, units, areas)
        return buildings, floors, units, areas

    def floor(
        self,
        node: Node,
        path: str,
        only_building: str | None,
        floors: dict[str, Floor],
        units: dict[str, Unit],
        areas: dict[str, Area],
    ) -> None:
        fm = self.r.mapping(node, path, FLOOR_KEYS, required=("id", "level", "outline"))
        if fm is None:
            return
        fid = self.r.ident(fm.get("id"), f"{path}.id")
        name = self.r.text(fm.get("name"), f"{path}.name") if "name" in fm else fid
        building: str | None
        if "building" in fm:
            building = self.r.ident(fm["building"], f"{path}.building")
            self.ref("building", building, fm["building"], f"{path}.building")
        elif only_building is not None:
            building = only_building
        else:
            self.r.fail(
                node,
                path,
                "missing key 'building'; with several (or no) buildings under facility.buildings "
                "each floor must say `building: <id>`",
            )
            building = None
        level = self.r.integer(fm.get("level"), f"{path}.level", minimum=-20, maximum=200)
        outline = self.r.polygon(fm.get("outline"), f"{path}.outline")
        fresh = fid is not None and self.declare("floor", fid, fm["id"], f"{path}.id")
        if outline is not None and fid is not None:
            shape = geometry.check_polygon(outline, fm["outline"], f"{path}.outline", self.r.fail)
            if shape is not None and fresh:
                self.floor_shapes[fid] = shape
                self.floor_nodes[fid] = (fm["outline"], f"{path}.outline")
        if fresh and fid and building and level is not None and outline is not None:
            floors[fid] = Floor(
                id=fid, name=name or fid, building=building, level=level, outline=outline
            )
        for j, u in enumerate(self.r.sequence(fm.get("units"), f"{path}.units")):
            self.unit(u, f"{path}.units[{j}]", fid, units)
        for j, a in enumerate(self.r.sequence(fm.get("areas"), f"{path}.areas")):
            self.area(a, f"{path}.areas[{j}]", fid, areas)

    def unit(self, node: Node, path: str, floor: str | None, units: dict[str, Unit]) -> None:
        um = self.r.mapping(node, path, UNIT_KEYS, required=("id", "kind"))
        if um is None:
            return
        uid = self.r.ident(um.get("id"), f"{path}.id")
        name = self.r.text(um.get("name"), f"{path}.name") if "name" in um else uid
        kind = self.r.enum(um.get("kind"), f"{path}.kind", UnitKind)
        precision = Precision.ROOM
        if "required_precision" in um:
            precision = (
                self.r.enum(um["required_precision"], f"{path}.required_precision", Precision)
                or precision
            )
        if uid is not None and self.declare("unit", uid, um["id"], f"{path}.id") and kind and floor:
            units[uid] = Unit(
                id=uid, name=name or uid, kind=kind, floor=floor, required_precision=precision
            )

    def area(self, node: Node, path: str, floor: str | None, areas: dict[str, Area]) -> None:
        am = self.r.mapping(node, path, AREA_KEYS, required=("id", "kind"))
        if am is None:
            return
        aid = self.r.ident(am.get("id"), f"{path}.id")
        name = self.r.text(am.get("name"), f"{path}.name") if "name" in am else aid
        kind = self.r.enum(am.get("kind"), f"{path}.kind", AreaKind)
        unit = self.r.ident(am.get("unit"), f"{path}.unit")
        self.ref("unit", unit, am.get("unit"), f"{path}.unit")
        parent = self.r.ident(am.get("parent"), f"{path}.parent")
        self.ref("area", parent, am.get("parent"), f"{path}.parent")
        precision = self.r.enum(
            am.get("required_precision"), f"{path}.required_precision", Precision
        )
        polygon = None
        shape_node = am.get("polygon") or am.get("rect")
        shape_path = f"{path}.polygon" if "polygon" in am else f"{path}.rect"
        if "polygon" in am and "rect" in am:
            self.r.fail(am["rect"], f"{path}.rect", "give either `polygon` or `rect`, not both")
        elif "polygon" in am:
            polygon = self.r.polygon(am["polygon"], shape_path)
        elif "rect" in am:
            polygon = self.r.rect(am["rect"], shape_path)
        else:
            self.r.fail(
                node,
                path,
                "missing the area's shape; add `polygon: [[x, y], ...]` "
                "or `rect: [x, y, width, height]`",
            )
        if kind is AreaKind.BAY and parent is None and "parent" not in am:
            self.r.fail(
                node,
                path,
                "a bay must name the room or open area it lies in; add `parent: <area id>`",
            )
        fresh = aid is not None and self.declare("area", aid, am["id"], f"{path}.id")
        if fresh and aid and kind and floor and polygon is not None:
            area = Area(
                id=aid,
                name=name or aid,
                kind=kind,
                floor=floor,
                polygon=polygon,
                unit=unit,
                parent=parent,
                required_precision=precision,
            )
            areas[aid] = area
            assert shape_node is not None
            self.placed.append(geometry.Placed(area, shape_node, shape_path))
            self.area_nodes[aid] = (am.get("parent") or node, f"{path}.parent" if parent else path)

    # -- devices --------------------------------------------------------------------------------

    def devices_section(self, node: Node | None) -> dict[str, Device]:
        devices: dict[str, Device] = {}
        for i, d in enumerate(self.r.sequence(node, "devices")):
            path = f"devices[{i}]"
            dm = self.r.mapping(d, path, DEVICE_KEYS, required=("id", "kind"))
            if dm is None:
                continue
            did = self.r.ident(dm.get("id"), f"{path}.id")
            kind = self.r.enum(dm.get("kind"), f"{path}.kind", DeviceKind)
            name = self.r.text(dm.get("name"), f"{path}.name") or ""
            floor = self.r.ident(dm.get("floor"), f"{path}.floor")
            self.ref("floor", floor, dm.get("floor"), f"{path}.floor")
            area = self.r.ident(dm.get("area"), f"{path}.area")
            self.ref("area", area, dm.get("area"), f"{path}.area")
            position = self.r.point(dm.get("position"), f"{path}.position")
            gateway = self.r.ident(dm.get("gateway"), f"{path}.gateway")
            self.ref("device", gateway, dm.get("gateway"), f"{path}.gateway")
            tx_power = self.r.number(
                dm.get("tx_power"), f"{path}.tx_power", minimum=-120, maximum=20, unit=" (dBm)"
            )
            heartbeat = self.r.number(
                dm.get("heartbeat_s"),
                f"{path}.heartbeat_s",
                minimum=0,
                exclusive_min=True,
                unit=" of seconds",
            )
            if kind is not None:
                if kind.is_ir and "area" not in dm:
                    self.r.fail(
                        d, path, f"an {kind} must name the area it covers; add `area: <area id>`"
                    )
                if kind.is_ir_door and "area" not in dm:
                    self.r.fail(
                        d,
                        path,
                        "an ir_door must name the room whose doorway it watches; "
                        "add `area: <room id>`",
                    )
                if kind.is_ble and "position" not in dm:
                    self.r.fail(
                        d,
                        path,
                        f"a {kind} needs its position on the floor; "
                        "add `position: [x, y]` in metres",
                    )
                if kind.is_ble and "floor" not in dm and "area" not in dm:
                    self.r.fail(
                        d, path, f"a {kind} needs `floor: <floor id>` (or `area:` to derive it)"
                    )
                if kind is DeviceKind.GATEWAY and "floor" not in dm and "area" not in dm:
                    self.r.fail(
                        d, path, "a gateway needs `floor: <floor id>` (or `area:` to derive it)"
                    )
                if "tx_power" in dm and not kind.is_ble:
                    self.r.fail(
                        dm["tx_power"],
                        f"{path}.tx_power",
                        f"only a BLE beacon or locator has tx_power, not a {kind}; remove it",
                    )
                if kind is DeviceKind.GATEWAY and "gateway" in dm:
                    self.r.fail(
                        dm["gateway"],
                        f"{path}.gateway",
                        "a gateway does not report through another gateway; remove it",
                    )
            if (
                did is None
                or not self.declare("device", did, dm["id"], f"{path}.id")
                or kind is None
            ):
                continue
            if kind is DeviceKind.GATEWAY:
                self.gateway_ids.add(did)
            device = Device(
                id=did,
                kind=kind,
                floor=floor or "",
                heartbeat_s=heartbeat if heartbeat is not None else DEFAULT_HEARTBEAT_S[kind],
                area=area,
                position=position,
                gateway=gateway,
                tx_power=tx_power,
                name=name,
            )
            devices[did] = device
            self.device_checks.append((device, dm, path))
        return devices

    # -- people ---------------------------------------------------------------------------------

    def people_section(
        self, node: Node | None
    ) -> tuple[dict[str, Staff], dict[str, Badge], dict[str, Team], list[CoverageRule]]:
        staff: dict[str, Staff] = {}
        badges: dict[str, Badge] = {}
        teams: dict[str, Team] = {}
        coverage: list[CoverageRule] = []
        m = self.r.mapping(node, "people", ("staff", "badges", "teams", "coverage"))
        if m is None:
            return staff, badges, teams, coverage
        for i, s in enumerate(self.r.sequence(m.get("staff"), "people.staff")):
            path = f"people.staff[{i}]"
            sm = self.r.mapping(s, path, STAFF_KEYS, required=("id", "name", "role"))
            if sm is None:
                continue
            sid = self.r.ident(sm.get("id"), f"{path}.id")
            name = self.r.text(sm.get("name"), f"{path}.name")
            role = self.r.name(sm.get("role"), f"{path}.role", "role")
            home = self.r.ident(sm.get("home_unit"), f"{path}.home_unit")
            self.ref(
                "unit",
                home,
                sm.get("home_unit"),
                f"{path}.home_unit",
                "use one of the unit ids under facility.floors[*].units or leave home_unit out",
            )
            responder = self.r.boolean(sm.get("responder"), f"{path}.responder") or False
            contacts = self.contacts(sm.get("contacts"), f"{path}.contacts")
            if role:
                self.roles.add(role)
            if sid and self.declare("staff", sid, sm["id"], f"{path}.id") and name and role:
                staff[sid] = Staff(
                    id=sid,
                    name=name,
                    role=role,
                    home_unit=home,
                    responder=responder,
                    contacts=contacts,
                )
        for i, b in enumerate(self.r.sequence(m.get("badges"), "people.badges")):
            path = f"people.badges[{i}]"
            bm = self.r.mapping(b, path, BADGE_KEYS, required=("id",))
            if bm is None:
                continue
            bid = self.r.ident(bm.get("id"), f"{path}.id")
            kind = BadgeKind.STAFF
            if "kind" in bm:
                kind = self.r.enum(bm["kind"], f"{path}.kind", BadgeKind) or kind
            wearer = None
            if bm.get("staff") is not None and bm["staff"].value is not None:
                wearer = self.r.ident(bm["staff"], f"{path}.staff")
                self.ref(
                    "staff",
                    wearer,
                    bm["staff"],
                    f"{path}.staff",
                    "use one of the ids under people.staff or leave staff empty for a spare badge",
                )
            if bid and self.declare("badge", bid, bm["id"], f"{path}.id"):
                badges[bid] = Badge(id=bid, kind=kind, staff=wearer)
        for i, t in enumerate(self.r.sequence(m.get("teams"), "people.teams")):
            path = f"people.teams[{i}]"
            tm = self.r.mapping(t, path, TEAM_KEYS, required=("id",))
            if tm is None:
                continue
            tid = self.r.ident(tm.get("id"), f"{path}.id")
            name = self.r.text(tm.get("name"), f"{path}.name") if "name" in tm else tid
            members = []
            for value, item, item_path in self.r.texts(
                tm.get("members"), f"{path}.members", ids=True
            ):
                self.ref("staff", value, item, item_path)
                members.append(value)
            contacts = self.contacts(tm.get("contacts"), f"{path}.contacts")
            if not members and not contacts:
                self.r.fail(
                    t,
                    path,
                    "the team has neither members nor contacts; "
                    "add `members: [...]` or `contacts: [...]`",
                )
            if tid and self.declare("team", tid, tm["id"], f"{path}.id"):
                teams[tid] = Team(
                    id=tid, name=name or tid, members=tuple(members), contacts=contacts
                )
        for i, c in enumerate(self.r.sequence(m.get("coverage"), "people.coverage")):
            path = f"people.coverage[{i}]"
            cm = self.r.mapping(c, path, COVERAGE_KEYS, required=("unit", "roles"))
            if cm is None:
                continue
            unit = self.r.ident(cm.get("unit"), f"{path}.unit")
            self.ref("unit", unit, cm.get("unit"), f"{path}.unit")
            roles = []
            for value, item, item_path in self.r.texts(cm.get("roles"), f"{path}.roles"):
                if self.r.name(item, item_path, "role"):
                    roles.append(value)
                    self.role_refs.append((value, item, item_path))
            if "roles" in cm and not roles and not self.problems:
                self.r.fail(
                    cm["roles"], f"{path}.roles", "is empty; list at least one role, e.g. [rn]"
                )
            if unit and roles:
                coverage.append(CoverageRule(unit=unit, roles=tuple(roles)))
        return staff, badges, teams, coverage

    def contacts(self, node: Node | None, path: str) -> tuple[Contact, ...]:
        out: list[Contact] = []
        for i, c in enumerate(self.r.sequence(node, path)):
            cpath = f"{path}[{i}]"
            cm = self.r.mapping(c, cpath, CONTACT_KEYS, required=CONTACT_KEYS)
            if cm is None:
                continue
            channel = self.r.text(cm.get("channel"), f"{cpath}.channel")
            address = self.r.text(cm.get("address"), f"{cpath}.address")
            if (
                channel is not None
                and channel not in CHANNELS
                and not channel.startswith("webhook:")
            ):
                hint = suggest(channel, CHANNELS)
                self.r.fail(
                    cm["channel"],
                    f"{cpath}.channel",
                    f"{channel!r} is not a known channel{hint}; use one of: {one_of(CHANNELS)} "
                    "or webhook:<name>",
                )
                channel = None
            if channel and address:
                out.append(Contact(channel=channel, address=address))
        return tuple(out)

    # -- routing --------------------------------------------------------------------------------

    def routing_section(self, node: Node | None) -> tuple[list[str], list[Rotation], list[Policy]]:
        holidays: list[str] = []
        rotations: list[Rotation] = []
        policies: list[Policy] = []
        m = self.r.mapping(node, "routing", ROUTING_KEYS)
        if m is None:
            return holidays, rotations, policies
        rotations += self.r.each(m.get("rotations"), "routing.rotations", self.rotation)
        for value, item, item_path in self.r.texts(m.get("holidays"), "routing.holidays"):
            try:
                holidays.append(dt.date.fromisoformat(value).isoformat())
            except ValueError:
                self.r.fail(item, item_path, f'{value!r} is not a date; write it as "YYYY-MM-DD"')
        policies += self.r.each(m.get("policies"), "routing.policies", self.policy)
        return holidays, rotations, policies

    def rotation(self, node: Node, path: str) -> Rotation | None:
        rm = self.r.mapping(
            node, path, ROTATION_KEYS, required=("id", "members", "shift_h", "start")
        )
        if rm is None:
            return None
        rid = self.r.ident(rm.get("id"), f"{path}.id")
        name = self.r.text(rm.get("name"), f"{path}.name") if "name" in rm else rid
        members = self.refs_list("staff", rm.get("members"), f"{path}.members")
        shift_h = self.r.number(
            rm.get("shift_h"),
            f"{path}.shift_h",
            minimum=0,
            exclusive_min=True,
            maximum=24 * 28,
            unit=" of hours",
        )
        start: dt.datetime | None = None
        start_text = self.r.text(rm.get("start"), f"{path}.start")
        if start_text is not None:
            try:
                start = dt.datetime.fromisoformat(start_text)
            except ValueError:
                self.r.fail(
                    rm["start"],
                    f"{path}.start",
                    f'{start_text!r} is not a date and time; write it as "YYYY-MM-DDTHH:MM" '
                    "(site time) or with an offset",
                )
        if "members" in rm and not members:
            self.r.fail(
                rm["members"], f"{path}.members", "is empty; list the staff ids taking turns"
            )
        if rid is None or shift_h is None or start is None or not members:
            return None
        if not self.declare("rotation", rid, rm["id"], f"{path}.id"):
            return None
        if start.tzinfo is None:
            start = start.replace(tzinfo=self.site_zone)
        return Rotation(rid, name or rid, tuple(members), shift_h, start)

    # -- channels -------------------------------------------------------------------------------

    def channels_section(self, node: Node | None) -> dict[str, Any]:
        """Checked by each channel's own settings reader; problems are placed at their line."""
        if node is None:
            return {}
        if not node.is_mapping:
            self.r.fail(
                node, "channels", f"{show(node)} is not a mapping; write `wctp: {{...}}` lines"
            )
            return {}
        data = node.plain()
        assert isinstance(data, dict)  # a mapping node's plain value
        from duress.channels.setup import read_channels

        try:
            read_channels(data)
        except ConfigError as error:
            for problem in error.problems:
                path, _, message = problem.partition(": ")
                self.r.fail(_deepest(node, path), path, message)
            return {}
        return data

    # -- supervision ----------------------------------------------------------------------------

    def supervision_section(
        self, node: Node | None, badges: Mapping[str, Badge], devices: Mapping[str, Device]
    ) -> SupervisionRules:
        m = self.r.mapping(node, "supervision", SUPERVISION_KEYS)
        if m is None:
            return SupervisionRules()
        rules = SupervisionRules()
        battery = rules.battery
        bm = self.r.mapping(m.get("battery"), "supervision.battery", BATTERY_KEYS)
        if bm is not None:
            warning, low = (
                self.r.number(
                    bm.get(key),
                    f"supervision.battery.{key}",
                    minimum=0,
                    maximum=100,
                    unit=" of percent (0 to 100)",
                )
                for key in BATTERY_KEYS
            )
            battery = BatteryThresholds(
                warning_pct=warning if warning is not None else battery.warning_pct,
                low_pct=low if low is not None else battery.low_pct,
            )
            if battery.low_pct >= battery.warning_pct:
                self.r.fail(
                    bm.get("low_pct") or bm.get("warning_pct") or m["battery"],
                    "supervision.battery.low_pct",
                    f"{battery.low_pct:g} is not below warning_pct {battery.warning_pct:g}; the "
                    "warning must come first (it is the lead time to replace the battery)",
                )
        stuck = rules.stuck
        sm = self.r.mapping(m.get("stuck_button"), "supervision.stuck_button", STUCK_KEYS)
        if sm is not None:
            hold = self.r.number(
                sm.get("max_hold_s"), "supervision.stuck_button.max_hold_s", minimum=5
            )
            presses = self.r.integer(
                sm.get("max_presses"), "supervision.stuck_button.max_presses", minimum=2
            )
            window = self.r.number(
                sm.get("window_s"), "supervision.stuck_button.window_s", minimum=1
            )
            stuck = StuckButtonRules(
                max_hold_s=hold if hold is not None else stuck.max_hold_s,
                max_presses=presses if presses is not None else stuck.max_presses,
                window_s=window if window is not None else stuck.window_s,
            )
        hours = self.r.number(
            m.get("badge_not_seen_h"), "supervision.badge_not_seen_h", minimum=1, unit=" of hours"
        )
        synthetic = None
        ym = self.r.mapping(
            m.get("synthetic"), "supervision.synthetic", SYNTHETIC_KEYS, required=SYNTHETIC_KEYS[:3]
        )
        if ym is not None:
            at = self.clock_time(ym.get("at"), "supervision.synthetic.at")
            badge = self.r.ident(ym.get("badge"), "supervision.synthetic.badge")
            gateway = self.r.ident(ym.get("gateway"), "supervision.synthetic.gateway")
            deadline = self.r.number(
                ym.get("deadline_s"),
                "supervision.synthetic.deadline_s",
                minimum=1,
                maximum=600,
                unit=" of seconds (1 to 600)",
            )
            found = badges.get(badge or "")
            if badge is not None and (found is None or found.kind is not BadgeKind.TEST):
                self.r.fail(
                    ym["badge"],
                    "supervision.synthetic.badge",
                    f"{badge!r} is not a badge of kind test; the synthetic press must raise a test "
                    "alert only: name a badge with kind: test under people.badges",
                )
            device = devices.get(gateway or "")
            if gateway is not None and (device is None or device.kind is not DeviceKind.GATEWAY):
                self.r.fail(
                    ym["gateway"],
                    "supervision.synthetic.gateway",
                    f"{gateway!r} is not a device of kind gateway; name the gateway whose topic "
                    "the test press is published on",
                )
            if at is not None and badge is not None and gateway is not None:
                synthetic = SyntheticTest(
                    at=at, badge=badge, gateway=gateway, deadline_s=deadline or 60.0
                )
        return SupervisionRules(
            battery=battery,
            stuck=stuck,
            badge_not_seen_h=hours if hours is not None else rules.badge_not_seen_h,
            synthetic=synthetic,
        )

    # -- activation -----------------------------------------------------------------------------

    def activation_section(self, node: Node | None) -> Activation:
        m = self.r.mapping(node, "activation", ACTIVATION_KEYS)
        if m is None:
            return Activation()
        default = DEFAULT_RULES
        if "default" in m:
            default = self.rules(m["default"], "activation.default") or DEFAULT_RULES
        units: dict[str, ActivationRules] = {}
        units_node = m.get("units")
        entries: dict[str, Node] = {}
        if units_node is not None:
            if isinstance(units_node.value, dict):
                entries = {k: v for k, v in units_node.value.items() if not k.startswith("\x00")}
            else:
                self.r.fail(
                    units_node,
                    "activation.units",
                    "is not a mapping; write `unit-id: {patterns: [...]}` lines",
                )
        for unit, rules_node in entries.items():
            path = f"activation.units.{unit}"
            self.ref("unit", unit, rules_node, path)
            rules = self.rules(rules_node, path)
            if rules is not None:
                units[unit] = rules
        return Activation(default=default, units=units)

    def rules(self, node: Node, path: str) -> ActivationRules | None:
        rm = self.r.mapping(node, path, RULES_KEYS, required=("patterns",))
        if rm is None:
            return None
        window = self.r.number(
            rm.get("cancel_window_s"),
            f"{path}.cancel_window_s",
            minimum=0,
            maximum=30,
            unit=" of seconds (at most 30: help must not wait long)",
        )
        patterns = self.r.each(rm.get("patterns"), f"{path}.patterns", self.pattern)
        if not patterns:
            if "patterns" in rm:
                self.r.fail(
                    rm["patterns"],
                    f"{path}.patterns",
                    "is empty; give at least one pattern, e.g. {kind: assist, priority: 2, min_presses: 3}",
                )
            return None
        return ActivationRules(tuple(patterns), cancel_window_s=window or 0.0)

    def pattern(self, node: Node, path: str) -> Pattern | None:
        pm = self.r.mapping(node, path, PATTERN_KEYS, required=("kind", "priority"))
        if pm is None:
            return None
        kind = self.r.text(pm.get("kind"), f"{path}.kind")
        if kind is not None and not self.r.name(pm["kind"], f"{path}.kind", "alert kind"):
            kind = None
        priority = self.r.integer(pm.get("priority"), f"{path}.priority", minimum=1, maximum=9)
        low = self.r.integer(pm.get("min_presses"), f"{path}.min_presses", minimum=1, maximum=1000)
        high = self.r.integer(pm.get("max_presses"), f"{path}.max_presses", minimum=1, maximum=1000)
        hold = self.r.number(
            pm.get("hold_s"),
            f"{path}.hold_s",
            minimum=0,
            exclusive_min=True,
            maximum=60,
            unit=" of seconds",
        )
        if low is None and hold is None and "min_presses" not in pm and "hold_s" not in pm:
            self.r.fail(
                node, path, "give min_presses (and optionally max_presses), hold_s, or both"
            )
            return None
        if low is not None and high is not None and high < low:
            self.r.fail(
                pm["max_presses"],
                f"{path}.max_presses",
                f"{high} is below min_presses {low}; make max_presses at least min_presses",
            )
            return None
        if kind is None or priority is None:
            return None
        return Pattern(
            kind=kind, priority=priority, min_presses=low, max_presses=high, min_hold_s=hold
        )

    def policy(self, node: Node, path: str) -> Policy | None:
        pm = self.r.mapping(node, path, POLICY_KEYS, required=("id", "tiers"))
        if pm is None:
            return None
        pid = self.r.ident(pm.get("id"), f"{path}.id")
        name = self.r.text(pm.get("name"), f"{path}.name") if "name" in pm else pid
        priority = self.r.integer(pm.get("priority"), f"{path}.priority") or 0
        units = self.refs_list("unit", pm.get("units"), f"{path}.units")
        areas = self.refs_list("area", pm.get("areas"), f"{path}.areas")
        kinds = [
            v
            for v, item, ipath in self.r.texts(pm.get("kinds"), f"{path}.kinds")
            if self.r.name(item, ipath, "alert kind")
        ]
        stop_on = StopOn.ACCEPTED
        if "stop_on" in pm:
            stop_on = self.r.enum(pm["stop_on"], f"{path}.stop_on", StopOn) or stop_on
        schedule = self.r.each(pm.get("schedule"), f"{path}.schedule", self.window)
        tiers = self.r.each(
            pm.get("tiers"),
            f"{path}.tiers",
            self.tier,
            empty="a policy needs at least one tier of targets",
        )
        if pid is None or not self.declare("policy", pid, pm["id"], f"{path}.id"):
            return None
        return Policy(
            id=pid,
            name=name or pid,
            tiers=tuple(tiers),
            units=tuple(units),
            areas=tuple(areas),
            kinds=tuple(kinds),
            schedule=tuple(schedule),
            stop_on=stop_on,
            priority=priority,
        )

    def refs_list(self, kind: str, node: Node | None, path: str) -> list[str]:
        out = []
        for value, item, item_path in self.r.texts(node, path, ids=True):
            self.ref(kind, value, item, item_path)
            out.append(value)
        return out

    def window(self, node: Node, path: str) -> Window | None:
        wm = self.r.mapping(node, path, WINDOW_KEYS)
        if wm is None:
            return None
        days: set[int] = set()
        day_node = wm.get("days")
        if day_node is None:
            days = set(DAY_GROUPS["all"])
        else:
            for value, item, item_path in self.r.texts(day_node, f"{path}.days"):
                key = value.strip().lower()
                if key in DAYS:
                    days.add(DAYS[key])
                elif key in DAY_GROUPS:
                    days |= DAY_GROUPS[key]
                else:
                    choices = [*DAYS, *DAY_GROUPS]
                    self.r.fail(
                        item,
                        item_path,
                        f"{value!r} is not a day{suggest(key, choices)}; "
                        f"use mon, tue, wed, thu, fri, sat, sun, holiday, weekdays, weekends or all",
                    )
        start = self.clock_time(wm.get("start"), f"{path}.start")
        end = self.clock_time(wm.get("end"), f"{path}.end")
        if ("start" in wm) != ("end" in wm):
            self.r.fail(node, path, "give both `start` and `end`, or neither for the whole day")
        if not days:
            return None
        return Window(days=frozenset(days), start=start or time(0, 0), end=end or time(0, 0))

    def clock_time(self, node: Node | None, path: str) -> time | None:
        if node is None:
            return None
        text = node.raw if node.raw is not None else None
        match = TIME_PATTERN.match(text.strip()) if text else None
        if match is None:
            self.r.fail(
                node,
                path,
                f'{show(node)} is not a time of day; write "HH:MM" (24-hour), e.g. "07:00"',
            )
            return None
        return time(int(match.group(1)), int(match.group(2)))

    def tier(self, node: Node, path: str) -> Tier | None:
        tm = self.r.mapping(node, path, TIER_KEYS, required=("targets", "escalate_after_s"))
        if tm is None:
            return None
        targets = self.r.each(
            tm.get("targets"),
            f"{path}.targets",
            self.target,
            empty="list who to notify, e.g. [{team: security}]",
        )
        after = self.r.number(
            tm.get("escalate_after_s"),
            f"{path}.escalate_after_s",
            minimum=0,
            exclusive_min=True,
            maximum=86400,
            unit=" of seconds",
        )
        repeat = self.r.integer(tm.get("repeat"), f"{path}.repeat", minimum=0, maximum=20) or 0
        if after is None or not targets:
            return None
        return Tier(targets=tuple(targets), escalate_after_s=after, repeat=repeat)

    def target(self, node: Node, path: str) -> Target | None:
        kinds = [k.value for k in TargetKind]
        tm = self.r.mapping(node, path, kinds, what="a target such as {role: charge_nurse}")
        if tm is None:
            return None
        if len(tm) != 1:
            if node.is_mapping and len(node.value) == len(tm):  # type: ignore[arg-type]  # dict checked
                self.r.fail(
                    node,
                    path,
                    f"a target has exactly one key, one of: {', '.join(kinds)}; "
                    "split it into one target per line",
                )
            return None
        key, value = next(iter(tm.items()))
        kind = TargetKind(key)
        tpath = f"{path}.{key}"
        if kind is TargetKind.PROXIMITY:
            pm = self.r.mapping(value, tpath, PROXIMITY_KEYS, required=("count",))
            if pm is None:
                return None
            count = self.r.integer(pm.get("count"), f"{tpath}.count", minimum=1, maximum=50)
            within = self.r.number(
                pm.get("within_m"),
                f"{tpath}.within_m",
                minimum=0,
                exclusive_min=True,
                unit=" of metres",
            )
            same_floor = self.r.boolean(pm.get("same_floor"), f"{tpath}.same_floor") or False
            if count is None:
                return None
            return Target(kind=kind, count=count, within_m=within, same_floor=same_floor)
        if kind is TargetKind.ROLE:
            role = self.r.name(value, tpath, "role")
            if role is not None:
                self.role_refs.append((role, value, tpath))
            return Target(kind=kind, ref=role) if role else None
        ref = self.r.ident(value, tpath)
        if kind in (TargetKind.STAFF, TargetKind.TEAM, TargetKind.ROTATION):
            self.ref(kind.value, ref, value, tpath)
        return Target(kind=kind, ref=ref) if ref else None

    # -- whole-site checks ----------------------------------------------------------------------

    def check_roles(self) -> None:
        if not self.roles:
            return
        for role, node, path in self.role_refs:
            if role not in self.roles:
                self.r.fail(
                    node,
                    path,
                    f"no staff member has the role {role!r}{suggest(role, self.roles)}; "
                    f"use one of the roles under people.staff: {one_of(self.roles)}",
                )

    def check_area_tree(self, areas: Mapping[str, Area]) -> None:
        self.check_roles()
        for aid, area in areas.items():
            seen = {aid}
            parent = area.parent
            node, path = self.area_nodes[aid]
            while parent is not None and parent in areas:
                if parent in seen:
                    self.r.fail(
                        node,
                        path,
                        f"the parents of area {aid!r} loop back to it; "
                        "an area's parent must enclose it",
                    )
                    break
                seen.add(parent)
                parent = areas[parent].parent
            parent_area = areas.get(area.parent) if area.parent else None
            if parent_area is not None and parent_area.floor != area.floor:
                self.r.fail(
                    node,
                    path,
                    f"parent {area.parent!r} is on floor {parent_area.floor!r}, "
                    f"not on {area.floor!r}; a parent must be on the same floor",
                )

    def ancestors(self, areas: Mapping[str, Area]) -> dict[str, frozenset[str]]:
        out: dict[str, frozenset[str]] = {}
        for aid, area in areas.items():
            chain: set[str] = set()
            parent = area.parent
            while parent is not None and parent in areas and parent not in chain and parent != aid:
                chain.add(parent)
                parent = areas[parent].parent
            out[aid] = frozenset(chain)
        return out

    def check_geometry(self, areas: Mapping[str, Area], devices: dict[str, Device]) -> None:
        shapes: dict[str, ShapelyPolygon] = {}
        for placed in self.placed:
            shape = geometry.check_polygon(
                placed.area.polygon, placed.node, placed.path, self.r.fail
            )
            if shape is None:
                continue
            shapes[placed.area.id] = shape
            outline = self.floor_shapes.get(placed.area.floor)
            if outline is not None:
                geometry.check_inside(
                    shape,
                    outline,
                    placed.node,
                    placed.path,
                    f"the outline of floor {placed.area.floor!r}",
                    self.r.fail,
                )
        for placed in self.placed:
            parent = placed.area.parent
            if (
                parent
                and placed.area.id in shapes
                and parent in shapes
                and areas[parent].floor == placed.area.floor
            ):
                geometry.check_inside(
                    shapes[placed.area.id],
                    shapes[parent],
                    placed.node,
                    placed.path,
                    f"its parent area {parent!r}",
                    self.r.fail,
                )
        geometry.check_overlaps(self.placed, shapes, self.ancestors(areas), self.r.fail)
        for device, dm, path in self.device_checks:
            checked = self.check_device(device, dm, path, areas, devices)
            if checked is not device:
                devices[device.id] = checked

    def check_device(
        self,
        device: Device,
        dm: dict[str, Node],
        path: str,
        areas: Mapping[str, Area],
        devices: Mapping[str, Device],
    ) -> Device:
        """Check a device against the facility; the device with its floor derived from its area."""
        floor = device.floor or None
        if device.area is not None and device.area in areas:
            area = areas[device.area]
            area_floor = area.floor
            if floor is not None and floor != area_floor:
                self.r.fail(
                    dm["floor"],
                    f"{path}.floor",
                    f"{floor!r} is not the floor of area {device.area!r} "
                    f"({area_floor!r}); remove `floor:` (it is derived from the area) or fix it",
                )
            floor = area_floor
            device = dataclasses.replace(device, floor=area_floor)
            if device.kind.is_ir_door and (
                area.kind.is_bed_level or area.kind is AreaKind.CORRIDOR
            ):
                self.r.fail(
                    dm["area"],
                    f"{path}.area",
                    f"an ir_door watches a room's doorway, and {area.id!r} is a {area.kind}; "
                    "name the room the door opens into",
                )
        if (
            device.gateway is not None
            and device.gateway in devices
            and device.gateway not in self.gateway_ids
        ):
            self.r.fail(
                dm["gateway"],
                f"{path}.gateway",
                f"{device.gateway!r} is a "
                f"{devices[device.gateway].kind}, not a gateway; name a device of kind gateway",
            )
        if device.position is not None and floor in self.floor_shapes:
            geometry.check_point_inside(
                device.position,
                self.floor_shapes[floor],
                dm["position"],
                f"{path}.position",
                f"the outline of floor {floor!r}",
                self.r.fail,
            )
        return device
