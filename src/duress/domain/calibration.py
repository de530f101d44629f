"""Survey-walk calibration: each BLE device's 1 m reading, and the site's path loss, measured (pure).

A BLE beacon's or locator's reading at one metre (``tx_power``) varies by several dB between units
and with how it is mounted (on metal, behind equipment, high on a wall); the engine and the grid
filter turn readings into metres with it, so a device that reads 5 dB hot pulls every estimate
toward itself. A **survey walk** measures it: a person walks a known route with a test badge,
marking where they are (checkpoints; between two the walk is a straight line at constant speed),
and every BLE reading of that badge becomes a sample of the model

    rssi = tx_power[device] - 10 n log10(d) - walls * wall_loss_db + noise

with ``d`` the distance from the walker's position to the device and ``walls`` the walls between
them (:mod:`duress.domain.walls`). :func:`fit_survey` fits it robustly:

- per device, ``tx_power`` is the **median** of ``rssi + 10 n log10(d) + walls * wall_loss_db``
  over its samples (a multipath burst pulls a reading 10-20 dB down; the median ignores it);
- with ``fit_model``, the exponent ``n`` and ``wall_loss_db`` are fitted by least squares on the
  samples within ``trim_sigmas`` robust standard deviations, each device's own level removed
  (so that a hot device does not bend the slope), alternating with the medians until both settle;
- only samples within ``max_distance_m`` of their device count: farther, the weak readings fall
  below the receiver's sensitivity and are lost, so those that arrive are the lucky strong ones
  and would bias the fit.

A device with fewer than ``min_samples`` samples keeps its configured value; the fit says why
(walk closer to it). The result is a :class:`Calibration` that a site carries (the YAML
``calibration:`` section, docs/location.md "Calibration from a survey walk"): the engine uses its
transmit powers and, through :func:`calibrated_params`, its exponent and wall loss.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from duress.domain.location_params import LocationParams
from duress.domain.rssi_filter import median
from duress.domain.walls import Walls

if TYPE_CHECKING:
    from duress.domain.site import Site

MIN_DISTANCE_M = 0.5
"""Distances below this are taken as this (the model's near field; as the simulator does)."""
EXPONENT_RANGE = (1.5, 5.0)
PLAUSIBLE_EXPONENT = (1.8, 3.5)
PLAUSIBLE_WALL_LOSS_DB = (1.0, 10.0)
"""Fitted values outside these are more likely a walk that does not match its readings (a clock
off by a second or more, checkpoints in the wrong place) than a building."""
WALL_LOSS_RANGE_DB = (0.0, 20.0)
ROBUST_SIGMA = 1.4826
"""Median absolute deviation times this is the standard deviation of a normal distribution."""
MIN_SIGMA_DB = 0.5
"""The outlier test never assumes readings tighter than this (receivers report whole dB)."""
MAX_SIGMA_DB = 10.0
"""The sensitivity cut never assumes readings looser than this."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """What a survey walk measured, as a site carries it (``calibration:`` in the site YAML).

    ``tx_power``: per BLE device, its reading at one metre (dBm); it replaces the configured one.
    ``path_loss_exponent`` and ``wall_loss_db``, when set, replace the engine's
    ``ble_path_loss_exponent`` and ``ble_grid_wall_db``. ``source`` says which walk (free text).
    """

    tx_power: Mapping[str, float] = field(default_factory=dict)
    path_loss_exponent: float | None = None
    wall_loss_db: float | None = None
    source: str = ""


def calibrated_params(params: LocationParams, calibration: Calibration | None) -> LocationParams:
    """``params`` with the calibration's exponent and wall loss (when it has them)."""
    if calibration is None:
        return params
    exponent = calibration.path_loss_exponent
    wall_loss = calibration.wall_loss_db
    if exponent is None and wall_loss is None:
        return params
    return replace(
        params,
        ble_path_loss_exponent=params.ble_path_loss_exponent if exponent is None else exponent,
        ble_grid_wall_db=params.ble_grid_wall_db if wall_loss is None else wall_loss,
    )


def calibrate_site(site: Site, calibration: Calibration) -> Site:
    """``site`` carrying ``calibration``: each calibrated device's ``tx_power`` replaced."""
    devices = dict(site.devices)
    for device_id, tx in calibration.tx_power.items():
        device = devices.get(device_id)
        if device is None or not device.kind.is_ble:
            raise ValueError(f"{device_id!r} is not a BLE device of the site")
        devices[device_id] = replace(device, tx_power=tx)
    return replace(site, devices=devices, calibration=calibration)


# --- The walk -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where the surveyor was at ``ts`` (seconds since the epoch): ``floor`` and metres."""

    ts: float
    floor: str
    x: float
    y: float


class SurveyWalk:
    """The surveyor's position at any time of the walk, from checkpoints in time order.

    Between two checkpoints on one floor the walker went in a straight line at constant speed (mark
    a checkpoint at every turn and at both ends of every stop). Between checkpoints on different
    floors (stairs, an elevator), or more than ``max_gap_s`` apart at different places, the
    position is unknown; two at the same place are a stop, however long.
    """

    def __init__(self, checkpoints: Sequence[Checkpoint], max_gap_s: float = 120.0) -> None:
        ordered = sorted(checkpoints, key=lambda c: c.ts)
        self.checkpoints = ordered
        self.max_gap_s = max_gap_s
        self._times = [c.ts for c in ordered]

    def nearest_m(self, floor: str, x: float, y: float) -> float | None:
        """How close the walk came to ``(x, y)`` on ``floor`` (None: never on that floor)."""
        best: float | None = None
        points = self.checkpoints
        for i, a in enumerate(points):
            if a.floor != floor:
                continue
            d = math.hypot(x - a.x, y - a.y)
            b = points[i + 1] if i + 1 < len(points) else None
            if b is not None and b.floor == floor and b.ts - a.ts <= self.max_gap_s:
                dx, dy = b.x - a.x, b.y - a.y
                length2 = dx * dx + dy * dy
                if length2 > 0:
                    f = min(1.0, max(0.0, ((x - a.x) * dx + (y - a.y) * dy) / length2))
                    d = math.hypot(x - (a.x + f * dx), y - (a.y + f * dy))
            best = d if best is None else min(best, d)
        return best

    def standing(self, ts: float, margin_s: float) -> bool:
        """True when ``ts`` is inside a stop (two checkpoints at one place), at least
        ``margin_s`` from both its ends."""
        i = bisect.bisect_right(self._times, ts - margin_s)
        if i == 0 or i >= len(self._times):
            return False
        a = self.checkpoints[i - 1]
        b = self.checkpoints[i]
        return b.floor == a.floor and b.x == a.x and b.y == a.y and ts + margin_s <= b.ts

    def position(self, ts: float) -> tuple[str, float, float] | None:
        """``(floor, x, y)`` at ``ts``, or None where the walk does not say."""
        times = self._times
        i = bisect.bisect_right(times, ts)
        if i == 0:
            return None
        a = self.checkpoints[i - 1]
        if a.ts == ts:
            return (a.floor, a.x, a.y)
        if i == len(times):
            return None
        b = self.checkpoints[i]
        standing = b.floor == a.floor and b.x == a.x and b.y == a.y
        if b.floor != a.floor or (b.ts - a.ts > self.max_gap_s and not standing):
            return None
        f = (ts - a.ts) / (b.ts - a.ts)
        return (a.floor, a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f)


# --- The fit --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """One BLE reading of the test badge: measured at ``ts`` by/of ``device``, ``rssi`` dBm."""

    ts: float
    device: str
    rssi: float


@dataclass(frozen=True, slots=True)
class FitOptions:
    path_loss_exponent: float = 2.5
    """The exponent to start from (kept when ``fit_model`` is off)."""
    wall_loss_db: float = 4.5
    """The loss per wall to start from (kept when ``fit_model`` is off)."""
    fit_model: bool = True
    """Fit the exponent and the wall loss too (needs samples at several distances)."""
    min_samples: int = 30
    """A device with fewer samples within ``max_distance_m`` keeps its configured value."""
    max_distance_m: float = 12.0
    """Samples farther from their device are not used (below-sensitivity losses bias them)."""
    trim_sigmas: float = 2.5
    """Samples farther than this many robust standard deviations from the model are outliers."""
    sensitivity_dbm: float = -98.0
    """The weakest reading the receivers report. A sample whose model reading is within
    ``trim_sigmas`` standard deviations of it is not used: there, the weaker readings of the
    noise are lost and those that arrive are biased strong."""
    iterations: int = 30
    stops_only: bool = False
    """Use only the readings taken while the walker stood still (two checkpoints at one place),
    ``stop_margin_s`` from either end: immune to a walk noted on a clock off the badge's."""
    stop_margin_s: float = 2.0


@dataclass(frozen=True, slots=True)
class DeviceFit:
    """One BLE device's result: ``tx_power`` when fitted (None: kept ``was``, see ``note``)."""

    device: str
    samples: int
    """Readings with a known position within ``max_distance_m`` on the device's floor."""
    was: float | None
    """Its configured transmit power (None: the engine's default)."""
    tx_power: float | None
    spread_db: float | None
    """Robust standard deviation of its samples around the fitted model."""
    nearest_m: float | None
    """How close the walk came to it (None: the walk never was on its floor)."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class CalibrationFit:
    devices: tuple[DeviceFit, ...]
    path_loss_exponent: float
    wall_loss_db: float
    model_fitted: bool
    """False when the exponent and wall loss are the starting values (off, or too few samples)."""
    samples: int
    outliers: int
    """Samples not used in the final fit: farther from the model than ``trim_sigmas``."""
    weak: int
    """Samples not used in the final fit: model reading near the receivers' sensitivity."""
    spread_db: float | None
    """Robust standard deviation of all samples around the model."""
    skipped: Mapping[str, int]
    """Readings not used, per reason."""

    @property
    def model_plausible(self) -> bool:
        """The fitted exponent and wall loss are within what buildings show."""
        lo_n, hi_n = PLAUSIBLE_EXPONENT
        lo_w, hi_w = PLAUSIBLE_WALL_LOSS_DB
        return lo_n <= self.path_loss_exponent <= hi_n and lo_w <= self.wall_loss_db <= hi_w

    def calibration(self, source: str) -> Calibration:
        """The site calibration: fitted devices only; the model when it was fitted."""
        return Calibration(
            tx_power={
                d.device: round(d.tx_power, 1) for d in self.devices if d.tx_power is not None
            },
            path_loss_exponent=round(self.path_loss_exponent, 2) if self.model_fitted else None,
            wall_loss_db=round(self.wall_loss_db, 1) if self.model_fitted else None,
            source=source,
        )


@dataclass(slots=True)
class _Sample:
    device: int
    rssi: float
    log_d: float
    """``10 log10(d)``."""
    walls: int


def _samples(
    site: Site,
    walk: SurveyWalk,
    readings: Iterable[Reading],
    devices: list[str],
    options: FitOptions,
    skipped: Counter[str],
) -> list[_Sample]:
    walls = Walls(site)
    number = {d: i for i, d in enumerate(devices)}
    samples: list[_Sample] = []
    seen: set[tuple[float, str]] = set()
    for reading in readings:
        key = (reading.ts, reading.device)
        if key in seen:
            skipped["duplicate (the same device and time again)"] += 1
            continue
        seen.add(key)
        j = number.get(reading.device)
        if j is None:
            skipped["not a BLE device with a position"] += 1
            continue
        if options.stops_only and not walk.standing(reading.ts, options.stop_margin_s):
            skipped["not while standing (stops_only)"] += 1
            continue
        here = walk.position(reading.ts)
        if here is None:
            skipped["no known position (outside the walk, a gap or a floor change)"] += 1
            continue
        device = site.devices[reading.device]
        assert device.position is not None
        floor, x, y = here
        if floor != device.floor:
            skipped["on another floor than its device"] += 1
            continue
        d = math.hypot(x - device.position[0], y - device.position[1])
        if d > options.max_distance_m:
            skipped["farther than max_distance_m from its device"] += 1
            continue
        samples.append(
            _Sample(
                j,
                reading.rssi,
                10.0 * math.log10(max(MIN_DISTANCE_M, d)),
                walls.count(floor, (x, y), device.position),
            )
        )
    return samples


def _levels(
    samples: list[_Sample], count: int, n: float, w: float, keep: list[bool]
) -> list[float | None]:
    """Per device, the median of its (kept) samples' implied 1 m reading."""
    implied: list[list[float]] = [[] for _ in range(count)]
    for s, k in zip(samples, keep, strict=True):
        if k:
            implied[s.device].append(s.rssi + n * s.log_d + w * s.walls)
    return [median(v) if v else None for v in implied]


def _slopes(
    samples: list[_Sample], keep: list[bool], count: int, n: float, w: float
) -> tuple[float, float] | None:
    """Least squares ``(n, w)`` with each device's own level removed; None when ill-posed."""
    sums = [[0.0, 0.0, 0.0, 0] for _ in range(count)]  # per device: rssi, log_d, walls, count
    for s, k in zip(samples, keep, strict=True):
        if k:
            acc = sums[s.device]
            acc[0] += s.rssi
            acc[1] += s.log_d
            acc[2] += s.walls
            acc[3] += 1
    means = [(a[0] / a[3], a[1] / a[3], a[2] / a[3]) if a[3] else (0.0, 0.0, 0.0) for a in sums]
    sxx = sxw = sww = sxy = swy = 0.0
    for s, k in zip(samples, keep, strict=True):
        if not k:
            continue
        mr, ml, mw = means[s.device]
        # rssi = tx - n * log_d - w * walls: regress -(rssi - mean) on the centred features
        y = -(s.rssi - mr)
        a = s.log_d - ml
        b = s.walls - mw
        sxx += a * a
        sxw += a * b
        sww += b * b
        sxy += a * y
        swy += b * y
    if sxx < 1e-6:
        return None
    det = sxx * sww - sxw * sxw
    if sww < 1e-6 or det < 1e-9 * sxx * sww:
        # no wall variation in the walk: fit the exponent alone, keep the wall loss
        return (sxy - w * sxw) / sxx, w
    return (sww * sxy - sxw * swy) / det, (sxx * swy - sxw * sxy) / det


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return min(bounds[1], max(bounds[0], value))


def fit_survey(
    site: Site,
    walk: SurveyWalk,
    readings: Iterable[Reading],
    options: FitOptions | None = None,
) -> CalibrationFit:
    """Fit the BLE devices' 1 m readings (and the model) to a survey walk (see the module doc)."""
    o = options or FitOptions()
    devices = sorted(
        d.id for d in site.devices.values() if d.kind.is_ble and d.position is not None
    )
    skipped: Counter[str] = Counter()
    samples = _samples(site, walk, readings, devices, o, skipped)
    count = len(devices)
    per_device = Counter(s.device for s in samples)
    enough = [per_device[j] >= o.min_samples for j in range(count)]
    used = [s for s in samples if enough[s.device]]
    n, w = o.path_loss_exponent, o.wall_loss_db
    keep = [True] * len(used)
    strong = near_model = keep
    model_fitted = False
    sigma: float | None = None
    for _ in range(max(1, o.iterations)):
        levels = _levels(used, count, n, w, keep)
        residuals = [s.rssi - ((levels[s.device] or 0.0) - n * s.log_d - w * s.walls) for s in used]
        if not residuals:
            break
        sigma = max(MIN_SIGMA_DB, ROBUST_SIGMA * median([abs(r) for r in residuals]))
        # (a spread wider than any receiver's noise is a walk that does not match its readings:
        # it must not push every sample under the sensitivity cut)
        floor = o.sensitivity_dbm + o.trim_sigmas * min(sigma, MAX_SIGMA_DB)
        strong = [s.rssi - r >= floor for s, r in zip(used, residuals, strict=True)]
        near_model = [abs(r) <= o.trim_sigmas * sigma for r in residuals]
        keep = [a and b for a, b in zip(strong, near_model, strict=True)]
        if not o.fit_model:
            continue
        slopes = _slopes(used, keep, count, n, w)
        if slopes is None:
            break
        new_n = _clamp(slopes[0], EXPONENT_RANGE)
        new_w = _clamp(slopes[1], WALL_LOSS_RANGE_DB)
        model_fitted = True
        settled = abs(new_n - n) < 1e-4 and abs(new_w - w) < 1e-3
        n, w = new_n, new_w
        if settled:
            break
    levels = _levels(used, count, n, w, keep)
    spread: list[list[float]] = [[] for _ in range(count)]
    for s in used:
        level = levels[s.device]
        if level is not None:
            spread[s.device].append(abs(s.rssi - (level - n * s.log_d - w * s.walls)))
    fits: list[DeviceFit] = []
    for j, device_id in enumerate(devices):
        device = site.devices[device_id]
        was = device.tx_power
        assert device.position is not None
        close = walk.nearest_m(device.floor, *device.position)
        if not enough[j]:
            where = "the walk missed its floor" if close is None else f"walk came {close:.1f} m"
            note = f"{per_device[j]} of {o.min_samples} samples ({where}): stop near it"
            fits.append(DeviceFit(device_id, per_device[j], was, None, None, close, note))
            continue
        level = levels[j]
        dev_spread = ROBUST_SIGMA * median(spread[j]) if spread[j] else None
        note = ""
        if dev_spread is not None and dev_spread > 10.0:
            note = f"spread {dev_spread:.0f} dB: check its mounting (metal, equipment)"
        fits.append(DeviceFit(device_id, per_device[j], was, level, dev_spread, close, note))
    return CalibrationFit(
        devices=tuple(fits),
        path_loss_exponent=n,
        wall_loss_db=w,
        model_fitted=model_fitted,
        samples=len(used),
        outliers=sum(1 for a, b in zip(strong, near_model, strict=True) if a and not b),
        weak=sum(1 for a in strong if not a),
        spread_db=sigma,
        skipped=dict(skipped),
    )
