"""The port through which the runtime asks where badges are.

The location engine (``duress.domain.location``) does the reasoning; this port is what the runtime
needs of it: feed a sighting, learn whether the badge moved, and read current locations.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from duress.domain.events import BadgeMoved
from duress.domain.observations import Sighting


class BadgeLocator(Protocol):
    def observe(self, sighting: Sighting, now: datetime) -> BadgeMoved | None:
        """Take one sighting; return the move when the badge's place or precision changed."""
        ...

    def where(self, badge: str, now: datetime) -> Mapping[str, Any] | None:
        """One badge's current location as JSON-ready fields, or None when it was never located."""
        ...

    def snapshot(self, now: datetime) -> Mapping[str, Mapping[str, Any]]:
        """Every located badge's current location as JSON-ready fields, keyed by badge id."""
        ...
