"""Radio models: what a badge at a point would report, with realistic imperfection.

BLE (per beacon/locator and report interval)::

    rssi = tx_power - 10 n log10(d) - walls * wall_loss_db - floors * floor_loss_db
           + N(0, noise_sigma_db) [+ N(burst_mean_db, burst_sigma_db) with burst_prob]

then lost with ``loss_prob`` or when below ``sensitivity_dbm``. Walls are the edges of room-level
polygons (not corridors, zones or bay curtains) crossed by the line from badge to device, each
counted once even when two rooms share it.

IR: each monitor/emitter repeats its code every ``ir_period_s`` (several times a second). Each
second a badge has line of sight to a device with ``ir_detect_prob`` inside the covered area
(``ir_blind_detect_prob`` in a blind spot), ``ir_door_leak_prob`` in the corridor within
``ir_door_leak_m`` of an open door, ``ir_bay_leak_prob`` for the emitter of a neighbouring bay; in
line of sight it decodes each broadcast with ``ir_decode_prob`` and reports the code once a
second, at the first decode. A walking badge is tested where it is at each broadcast. A door
monitor (``ir_door``, where the site has one) is seen within ``ir_door_beam_m`` of its room's door,
inside or out, open or closed, at ``ir_detect_prob``.

Gateways delay every report by a log-normal latency, drop some and duplicate some (MQTT QoS 1
redelivery). Sources for the defaults are in ``docs/location.md``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from duress.domain.area_index import AreaIndex, contains
from duress.domain.devices import DeviceKind
from duress.domain.facility import Point
from duress.domain.site import Site
from duress.domain.walls import Walls


@dataclass(frozen=True, slots=True)
class RadioParams:
    path_loss_exponent: float = 2.5
    wall_loss_db: float = 4.5
    floor_loss_db: float = 18.0
    noise_sigma_db: float = 5.0
    burst_prob: float = 0.05
    burst_mean_db: float = -12.0
    burst_sigma_db: float = 4.0
    loss_prob: float = 0.15
    report_interval_s: float = 1.0
    """A badge reports each BLE device it hears once per interval (its advertising/scan cycle)."""
    sensitivity_dbm: float = -98.0
    max_range_m: float = 30.0
    default_tx_power: float = -59.0
    tx_spread_db: float = 0.0
    """Each BLE device's true 1 m reading differs from its configured ``tx_power`` by a draw of
    N(0, ``tx_spread_db``), fixed per device (units differ by a few dB, and with how they are
    mounted); 0: exactly as configured. A survey walk measures it (docs/location.md)."""
    ir_period_s: float = 0.25
    """IR monitors and bay emitters repeat their code several times a second."""
    ir_detect_prob: float = 0.85
    """Probability, per second, that the badge has line of sight to a monitor in its room."""
    ir_decode_prob: float = 0.9
    """Probability that a badge in line of sight decodes one broadcast."""
    ir_blind_spot_share: float = 0.1
    """Share of dwell spots that are IR blind spots (behind a curtain, a bathroom corner, ...)."""
    ir_blind_detect_prob: float = 0.02
    ir_door_leak_prob: float = 0.15
    ir_door_leak_m: float = 1.5
    door_open_prob: float = 0.6
    """Each door is open with this probability, redrawn every ``door_redraw_s``."""
    door_redraw_s: float = 60.0
    ir_bay_leak_prob: float = 0.03
    ir_door_beam_m: float = 0.6
    """A door monitor (``ir_door``) is seen within this distance of its door's midpoint, on
    either side of the wall, at ``ir_detect_prob``: its beam is aimed down across the doorway."""
    gateway_latency_median_s: float = 0.2
    gateway_latency_sigma: float = 0.6
    """Log-normal shape: p95 ≈ median * e^(1.645 sigma) ≈ 0.54 s for the defaults."""
    gateway_drop_prob: float = 0.01
    gateway_duplicate_prob: float = 0.01


@dataclass(frozen=True, slots=True)
class _Ble:
    id: str
    floor: str
    level: int
    x: float
    y: float
    tx_power: float


class BleModel:
    """BLE RSSI of every beacon/locator a badge at a point hears in one report interval."""

    def __init__(self, site: Site, params: RadioParams) -> None:
        self.params = params
        self.walls = Walls(site)
        levels = {f.id: f.level for f in site.facility.floors.values()}
        self._levels = levels
        self._devices: list[_Ble] = []
        for d in site.devices.values():
            if d.kind.is_ble and d.position is not None:
                tx = d.tx_power if d.tx_power is not None else params.default_tx_power
                tx += self.tx_offset(d.id)
                self._devices.append(
                    _Ble(d.id, d.floor, levels.get(d.floor, 0), d.position[0], d.position[1], tx)
                )
        self._by_floor: dict[str, list[_Ble]] = {}
        for f, level in levels.items():
            self._by_floor[f] = [b for b in self._devices if abs(b.level - level) <= 1]
        self._cache: dict[tuple[str, int, int, str], float] = {}

    def tx_offset(self, device: str) -> float:
        """How far ``device``'s true 1 m reading is from its configured one (dB; fixed per id)."""
        spread = self.params.tx_spread_db
        return random.Random(f"tx:{device}").gauss(0.0, spread) if spread else 0.0

    def true_tx_power(self, device: str) -> float | None:
        """``device``'s true 1 m reading (dBm), or None for an unknown id."""
        for b in self._devices:
            if b.id == device:
                return b.tx_power
        return None

    def mean_rssi(self, floor: str, x: float, y: float, device: str) -> float | None:
        """The deterministic part of the RSSI (path loss, walls, floors); None for an unknown id."""
        for b in self._devices:
            if b.id == device:
                return self._mean(floor, x, y, b)
        return None

    def _mean(self, floor: str, x: float, y: float, b: _Ble) -> float:
        key = (floor, round(x * 2), round(y * 2), b.id)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        p = self.params
        floors = abs(b.level - self._levels.get(floor, 0))
        d = math.hypot(x - b.x, y - b.y)
        if floors:
            d = math.hypot(d, 4.0 * floors)  # 4 m storey height
        walls = self.walls.count(floor, (x, y), (b.x, b.y)) if floors == 0 else 0
        value = (
            b.tx_power
            - 10.0 * p.path_loss_exponent * math.log10(max(0.5, d))
            - walls * p.wall_loss_db
            - floors * p.floor_loss_db
        )
        if len(self._cache) > 500_000:
            self._cache.clear()
        self._cache[key] = value
        return value

    def sample(self, mean: float, rng: random.Random) -> float | None:
        """One noisy report around ``mean``, or None when the advertisement is lost or too weak."""
        p = self.params
        if rng.random() < p.loss_prob:
            return None
        value = mean + rng.gauss(0.0, p.noise_sigma_db)
        if rng.random() < p.burst_prob:
            value += rng.gauss(p.burst_mean_db, p.burst_sigma_db)
        if value < p.sensitivity_dbm:
            return None
        return min(0.0, value)

    def heard(self, floor: str, x: float, y: float, rng: random.Random) -> list[tuple[str, float]]:
        """``(device, rssi)`` for each device heard from ``(x, y)`` on ``floor`` in one interval."""
        r2 = self.params.max_range_m**2
        out = []
        for b in self._by_floor.get(floor, ()):
            if (x - b.x) ** 2 + (y - b.y) ** 2 > r2:
                continue
            rssi = self.sample(self._mean(floor, x, y, b), rng)
            if rssi is not None:
                out.append((b.id, round(rssi, 1)))
        return out


