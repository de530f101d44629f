"""The work a batch of sightings costs, done apart from presses, and what it tells the server.

Sightings are most of what a server receives (tens of thousands a second on a large site) and
presses almost none of it; a press must never wait for them. :class:`SightingWork` takes a batch
of sightings (as compact :data:`SightingRow` tuples), checks each against the site, feeds the
location engine, and sums up what the server needs in a :class:`SightingReport`: the rejections,
the moves, and, at most once per ``refresh_s`` for each device and badge, when it was last heard
(device supervision), where and through which gateway it was last seen (badge supervision and
feedback), and its place (the locations the server answers with). It runs in the location process
(:mod:`duress.service.location_process`) next to the server's event loop, never on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from duress.domain.events import BadgeMoved
from duress.domain.location import LocationEngine
from duress.domain.location_params import LocationParams
from duress.domain.location_report import PlaceReport, report_of
from duress.domain.observations import Observation, Sighting, SightingKind
from duress.domain.site import Site

REFRESH_S = 1.0
"""How often, at most, a device's last-heard time, a badge's last-seen time and a badge's place
are reported again while nothing about them changed (a move, a new gateway, is reported at once)."""

SightingRow = tuple[int, float, str, str, str, float | None, str | None]
"""``(index in the sender's batch, ts as POSIX seconds, badge, device, kind, rssi, gateway)``."""

_KINDS = {kind.value: kind for kind in SightingKind}


def rows_of(sightings: Iterable[tuple[int, Sighting]]) -> list[SightingRow]:
    """Sightings as rows: cheaper to send to another process than the objects."""
    return [
        (i, s.ts.timestamp(), s.badge, s.device, s.kind.value, s.rssi, s.gateway)
        for i, s in sightings
    ]


def check_sighting(site: Site, badge: str, device: str) -> tuple[str, str] | None:
    """Why the site refuses a sighting (reason, detail with the fix), or None when it knows both."""
    if badge not in site.badges:
        return (
            "unknown_badge",
            f"badge {badge!r} is not in the site configuration; add it under people.badges",
        )
    if device not in site.devices:
        return "unknown_device", unknown_device(device)
    return None


def unknown_device(device: str) -> str:
    return f"device {device!r} is not in the site configuration; add it under devices"


@dataclass(slots=True)
class SightingReport:
    """What a batch of sightings changed, for the server to apply."""

    located: int = 0
    """Sightings accepted and fed to the location engine."""
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    """``(index, reason, detail)`` of each sighting the site refused."""
    heard: dict[str, float] = field(default_factory=dict)
    """Device → the latest time it was heard (POSIX seconds), when due to be reported."""
    seen: dict[str, tuple[float, str | None]] = field(default_factory=dict)
    """Badge → (the latest time it was seen, the gateway that heard it), when due."""
    moved: list[BadgeMoved] = field(default_factory=list)
    places: dict[str, PlaceReport] = field(default_factory=dict)
    """Badge → its place, for badges that moved and those whose report was due."""
    undecoded: list[tuple[int, str, str]] = field(default_factory=list)
    """For messages sent undecoded: ``(message index, reason, detail)`` of each rejected one."""
    others: list[tuple[int, Observation]] = field(default_factory=list)
    """For messages sent undecoded: what they held that is not a sighting (a button event, a
    heartbeat), by message index, for the server to ingest."""


class Decoding(Protocol):
    """Decodes messages as received (MQTT) into observations, in the location process."""

    def decode(
        self, site: Site, messages: Sequence[Any]
    ) -> tuple[list[tuple[int, Observation]], list[tuple[int, str, str]]]: ...


class Feed(Protocol):
    """The location process's own subscription to sighting messages
    (:class:`~duress.ingest.mqtt.sighting_feed.SightingFeed`), started in the process."""

    @property
    def decoding(self) -> Decoding: ...

    def start(self, wake: Callable[[], None], on_state: Callable[[bool, str], None]) -> None:
        """Start receiving; ``wake()`` when messages wait, ``on_state(subscribed, detail)``."""
        ...

    def take(self) -> tuple[Sequence[Any], Any]:
        """What waits, and what was counted meanwhile (received, dropped; ``topics`` to fill)."""
        ...

    def now(self) -> datetime: ...

    def stop(self) -> None: ...


class SightingWork:
    """The location engine and the bookkeeping of sightings, for one site. Not thread-safe."""

    def __init__(
        self, site: Site, params: LocationParams | None = None, *, refresh_s: float = REFRESH_S
    ) -> None:
        self.site = site
        self.params = params or LocationParams()
        self.engine = LocationEngine(site, self.params)
        self.refresh_s = refresh_s
        self._heard_at: dict[str, float] = {}
        self._seen_at: dict[str, tuple[float, str | None]] = {}
        self._placed_at: dict[str, float] = {}

    def take(self, rows: Sequence[SightingRow], now: datetime) -> SightingReport:
        report = SightingReport()
        site, engine, kinds = self.site, self.engine, _KINDS
        heard: dict[str, float] = {}
        seen: dict[str, tuple[float, str | None]] = {}
        moved: set[str] = set()
        for index, ts, badge, device, kind, rssi, gateway in rows:
            if badge not in site.badges or device not in site.devices:
                reason = check_sighting(site, badge, device)
                if reason is not None:
                    report.rejected.append((index, *reason))
                    continue
            if ts > heard.get(device, -1.0):
                heard[device] = ts
            if ts >= seen.get(badge, (-1.0, None))[0]:
                seen[badge] = (ts, gateway)
            sighting = Sighting(
                datetime.fromtimestamp(ts, UTC), badge, device, kinds[kind], rssi, gateway
            )
            location = engine.observe(sighting, now)
            if location is not None:
                report.moved.append(location.moved_event())
                moved.add(badge)
            report.located += 1
        for location in engine.advance(now):  # scans that became due, of any badge
            report.moved.append(location.moved_event())
            moved.add(location.badge)
        self._due_heard(heard, report)
        self._due_seen(seen, report)
        self._due_places(seen, moved, now, report)
        return report

    def take_undecoded(
        self, decoding: Decoding, messages: Sequence[Any], now: datetime
    ) -> SightingReport:
        """Decode ``messages`` with ``decoding``, locate their sightings, and hand back the rest."""
        observations, undecoded = decoding.decode(self.site, messages)
        sightings = [(i, o) for i, o in observations if isinstance(o, Sighting)]
        report = self.take(rows_of(sightings), now)
        report.undecoded = undecoded
        report.others = [(i, o) for i, o in observations if not isinstance(o, Sighting)]
        return report

    def _due_heard(self, heard: dict[str, float], report: SightingReport) -> None:
        sent = self._heard_at
        for device, ts in heard.items():
            if ts - sent.get(device, -1e18) >= self.refresh_s:
                sent[device] = ts
                report.heard[device] = ts

    def _due_seen(self, seen: dict[str, tuple[float, str | None]], report: SightingReport) -> None:
        sent = self._seen_at
        for badge, (ts, gateway) in seen.items():
            last = sent.get(badge)
            if last is None or ts - last[0] >= self.refresh_s or gateway != last[1]:
                sent[badge] = (ts, gateway)
                report.seen[badge] = (ts, gateway)

    def _due_places(
        self,
        seen: dict[str, tuple[float, str | None]],
        moved: set[str],
        now: datetime,
        report: SightingReport,
    ) -> None:
        n = now.timestamp()
        sent = self._placed_at
        # the badges heard in this batch, and those the engine's timer moved (not heard in it)
        for badge in [*seen, *(b for b in moved if b not in seen)]:
            if badge not in moved and n - sent.get(badge, -1e18) < self.refresh_s:
                continue
            place = report_of(self.engine.locate(badge, now), self.params)
            if place is not None:
                sent[badge] = n
                report.places[badge] = place
