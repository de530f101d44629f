"""Score located badges against ground truth.

:func:`track` replays received records through a :class:`LocationEngine` and yields a location row
whenever a badge's place changes (or it times out to ``unknown``). :func:`evaluate` compares those
rows with the simulator's truth rows; the location in force at a truth row is the newest location
row at or before it. Each truth row stands for the time until the badge's next truth row.

Metrics (shares are of truth time):

- ``room_accuracy``: truth in a room, located in that room; ``room_accuracy_ir`` only in rooms
  with IR coverage; ``bay_accuracy``: truth in a bay, located in that bay; ``zone_accuracy``: the
  located zone (room, or corridor/zone) equals truth's; ``wrong_room_share``: truth in a room,
  located in another room-level area (a wall-crossing mis-identification; a corridor or nothing
  is not counted here); ``floor_accuracy``; ``unknown_share``.
- ``required_met``: the location is right at the precision the truth area requires (bed: bay, room:
  room, zone: zone, floor: floor); ``required_claimed``: the engine says it meets it.
- ``transition_delay_s``: for each truth change of zone, the time until the location shows the new
  zone (p50/p95/max over detected ones); ``transition_delay_ir_s`` / ``transition_delay_ble_s``:
  the same for transitions into an IR-covered room and into an area without IR (corridors,
  BLE-only rooms); ``transitions_missed``: never shown before the badge left.
- ``offline``: IR devices that send nothing during the run (a monitor offline). A room whose IR
  devices are all offline is not an IR room for the figures above: its own figures are
  ``zone_accuracy_ir_offline`` (the zone: BLE, which alone can find someone there, never claims
  a room) and ``transition_delay_ir_offline_s``, what the outage costs there.
- ``flaps_per_badge_hour``: the location left a zone A for B and came back to A within
  ``flap_window_s`` while truth was never in B during that time; ``bay_flaps_per_badge_hour``:
  the same for the bay shown (B a bay; per hour of all badges, as for zones).
- ``time_to_first_fix_s``: first located row minus first truth row, per badge (p50/p95/max).
  The shares start at each badge's first fix (``before_first_fix_s`` says how much truth time
  that leaves out); a badge never fixed counts throughout, as unknown.
- ``by_area_kind``: seconds, zone accuracy, room accuracy and required-met share per area kind.
- ``by_area``: the same per area where people were (the room, bays counted in their room, or the
  corridor or zone), with the area's kind and required precision: where coverage is weak.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from duress.domain.area_index import ZONE_KINDS
from duress.domain.location import Location, LocationEngine, LocationParams
from duress.domain.observations import Heartbeat, Sighting
from duress.domain.precision import Precision
from duress.domain.site import Site
from duress.sim.scenario import Received, Record


def location_row(location: Location, ts: datetime) -> dict[str, Any]:
    return {
        "ts": ts,
        "badge": location.badge,
        "floor": location.floor,
        "unit": location.unit,
        "room": location.room,
        "bay": location.bay,
        "zone": location.zone,
        "precision": location.precision.value,
        "confidence": round(location.confidence, 3),
        "required": location.required.value if location.required else None,
        "meets": location.meets_requirement,
    }


def track(
    site: Site,
    records: Iterable[Record],
    params: LocationParams | None = None,
    engine: LocationEngine | None = None,
) -> Iterator[dict[str, Any]]:
    """Location rows from replaying ``records`` (truth rows drive the engine's timer: timeouts
    and the BLE scans that became due, each second)."""
    engine = engine or LocationEngine(site, params)
    last_tick: datetime | None = None
    for record in records:
        if isinstance(record, Received):
            observation = record.observation
            if isinstance(observation, Sighting):
                location = engine.observe(observation, record.at)
                if location is not None:
                    yield location_row(location, record.at)
            elif isinstance(observation, Heartbeat):
                engine.heartbeat(observation.device, observation.ts)
            continue
        ts = record["ts"]
        if last_tick is None or ts > last_tick:
            last_tick = ts
            for location in engine.expire(ts):
                yield location_row(location, ts)
            for location in engine.advance(ts):  # the scans that became due: a timer's work
                yield location_row(location, ts)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` (linear between the nearest ranks), to 0.01; None when
    there are none."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 2)


def _summary(values: Sequence[float]) -> dict[str, float | int | None]:
    return {
        "n": len(values),
        "p50": percentile(values, 0.5),
        "p95": percentile(values, 0.95),
        "max": round(max(values), 2) if values else None,
    }


class _Share:
    __slots__ = ("hit", "total")

    def __init__(self) -> None:
        self.hit = 0.0
        self.total = 0.0

    def add(self, ok: bool, weight: float) -> None:
        self.total += weight
        if ok:
            self.hit += weight

    def value(self) -> float | None:
        return round(self.hit / self.total, 4) if self.total else None


def _correct_at(
    required: Precision, truth: Mapping[str, Any], loc: Mapping[str, Any] | None
) -> bool:
    if loc is None:
        return False
    if required is Precision.BED and truth["bay"] is not None:
        return bool(loc["bay"] == truth["bay"])
    if required in (Precision.BED, Precision.ROOM) and truth["room"] is not None:
        return bool(loc["room"] == truth["room"])
    if required is Precision.FLOOR:
        return bool(loc["floor"] == truth["floor"])
    return bool(loc["zone"] is not None and loc["zone"] == truth["zone"])


def rows_by_badge(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Truth or location rows grouped by their ``badge``, each badge's in their given order."""
    out: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row["badge"]].append(row)
    return out


