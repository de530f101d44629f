"""A naive locator to compare the engine with: the strongest single reading, no filter, no hysteresis.

- An IR hit places the badge in that room (or bay) at once; the place holds while IR keeps being
  seen (a hit in the last ``ir_hold_s``) — the least any IR system does.
- Otherwise the badge is in the area of the BLE device with the strongest *raw* reading of the last
  ``ble_window_s`` (one report interval): no median, no centroid, no sustain, no margin.

It validates nothing beyond what it needs (unknown devices are skipped). It produces the same
location rows as :func:`duress.sim.evaluate.track`, so :func:`~duress.sim.evaluate.evaluate` scores
both alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from duress.domain.area_index import AreaIndex, level_of
from duress.domain.observations import Sighting, SightingKind
from duress.domain.site import Site
from duress.sim.scenario import Received, Record


@dataclass(frozen=True, slots=True)
class BaselineParams:
    ir_hold_s: float = 1.5
    """An IR place holds while hit at least this recently (IR repeats every second)."""
    ble_window_s: float = 1.2
    """Readings this recent compete; the strongest wins."""


class StrongestReadingLocator:
    """Per badge: the last IR place, else the strongest recent BLE reading's area."""

    def __init__(self, site: Site, params: BaselineParams | None = None) -> None:
        self.params = params or BaselineParams()
        index = AreaIndex(site.facility)
        areas = site.facility.areas
        self._place: dict[str, tuple[str, str | None, str | None, str | None, str]] = {}
        """device -> (floor, room, bay, zone, precision) of the place it stands for."""
        for device in site.devices.values():
            if device.kind.is_ir and device.area in areas and device.area is not None:
                area = areas[device.area]
                if level_of(area.kind) == 0:
                    room = area.parent
                    self._place[device.id] = (area.floor, room, area.id, room, "bed")
                elif level_of(area.kind) == 1:
                    self._place[device.id] = (area.floor, area.id, None, area.id, "room")
                else:
                    self._place[device.id] = (area.floor, None, None, area.id, "zone")
            elif device.kind.is_ble and device.position is not None:
                zone = index.area_at(device.floor, *device.position)
                self._place[device.id] = (device.floor, None, None, zone, "zone")
        self._ir_at: dict[str, float] = {}
        self._ble: dict[str, dict[str, tuple[float, float]]] = {}
        self._current: dict[str, tuple[str, str | None, str | None, str | None, str]] = {}

    def observe(
        self, sighting: Sighting
    ) -> tuple[str, str | None, str | None, str | None, str] | None:
        """The badge's new place when it changed, else None."""
        place = self._place.get(sighting.device)
        if place is None:
            return None
        badge = sighting.badge
        t = sighting.ts.timestamp()
        if sighting.kind is SightingKind.IR:
            self._ir_at[badge] = t
            new = place
        else:
            if sighting.rssi is None:
                return None
            if t - self._ir_at.get(badge, -1e18) <= self.params.ir_hold_s:
                return None
            heard = self._ble.setdefault(badge, {})
            heard[sighting.device] = (t, sighting.rssi)
            cutoff = t - self.params.ble_window_s
            best = max(
                ((rssi, dev) for dev, (ts, rssi) in heard.items() if ts >= cutoff),
                default=None,
            )
            if best is None:
                return None
            new = self._place[best[1]]
        if self._current.get(badge) == new:
            return None
        self._current[badge] = new
        return new


def track_baseline(
    site: Site, records: Iterable[Record], params: BaselineParams | None = None
) -> Iterator[dict[str, Any]]:
    """Location rows (as :func:`duress.sim.evaluate.track` writes them) from the baseline."""
    locator = StrongestReadingLocator(site, params)
    facility = site.facility
    for record in records:
        if not isinstance(record, Received) or not isinstance(record.observation, Sighting):
            continue
        place = locator.observe(record.observation)
        if place is None:
            continue
        floor, room, bay, zone, precision = place
        here = bay or room or zone
        yield {
            "ts": record.at,
            "badge": record.observation.badge,
            "floor": floor,
            "unit": facility.unit_of(here) if here else None,
            "room": room,
            "bay": bay,
            "zone": zone,
            "precision": precision if zone is not None else "floor",
            "confidence": 1.0,
            "required": None,
            "meets": False,
        }
