"""Location precision: how finely the system can say where a badge is.

Ordered from finest to coarsest: ``bed`` (a bay or bed area), ``room``, ``zone`` (a hallway segment or
team area), ``floor``, ``unknown``. An area *requires* a precision; a location *achieves* one; the
requirement is met when the achieved precision is at least as fine as the required one.
"""

from __future__ import annotations

from enum import StrEnum


class Precision(StrEnum):
    BED = "bed"
    ROOM = "room"
    ZONE = "zone"
    FLOOR = "floor"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """0 for the finest (bed) up to 4 for unknown."""
        return _ORDER.index(self)

    def meets(self, required: Precision) -> bool:
        """True when this achieved precision is at least as fine as ``required``."""
        return self.rank <= required.rank


_ORDER = (Precision.BED, Precision.ROOM, Precision.ZONE, Precision.FLOOR, Precision.UNKNOWN)
