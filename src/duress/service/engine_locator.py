"""The location engine behind the runtime's :class:`~duress.service.locating.BadgeLocator` port."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from duress.domain.events import BadgeMoved
from duress.domain.location import Location, LocationEngine, LocationParams
from duress.domain.observations import Sighting
from duress.domain.site import Site


class EngineLocator:
    def __init__(self, site: Site, params: LocationParams | None = None) -> None:
        self.engine = LocationEngine(site, params) if params else LocationEngine(site)

    @property
    def params(self) -> LocationParams:
        return self.engine.params

    def heartbeat(self, device: str, ts: datetime) -> None:
        self.engine.heartbeat(device, ts)

    def observe(self, sighting: Sighting, now: datetime) -> BadgeMoved | None:
        location = self.engine.observe(sighting, now)
        return location.moved_event() if location is not None else None

    def advance(self, now: datetime) -> list[BadgeMoved]:
        return [location.moved_event() for location in self.engine.advance(now)]

    def where(self, badge: str, now: datetime) -> Mapping[str, Any] | None:
        location = self.engine.locate(badge, now)
        if location.source == "none" and location.last_known is None and location.as_of is None:
            return None
        return describe(location)

    def snapshot(self, now: datetime) -> Mapping[str, Mapping[str, Any]]:
        return {loc.badge: describe(loc) for loc in self.engine.locations(now)}


def describe(location: Location) -> dict[str, Any]:
    """A location as JSON-ready fields (the API's and the board's shape)."""
    return {
        "floor": location.floor,
        "unit": location.unit,
        "room": location.room,
        "bay": location.bay,
        "zone": location.zone,
        "area": location.area,
        "precision": location.precision.value,
        "required": location.required.value if location.required else None,
        "meets_requirement": location.meets_requirement,
        "confidence": round(location.confidence, 3),
        "as_of": location.as_of.isoformat() if location.as_of else None,
        "since": location.since.isoformat() if location.since else None,
        "age_s": round(location.age_s, 1),
        "stale": location.stale,
        "source": location.source,
    }
