"""The location engine: sightings in, one honest location per badge out (pure: no I/O, no clock).

Evidence:

- **IR** (room monitors, bay emitters): infrared does not cross walls, so a badge that sees a room's
  code is in that room (a bay emitter: that bed area). IR misses (detection < 1), leaks through
  open doors and has blind spots, so each IR area keeps an exponentially decayed *score* (``+1`` per
  hit, time constant ``ir_tau_s``), not a yes/no.
- **BLE** (beacons heard by the badge, or locators hearing it): each device's RSSI goes through a
  windowed median (``ble_window_s``); the strongest ``ble_top_k`` devices on the chosen floor give
  a weighted centroid (weights ``1/d²`` from the log-distance model), mapped to the area containing
  it. BLE never claims more than ``zone`` precision.

Fusion and transitions (incumbent/challenger):

1. An IR place whose last hit is younger than ``ir_hold_s`` is *fresh*. While the incumbent is a
   fresh IR place, BLE is ignored (the two never fight); another IR place replaces it only when its
   score reaches ``ir_enter_score`` and leads the incumbent's by ``ir_margin``.
2. When the incumbent is not fresh IR, an IR place with a score of at least ``ir_enter_score`` wins
   at once (walking in is detected after two or so hits); the very first fix needs a single hit.
   Where the room has an IR door monitor (``ir_door``), one code of the room within
   ``ir_door_window_s`` of the door monitor's enters it (door entry), and the door monitor's code
   with no code of the room after it ends the stay (door exit, ``ir_door_exit_s``).
3. Otherwise BLE decides: a BLE challenger zone replaces a BLE incumbent only after the estimate
   has stayed more than ``ble_margin_m`` outside the incumbent's area for ``ble_sustain_s``
   (hysteresis: someone standing in a doorway does not flap); it replaces a stale IR incumbent at
   once.
   A deep challenger wins without the sustain while the estimates show someone walking (the
   motion cue: ``ble_walk_*``); a room reached deep after the estimates crossed a corridor counts
   its sustain from the first corridor estimate (``ble_crossing_carry``).
4. Plausibility: a move to another floor sooner than ``floor_change_s_per_level`` per level after
   the last evidence on the old floor is held back (and counted as ``implausible_move``); if the
   evidence persists it wins once the move becomes possible.

Bays: a bay is held while its room is held and its emitter merely misses (``ir_bay_hold_s``);
another bay replaces a held, silent one with ``ir_bay_enter_score``, or with one hit soon after
the held bay's last one followed by its silence (the bay move, ``ir_bay_move_*``). The room's BLE
fingerprint (exit cue, quiet hold, re-entry rules) is described in ``docs/location.md``.

Ageing: a location's ``as_of`` is its newest supporting evidence. :meth:`LocationEngine.locate`
reports its age; past ``stale_after_s`` it is marked stale, past ``unknown_after_s`` it becomes
``unknown`` (carrying the last known location). Confidence halves every ``confidence_half_life_s``.

Bad input is never fatal and never becomes a location: each rejected sighting is counted by reason
in :attr:`LocationEngine.rejections`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from librt.vecs import extend, vec
from mypy_extensions import i64

from duress.domain.area_index import AreaIndex, level_of
from duress.domain.badge_location import Location, Rejections, RejectReason, unknown
from duress.domain.ble_grid import FloorGrid, GridState, floor_grids, seed, step
from duress.domain.calibration import calibrated_params
from duress.domain.events import BadgeMoved
from duress.domain.ir_supervision import IrSupervision
from duress.domain.location_params import LocationParams, with_site_settings
from duress.domain.location_report import PlaceReport, location_at
from duress.domain.observations import Sighting, SightingKind
from duress.domain.precision import Precision
from duress.domain.site import Site

# --- Site tables, built once ----------------------------------------------------------------------

_BLE_KIND: Final = SightingKind.BLE


@dataclass(frozen=True, slots=True)
class _Dev:
    kind: SightingKind
    floor: str
    room: str | None
    """IR: the zone-level place (room, or corridor for an IR monitor in a corridor)."""
    bay: str | None
    x: float
    y: float
    tx_power: float
    zone: str | None
    """BLE: the area containing the device (its fallback place)."""
    inside: str | None = None
    """BLE: the room (room-level area) the device is inside, None in a corridor or open zone: the
    room's own beacon, evidence of being in that room (rule 5), not a device outside it."""
    ir_inside: str | None = None
    """BLE: ``inside`` when that room has IR (the beacon-entry rule, rule 5), else None."""
    door: str | None = None
    """IR door monitor: the zone-level place (room) whose doorway it watches (rule 2)."""


@dataclass(frozen=True, slots=True)
class _AreaInfo:
    floor: str
    unit: str | None
    room: str | None
    zone: str
    required: Precision
    level: int


class _Place:
    __slots__ = (
        "as_of",
        "bay",
        "bay_at",
        "confidence",
        "floor",
        "ir_at",
        "mv_at",
        "mv_bay",
        "mv_last",
        "mv_n",
        "precision",
        "room",
        "since",
        "source",
        "zone",
    )

    def __init__(
        self,
        floor: str,
        room: str | None,
        bay: str | None,
        zone: str | None,
        precision: Precision,
        source: str,
        since: float,
        as_of: float,
        confidence: float,
    ) -> None:
        self.floor = floor
        self.room = room
        self.bay = bay
        self.zone = zone
        self.precision = precision
        self.source = source
        self.since = since
        self.as_of = as_of
        self.confidence = confidence
        self.ir_at = as_of
        """The newest IR hit supporting an IR place."""
        self.bay_at = as_of
        """The newest hit of the bay's emitter (the bay hold counts from it)."""
        self.mv_bay: str | None = None
        """Bay move: another bay of the room, hit soon after the held bay's last hit."""
        self.mv_at = -math.inf
        """The move's first hit of ``mv_bay``."""
        self.mv_last = -math.inf
        """The newest hit of ``mv_bay`` counted in ``mv_n``."""
        self.mv_n = 0
        """Hits of ``mv_bay`` since the held bay's last hit."""


class _Estimate:
    __slots__ = ("confidence", "floor", "nearest", "ts", "walking", "x", "y", "zone")

    def __init__(
        self,
        ts: float,
        floor: str,
        x: float,
        y: float,
        zone: str | None,
        confidence: float,
        nearest: _Dev,
    ) -> None:
        self.ts = ts
        self.nearest = nearest
        """The strongest device on the estimate's floor."""
        self.walking = False
        """The estimates up to this one moved one way at walking pace (the motion cue)."""
        self.floor = floor
        self.x = x
        self.y = y
        self.zone = zone
        self.confidence = confidence


_STRIDE: Final = 6
"""Floats per device in :attr:`_Heard.data`: newest reading's time, filtered RSSI, the last
reading, its time, the reading before it, its time."""


