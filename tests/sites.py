"""Small sites built in code for tests that must not depend on the YAML loader."""

from __future__ import annotations

from dataclasses import replace

from duress.domain.activation import DEFAULT_RULES, Activation, ActivationRules
from duress.domain.devices import Device, DeviceKind
from duress.domain.facility import Area, AreaKind, Building, Facility, Floor, Unit, UnitKind
from duress.domain.people import Badge, BadgeKind, Contact, Staff, Team
from duress.domain.precision import Precision
from duress.domain.routing import Policy, StopOn, Target, TargetKind, Tier
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


def routed_site(
    *, cancel_window_s: float = 0.0, stop_on: StopOn = StopOn.ACCEPTED, policies: bool = True
) -> Site:
    """The small site with people to notify and routing policies:

    - ICU: tier 0 = the ICU charge nurse + the nearest responder within 50 m (30 s), tier 1 = the
      security team and its desk (60 s), tier 2 = the house supervisor (120 s, repeated once).
    - ED: tier 0 = the ED charge nurse (there is none: skipped at once), tier 1 = security.
    - Test badges: the duress admins only.
    """
    base = small_site()
    staff = [
        *base.staff.values(),
        Staff("n-3", "Dee Park", "rn", home_unit="ed"),
        Staff(
            "s-2",
            "Eve Stone",
            "security_officer",
            responder=True,
            contacts=(Contact("sms", "+15550002"),),
        ),
        Staff(
            "h-1", "Flo Grant", "house_supervisor", contacts=(Contact("email", "flo@example.org"),)
        ),
        Staff(
            "x-1", "Gus Admin", "clinical_engineer", contacts=(Contact("email", "gus@example.org"),)
        ),
    ]
    staff = [
        replace(s, contacts=(Contact("wctp", "4002"),))
        if s.id == "n-2"
        else replace(s, contacts=(Contact("wctp", "5001"), Contact("sms", "+15550001")))
        if s.id == "s-1"
        else s
        for s in staff
    ]
    teams = {
        "security": Team(
            "security", "Security", ("s-1", "s-2"), (Contact("dashboard", "security-desk"),)
        ),
        "supervisors": Team("supervisors", "House supervisors", ("h-1",)),
        "admins": Team("admins", "Duress admins", ("x-1",)),
    }
    badges = {
        **base.badges,
        "b-4": Badge("b-4", BadgeKind.STAFF, "n-3"),
        "b-5": Badge("b-5", BadgeKind.RESPONDER, "s-2"),
    }
    tier_security = Tier((Target(TargetKind.TEAM, "security"),), 60.0)
    routing = (
        Policy(
            "icu",
            "ICU duress",
            units=("icu",),
            stop_on=stop_on,
            priority=10,
            tiers=(
                Tier(
                    (
                        Target(TargetKind.ROLE, "charge_nurse"),
                        Target(TargetKind.PROXIMITY, count=1, within_m=50.0),
                    ),
                    30.0,
                ),
                tier_security,
                Tier((Target(TargetKind.TEAM, "supervisors"),), 120.0, repeat=1),
            ),
        ),
        Policy(
            "ed",
            "ED duress",
            units=("ed",),
            priority=10,
            tiers=(Tier((Target(TargetKind.ROLE, "charge_nurse"),), 30.0), tier_security),
        ),
        Policy(
            "tests",
            "Test badges",
            kinds=("test",),
            priority=100,
            tiers=(Tier((Target(TargetKind.TEAM, "admins"),), 300.0),),
        ),
    )
    rules = ActivationRules(DEFAULT_RULES.patterns, cancel_window_s=cancel_window_s)
    return replace(
        base,
        staff={s.id: s for s in staff},
        teams=teams,
        badges=badges,
        policies=routing if policies else (),
        activation=Activation(default=rules),
    )
