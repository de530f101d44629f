"""The port through which the runtime asks where badges are.

The location engine (``duress.domain.location``) does the reasoning; this port is what the runtime
needs of it: feed a sighting, learn whether the badge moved, and read current locations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from duress.domain.events import BadgeMoved
from duress.domain.location_params import LocationParams
from duress.domain.observations import Sighting
from duress.service.sighting_work import Decoding, SightingReport


class BadgeLocator(Protocol):
    @property
    def params(self) -> LocationParams:
        """The engine's parameters (the runtime's location timer follows them)."""
        ...

    def heartbeat(self, device: str, ts: datetime) -> None:
        """A fixed device's heartbeat: the engine takes an IR device not heard for a while as
        offline (``ir_offline_after``)."""
        ...

    def observe(self, sighting: Sighting, now: datetime) -> BadgeMoved | None:
        """Take one sighting; return the move when the badge's place or precision changed."""
        ...

    def advance(self, now: datetime) -> Sequence[BadgeMoved]:
        """The moves of badges whose BLE scans became due by ``now`` (called after each batch and
        by the location timer)."""
        ...

    def where(self, badge: str, now: datetime) -> Mapping[str, Any] | None:
        """One badge's current location as JSON-ready fields, or None when it was never located."""
        ...

    def snapshot(self, now: datetime) -> Mapping[str, Mapping[str, Any]]:
        """Every located badge's current location as JSON-ready fields, keyed by badge id."""
        ...


@runtime_checkable
class SightingWorker(Protocol):
    """A locator whose engine runs elsewhere (:class:`~duress.service.worker_locator.WorkerLocator`):
    the runtime starts and stops it, and hands it whole batches instead of single sightings."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def take(
        self, sightings: Sequence[tuple[int, Sighting]], now: datetime
    ) -> SightingReport:
        """Take a batch; what it changed (rejections, moves, last heard and seen, places)."""
        ...

    async def take_undecoded(
        self, messages: Sequence[Any], decoding: Decoding, now: datetime
    ) -> SightingReport:
        """Take messages as received, decoded there with ``decoding``."""
        ...