class _Heard:
    """The BLE devices one badge hears, in the order they were first heard.

    Per device (a *slot*): the newest reading's time (the device counts while it is inside
    ``ble_window_s``), the filtered RSSI (a running median of the last three readings inside the
    window, updated in :meth:`LocationEngine.observe`, so an estimate only reads it) and the last
    two readings with their times. The floats are packed in one unboxed vector (librt.vecs) because
    an estimate scans every device of a badge once a second: packed, that scan reads a few adjacent
    cache lines instead of several scattered objects per device (docs/benchmarks.md, "Location"),
    and compiled, a read is a C double (docs/decisions/0020).
    """

    __slots__ = ("data", "devs", "ids", "slot")

    def __init__(self) -> None:
        self.slot: dict[str, int] = {}
        """Device id -> its slot."""
        self.ids: list[str] = []
        """Per slot, the device id."""
        self.devs: list[_Dev] = []
        self.data: vec[float] = vec[float]()
        """``_STRIDE`` floats per slot."""

    def add_device(self, device_id: str, dev: _Dev, ts: float, value: float) -> None:
        """A device heard for the first time (or again after it fell out of the window)."""
        self.slot[device_id] = len(self.ids)
        self.ids.append(device_id)
        self.devs.append(dev)
        self.data = extend(self.data, (ts, value, value, ts, value, -math.inf))

    def filtered(self, device_id: str) -> float | None:
        """The device's filtered RSSI; None when it is not heard."""
        i = self.slot.get(device_id)
        return None if i is None else self.data[i * _STRIDE + 1]

    def newest(self) -> vec[float]:
        """Per slot, the newest reading's time (-inf for a dead slot, see :meth:`drop_devices_older`)."""
        return self.data[0::_STRIDE]

    def values(self) -> vec[float]:
        """Per slot, the filtered RSSI."""
        return self.data[1::_STRIDE]

    def drop_devices_older(self, cutoff: float) -> None:
        """Forget the devices whose newest reading is older than ``cutoff``.

        A forgotten device's slot stays, dead (its newest time -inf: never inside a window),
        until the dead slots outnumber the live ones; a device heard again gets a new slot at
        the end.
        """
        data = self.data
        for i, ts in enumerate(self.newest()):
            if ts < cutoff and ts != -math.inf:
                del self.slot[self.ids[i]]
                data[i * _STRIDE] = -math.inf
        if len(self.ids) > 2 * len(self.slot) + 8:
            keep = [i for i, ts in enumerate(self.newest()) if ts != -math.inf]
            self.ids = [self.ids[i] for i in keep]
            self.devs = [self.devs[i] for i in keep]
            self.data = vec[float]([x for i in keep for x in data[i * _STRIDE : (i + 1) * _STRIDE]])
            self.slot = {device_id: i for i, device_id in enumerate(self.ids)}


class _Track(_Heard):
    """Everything the engine keeps about one badge.

    It *is* the BLE devices the badge hears (a :class:`_Heard`) rather than holding them: every
    BLE sighting reads both, and one object less to fetch measured about 5 % more throughput.
    """

    # Not sorted: the slots every BLE sighting reads come first, so that they share a cache line.
    __slots__ = (  # noqa: RUF023
        "latest",
        "ble_at",
        "ref_zone",
        "place",
        "estimate",
        "chal_key",
        "chal_since",
        "change",
        "crossed_at",
        "door_at",
        "door_zone",
        "left_at",
        "left_zone",
        "beacon_room",
        "beacon_since",
        "exited_at",
        "exited_score",
        "exited_zone",
        "grid",
        "ir",
        "last_by_device",
        "ref",
        "ref_n",
        "reported_unknown",
        "trail",
    )

    def __init__(self) -> None:
        super().__init__()
        self.latest = -math.inf
        self.last_by_device: dict[str, float] = {}
        self.ir: dict[str, list[float]] = {}
        """IR area (room-level place or bay) -> [first hit of this run, last hit, decayed score]."""
        self.ble_at = -math.inf
        self.ref: dict[str, float] = {}
        """The BLE fingerprint (filtered RSSI per device) learnt inside ``ref_zone``."""
        self.ref_zone: str | None = None
        self.ref_n = 0
        self.change: float | None = None
        """Mean dB change of the BLE picture from ``ref`` (None when unknown)."""
        self.exited_zone: str | None = None
        self.exited_at = -math.inf
        self.exited_score = 0.0
        """The IR score of ``exited_zone`` when the BLE exit cue ended its stay (0: the hold
        expired); a re-entry counts only the hits after it (``ir_exit_fresh_run``)."""
        self.estimate: _Estimate | None = None
        self.place: _Place | None = None
        self.chal_key: str | None = None
        self.chal_since = 0.0
        self.crossed_at = math.inf
        """The first corridor estimate of the current spell of estimates outside a BLE
        incumbent's area (inf: none yet); the corridor-crossing rule counts from it."""
        self.door_zone: str | None = None
        """The room whose door monitor the badge saw last (rule 2, door entry), at ``door_at``."""
        self.door_at = -math.inf
        self.left_zone: str | None = None
        """The room-level place shown before the current one (any source), left at
        ``left_at``: door entry on the door monitor alone does not take someone back into it."""
        self.left_at = -math.inf
        self.beacon_room: str | None = None
        """The IR room whose own beacon leads the badge's estimates by ``ir_beacon_entry_db``
        without a break since ``beacon_since`` (the beacon-entry rule), else None."""
        self.beacon_since = 0.0
        self.reported_unknown = False
        self.trail: list[tuple[float, float]] = []
        """The last few BLE estimate positions (the motion cue)."""
        self.grid: GridState | None = None
        """The BLE grid filter (rule 3), while BLE decides."""


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EXACT_US: Final = 9_007_199_254_740_992  # 2 ** 53
"""Below this many microseconds from the epoch (years 1685-2255) a float holds the count exactly."""


def epoch_seconds(dt: datetime) -> float:
    """``dt.timestamp()``, the same float, at about half the cost for an aware datetime.

    ``datetime.timestamp`` turns the time since the epoch into microseconds with big-integer
    arithmetic (an eighth of the engine's time on a large site, two conversions a sighting);
    here the count is native integer arithmetic, and one float division gives the correctly
    rounded quotient, as ``timestamp`` does, while the count is exact as a float. A naive
    datetime (one without a zone, or whose zone gives no offset: the subtraction refuses it) and
    instants outside those years take ``timestamp`` itself.
    """
    try:
        delta = dt - _EPOCH
    except TypeError:
        return dt.timestamp()
    days: i64 = delta.days
    seconds: i64 = delta.seconds
    us: i64 = (days * 86400 + seconds) * 1_000_000 + delta.microseconds
    if -_EXACT_US < us < _EXACT_US:
        return float(us) / 1e6
    return dt.timestamp()


