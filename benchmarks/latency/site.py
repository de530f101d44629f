"""The benchmark's site: the example hospital with a routing policy that pages a local webhook.

Everything but people, teams, policies, activation and channels is Mercy General as shipped
(``examples/mercy-general``): its floors, rooms, devices and staff. Tier 1 is a team whose only
contact is ``webhook:bench`` (the benchmark's receiver); tier 2 is a second team on the same webhook,
so an alert nobody accepts escalates every ``ESCALATE_AFTER_S`` seconds (the minimum) to a notice
the receiver can time. Extra badges (``bx-NNNN``, worn by existing staff, never sighted) give the
escalation phase alerts that no sighting can place in a shared room (which would join them).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from duress.config.loader import load_site
from duress.domain.activation import Activation
from duress.domain.people import Badge, BadgeKind, Contact, Team
from duress.domain.recipients import position_of_area
from duress.domain.routing import Policy, Target, TargetKind, Tier
from duress.domain.site import Site

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mercy-general"
ESCALATE_AFTER_S = 5.0
SECRET = "bench-secret"
GATEWAY = "gw-f1-1"
EXTRA_BADGES = 400


def bench_site(hook_url: str) -> Site:
    site = load_site(EXAMPLE)
    contact = (Contact(channel="webhook:bench", address="bench"),)
    teams = {
        "bench-desk": Team(id="bench-desk", name="Bench desk", contacts=contact),
        "bench-escalation": Team(id="bench-escalation", name="Bench escalation", contacts=contact),
    }
    policy = Policy(
        id="bench",
        name="Benchmark: the desk, then escalation",
        tiers=(
            Tier(
                targets=(Target(TargetKind.TEAM, "bench-desk"),),
                escalate_after_s=ESCALATE_AFTER_S,
            ),
            Tier(
                targets=(Target(TargetKind.TEAM, "bench-escalation"),),
                escalate_after_s=ESCALATE_AFTER_S,
            ),
        ),
    )
    staff = sorted(site.staff)
    badges = dict(site.badges)
    for i in range(EXTRA_BADGES):
        badge_id = f"bx-{i:04d}"
        badges[badge_id] = Badge(id=badge_id, staff=staff[i % len(staff)])
    channels = {"webhooks": [{"name": "bench", "url": hook_url, "secret": SECRET}]}
    return replace(
        site,
        teams=teams,
        policies=(policy,),
        rotations={},
        activation=Activation(),
        channels=channels,
        badges=badges,
    )


def located_badges(site: Site) -> list[str]:
    """The example's own badges but its test badges (whose alerts only a test policy routes): the
    background load sights them, presses use them."""
    return sorted(
        b.id
        for b in site.badges.values()
        if not b.id.startswith("bx-") and b.kind is not BadgeKind.TEST
    )


def extra_badges(site: Site) -> list[str]:
    return sorted(b for b in site.badges if b.startswith("bx-"))


def neighbourhoods(site: Site) -> list[dict[str, Any]]:
    """For each IR-covered room: its IR device and the three nearest BLE beacons of its floor with
    the RSSI a badge in the room would hear (log-distance model), for realistic sightings."""
    ble = [d for d in site.devices.values() if d.kind.is_ble and d.position is not None]
    out = []
    for device in sorted(site.devices.values(), key=lambda d: d.id):
        if not device.kind.is_ir or device.area is None:
            continue
        where = position_of_area(site, device.area)
        if where is None:
            continue
        x, y = where.point
        near = []
        for beacon in ble:
            if beacon.floor != device.floor or beacon.position is None:
                continue
            bx, by = beacon.position
            metres = max(1.0, math.hypot(bx - x, by - y))
            rssi = (beacon.tx_power or -59.0) - 20.0 * math.log10(metres)
            near.append((metres, beacon.id, rssi))
        near.sort()
        out.append(
            {
                "ir": device.id,
                "ble": [(beacon, rssi) for _, beacon, rssi in near[:3]],
            }
        )
    return out


__all__ = [
    "ESCALATE_AFTER_S",
    "GATEWAY",
    "SECRET",
    "bench_site",
    "extra_badges",
    "located_badges",
    "neighbourhoods",
]
