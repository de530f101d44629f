"""A summary of a site for people: what is configured, counted, so a reviewer spots what is missing.

``duress config check`` prints it; the same numbers suit a go-live checklist.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from duress.domain.facility import AreaKind
from duress.domain.precision import Precision
from duress.domain.site import Site


@dataclass(frozen=True, slots=True)
class UnitSummary:
    id: str
    name: str
    kind: str
    floor: str
    required_precision: Precision
    areas: int
    ir_devices: int
    """IR monitors and bay emitters covering the unit's areas."""
    staff: int
    """Staff whose home unit this is."""
    coverage_roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SiteSummary:
    id: str
    name: str
    timezone: str
    buildings: int
    floors: int
    areas_by_kind: dict[str, int]
    devices_by_kind: dict[str, int]
    units: tuple[UnitSummary, ...]
    staff: int
    staff_by_role: dict[str, int]
    responders: int
    badges: int
    badges_by_kind: dict[str, int]
    spare_badges: int
    """Badges assigned to nobody."""
    teams: int
    policies: int
    holidays: int
    ble_devices: int = 0
    """BLE beacons and locators."""
    ble_calibrated: int = 0
    """Of those, the ones whose 1 m reading a survey walk measured (``calibration:``)."""
    calibration_source: str | None = None
    """Which walk (None: the site has no ``calibration:`` section)."""

    @property
    def areas(self) -> int:
        return sum(self.areas_by_kind.values())

    @property
    def devices(self) -> int:
        return sum(self.devices_by_kind.values())


def summarize(site: Site) -> SiteSummary:
    """Count what the site holds: areas and devices by kind, units, staff, badges."""
    facility = site.facility
    area_kinds = Counter(a.kind.value for a in facility.areas.values())
    device_kinds = Counter(d.kind.value for d in site.devices.values())
    ir_per_unit: Counter[str] = Counter()
    for device in site.devices.values():
        if device.kind.is_ir and device.area is not None and device.area in facility.areas:
            unit = facility.unit_of(device.area)
            if unit is not None:
                ir_per_unit[unit] += 1
    areas_per_unit: Counter[str] = Counter()
    for area in facility.areas.values():
        unit = facility.unit_of(area.id)
        if unit is not None:
            areas_per_unit[unit] += 1
    staff_per_unit = Counter(s.home_unit for s in site.staff.values() if s.home_unit)
    roles_per_unit: dict[str, list[str]] = {}
    for rule in site.coverage:
        roles = roles_per_unit.setdefault(rule.unit, [])
        roles.extend(r for r in rule.roles if r not in roles)
    units = tuple(
        UnitSummary(
            id=u.id,
            name=u.name,
            kind=u.kind.value,
            floor=u.floor,
            required_precision=u.required_precision,
            areas=areas_per_unit[u.id],
            ir_devices=ir_per_unit[u.id],
            staff=staff_per_unit[u.id],
            coverage_roles=tuple(roles_per_unit.get(u.id, ())),
        )
        for u in facility.units.values()
    )
    return SiteSummary(
        id=facility.id,
        name=facility.name,
        timezone=facility.timezone,
        buildings=len(facility.buildings),
        floors=len(facility.floors),
        areas_by_kind=_ordered(area_kinds, [k.value for k in AreaKind]),
        devices_by_kind=dict(sorted(device_kinds.items())),
        units=units,
        staff=len(site.staff),
        staff_by_role=dict(sorted(Counter(s.role for s in site.staff.values()).items())),
        responders=sum(1 for s in site.staff.values() if s.responder),
        badges=len(site.badges),
        badges_by_kind=dict(sorted(Counter(b.kind.value for b in site.badges.values()).items())),
        spare_badges=sum(1 for b in site.badges.values() if b.staff is None),
        teams=len(site.teams),
        policies=len(site.policies),
        holidays=len(site.holidays),
        ble_devices=sum(1 for d in site.devices.values() if d.kind.is_ble),
        ble_calibrated=len(site.calibration.tx_power) if site.calibration else 0,
        calibration_source=site.calibration.source if site.calibration else None,
    )


def _ordered(counts: Counter[str], order: list[str]) -> dict[str, int]:
    return {k: counts[k] for k in order if counts[k]}