class LocationEngine:
    """Turns sightings into badge locations. One instance per site; not thread-safe."""

    def __init__(self, site: Site, params: LocationParams | None = None) -> None:
        self.site = site
        self._grids: dict[str, FloorGrid] | None = None
        self._now = 0.0
        """The arrival time of the sighting being observed (the grid filter's clock)."""
        self.params = params or LocationParams()  # sets self._params (see the property)
        self.rejections = Rejections()
        self.index = AreaIndex(site.facility)
        self._tracks: dict[str, _Track] = {}
        self._advanced_at = -math.inf
        """When ``advance`` last looked at every badge."""
        self._badges = frozenset(site.badges)
        facility = site.facility
        self._levels = {f.id: f.level for f in facility.floors.values()}
        self._areas: dict[str, _AreaInfo] = {}
        for area in facility.areas.values():
            level = level_of(area.kind)
            room = _room_level(site, area.id)
            self._areas[area.id] = _AreaInfo(
                floor=area.floor,
                unit=facility.unit_of(area.id),
                room=room if level <= 1 else None,
                zone=_zone_level(site, area.id),
                required=facility.required_precision(area.id),
                level=level,
            )
        self._bays = frozenset(a for a, info in self._areas.items() if info.level == 0)
        self._bay_rooms = frozenset(info.zone for info in self._areas.values() if info.level == 0)
        """The zone-level places (rooms) that have bays."""
        self._ir_zones = frozenset(
            self._areas[d.area].zone
            for d in site.devices.values()
            if d.kind.is_ir and d.area is not None and d.area in self._areas
        )
        """The zone-level places (rooms) with an IR device."""
        ir_rooms = {
            d.id: self._areas[d.area].zone or d.area
            for d in site.devices.values()
            if d.kind.is_ir and d.area is not None and d.area in self._areas
        }
        self._ir_watch = IrSupervision(ir_rooms, {d: site.devices[d].heartbeat_s for d in ir_rooms})
        """Which IR devices work (``ir_offline_after``; decision 0024)."""
        self._devices: dict[str, _Dev] = {}
        self._not_locators: set[str] = set()
        for device in site.devices.values():
            dev = self._device_entry(device.id)
            if dev is None:
                self._not_locators.add(device.id)
            else:
                self._devices[device.id] = dev
        if self._params.ble_grid:
            self._grids = self._build_grids()

    @property
    def params(self) -> LocationParams:
        """The engine's parameters. Set anew (tests do), they apply from the next sighting on;
        the device table keeps the default BLE transmit power it was built with. A site's
        survey-walk calibration replaces the path-loss exponent and the wall loss given here
        (:func:`duress.domain.calibration.calibrated_params`), and its ``location:`` settings
        the parameters they name (:func:`~duress.domain.location_params.with_site_settings`)."""
        return self._params

    @params.setter
    def params(self, params: LocationParams) -> None:
        site = self.site
        params = calibrated_params(with_site_settings(params, site.location), site.calibration)
        self._params = params
        self._grids = None  # built again, with these parameters, when next needed
        self._ble_inv = 2.0 / (10.0 * params.ble_path_loss_exponent)
        # The parameters every sighting reads, also as the engine's own attributes: compiled
        # (docs/decisions/0016), a read is then a field of the engine, not a lookup on another
        # object.
        self._future_s: float = params.future_tolerance_s
        self._delay_s: float = params.max_delay_s
        self._reorder_s: float = params.reorder_tolerance_s
        self._door_alone_on: bool = params.ir_door_alone
        self._rssi_min: float = params.rssi_min_dbm
        self._rssi_max: float = params.rssi_max_dbm
        self._window_s: float = params.ble_window_s
        self._update_s: float = params.ble_update_s

    def _build_grids(self) -> dict[str, FloorGrid]:
        grids = floor_grids(
            self.index,
            self.site.facility,
            [
                (device_id, dev.floor, dev.x, dev.y, dev.tx_power)
                for device_id, dev in self._devices.items()
                if dev.kind is _BLE_KIND
            ],
            self._params,
            self._ir_zones - self._ir_watch.offline,
        )
        p = self._params
        for grid in grids.values():
            with_ir = any(area in self._ir_zones for area in grid.area_ids)
            grid.walk_headings = p.ble_grid_heading and (p.ble_grid_heading_with_ir or not with_ir)
        return grids

    def _device_entry(self, device_id: str) -> _Dev | None:
        device = self.site.devices[device_id]
        if device.kind.is_ir_door:
            info = self._areas.get(device.area) if device.area else None
            if info is None:
                return None
            return _Dev(
                SightingKind.IR, info.floor, None, None, 0.0, 0.0, 0.0, info.zone, door=info.zone
            )
        if device.kind.is_ir:
            info = self._areas.get(device.area) if device.area else None
            if info is None or device.area is None:
                return None
            if info.level == 0:
                return _Dev(
                    SightingKind.IR,
                    info.floor,
                    info.zone,
                    device.area,
                    0.0,
                    0.0,
                    0.0,
                    info.zone,
                )
            return _Dev(SightingKind.IR, info.floor, info.zone, None, 0.0, 0.0, 0.0, info.zone)
        if device.kind.is_ble and device.position is not None:
            x, y = device.position
            if not (math.isfinite(x) and math.isfinite(y)):
                return None
            tx = device.tx_power
            if tx is None:
                tx = self._params.ble_default_tx_power
            zone = self.index.area_at(device.floor, x, y)
            info = self._areas.get(zone) if zone is not None else None
            inside = zone if info is not None and info.room is not None else None
            ir_inside = inside if inside in self._ir_zones else None
            return _Dev(
                SightingKind.BLE, device.floor, None, None, x, y, tx, zone, inside, ir_inside
            )
        return None

    # --- Input ---------------------------------------------------------------------------------

    def observe(self, sighting: Sighting, now: datetime) -> Location | None:
        """Take one sighting received at ``now``; the badge's new location if its place changed."""
        # The hot path (hundreds of thousands of calls a second on a large site): keep it flat.
        badge = sighting.badge
        track = self._tracks.get(badge)
        if (
            track is None
            and badge not in self._badges
            and not (self._params.accept_unregistered_badges and isinstance(badge, str) and badge)
        ):
            self.rejections.add(RejectReason.UNKNOWN_BADGE)
            return None
        device = sighting.device
        dev = self._devices.get(device)
        if dev is None:
            if device in self._not_locators:
                self.rejections.add(RejectReason.NOT_A_LOCATOR)
            else:
                self.rejections.add(RejectReason.UNKNOWN_DEVICE)
            return None
        kind = sighting.kind
        if kind is not dev.kind:
            self.rejections.add(RejectReason.KIND_MISMATCH)
            return None
        dt = sighting.ts
        if dt.tzinfo is None:
            self.rejections.add(RejectReason.NAIVE_TIMESTAMP)
            return None
        t = epoch_seconds(dt)
        n = epoch_seconds(now)
        if t > n + self._future_s:
            self.rejections.add(RejectReason.FUTURE)
            return None
        if t < n - self._delay_s:
            self.rejections.add(RejectReason.LATE)
            return None
        if kind is _BLE_KIND:
            value = sighting.rssi
            if value is None:
                self.rejections.add(RejectReason.MISSING_RSSI)
                return None
            if not (self._rssi_min <= value <= self._rssi_max):
                self.rejections.add(RejectReason.RSSI_OUT_OF_RANGE)
                return None
            if track is None:
                track = self._tracks[badge] = _Track()
            elif t < track.latest - self._reorder_s:
                self.rejections.add(RejectReason.OUT_OF_ORDER)
                return None
            i = track.slot.get(device)
            if i is None:
                track.add_device(device, dev, t, value)
            else:
                # data[j:j + _STRIDE]: newest time, filtered, last reading, its time, the one
                # before, its time
                data = track.data
                j = i * _STRIDE
                last_ts = data[j + 3]
                prior_ts = data[j + 5]
                if t in (last_ts, prior_ts):
                    self.rejections.add(RejectReason.DUPLICATE)
                    return None
                # The running median of the last three readings inside the window (fewer when
                # older ones fell out of it).
                cutoff = t - self._window_s
                a = data[j + 2]
                if last_ts >= cutoff:
                    b = data[j + 4]
                    if prior_ts >= cutoff:
                        lo, hi = (a, b) if a < b else (b, a)
                        data[j + 1] = lo if value < lo else (hi if value > hi else value)
                    else:
                        data[j + 1] = (a + value) * 0.5
                else:
                    data[j + 1] = value
                data[j + 4] = a
                data[j + 5] = last_ts
                data[j + 2] = value
                data[j + 3] = t
                if t > data[j]:
                    data[j] = t
            if t > track.latest:
                track.latest = t
            if t - track.ble_at < self._update_s:
                return None
            track.ble_at = t
            track.estimate = self._estimate(track, t)
            if track.ref_zone is not None:
                self._fingerprint(track, t)
        else:
            if track is None:
                track = self._tracks[badge] = _Track()
            elif t < track.latest - self._reorder_s:
                self.rejections.add(RejectReason.OUT_OF_ORDER)
                return None
            if track.last_by_device.get(device) == t:
                self.rejections.add(RejectReason.DUPLICATE)
                return None
            track.last_by_device[device] = t
            if t > track.latest:
                track.latest = t
            if self._ir_watch.heard(device, t):
                self._ir_rooms_changed()
            if dev.room is not None:
                self._hit(track, dev.room, t)
            if dev.bay is not None:
                self._hit(track, dev.bay, t)
            if dev.door is not None and t >= track.door_at:
                track.door_zone = dev.door
                track.door_at = t
                if self._door_alone_on:
                    self._door_alone(track, dev.door, t)
        self._now = n
        if self._door_alone_on:
            return self._decide_noting_left(badge, track, t, n)
        if self._decide(badge, track, t):
            return self._location(badge, track, n)
        return None

    def _decide_noting_left(self, badge: str, track: _Track, t: float, n: float) -> Location | None:
        """:meth:`_decide`, noting the room-level place the badge leaves (``ir_door_alone``)."""
        before = track.place
        before_zone = before.zone if before is not None and before.room is not None else None
        if not self._decide(badge, track, t):
            return None
        if before_zone is not None and (track.place is None or track.place.zone != before_zone):
            track.left_zone = before_zone
            track.left_at = t
        return self._location(badge, track, n)

    def observe_move(self, sighting: Sighting, now: datetime) -> BadgeMoved | None:
        """Like :meth:`observe`, returning the :class:`BadgeMoved` event of a change."""
        location = self.observe(sighting, now)
        return location.moved_event() if location is not None else None

    def snapshot(self, now: datetime) -> dict[str, dict[str, Any]]:
        """Every badge's location at ``now`` as JSON-ready fields, keyed by badge id."""
        return {location.badge: location.as_dict() for location in self.locations(now)}

    def observe_all(self, sightings: Iterable[Sighting], now: datetime) -> list[Location]:
        """Observe several sightings received at ``now``; the locations that changed, in order."""
        moved = []
        for sighting in sightings:
            location = self.observe(sighting, now)
            if location is not None:
                moved.append(location)
        return moved

    def _hit(self, track: _Track, area: str, t: float) -> None:
        entry = track.ir.get(area)
        if entry is None or t - entry[1] > self._params.ir_hold_s:
            track.ir[area] = [t, t, 1.0]
            return
        dt = t - entry[1]
        if dt > 0:
            entry[2] = entry[2] * math.exp(-dt / self._params.ir_tau_s) + 1.0
            entry[1] = t
        else:
            entry[2] += 1.0

    def _score(self, entry: list[float], t: float) -> float:
        dt = t - entry[1]
        if dt <= 0:
            return entry[2]
        return entry[2] * math.exp(-dt / self._params.ir_tau_s)

    # --- BLE estimate --------------------------------------------------------------------------

    def _estimate(self, track: _Track, t: float) -> _Estimate | None:
        p = self._params
        cutoff = t - p.ble_window_s
        # The devices heard inside the window, strongest first, equal values in the order the
        # devices were first heard in (a stable sort's order), found without sorting: the
        # strongest of all, the strongest on the incumbent's floor, then the strongest
        # ``ble_top_k`` on the floor chosen.
        data = track.data
        devs = track.devs
        place = track.place
        place_floor = place.floor if place is not None else None
        count = 0
        best = -math.inf
        first: _Dev | None = None
        here = -math.inf
        here_dev: _Dev | None = None
        for i in range(len(devs)):
            if data[i * _STRIDE] < cutoff:
                continue
            count += 1
            value = data[i * _STRIDE + 1]
            dev = devs[i]
            if value > best:
                best = value
                first = dev
            if dev.floor == place_floor and value > here:
                here = value
                here_dev = dev
        if count != len(track.slot):
            track.drop_devices_older(cutoff)
        if first is None:
            track.beacon_room = None
            return None
        floor = first.floor
        if (
            place_floor is not None
            and place_floor != floor
            and here_dev is not None
            and here >= best - p.ble_floor_margin_db
        ):
            # stay on the incumbent's floor unless the other floor is clearly stronger
            floor = place_floor
            first = here_dev
        k = p.ble_top_k if p.ble_top_k > 0 else len(devs)  # 0 or less: every device, as before
        top_values: list[float] = []
        top_devs: list[_Dev] = []
        for i in range(len(devs)):
            if data[i * _STRIDE] < cutoff:
                continue
            dev = devs[i]
            if dev.floor != floor:
                continue
            value = data[i * _STRIDE + 1]
            n = len(top_values)
            if n == k and value <= top_values[n - 1]:
                continue
            j = n
            while j > 0 and top_values[j - 1] < value:
                j -= 1
            top_values.insert(j, value)
            top_devs.insert(j, dev)
            if n == k:
                top_values.pop()
                top_devs.pop()
        inv = self._ble_inv
        sx = sy = sw = 0.0
        n = len(top_values)
        top = top_values[0]
        second = top_values[1] if n > 1 else -math.inf
        weights: list[float] = []
        for j in range(n):
            dev = top_devs[j]
            # weight 1/d² with d from the log-distance model: 10 ** (2 (rssi - tx) / (10 n))
            w = 10.0 ** ((top_values[j] - dev.tx_power) * inv)
            sx += w * dev.x
            sy += w * dev.y
            sw += w
            weights.append(w)
        x, y = sx / sw, sy / sw
        zone = self.index.area_at(floor, x, y)
        if zone is None:
            zone = first.zone
        agreement = 0.0
        if zone is not None:
            zone_weight = 0.0
            for j in range(n):
                if top_devs[j].zone == zone:
                    zone_weight += weights[j]
            agreement = zone_weight / sw
        confidence = (0.35 + 0.35 * agreement) * (1.0 if n >= 2 else 0.8)
        estimate = _Estimate(t, floor, x, y, zone, confidence, first)
        # Beacon entry (rule 5): the strongest device is an IR room's own beacon, leading the
        # next device on the floor by ``ir_beacon_entry_db``; how long it has without a break.
        beacon = first.ir_inside
        if beacon is not None and p.ir_beacon_entry and top - second >= p.ir_beacon_entry_db:
            if track.beacon_room != beacon:
                track.beacon_room = beacon
                track.beacon_since = t
        else:
            track.beacon_room = None
        previous = track.estimate
        n = p.ble_walk_estimates
        if n > 0 and (place is None or place.source == "ble"):
            # Motion cue (used against a BLE incumbent only): the last ``n`` moves of the
            # estimate went one way, at walking pace.
            trail = track.trail
            if previous is None or previous.floor != floor or previous.ts < t - 2 * p.ble_window_s:
                trail.clear()
            trail.append((x, y))
            if len(trail) > n + 1:
                del trail[0]
            if len(trail) == n + 1:
                path = 0.0
                longest = 0.0
                for (x1, y1), (x2, y2) in itertools.pairwise(trail):
                    d = math.hypot(x2 - x1, y2 - y1)
                    path += d
                    longest = max(longest, d)
                x0, y0 = trail[0]
                net = math.hypot(x - x0, y - y0)
                estimate.walking = (
                    net >= n * p.ble_walk_step_m
                    and net >= p.ble_walk_straight * path
                    and longest <= p.ble_walk_max_m
                )
        return estimate

    # --- Decision ------------------------------------------------------------------------------

    def _ir_best(self, track: _Track, t: float) -> tuple[str | None, float]:
        """The fresh room-level IR place (not a bay) with the highest score; drops stale ones."""
        best: str | None = None
        best_score = 0.0
        p = self._params
        hold = p.ir_hold_s
        tau = p.ir_tau_s
        bays = self._bays
        stale: list[str] | None = None
        for area, entry in track.ir.items():
            dt = t - entry[1]
            if dt > hold:
                if stale is None:
                    stale = []
                stale.append(area)
                continue
            if area in bays:
                continue
            score = entry[2] if dt <= 0 else entry[2] * math.exp(-dt / tau)  # _score
            if score > best_score:
                best, best_score = area, score
        if stale is not None:
            for area in stale:
                del track.ir[area]
        return best, best_score

    def _fingerprint(self, track: _Track, t: float) -> None:
        """Learn the BLE picture of the IR room the badge is certainly in, or measure the change.

        While the room's IR was seen within ``ir_ref_fresh_s`` the filtered RSSI of every device
        heard is averaged into ``track.ref``; otherwise ``track.change`` becomes the mean rise
        (dB, each within ±15; a device missing from ``ref`` rises from ``rssi_min_dbm``) of the
        three strongest devices heard now over ``ref``, a fall counting against a rise. Walking
        out of a room raises it by 10 dB or more (a wall less, metres closer to a corridor
        device); standing still in an IR blind spot, or deeper in the room, does not. A
        device inside the room itself (its own beacon, ``_Dev.inside``) is left out: it changes
        as the wearer moves within the room, and it is evidence of being inside, not of leaving.
        """
        p = self._params
        zone = track.ref_zone
        if zone is None:
            track.change = None
            return
        entry = track.ir.get(zone)
        place = track.place
        if (
            entry is not None
            and place is not None
            and place.source == "ir"
            and place.zone == zone
            and t - entry[1] <= p.ir_ref_fresh_s
        ):
            self._learn(track, t)
            return
        if track.ref_n < p.ir_ref_min_samples:
            track.change = None
            return
        cutoff = t - p.ble_window_s
        floor = self._areas[zone].floor
        data = track.data
        devs = track.devs
        ids = track.ids
        current: dict[str, float] = {}
        for i in range(len(devs)):
            dev = devs[i]
            if data[i * _STRIDE] >= cutoff and dev.floor == floor and dev.inside != zone:
                current[ids[i]] = data[i * _STRIDE + 1]
        if not current:
            track.change = None
            return
        ref = track.ref
        keys = sorted(current, key=current.__getitem__)[-3:]
        lowest = p.rssi_min_dbm
        total = 0.0
        for d in keys:
            total += max(-15.0, min(15.0, current[d] - ref.get(d, lowest)))
        track.change = total / len(keys)

    def _learn(self, track: _Track, t: float) -> None:
        """Average the filtered RSSI of every device heard on the room's floor into the room's
        fingerprint (recent samples weigh more: the badge settles at its dwell spot after walking
        in)."""
        zone = track.ref_zone
        assert zone is not None
        cutoff = t - self._params.ble_window_s
        floor = self._areas[zone].floor
        ref = track.ref
        a = max(0.3, 1.0 / (track.ref_n + 1))
        learnt = False
        data = track.data
        devs = track.devs
        ids = track.ids
        for i in range(len(devs)):
            if data[i * _STRIDE] >= cutoff and devs[i].floor == floor:
                d = ids[i]
                v = data[i * _STRIDE + 1]
                old = ref.get(d)
                ref[d] = v if old is None else old + a * (v - old)
                learnt = True
        if learnt:
            track.ref_n += 1
        track.change = 0.0

    def _learn_now(self, track: _Track, t: float) -> None:
        """Learn the fingerprint from the BLE picture at an IR hit of the incumbent room."""
        if track.ref_zone is None or not track.slot or track.ref_n >= 3:
            return  # once bootstrapped, the fingerprint learns at the BLE estimates only
        self._learn(track, t)

    def _decide(self, badge: str, track: _Track, t: float) -> bool:
        """Update the badge's place from its evidence at ``t``; True when the place changed."""
        p = self._params
        place = track.place
        room, score = self._ir_best(track, t)
        incumbent_ir = place is not None and place.source == "ir" and place.zone is not None
        incumbent_entry = (
            track.ir.get(place.zone) if place is not None and place.zone is not None else None
        )
        if not incumbent_ir:
            incumbent_entry = None
        change = track.change
        exit_db = p.ir_exit_db if track.ref_n > 1 else p.ir_exit_db_one_sample
        moved = change is not None and change >= exit_db
        if (
            moved
            and incumbent_ir
            and place is not None
            and self._own_beacon_strongest(track, place)
        ):
            moved = False  # the room's own beacon is still the strongest device: in the room
        if (
            place is not None
            and incumbent_entry is not None
            and (
                (moved and t - incumbent_entry[1] >= p.ir_exit_min_s)
                or self._out_through_door(track, place, incumbent_entry, t)
            )
        ):
            # BLE exit cue: IR has missed a broadcast and the BLE picture is no longer the room's.
            self._exit(track, place, t)
            # the room's score at the exit: its hits before it are not evidence of going back in
            track.exited_score = self._score(incumbent_entry, t)
            incumbent_entry = None
            incumbent_ir = False
        incumbent_fresh = incumbent_entry is not None
        if place is not None and incumbent_entry is not None and incumbent_entry[1] > place.ir_at:
            place.ir_at = incumbent_entry[1]
            if place.ir_at > place.as_of:
                place.as_of = place.ir_at
        if room is not None:
            if place is not None and incumbent_entry is not None and room == place.zone:
                return self._refresh_ir(track, place, incumbent_entry, t)
            if place is None:
                return self._move_ir(badge, track, room, t)
            recent_exit = room == track.exited_zone and t - track.exited_at < p.ir_reenter_window_s
            through_door = not recent_exit and self._through_door(track, room, t)
            if incumbent_entry is not None:
                incumbent_score = self._score(incumbent_entry, t)
                if through_door or (
                    score >= p.ir_enter_score and score >= incumbent_score + p.ir_margin
                ):
                    return self._move_ir(badge, track, room, t)
                return False
            needed = p.ir_enter_score
            if through_door:
                # the room's door monitor saw the wearer in its doorway: one code of the room
                # (within ir_door_window_s of it, however decayed) is an entry, not a leak to
                # someone walking past the open door
                needed = 0.0
            elif p.ir_ble_inside_one_hit and place.source == "ble" and place.zone == room:
                # BLE already places the badge in this room: one code of it confirms the room
                needed = 1.0
                if score >= needed and p.ir_ble_relearn:
                    track.ref_zone = None  # its fingerprint starts again where the badge is now
            elif (
                recent_exit
                and (moved or not p.ir_reenter_needs_ble_cue)
                and not (incumbent_ir and place.zone == room)
            ):
                needed = max(needed, p.ir_reenter_score)
                if change is not None and change >= p.ir_reenter_out_db:
                    # BLE still says "outside the door": a lingerer's leaks, not a re-entry
                    needed = max(needed, p.ir_reenter_out_score)
                entry = track.ir[room]
                if p.ir_exit_fresh_run and entry[0] <= track.exited_at:
                    # Fresh run: only the hits since the exit cue count toward going back in
                    # (the stay's own hits would re-enter at once, at the next door leak).
                    score -= track.exited_score * math.exp(-(t - track.exited_at) / p.ir_tau_s)
            elif room != track.exited_zone and self._ble_agrees(track, room, t):
                # one hit is enough, except into the last room left (doorway leaks)
                needed = 1.0
            if score >= needed:
                return self._move_ir(badge, track, room, t)
        if incumbent_fresh:
            return False
        if place is not None and incumbent_ir:
            # The IR room went quiet. With a BLE picture unchanged since IR last confirmed the
            # room (an IR blind spot: behind a curtain, a bathroom corner), keep the room.
            # A confirmed room gone quiet is most likely a blind spot (a walk out is seen on the
            # way to the door): only a larger change ends it (ir_quiet_exit_db).
            quiet_moved = moved and (
                change is None
                or change >= p.ir_quiet_exit_db
                or place.ir_at - place.since < p.ir_quiet_confirmed_s
            )
            if (
                not quiet_moved
                and t - place.ir_at < p.ir_quiet_max_s
                and (change is not None or self._own_beacon_strongest(track, place))
            ):
                return self._hold_quiet(track, place, t)
            self._exit(track, place, t)
        estimate = track.estimate
        if estimate is None or t - estimate.ts > p.ble_window_s:
            return False
        if place is not None and place.source == "ble" and place.room is not None:
            # A room entered on its own beacon is held while that beacon is the strongest device
            # (no margin needed) and no other room's IR is fresh.
            if estimate.nearest.inside == place.zone and (room is None or room == place.zone):
                if estimate.ts > place.as_of:
                    place.as_of = estimate.ts
                track.chal_key = None
                return False
        elif (
            track.beacon_room is not None
            and estimate.ts - track.beacon_since >= p.ir_beacon_entry_s
            and (room is None or room == track.beacon_room)
        ):
            return self._move_beacon(track, track.beacon_room, estimate, t)
        if not self._consider_ble(track, estimate, t):
            return False
        place = track.place
        if (
            p.ir_ble_inside_one_hit
            and room is not None
            and place is not None
            and place.zone == room
        ):
            code = track.ir.get(room)
            if code is not None and t - code[1] <= p.ir_hold_s:
                # BLE has just placed the badge in a room whose code came moments ago: that code
                # confirms the room (the one-hit entry BLE did not yet agree with when it came)
                return self._move_ir(badge, track, room, t)
        return True

    def _move_beacon(self, track: _Track, zone: str, estimate: _Estimate, t: float) -> bool:
        """Beacon entry (rule 5): the IR room's own beacon has led the badge's BLE picture by
        ``ir_beacon_entry_db`` for ``ir_beacon_entry_s`` without an IR code (an IR blind spot
        entered straight away). The room is shown at room precision with BLE's confidence (at
        most ``_BEACON_CONFIDENCE``), source ``ble``; an IR code of the room confirms it."""
        info = self._areas[zone]
        if not self._plausible(track, info.floor, t):
            return False
        track.place = _Place(
            floor=info.floor,
            room=info.room,
            bay=None,
            zone=zone,
            precision=Precision.ROOM if info.room else Precision.ZONE,
            source="ble",
            since=track.beacon_since,
            as_of=estimate.ts,
            confidence=_BEACON_CONFIDENCE,
        )
        track.chal_key = None
        track.reported_unknown = False
        return True

    def _own_beacon_strongest(self, track: _Track, place: _Place) -> bool:
        """The strongest device of the badge's BLE estimate is inside the incumbent room: the
        room's own beacon (rule 5: the badge is in the room, whatever the fingerprint's change)."""
        estimate = track.estimate
        return (
            estimate is not None
            and place.zone is not None
            and estimate.nearest.inside == place.zone
        )

    def _door_alone(self, track: _Track, zone: str, t: float) -> None:
        """``ir_door_alone``: a door monitor's code counts as a code of its room (and door entry
        takes it at once), except while the room is shown or within ``ir_reenter_window_s`` of
        leaving it (someone walking out, or standing in its doorway after)."""
        place = track.place
        if place is not None and place.zone == zone:
            return
        window = self._params.ir_reenter_window_s
        if (track.left_zone == zone and t - track.left_at < window) or (
            track.exited_zone == zone and t - track.exited_at < window
        ):
            return
        self._hit(track, zone, t)

    def _out_through_door(self, track: _Track, place: _Place, entry: list[float], t: float) -> bool:
        """Door exit: the incumbent room's door monitor saw the wearer, well after the stay
        began, and no code of the room has come since, for ``ir_door_exit_s``."""
        wait = self._params.ir_door_exit_s
        return (
            wait > 0
            and track.door_zone == place.zone
            and track.door_at > entry[1]
            and track.door_at > place.since + self._params.ir_door_window_s
            and t - track.door_at >= wait
        )

    def _through_door(self, track: _Track, room: str, t: float) -> bool:
        """Rule 2, door entry: the room's door monitor was seen within ``ir_door_window_s`` of
        the room's last code, and not longer ago than that (a room code after a door code, or a
        door code after a leaked room code: someone walking in)."""
        window = self._params.ir_door_window_s
        if track.door_zone != room or window <= 0:
            return False
        entry = track.ir.get(room)
        return (
            entry is not None
            and t - track.door_at <= window
            and abs(entry[1] - track.door_at) <= window
        )

    def _ble_agrees(self, track: _Track, room: str, t: float) -> bool:
        """The fresh BLE estimate is on the room's floor within ``ir_one_hit_m`` of it."""
        p = self._params
        estimate = track.estimate
        if p.ir_one_hit_m <= 0 or estimate is None or t - estimate.ts > p.ir_one_hit_age_s:
            return False
        if estimate.floor != self._areas[room].floor:
            return False
        near = p.ir_one_hit_m
        if self.index.distance_outside(room, estimate.x, estimate.y) <= near:
            return True
        # the weighted centroid cannot reach past the outermost devices (a room at the end of a
        # corridor): the strongest device agrees too when it is in a corridor beside the room
        nearest = estimate.nearest
        if not p.ir_one_hit_nearest or nearest.zone is None:
            return False
        info = self._areas.get(nearest.zone)
        return (
            info is not None
            and info.room is None
            and self.index.distance_outside(room, nearest.x, nearest.y) <= near
        )

    def _exit(self, track: _Track, place: _Place, t: float) -> None:
        """The IR incumbent is over (hold expired or the BLE exit cue): BLE decides next."""
        if place.source == "ir":
            track.exited_zone = place.zone
            track.exited_at = t
            track.exited_score = 0.0
            place.source = "ir-ended"

    def _hold_quiet(self, track: _Track, place: _Place, t: float) -> bool:
        """Keep a quiet IR room at room precision, with less confidence; its bay only while the
        bay hold lasts (``ir_bay_hold_s`` after the bay's last emitter hit), or until a bay move
        (:meth:`_bay_move`) seen while the room was fresh completes.

        The unchanged BLE picture is the supporting evidence: it advances ``as_of``.
        """
        estimate = track.estimate
        if estimate is not None and estimate.ts > place.as_of:
            place.as_of = estimate.ts
        place.confidence = min(place.confidence, 0.7)
        if (
            place.bay is not None
            and self._params.ir_bay_move_gap_s > 0
            and self._bay_move(track, place, t)
        ):
            return True
        changed = place.bay is not None and t - place.bay_at > self._params.ir_bay_hold_s
        if changed:
            place.bay = None
            place.precision = Precision.ROOM if place.room else Precision.ZONE
        return changed

    def _bay_move(self, track: _Track, place: _Place, t: float) -> bool:
        """Bay move: the latest evidence wins between the bays of the held room.

        Another bay of the room hit after the held bay's last hit, at most ``ir_bay_move_gap_s``
        after it, when that last hit ended a run of hits (the held bay's score at it at least
        ``ir_bay_enter_score``): someone walking from one bay into the next. It replaces the held
        bay once the held bay has stayed silent for ``ir_bay_move_quiet_s`` since its last hit,
        even with that single hit and in the quiet hold (the new bay's dwell spot may be an IR
        blind spot), and at its second hit at once. A reflection into a badge sitting in its own
        bay's blind spot comes long after that bay's last hit (or after a lone hit of it): not a
        move. A hit of the held bay after the other bay's cancels the move.
        True when the bay changed.
        """
        p = self._params
        held = place.bay
        held_entry = track.ir.get(held) if held is not None else None
        if held_entry is not None and held_entry[1] > place.bay_at:
            place.bay_at = held_entry[1]
        last = place.bay_at
        mv = place.mv_bay
        if mv is not None and place.mv_at <= last:
            mv = place.mv_bay = None  # the held bay was seen again: no move
        if mv is None:
            if held_entry is None or held_entry[2] < p.ir_bay_enter_score:
                return False  # the held bay's last hit ended no run of hits: not a walk out of it
            for area, entry in track.ir.items():
                hit = entry[1]
                if area == held or hit <= last or hit - last > p.ir_bay_move_gap_s:
                    continue
                info = self._areas[area]
                if info.level == 0 and info.zone == place.zone:
                    mv = place.mv_bay = area
                    place.mv_at = place.mv_last = hit
                    place.mv_n = 1
                    break
            if mv is None:
                return False
        else:
            mv_entry = track.ir.get(mv)
            if mv_entry is not None and mv_entry[1] > place.mv_last:
                place.mv_last = mv_entry[1]
                place.mv_n += 1
        if place.mv_n < 2 and t - last < p.ir_bay_move_quiet_s:
            return False
        place.bay = mv
        place.precision = Precision.BED
        place.since = place.mv_at
        place.bay_at = place.mv_last
        place.mv_bay = None
        return True

    def _refresh_ir(self, track: _Track, place: _Place, entry: list[float], t: float) -> bool:
        """The incumbent IR room is confirmed: update its bay and confidence."""
        place.confidence = _ir_confidence(self._score(entry, t))
        track.chal_key = None
        if entry[1] == t and track.ref_zone == place.zone:
            self._learn_now(track, t)
        bay, bay_score = self._best_bay(track, place.zone, t)
        p = self._params
        if place.bay is not None and p.ir_bay_move_gap_s > 0:
            if self._bay_move(track, place, t):
                return True
            if bay is not None and bay != place.bay and track.ir[bay][1] <= place.bay_at:
                return False  # the held bay's hit is the latest evidence
        if bay == place.bay:
            if bay is not None:
                place.bay_at = track.ir[bay][1]
            return False
        if place.bay is not None:
            incumbent_bay = track.ir.get(place.bay)
            if incumbent_bay is not None:
                # both emitters seen lately: the challenger must lead (reflections between bays)
                if bay is None or bay_score < self._score(incumbent_bay, t) + p.ir_margin:
                    return False
            elif bay is None:
                # bay hold: the emitter merely missed; stay in the bay while the room is held
                if t - place.bay_at <= p.ir_bay_hold_s:
                    return False
            elif bay_score < p.ir_bay_enter_score:
                return False  # a lone reflection from the next bay is not a move
        place.bay = bay
        place.precision = Precision.BED if bay is not None else Precision.ROOM
        if bay is not None:
            place.since = track.ir[bay][0]
            place.bay_at = track.ir[bay][1]
        return True

    def _best_bay(self, track: _Track, room: str | None, t: float) -> tuple[str | None, float]:
        """The fresh bay of ``room`` with the highest score."""
        if room not in self._bay_rooms:
            return None, 0.0
        best: str | None = None
        best_score = 0.0
        hold = self._params.ir_hold_s
        for area, entry in track.ir.items():
            info = self._areas[area]
            if info.level != 0 or info.zone != room or t - entry[1] > hold:
                continue
            score = self._score(entry, t)
            if score > best_score:
                best, best_score = area, score
        return best, best_score

    def _plausible(self, track: _Track, floor: str, t: float) -> bool:
        place = track.place
        if place is None or place.floor == floor:
            return True
        levels = abs(self._levels.get(floor, 0) - self._levels.get(place.floor, 0)) or 1
        if t - place.as_of >= levels * self._params.floor_change_s_per_level:
            return True
        self.rejections.add(RejectReason.IMPLAUSIBLE_MOVE)
        return False

    def _move_ir(self, badge: str, track: _Track, zone: str, t: float) -> bool:
        info = self._areas[zone]
        place = track.place
        over_ble = (
            self._params.ir_overrules_ble_floor and place is not None and place.source == "ble"
        )
        # IR does not cross floors; BLE does (a badge heard through the ceiling): an IR code
        # overrules a BLE place on another floor at once
        if not over_ble and not self._plausible(track, info.floor, t):
            return False
        entry = track.ir[zone]
        bay, _ = self._best_bay(track, zone, t)
        bay_at = track.ir[bay][1] if bay is not None else entry[1]
        if track.ref_zone != zone:
            track.ref_zone = zone
            track.ref = {}
            track.ref_n = 0
            track.change = None
        track.place = _Place(
            floor=info.floor,
            room=info.room,
            bay=bay,
            zone=zone,
            precision=Precision.BED if bay else (Precision.ROOM if info.room else Precision.ZONE),
            source="ir",
            since=entry[0],
            as_of=entry[1],
            confidence=_ir_confidence(self._score(entry, t)),
        )
        track.place.bay_at = bay_at
        track.chal_key = None
        track.reported_unknown = False
        self._learn_now(track, t)
        return True

    def _consider_ble(self, track: _Track, estimate: _Estimate, t: float) -> bool:
        p = self._params
        if p.ble_grid:
            state = self._grid_update(track, estimate)
            if state is not None:
                return self._consider_grid(track, estimate, state, t)
        place = track.place
        zone = estimate.zone
        if place is not None and place.source == "ble" and place.zone == zone:
            place.as_of = estimate.ts
            place.confidence = estimate.confidence
            track.chal_key = None
            return False
        if place is not None and place.source == "ble":
            outside = (
                self.index.distance_outside(place.zone, estimate.x, estimate.y)
                if place.zone is not None and place.floor == estimate.floor
                else math.inf
            )
            # Motion cue: estimates moving on in one direction are someone walking, not a wobble.
            walking = estimate.walking and outside >= p.ble_deep_m
            if outside < p.ble_margin_m:
                # Near the incumbent's area: it still counts as evidence for the incumbent.
                place.as_of = estimate.ts
                track.chal_key = None
                return False
            key = f"{estimate.floor}/{zone}"
            deep = outside >= p.ble_deep_m
            # Corridor crossing: once the estimates of this spell outside the incumbent went
            # through a corridor, a deep challenger *room* counts its sustain from the first
            # corridor estimate (someone crossing the corridor into another room).
            crossing = False
            if p.ble_crossing_carry:
                if track.chal_key is None:
                    track.crossed_at = math.inf  # a new spell outside the incumbent
                info = self._areas.get(zone) if zone is not None else None
                if info is not None:
                    if info.room is None:
                        if track.crossed_at == math.inf:
                            track.crossed_at = estimate.ts
                    else:
                        crossing = deep and track.crossed_at < estimate.ts
            if track.chal_key != key:
                track.chal_key = key
                track.chal_since = estimate.ts
                if not walking and not crossing and (not deep or p.ble_deep_sustain_s > 0):
                    return False
            # An estimate deep inside the challenger needs less sustain than one near the edge.
            sustain = p.ble_deep_sustain_s if deep else p.ble_sustain_s
            start = track.crossed_at if crossing else track.chal_since
            if not walking and estimate.ts - start < sustain:
                return False
        if not self._plausible(track, estimate.floor, t):
            return False
        since = track.chal_since if track.chal_key is not None else estimate.ts
        return self._move_ble(track, estimate, zone, since, estimate.confidence)

    def _move_ble(
        self, track: _Track, estimate: _Estimate, zone: str | None, since: float, confidence: float
    ) -> bool:
        """BLE places the badge in ``zone`` (rule 3), at zone precision (floor without an area)."""
        info = self._areas.get(zone) if zone is not None else None
        track.place = _Place(
            floor=estimate.floor,
            room=None,
            bay=None,
            zone=zone,
            precision=Precision.ZONE if info is not None else Precision.FLOOR,
            source="ble",
            since=since,
            as_of=estimate.ts,
            confidence=confidence if info is not None else 0.3,
        )
        track.chal_key = None
        track.reported_unknown = False
        return True

    def _grid_update(self, track: _Track, estimate: _Estimate) -> GridState | None:
        """Bring the badge's grid filter up to ``ble_grid_lag_s`` before the estimate, with the
        readings of its floor not used yet; None where the floor has no grid (no BLE devices)
        or nothing was heard on it."""
        p = self._params
        grids = self._grids
        if grids is None:
            grids = self._grids = self._build_grids()
        grid = grids.get(estimate.floor)
        if grid is None:
            return None
        cut = self._now - p.ble_grid_lag_s
        state = track.grid
        if state is not None and (state.floor is not grid or cut - state.t > 3.0 * p.ble_update_s):
            state = None  # another floor, or the filter paused while IR decided: start afresh
        if state is not None and cut - state.t < p.ble_grid_step_s:
            return state if state.best >= 0 else None
        since = state.t if state is not None else cut - p.ble_grid_start_s
        devices = grid.devices
        heard_dev: list[int] = []
        heard_rssi: list[float] = []
        strongest = -1
        strongest_rssi = -math.inf
        data = track.data
        for i, device_id in enumerate(track.ids):
            k = devices.get(device_id, -1)
            if k < 0:
                continue
            j = i * _STRIDE
            # the newest of the device's last two readings inside (since, cut]
            if since < data[j + 3] <= cut:
                value = data[j + 2]
            elif since < data[j + 5] <= cut:
                value = data[j + 4]
            else:
                continue
            heard_dev.append(k)
            heard_rssi.append(value)
            if value > strongest_rssi:
                strongest_rssi = value
                strongest = k
        if strongest < 0:
            return state if state is not None and state.best >= 0 else None
        if state is None:
            place = track.place
            exclude = -1
            if place is not None and place.source == "ir-ended" and place.zone is not None:
                exclude = grid.area_number.get(place.zone, -1)
            state = track.grid = seed(grid, strongest, exclude, since, p.ble_grid_seed_m)
        ir_seen: dict[int, bool] = {}
        for area, entry in track.ir.items():
            if entry[1] > since:
                number = grid.area_number.get(area, -1)
                if number >= 0:
                    ir_seen[number] = True
        step(state, cut, heard_dev, heard_rssi, strongest, ir_seen, p)
        return state

    def _consider_grid(
        self, track: _Track, estimate: _Estimate, state: GridState, t: float
    ) -> bool:
        """Rule 3 with the grid filter: its most probable area replaces a BLE incumbent once its
        probability reaches ``ble_grid_switch``, and anything else at once."""
        grid = state.floor
        zone = grid.area_ids[state.best]
        mass = state.best_mass
        confidence = 0.3 + 0.4 * mass
        place = track.place
        if place is not None and place.source == "ble" and place.floor == estimate.floor:
            if place.zone == zone:
                place.as_of = estimate.ts
                place.confidence = confidence
                track.chal_key = None
                return False
            if track.chal_key != zone:
                track.chal_key = zone
                track.chal_since = state.t
                state.switch_at = math.inf
            held = grid.area_number.get(place.zone, -1) if place.zone is not None else -1
            if state.masses.get(held, 0.0) >= 1.0 - self._params.ble_grid_switch:
                place.as_of = estimate.ts  # still supported by the readings
            if mass < self._params.ble_grid_switch or (
                grid.area_room[state.best]
                and state.core.get(state.best, 0.0) < self._params.ble_grid_core
            ):
                state.switch_at = math.inf
                return False
            if state.switch_at == math.inf:
                state.switch_at = state.t  # the challenger reached the switch
            if state.t - state.switch_at < self._params.ble_grid_sustain_s:
                return False
        elif track.chal_key != zone:
            track.chal_key = zone
            track.chal_since = state.t
        if not self._plausible(track, estimate.floor, t):
            return False
        return self._move_ble(track, estimate, zone, track.chal_since, confidence)

    # --- Output --------------------------------------------------------------------------------

    def _location(self, badge: str, track: _Track, now: float) -> Location:
        report = self._report(track)
        if report is None:
            return unknown(badge)
        return location_at(badge, report, now, self._params)

    def _report(self, track: _Track) -> PlaceReport | None:
        place = track.place
        if place is None:
            return None
        here = place.bay or place.room or place.zone
        info = self._areas.get(here) if here is not None else None
        return PlaceReport(
            floor=place.floor,
            unit=info.unit if info is not None else None,
            room=place.room,
            bay=place.bay,
            zone=place.zone,
            precision=place.precision,
            confidence=place.confidence,
            as_of=place.as_of,
            since=place.since,
            required=info.required if info is not None else None,
            source="ir" if place.source == "ir-ended" else place.source,
        )

    def report(self, badge: str) -> PlaceReport | None:
        """The badge's place as last decided, before any ageing (None for a badge never
        located): :func:`~duress.domain.location_report.location_at` of it at a time is
        :meth:`locate` at that time, without building the :class:`Location`."""
        track = self._tracks.get(badge)
        return self._report(track) if track is not None else None

    def locate(self, badge: str, now: datetime) -> Location:
        """The badge's location at ``now`` (``unknown`` for a badge never located)."""
        track = self._tracks.get(badge)
        if track is None:
            return unknown(badge)
        return self._location(badge, track, epoch_seconds(now))

    def locations(self, now: datetime) -> Iterator[Location]:
        """The location at ``now`` of every badge the engine has accepted evidence for."""
        n = epoch_seconds(now)
        for badge, track in self._tracks.items():
            yield self._location(badge, track, n)

    def expire(self, now: datetime) -> list[Location]:
        """Badges whose evidence timed out since the last call: each one's new ``unknown`` location.

        Call it on a timer (each second or so): a badge that stops reporting produces no sighting,
        so only the passing of time makes it unknown.
        """
        n = epoch_seconds(now)
        limit = self._params.unknown_after_s
        expired = []
        for badge, track in self._tracks.items():
            place = track.place
            if place is None or track.reported_unknown or n - place.as_of <= limit:
                continue
            track.reported_unknown = True
            expired.append(self._location(badge, track, n))
        return expired

    def advance(self, now: datetime) -> list[Location]:
        """Judge the BLE scans that became due by ``now``: the locations that changed.

        The grid filter uses a scan ``ble_grid_lag_s`` after it was measured (its readings
        arrive over a few hundred milliseconds). A badge's own sightings reach that point only
        when its next scan starts arriving, about a second later; ``advance`` steps every badge
        whose newest scan is due, on the engine's clock. Call it on a timer and after each batch
        of sightings, like :meth:`expire`; it looks at the badges at most every half
        ``ble_grid_step_s`` (more often does nothing). A badge that IR places is left to its IR;
        ``ble_grid_timer`` False (or ``ble_grid`` False) turns it off.
        """
        p = self._params
        n = epoch_seconds(now)
        if self._ir_watch.check(n, p.ir_offline_after):
            self._ir_rooms_changed()
        if not (p.ble_grid and p.ble_grid_timer):
            return []
        if n - self._advanced_at < 0.5 * p.ble_grid_step_s:
            return []
        self._advanced_at = n
        cut = n - p.ble_grid_lag_s
        step_s = p.ble_grid_step_s
        recent = n - p.ble_window_s
        moved: list[Location] = []
        for badge, track in self._tracks.items():
            scan = track.ble_at
            if scan > cut or scan < recent:
                continue  # its newest scan is not due yet, or it hears no BLE lately
            place = track.place
            if place is not None and place.source == "ir":
                continue
            state = track.grid
            if state is not None and (scan <= state.t or cut - state.t < step_s):
                continue  # judged already
            self._now = n
            if self._decide(badge, track, track.latest):
                moved.append(self._location(badge, track, n))
        return moved

    def heartbeat(self, device: str, ts: datetime) -> None:
        """A fixed device's heartbeat at ``ts``: an IR device heard is working (see
        ``ir_offline_after``); other devices are ignored."""
        watch = self._ir_watch
        if device in watch and ts.tzinfo is not None and watch.heard(device, epoch_seconds(ts)):
            self._ir_rooms_changed()

    @property
    def ir_offline(self) -> frozenset[str]:
        """The rooms whose IR devices are all taken as offline (``ir_offline_after``)."""
        return self._ir_watch.offline

    def _ir_rooms_changed(self) -> None:
        """The rooms with IR offline changed: the grid filter stops weighing their silence (and
        weighs it again once one of their devices is heard)."""
        offline = self._ir_watch.offline
        if self._grids is not None:
            ir_rooms = self._ir_zones - offline
            for grid in self._grids.values():
                for i, area_id in enumerate(grid.area_ids):
                    grid.area_ir[i] = area_id in ir_rooms

    def forget(self, badge: str) -> None:
        """Drop everything known about a badge (it was unassigned or retired)."""
        self._tracks.pop(badge, None)


