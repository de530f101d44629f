"""Small sites built in code for tests that must not depend on the YAML loader."""

from __future__ import annotations

from duress.domain.devices import Device, DeviceKind
from duress.domain.facility import Area, AreaKind, Building, Facility, Floor, Unit, UnitKind
from duress.domain.people import Badge, BadgeKind, Staff
from duress.domain.precision import Precision
from duress.domain.site import Site


def rect(x: float, y: float, w: float, h: float) -> tuple[tuple[float, float], ...]:
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def small_site() -> Site:
    """One floor: a corridor with two patient rooms (IR monitored) and an ED bay area (BLE)."""
    areas = [
        Area("f1-corr", "Corridor", AreaKind.CORRIDOR, "f1", rect(0, 10, 40, 4), unit="icu"),
        Area("icu-1", "ICU 1", AreaKind.ROOM, "f1", rect(0, 0, 10, 10), unit="icu"),
        Area("icu-2", "ICU 2", AreaKind.ROOM, "f1", rect(10, 0, 10, 10), unit="icu"),
        Area("ed-open", "ED open area", AreaKind.ZONE, "f1", rect(20, 14, 20, 10), unit="ed"),
        Area("ed-bay-1", "Bay 1", AreaKind.BAY, "f1", rect(20, 14, 5, 5), parent="ed-open"),
    ]
    facility = Facility(
        id="test-hospital",
        name="Test Hospital",
        timezone="UTC",
        buildings={"main": Building("main", "Main")},
        floors={"f1": Floor("f1", "Floor 1", "main", 1, rect(0, 0, 40, 24))},
        units={
            "icu": Unit("icu", "ICU", UnitKind.ICU, "f1", Precision.ROOM),
            "ed": Unit("ed", "ED", UnitKind.ED, "f1", Precision.ZONE),
        },
        areas={a.id: a for a in areas},
    )
    devices = [
        Device("gw-1", DeviceKind.GATEWAY, "f1", 60.0),
        Device("ir-icu-1", DeviceKind.IR_MONITOR, "f1", 300.0, area="icu-1", gateway="gw-1"),
        Device("ir-icu-2", DeviceKind.IR_MONITOR, "f1", 300.0, area="icu-2", gateway="gw-1"),
        Device("em-bay-1", DeviceKind.BAY_EMITTER, "f1", 300.0, area="ed-bay-1", gateway="gw-1"),
        Device("ble-corr", DeviceKind.BLE_BEACON, "f1", 900.0, position=(20, 12), tx_power=-59),
        Device("ble-ed", DeviceKind.BLE_BEACON, "f1", 900.0, position=(30, 20), tx_power=-59),
    ]
    staff = [
        Staff("n-1", "Ana Reyes", "rn", home_unit="icu"),
        Staff("n-2", "Ben Okafor", "charge_nurse", home_unit="icu"),
        Staff("s-1", "Cal Murphy", "security_officer", responder=True),
    ]
    badges = [
        Badge("b-1", BadgeKind.STAFF, "n-1"),
        Badge("b-2", BadgeKind.STAFF, "n-2"),
        Badge("b-3", BadgeKind.RESPONDER, "s-1"),
        Badge("b-spare", BadgeKind.STAFF, None),
        Badge("b-test", BadgeKind.TEST, None),
    ]
    return Site(
        facility=facility,
        devices={d.id: d for d in devices},
        staff={s.id: s for s in staff},
        badges={b.id: b for b in badges},
    )
