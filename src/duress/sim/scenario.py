"""Run a simulated shift: people move, radios report, gateways deliver; ground truth every second.

:func:`simulate` yields, in the order the server would see them, :class:`Received` records (a
:class:`Sighting` or :class:`ButtonEvent` and when it reached the server) interleaved with one
:class:`TruthRow` per badge per second. The same seed gives the same records.

Time is continuous for the radios: during the second ``(s - 1, s]`` a walker moves in a straight
line from where it was at ``s - 1`` to where it is at ``s``, and each report is measured where the
badge is at that instant (a BLE report at the badge's own phase in its advertising cycle, each IR
broadcast at its own time). Truth at ``s`` is where the person is at ``s``; every report measured
up to ``s`` and delivered by ``s`` comes before it.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from duress.domain.area_index import AreaIndex
from duress.domain.observations import ButtonEvent, Heartbeat, Sighting, SightingKind
from duress.domain.people import BadgeKind
from duress.domain.site import Site
from duress.sim.movement import Movement, MovementParams, Walker
from duress.sim.radio import BleModel, IrModel, RadioParams, gateway_delay

DEFAULT_START = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SimParams:
    radio: RadioParams = field(default_factory=RadioParams)
    movement: MovementParams = field(default_factory=MovementParams)
    start: datetime = DEFAULT_START
    accidental_press_per_badge_hour: float = 0.2
    """Single presses by accident (brushing the badge); rates are illustrative, not measured."""
    real_press_per_badge_hour: float = 0.02
    """Triple presses meaning "help"."""
    press_resends: int = 3
    """Badges send each press this many times, 0.5 s apart, with the same ``seq``."""
    heartbeat_delay_s: float = 0.1
    """Each fixed device sends a heartbeat every ``heartbeat_s`` (its own phase, spread evenly
    over the interval, first at the start); it reaches the server this long after."""


@dataclass(frozen=True, slots=True)
class Received:
    """``observation`` reached the server at ``at`` (its own ``ts`` is when it was measured)."""

    at: datetime
    observation: Sighting | ButtonEvent | Heartbeat


class TruthRow(TypedDict):
    ts: datetime
    badge: str
    floor: str
    unit: str | None
    room: str | None
    bay: str | None
    zone: str | None
    activity: str
    x: float
    y: float


Record = Received | TruthRow


def simulated_badges(site: Site, badges: int | None) -> list[str]:
    """The staff badges to simulate: the first ``badges`` by id (all when None)."""
    staff = sorted(b.id for b in site.badges.values() if b.kind is BadgeKind.STAFF)
    if badges is None:
        return staff
    if badges > len(staff):
        raise ValueError(
            f"the site has {len(staff)} staff badges, {badges} asked: "
            "add some with duress.sim.layout.with_badges(site, n)"
        )
    return staff[:badges]


def simulate(
    site: Site,
    minutes: float,
    badges: int | None = None,
    seed: int = 0,
    params: SimParams | None = None,
    survey: bool = False,
) -> Iterator[Record]:
    """Simulate ``minutes`` of ``badges`` staff moving through ``site`` (see the module doc).

    With ``survey``, the first badge is a surveyor instead (:meth:`Movement.survey`): it walks
    into every room in turn, and its truth rows' ``x`` and ``y`` are a survey walk.
    """
    p = params or SimParams()
    rng = random.Random(seed)
    movement = Movement(site, p.movement, blind_spot_share=p.radio.ir_blind_spot_share)
    ble = BleModel(site, p.radio)
    ir = IrModel(site, p.radio, movement.graph.doors)
    index = AreaIndex(site.facility)
    facility = site.facility
    start = p.start
    t0 = start.timestamp()
    ids = simulated_badges(site, badges)
    walkers: list[Walker] = []
    phases: dict[str, float] = {}
    for badge_id in ids:
        wearer = site.wearer(badge_id)
        unit = facility.units.get(wearer.home_unit) if wearer and wearer.home_unit else None
        home = unit.floor if unit is not None else None
        if survey and not walkers:
            walkers.append(movement.survey(badge_id, 0.0))
        else:
            walkers.append(movement.spawn(badge_id, home, rng, 0.0))
        phases[badge_id] = rng.random()
    seqs = dict.fromkeys(ids, 0)
    gateways = {d.id: d.gateway for d in site.devices.values()}
    door_monitors = {d.id for d in site.devices.values() if d.kind.is_ir_door}
    pending: list[tuple[float, int, Sighting | ButtonEvent | Heartbeat]] = []
    counter = 0
    press_accident = p.accidental_press_per_badge_hour / 3600.0
    press_real = p.real_press_per_badge_hour / 3600.0

    def deliver(
        ts: float, observation: Sighting | ButtonEvent, draw: random.Random | None = None
    ) -> None:
        nonlocal counter
        draw = draw or rng
        delay = gateway_delay(p.radio, draw)
        if delay is None:
            return
        counter += 1
        heapq.heappush(pending, (ts + delay, counter, observation))
        if draw.random() < p.radio.gateway_duplicate_prob:
            counter += 1
            heapq.heappush(pending, (ts + delay + draw.uniform(0.05, 2.0), counter, observation))

    def when(ts: float) -> datetime:
        return start + timedelta(seconds=ts)

    def radio(w: Walker, begin: float, origin: tuple[float, float] | None) -> None:
        """What ``w``'s badge reports during ``[begin, begin + 1)``, moving from ``origin``."""
        phase = phases[w.badge]
        ts = begin + phase
        if origin is not None:
            bx = origin[0] + (w.x - origin[0]) * phase
            by = origin[1] + (w.y - origin[1]) * phase
        else:
            bx, by = w.x, w.y
        for device, rssi in ble.heard(w.floor, bx, by, rng):
            sighting = Sighting(
                ts=when(ts),
                badge=w.badge,
                device=device,
                kind=SightingKind.BLE,
                rssi=rssi,
                gateway=gateways.get(device),
            )
            deliver(ts, sighting)
        detected = ir.detections(w.floor, w.x, w.y, w.blind, t0 + begin, rng, seed, origin)
        for device, offset in detected:
            sighting = Sighting(
                ts=when(begin + offset),
                badge=w.badge,
                device=device,
                kind=SightingKind.IR,
                gateway=gateways.get(device),
            )
            if device in door_monitors:
                # their own stream, as their codes (IrModel.detections): the same walks
                own = random.Random(f"door-delivery:{seed}:{w.badge}:{begin:.3f}:{device}")
                deliver(begin + offset, sighting, own)
            else:
                deliver(begin + offset, sighting)
        u = rng.random()
        if u < press_accident + press_real:
            seqs[w.badge] += 1
            presses = 1 if u < press_accident else 3
            pressed = begin + rng.random()
            for k in range(max(1, p.press_resends)):
                event = ButtonEvent(
                    ts=when(pressed), badge=w.badge, seq=seqs[w.badge], presses=presses
                )
                deliver(pressed + 0.5 * k, event)

    # Heartbeats draw nothing from the random stream: the same seed gives the same walks and
    # radio with or without them.
    fixed = sorted((d for d in site.devices.values() if d.heartbeat_s > 0.0), key=lambda d: d.id)
    beats = [(d.heartbeat_s * k / len(fixed), k, d.id, d.heartbeat_s) for k, d in enumerate(fixed)]
    heapq.heapify(beats)

    total = int(minutes * 60)
    truth: list[TruthRow] = []
    for s in range(total + 1):
        now = float(s)
        while beats and beats[0][0] <= now:
            due, k, device, interval = heapq.heappop(beats)
            counter += 1
            heartbeat = Heartbeat(ts=when(due), device=device, gateway=gateways.get(device))
            heapq.heappush(pending, (due + p.heartbeat_delay_s, counter, heartbeat))
            heapq.heappush(beats, (due + interval, k, device, interval))
        truth.clear()
        for w in walkers:
            if s:
                # the second (s - 1, s]: the walker moves, its radios report along the way
                floor, x0, y0 = w.floor, w.x, w.y
                movement.step(w, rng, now)
                origin = (x0, y0) if floor == w.floor else None
                radio(w, now - 1.0, origin)
            hit = index.locate(w.floor, w.x, w.y)
            finest = hit.finest
            truth.append(
                TruthRow(
                    ts=when(now),
                    badge=w.badge,
                    floor=w.floor,
                    unit=facility.unit_of(finest) if finest else None,
                    room=hit.room,
                    bay=hit.bay,
                    zone=hit.room or hit.zone,
                    activity=w.activity,
                    x=round(w.x, 2),
                    y=round(w.y, 2),
                )
            )
        while pending and pending[0][0] <= now:
            at, _, observation = heapq.heappop(pending)
            yield Received(when(at), observation)
        yield from truth
    while pending:
        at, _, observation = heapq.heappop(pending)
        yield Received(when(at), observation)


def record_to_json(record: Record) -> dict[str, Any]:
    """A JSON-ready dict for a record (``type`` is ``sighting``, ``heartbeat``, ``button`` or
    ``truth``)."""
    if isinstance(record, Received):
        o = record.observation
        fields: dict[str, Any]
        if isinstance(o, Sighting):
            kind = "sighting"
            fields = {
                "badge": o.badge,
                "device": o.device,
                "kind": o.kind.value,
                "rssi": o.rssi,
            }
        elif isinstance(o, Heartbeat):
            kind = "heartbeat"
            fields = {"device": o.device}
        else:
            kind = "button"
            fields = {"badge": o.badge, "seq": o.seq, "presses": o.presses, "hold_s": o.hold_s}
        envelope = {"type": kind, "received_at": record.at.isoformat(), "ts": o.ts.isoformat()}
        return {**envelope, **fields, "gateway": o.gateway}
    row: dict[str, Any] = dict(record)
    row["ts"] = record["ts"].isoformat()
    return {"type": "truth", **row}