def evaluate(
    truth_rows: Iterable[Mapping[str, Any]],
    location_rows: Iterable[Mapping[str, Any]],
    site: Site | None,
    flap_window_s: float = 30.0,
    offline: Collection[str] = (),
) -> dict[str, Any]:
    """The report described in the module docstring, as a JSON-ready dict.

    Without a site, area kinds, IR coverage and required precision are unknown: those figures
    are None (or empty). ``offline``: IR devices that sent nothing (see the module docstring).
    """
    areas = site.facility.areas if site is not None else {}
    ir_rooms: set[str] = set()
    offline_rooms: set[str] = set()
    for device in site.devices.values() if site is not None else ():
        if device.kind.is_ir and device.area is not None and device.area in areas:
            area = areas[device.area]
            room = area.parent if area.kind.is_bed_level and area.parent else area.id
            (offline_rooms if device.id in offline else ir_rooms).add(room)
    offline_rooms -= ir_rooms  # a room with one working IR device is still an IR room
    room_level = {a.id for a in areas.values() if a.kind not in ZONE_KINDS}
    truth_by = rows_by_badge(truth_rows)
    locs_by = rows_by_badge(location_rows)

    shares: dict[str, _Share] = defaultdict(_Share)
    kinds: dict[str, dict[str, _Share]] = defaultdict(lambda: defaultdict(_Share))
    places: dict[str, dict[str, _Share]] = defaultdict(lambda: defaultdict(_Share))
    delays: list[float] = []
    delays_by: dict[str, list[float]] = {"ir": [], "ble": [], "ir_offline": []}
    missed = 0
    flaps = 0
    bay_flaps = 0
    first_fix: list[float] = []
    never_fixed = 0
    hours = 0.0
    cold = 0.0
    for badge, truths in truth_by.items():
        truths.sort(key=lambda r: r["ts"])
        locs = sorted(locs_by.get(badge, ()), key=lambda r: r["ts"])
        fix = next((r for r in locs if r["precision"] != Precision.UNKNOWN.value), None)
        if fix is None:
            never_fixed += 1
        else:
            first_fix.append(max(0.0, (fix["ts"] - truths[0]["ts"]).total_seconds()))
        # A badge's cold start (every simulated badge switches on at once) is scored by the time
        # to first fix, not by the shares: they start at its first fix (a badge never fixed counts
        # throughout).
        warm_from = fix["ts"] if fix is not None else None
        i = 0
        current: Mapping[str, Any] | None = None
        for n, truth in enumerate(truths):
            ts = truth["ts"]
            while i < len(locs) and locs[i]["ts"] <= ts:
                current = locs[i]
                i += 1
            nxt = truths[n + 1]["ts"] if n + 1 < len(truths) else None
            weight = (nxt - ts).total_seconds() if nxt is not None else 1.0
            hours += weight / 3600.0
            if warm_from is not None and ts < warm_from:
                cold += weight
                continue
            located = current is not None and current["precision"] != Precision.UNKNOWN.value
            loc = current if located else None
            shares["unknown"].add(not located, weight)
            shares["floor"].add(loc is not None and loc["floor"] == truth["floor"], weight)
            zone_ok = loc is not None and loc["zone"] is not None and loc["zone"] == truth["zone"]
            shares["zone"].add(zone_ok, weight)
            finest = truth["bay"] or truth["room"] or truth["zone"]
            kind = areas[finest].kind.value if finest in areas else "outside"
            kinds[kind]["zone"].add(zone_ok, weight)
            place = truth["room"] or truth["zone"]
            if place is not None:
                places[place]["zone"].add(zone_ok, weight)
            if truth["room"] is not None:
                room_ok = loc is not None and loc["room"] == truth["room"]
                shares["room"].add(room_ok, weight)
                shown = loc["zone"] if loc is not None else None
                shares["wrong_room"].add(
                    shown is not None and shown != truth["zone"] and shown in room_level, weight
                )
                kinds[kind]["room"].add(room_ok, weight)
                if truth["room"] in ir_rooms:
                    shares["room_ir"].add(room_ok, weight)
                elif truth["room"] in offline_rooms:
                    shares["zone_ir_offline"].add(zone_ok, weight)
            if truth["bay"] is not None:
                shares["bay"].add(loc is not None and loc["bay"] == truth["bay"], weight)
            if site is not None and finest in areas:
                required = site.facility.required_precision(finest)
                met = _correct_at(required, truth, loc)
                shares["required_met"].add(met, weight)
                claimed = loc is not None and loc.get("meets", _meets(loc, required))
                shares["required_claimed"].add(bool(claimed), weight)
                kinds[kind]["required_met"].add(met, weight)
                if place is not None:
                    places[place]["required_met"].add(met, weight)
        d, m = _transitions(truths, locs)
        for delay, zone in d:
            delays.append(delay)
            into = "ir" if zone in ir_rooms else "ir_offline" if zone in offline_rooms else "ble"
            delays_by[into].append(delay)
        missed += m
        flaps += _flaps(truths, locs, flap_window_s)
        bay_flaps += _flaps(truths, locs, flap_window_s, "bay")

    def share(name: str) -> float | None:
        return shares[name].value() if name in shares else None

    return {
        "badges": len(truth_by),
        "badge_hours": round(hours, 3),
        "room_accuracy": share("room"),
        "room_accuracy_ir": share("room_ir"),
        "zone_accuracy_ir_offline": share("zone_ir_offline"),
        "bay_accuracy": share("bay"),
        "zone_accuracy": share("zone"),
        "wrong_room_share": share("wrong_room"),
        "floor_accuracy": share("floor"),
        "unknown_share": share("unknown"),
        "required_met": share("required_met"),
        "required_claimed": share("required_claimed"),
        "transition_delay_s": _summary(delays),
        "transition_delay_ir_s": _summary(delays_by["ir"]),
        "transition_delay_ble_s": _summary(delays_by["ble"]),
        "transition_delay_ir_offline_s": _summary(delays_by["ir_offline"]),
        "transitions_missed": missed,
        "flaps": flaps,
        "flaps_per_badge_hour": round(flaps / hours, 3) if hours else None,
        "bay_flaps": bay_flaps,
        "bay_flaps_per_badge_hour": round(bay_flaps / hours, 3) if hours else None,
        "time_to_first_fix_s": _summary(first_fix),
        "never_fixed": never_fixed,
        "before_first_fix_s": round(cold, 1),
        "by_area_kind": {
            kind: {
                "seconds": round(values["zone"].total, 1),
                "zone_accuracy": values["zone"].value(),
                "room_accuracy": values["room"].value() if "room" in values else None,
                "required_met": values["required_met"].value()
                if "required_met" in values
                else None,
            }
            for kind, values in sorted(kinds.items())
        },
        "by_area": {
            area: _area_figures(area, values, site) for area, values in sorted(places.items())
        },
    }


