"""The corridor-crossing rule (``ble_crossing_carry``) on two BLE rooms facing each other across
a corridor, with fake time only."""

from __future__ import annotations

import math
from dataclasses import replace

from tests.sim.site_fixtures import TX, at, ble, feed, rect, two_floor_site

from duress.domain.devices import Device, DeviceKind
from duress.domain.facility import Area, AreaKind
from duress.domain.location import Location, LocationEngine, LocationParams
from duress.domain.observations import Sighting
from duress.domain.site import Site

BEACONS = {
    "ble-r4": (43.0, 7.0),
    "ble-r5": (43.0, 16.0),
    "ble-f1-4": (35.0, 11.5),
    "ble-f1-5": (45.0, 11.5),
    "ble-f1-6": (55.0, 11.5),
}
"""The beacons near x = 43: one in each room (r4 south of corridor c2, r5 north of it) and the
corridor's centre line."""


def facing_rooms_site() -> Site:
    """The test site with a BLE-only room r5 across corridor c2 from r4."""
    site = two_floor_site()
    r5 = Area("r5", "Room 5", AreaKind.ROOM, "f1", rect(40, 13, 6, 6), unit="u1")
    beacon = Device("ble-r5", DeviceKind.BLE_BEACON, "f1", 900.0, position=(43, 16), tx_power=TX)
    facility = replace(site.facility, areas={**site.facility.areas, "r5": r5})
    return replace(site, facility=facility, devices={**site.devices, "ble-r5": beacon})


def walk(badge: str, ys: list[float]) -> list[Sighting]:
    """A badge at x = 43 and, second by second, at each ``y``: every beacon once a second."""
    out = []
    for k, y in enumerate(ys):
        for i, (device, (bx, by)) in enumerate(BEACONS.items()):
            d = max(1.0, math.hypot(bx - 43.0, by - y))
            out.append(ble(badge, device, k + 0.1 * i, round(-59 - 25 * math.log10(d), 1)))
    return out


def moves(params: LocationParams, sightings: list[Sighting]) -> list[Location]:
    return feed(LocationEngine(facing_rooms_site(), params), sightings)


# the centroid rule (ble_grid off) with the motion cue off, so that only the sustain decides
NO_CUE = LocationParams(ble_walk_estimates=0, ble_grid=False)
OFF = replace(NO_CUE, ble_crossing_carry=False)


def test_the_rule_is_on_by_default() -> None:
    assert LocationParams().ble_crossing_carry is True


def test_time_crossing_the_corridor_counts_toward_the_room_across() -> None:
    # in r4, two seconds on the corridor's centre line (not long enough for the corridor to
    # win), then deep in r5 across the corridor
    crossing = walk("b1", [7.0] * 20 + [11.5, 11.5] + [16.0] * 20)
    on = moves(NO_CUE, crossing)
    off = moves(OFF, crossing)
    assert [m.zone for m in on] == [m.zone for m in off] == ["r4", "r5"]
    assert on[-1].as_of < off[-1].as_of  # r5 shown at least one estimate sooner
    assert (off[-1].as_of - on[-1].as_of).total_seconds() >= 1.0
    assert on[-1].since == off[-1].since  # entered r5 at its first estimate, not in the corridor
    assert on[-1].since >= at(22)


def test_a_long_corridor_stay_is_shown_as_the_corridor_first() -> None:
    # three seconds in the corridor: the corridor wins on its own sustain, as before
    linger = walk("b1", [7.0] * 20 + [11.5] * 3 + [16.0] * 20)
    on = moves(NO_CUE, linger)
    off = moves(OFF, linger)
    assert [m.zone for m in on] == ["r4", "c2", "r5"]
    assert [(m.zone, m.as_of) for m in on] == [(m.zone, m.as_of) for m in off]