_BEACON_CONFIDENCE: Final = 0.6
"""Confidence of a room entered on its own beacon (beacon entry): below the quiet hold's 0.7,
which follows an IR stay, and below one IR hit's 0.82."""

"""The filtered RSSI of a ``(rssi, _Dev)`` pair (a C-level sort key)."""


def _ir_confidence(score: float) -> float:
    """0.82 after one hit, 0.93 after two quick hits, at most 0.99."""
    return min(0.99, 1.0 - 0.5 * math.exp(-score))


def _zone_level(site: Site, area_id: str) -> str:
    """The zone-level place of an area: a room or corridor itself; a bay's room or open zone."""
    areas = site.facility.areas
    area = areas.get(area_id)
    seen = 0
    while area is not None and seen < 16:
        if level_of(area.kind) > 0:
            return area.id
        area = areas.get(area.parent) if area.parent else None
        seen += 1
    return area_id


def _room_level(site: Site, area_id: str) -> str | None:
    """The room-level area of an area: itself, or the enclosing room of a bay (None in a zone)."""
    areas = site.facility.areas
    area = areas.get(area_id)
    seen = 0
    while area is not None and seen < 16:
        level = level_of(area.kind)
        if level == 1:
            return area.id
        if level == 2:
            return None
        area = areas.get(area.parent) if area.parent else None
        seen += 1
    return None


__all__ = [
    "Location",
    "LocationEngine",
    "LocationParams",
    "RejectReason",
    "Rejections",
    "epoch_seconds",
    "unknown",
]