def _area_figures(area: str, values: Mapping[str, _Share], site: Site | None) -> dict[str, Any]:
    info = site.facility.areas.get(area) if site is not None else None
    return {
        "kind": info.kind.value if info is not None else None,
        "required": site.facility.required_precision(area).value
        if site is not None and info is not None
        else None,
        "seconds": round(values["zone"].total, 1),
        "zone_accuracy": values["zone"].value(),
        "required_met": values["required_met"].value() if "required_met" in values else None,
    }


def _meets(loc: Mapping[str, Any], required: Precision) -> bool:
    try:
        return Precision(loc["precision"]).meets(required)
    except (KeyError, ValueError):
        return False


def _transitions(
    truths: Sequence[Mapping[str, Any]], locs: Sequence[Mapping[str, Any]]
) -> tuple[list[tuple[float, Any]], int]:
    """(delay, new zone) until the location showed each new truth zone; how many it never did."""
    stays: list[tuple[datetime, datetime | None, Any]] = []
    for row in truths:
        if not stays or stays[-1][2] != row["zone"]:
            if stays:
                stays[-1] = (stays[-1][0], row["ts"], stays[-1][2])
            stays.append((row["ts"], None, row["zone"]))
    delays: list[tuple[float, Any]] = []
    missed = 0
    times = [r["ts"] for r in locs]
    for start, end, zone in stays[1:]:
        if zone is None:
            continue
        k = bisect.bisect_right(times, start)
        if k and locs[k - 1]["zone"] == zone:
            delays.append((0.0, zone))
            continue
        hit = None
        while k < len(locs) and (end is None or times[k] < end):
            if locs[k]["zone"] == zone:
                hit = locs[k]
                break
            k += 1
        if hit is None:
            if end is not None:
                missed += 1
            continue
        delays.append(((hit["ts"] - start).total_seconds(), zone))
    return delays, missed


def _flaps(
    truths: Sequence[Mapping[str, Any]],
    locs: Sequence[Mapping[str, Any]],
    window_s: float,
    key: str = "zone",
) -> int:
    zones = [(r["ts"], r[key]) for r in locs]
    changes = [zones[k] for k in range(len(zones)) if k == 0 or zones[k][1] != zones[k - 1][1]]
    count = 0
    for k in range(2, len(changes)):
        (t0, a), (t1, b), (t2, c) = changes[k - 2], changes[k - 1], changes[k]
        if a != c or b is None or (t2 - t1).total_seconds() > window_s:
            continue
        if not any(t0 <= r["ts"] <= t2 and r[key] == b for r in truths):
            count += 1
    return count