@dataclass(frozen=True, slots=True)
class Door:
    """A room's door: ``point`` on its wall, ``entry`` just inside the corridor it opens onto."""

    room: str
    floor: str
    point: Point
    entry: Point
    corridor: str


class IrModel:
    """IR detections of a badge at a point during one second."""

    def __init__(self, site: Site, params: RadioParams, doors: dict[str, Door]) -> None:
        self.params = params
        self.index = AreaIndex(site.facility)
        self._covering: dict[str, list[str]] = {}
        for d in site.devices.values():
            if d.kind.is_ir and d.area is not None:
                self._covering.setdefault(d.area, []).append(d.id)
        self._emitters_in: dict[str, list[tuple[str, str]]] = {}
        for d in site.devices.values():
            if d.kind is DeviceKind.BAY_EMITTER and d.area is not None:
                bay = site.facility.areas.get(d.area)
                if bay is not None and bay.parent:
                    self._emitters_in.setdefault(bay.parent, []).append((d.area, d.id))
        self._leaky: dict[str, list[tuple[Door, list[str]]]] = {}
        for door in doors.values():
            monitors = self._covering.get(door.room)
            if monitors:
                self._leaky.setdefault(door.floor, []).append((door, monitors))
        self._door_beams: dict[str, list[tuple[Door, list[str]]]] = {}
        """Per floor, each door with door monitors, and their ids."""
        watching: dict[str, list[str]] = {}
        for d in site.devices.values():
            if d.kind.is_ir_door and d.area is not None:
                watching.setdefault(d.area, []).append(d.id)
        for door in doors.values():
            if door.room in watching:
                self._door_beams.setdefault(door.floor, []).append((door, watching[door.room]))
        self._polygons = {a.id: a.polygon for a in site.facility.areas.values()}

    def door_open(self, room: str, t: float, seed: int) -> bool:
        """Whether ``room``'s door is open at ``t`` (a deterministic draw per door and period)."""
        period = int(t // self.params.door_redraw_s)
        return random.Random(f"{seed}:{room}:{period}").random() < self.params.door_open_prob

    def detections(
        self,
        floor: str,
        x: float,
        y: float,
        blind: bool,
        t: float,
        rng: random.Random,
        seed: int,
        start: Point | None = None,
    ) -> list[tuple[str, float]]:
        """``(device, offset_s)`` for each IR code the badge reports during ``[t, t + 1)``.

        The badge moves in a straight line from ``start`` (default: where it is) to ``(x, y)``
        during the second; each monitor broadcasts every ``ir_period_s`` and each broadcast is
        tested where the badge is at that moment. Line of sight to a device is drawn once per
        second (orientation and body shadowing do not change within a second) and held against
        the probability where the badge is at each broadcast: ``ir_detect_prob`` inside the
        covered area (``ir_blind_detect_prob`` in a blind spot, ``ir_door_leak_prob`` near an open
        door, ``ir_bay_leak_prob`` into a neighbouring bay); in line of sight each broadcast is
        decoded with ``ir_decode_prob``. The badge reports a code once per second, at its first
        decode.
        """
        p = self.params
        broadcasts = max(1, round(1.0 / p.ir_period_s))
        sx, sy = start if start is not None else (x, y)
        # per device: the broadcasts it could be decoded at, (offset, probability of line of
        # sight where the badge is then)
        chances: dict[str, list[tuple[float, float]]] = {}
        phase = rng.random()
        leak_m2 = p.ir_door_leak_m**2
        beam_m2 = p.ir_door_beam_m**2
        beams = self._door_beams.get(floor, ())
        beamed: dict[str, list[float]] = {}
        """Door monitors whose beam the badge is in, at which broadcasts."""
        for k in range(broadcasts):
            f = (k + phase) / broadcasts
            px, py = sx + (x - sx) * f, sy + (y - sy) * f
            for door, monitors in beams:
                dx, dy = px - door.point[0], py - door.point[1]
                if dx * dx + dy * dy <= beam_m2:
                    for device in monitors:
                        beamed.setdefault(device, []).append(f)
            hit = self.index.locate(floor, px, py)
            if hit.room is not None:
                detect = p.ir_blind_detect_prob if blind else p.ir_detect_prob
                for device in self._covering.get(hit.room, ()):
                    chances.setdefault(device, []).append((f, detect))
                for bay, device in self._emitters_in.get(hit.room, ()):
                    prob = detect if bay == hit.bay else p.ir_bay_leak_prob
                    chances.setdefault(device, []).append((f, prob))
            elif hit.zone is not None:
                for door, monitors in self._leaky.get(floor, ()):
                    dx, dy = px - door.point[0], py - door.point[1]
                    if dx * dx + dy * dy <= leak_m2 and self.door_open(door.room, t + f, seed):
                        for device in monitors:
                            chances.setdefault(device, []).append((f, p.ir_door_leak_prob))
        out: list[tuple[str, float]] = []
        for device, tries in chances.items():
            # One draw a second for the badge's orientation and the body's shadow: the same
            # draw is in line of sight at every broadcast whose place gives at least that much
            # (a badge walking in through an open door is tested at the room's probability
            # once inside, not at the door leak's, and walking out the other way round).
            aim = rng.random()
            for f, prob in tries:
                if aim < prob and rng.random() < p.ir_decode_prob:
                    out.append((device, f))
                    break
        for device, offsets in beamed.items():
            # Door monitors draw from their own stream (one per device, second and place), so
            # that a site with them has the same walks and other codes as the site without.
            own = random.Random(f"door:{seed}:{device}:{t:.3f}:{x:.3f}:{y:.3f}")
            if own.random() < p.ir_detect_prob:
                for f in offsets:
                    if own.random() < p.ir_decode_prob:
                        out.append((device, f))
                        break
        return out

    def covered(self, area: str) -> bool:
        """True when ``area`` has an IR monitor or emitter."""
        return area in self._covering

    def inside(self, area: str, x: float, y: float) -> bool:
        polygon = self._polygons.get(area)
        return polygon is not None and contains(polygon, x, y)


def gateway_delay(params: RadioParams, rng: random.Random) -> float | None:
    """Seconds from measurement to arrival at the server, or None when the gateway drops it."""
    if rng.random() < params.gateway_drop_prob:
        return None
    return params.gateway_latency_median_s * math.exp(rng.gauss(0.0, params.gateway_latency_sigma))
