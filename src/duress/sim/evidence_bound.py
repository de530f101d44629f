"""The evidence bound: how much room and bay accuracy, and how quick an IR transition, the IR codes
of a simulated shift allow.

IR is the only evidence that names a room or a bay in a layout without BLE devices inside its
rooms (BLE devices in the corridor cannot tell a room from the one opposite). So a second in which
a person is in an IR-covered room, and no IR code of that room has reached the server since they
came in, is a second no causal engine can name that room in except by luck; the same for a bay
and its emitter. :func:`evidence_bound` counts those seconds; one minus their share of the time is
the bound reported beside ``room_accuracy_ir`` and ``bay_accuracy`` of
:mod:`duress.sim.evaluate`. It is not a strict upper bound (a guess, or a place held from long
ago, can be right by luck; a layout with a beacon inside each room gives BLE the means to name a
room, which it does not count), but a measured engine above it would be suspicious.

Definitions, on the simulator's records in their order (every report received by a second comes
before that second's truth row):

- a *stay* in a room (bay) starts when the person enters it from another room (bay), or for the
  first time; time in a corridor or an open zone does not end it (an engine that kept showing the
  room while they stepped out is right when they step back in, without a new code);
- a second of the stay is *known* once a code of the room (bay) was received at or after the
  stay's start minus ``lead_s`` (5 s: truth switches at whole seconds, a code leaked through the
  open door as the wearer came up to it is evidence an engine may act on, and so is one from a
  moment's step into the neighbouring bay); a room's codes are its monitors' and its bays'
  emitters';
- the shares start at each badge's first received report (its first fix cannot come earlier;
  :func:`~duress.sim.evaluate.evaluate` starts at the first fix, so the two cover nearly, not
  exactly, the same seconds); each truth row stands for one second;
- an *IR entry* is a change of the truth's zone into an IR-covered room (each badge's first zone
  excluded), as :func:`~duress.sim.evaluate.evaluate` counts transitions into IR rooms; its delay
  is from the change to the first code of the room received from ``entry_lead_s`` (1 s: the door
  was crossed during the second before the change) before it on, 0 when that code came before
  the change; an entry whose stay ends before any code is *unseen* (the engine's transition would
  be missed too). The p95 of the delays stands beside ``transition_ir_p95_s``. Not strict either:
  an engine that entered on a code leaked through the door earlier, as the wearer came up to it,
  would be in the room before them, wrongly, and quick to it (with codes from ``lead_s`` before
  the change the p95 is lower).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from duress.domain.observations import Sighting
from duress.domain.site import Site
from duress.sim.evaluate import percentile
from duress.sim.scenario import Received, Record

DEFAULT_LEAD_S = 5.0
DEFAULT_ENTRY_LEAD_S = 1.0


@dataclass(frozen=True, slots=True)
class EvidenceBound:
    ir_room_seconds: int
    """Truth seconds in IR-covered rooms (after each badge's first report)."""
    ir_room_unknown_seconds: int
    """Of those, seconds before any code of the room reached the server during the stay."""
    bay_seconds: int
    bay_unknown_seconds: int
    ir_entry_delays: tuple[float, ...] = ()
    """Per IR entry with a code during its stay, seconds from the entry to the first code."""
    ir_entries_unseen: int = 0
    """IR entries whose stay ended before any code of the room arrived."""

    @property
    def transition_ir_p95_s(self) -> float | None:
        """The p95 of the IR entries' delays: how soon the codes let any engine show the room."""
        return percentile(self.ir_entry_delays, 0.95)

    @property
    def room_accuracy_ir(self) -> float | None:
        if not self.ir_room_seconds:
            return None
        return 1.0 - self.ir_room_unknown_seconds / self.ir_room_seconds

    @property
    def bay_accuracy(self) -> float | None:
        if not self.bay_seconds:
            return None
        return 1.0 - self.bay_unknown_seconds / self.bay_seconds

    def as_dict(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {
            "room_accuracy_ir": rounded(self.room_accuracy_ir),
            "bay_accuracy": rounded(self.bay_accuracy),
            "ir_room_seconds": self.ir_room_seconds,
            "ir_room_unknown_seconds": self.ir_room_unknown_seconds,
            "bay_seconds": self.bay_seconds,
            "bay_unknown_seconds": self.bay_unknown_seconds,
            "transition_ir_p95_s": self.transition_ir_p95_s,
            "ir_entries": len(self.ir_entry_delays),
            "ir_entries_unseen": self.ir_entries_unseen,
        }


def ir_areas(site: Site, offline: Collection[str] = ()) -> dict[str, tuple[str, ...]]:
    """Each working IR device's id → the areas its code names: a room monitor its room, a bay
    emitter its bay and the bay's room (the room last). Devices in ``offline`` are left out."""
    areas = site.facility.areas
    names: dict[str, tuple[str, ...]] = {}
    for device in site.devices.values():
        if not device.kind.is_ir or device.area is None or device.area not in areas:
            continue
        if device.id in offline:
            continue
        area = areas[device.area]
        if area.kind.is_bed_level and area.parent:
            names[device.id] = (area.id, area.parent)
        else:
            names[device.id] = (area.id,)
    return names


def evidence_bound(
    site: Site,
    records: Iterable[Record],
    lead_s: float = DEFAULT_LEAD_S,
    entry_lead_s: float = DEFAULT_ENTRY_LEAD_S,
    offline: Collection[str] = (),
) -> EvidenceBound:
    """Count, in ``records`` of a shift on ``site``, the IR-room and bay seconds no code named.

    ``offline``: IR devices that send nothing during the run; their rooms and bays are not IR
    areas here (as in :func:`duress.sim.evaluate.evaluate`)."""
    names = ir_areas(site, offline)
    ir_rooms = {named[-1] for named in names.values()}
    lead = timedelta(seconds=lead_s)
    entry_lead = timedelta(seconds=entry_lead_s)
    heard: dict[str, dict[str, datetime]] = {}
    """badge → area → when a code naming it was last received."""
    stays: dict[tuple[str, str], tuple[str, datetime]] = {}
    """(badge, "room" or "bay") → the area of the current stay and when it started."""
    counts = {"room": [0, 0], "bay": [0, 0]}
    zones: dict[str, str | None] = {}
    """badge → its truth zone (transitions)."""
    waiting: dict[str, tuple[str, datetime]] = {}
    """badge → the IR room it entered and when, while no code of it has arrived."""
    delays: list[float] = []
    unseen = 0
    for record in records:
        if isinstance(record, Received):
            sighting = record.observation
            if isinstance(sighting, Sighting):
                last = heard.setdefault(sighting.badge, {})
                for area_id in names.get(sighting.device, ()):
                    last[area_id] = record.at
                entry = waiting.get(sighting.badge)
                if entry is not None and entry[0] in names.get(sighting.device, ()):
                    delays.append(max(0.0, (record.at - entry[1]).total_seconds()))
                    del waiting[sighting.badge]
            continue
        badge, ts = record["badge"], record["ts"]
        zone = record["zone"]
        if badge not in zones or zones[badge] != zone:
            if badge in zones:  # a change of zone (a badge's first zone is no transition)
                if waiting.pop(badge, None) is not None:
                    unseen += 1
                if zone in ir_rooms:
                    code = heard.get(badge, {}).get(zone)
                    if code is not None and code >= ts - entry_lead:
                        delays.append(max(0.0, (code - ts).total_seconds()))
                    else:
                        waiting[badge] = (zone, ts)
            zones[badge] = zone
        if badge not in heard:
            continue  # before the badge's first report
        for level, place in (("room", record["room"]), ("bay", record["bay"])):
            if place is None:
                continue  # a corridor or an open zone does not end a stay: see the docstring
            stay = stays.get((badge, level))
            if stay is None or stay[0] != place:
                stay = (place, ts)
                stays[(badge, level)] = stay
            if level == "room" and place not in ir_rooms:
                continue
            code = heard[badge].get(place)
            counts[level][0] += 1
            if code is None or code < stay[1] - lead:
                counts[level][1] += 1
    return EvidenceBound(
        ir_room_seconds=counts["room"][0],
        ir_room_unknown_seconds=counts["room"][1],
        bay_seconds=counts["bay"][0],
        bay_unknown_seconds=counts["bay"][1],
        ir_entry_delays=tuple(delays),
        ir_entries_unseen=unseen,
    )
