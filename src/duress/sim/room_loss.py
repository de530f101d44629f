"""Where an engine's wrong seconds in IR rooms went: the evidence's share, and the engine's own.

``room_accuracy_ir`` of :mod:`duress.sim.evaluate` says how often the room shown was right; this
module says why it was not, so that a figure under its goal can be read as "the codes did not
allow more" or "the engine could do better". Each truth second in an IR-covered room, from the
badge's first fix on (as ``evaluate`` scores it), in which the location names another room or none,
falls in exactly one class, tried in this order:

- ``no_code``: no code of the room had reached the server since the wearer came in (a *stay* and
  its start as in :mod:`duress.sim.evidence_bound`: a corridor does not end it), codes up to
  ``lead_s`` before the stay included. These are the evidence bound's seconds: no causal engine
  names the room then except by luck;
- ``approach_code``: the only codes of the room came before the stay started (leaked through the
  open door as the wearer came up to it, within ``lead_s``): an engine acting on them would act on
  every door leak to a passer-by;
- ``other_room``: a code of the room had arrived during the stay and the location names another
  room;
- ``entry_wait``: a code of the room had arrived during the stay, and the room has not been shown
  since the stay started (the engine waits for a second code, or for BLE to agree);
- ``dropped``: the room was shown during the stay and is not now: a corridor, an open zone or
  unknown (an exit cue that came too early, a quiet hold that ended, a step out and back in not
  yet accepted).

The first two are the evidence's loss, the last three the engine's. Their sum is
``1 - room_accuracy_ir`` up to the seconds ``evaluate`` weighs differently (each truth row is one
second here).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from duress.domain.observations import Sighting
from duress.domain.precision import Precision
from duress.domain.site import Site
from duress.sim.evaluate import rows_by_badge
from duress.sim.evidence_bound import DEFAULT_LEAD_S, ir_areas
from duress.sim.scenario import Received, Record

EVIDENCE_CLASSES = ("no_code", "approach_code")
ENGINE_CLASSES = ("other_room", "entry_wait", "dropped")
CLASSES = EVIDENCE_CLASSES + ENGINE_CLASSES


@dataclass(frozen=True, slots=True)
class RoomLoss:
    ir_room_seconds: int
    """Truth seconds in IR-covered rooms from each badge's first fix."""
    wrong: Mapping[str, int]
    """Wrong seconds per class (every name of :data:`CLASSES`)."""

    def share(self, name: str) -> float | None:
        """``name``'s wrong seconds as a share of the IR-room seconds."""
        if not self.ir_room_seconds:
            return None
        return self.wrong[name] / self.ir_room_seconds

    @property
    def evidence_share(self) -> float | None:
        """The share of IR-room seconds the codes did not allow (``no_code``, ``approach_code``)."""
        if not self.ir_room_seconds:
            return None
        return sum(self.wrong[name] for name in EVIDENCE_CLASSES) / self.ir_room_seconds

    @property
    def engine_share(self) -> float | None:
        """The share the engine lost with a code of the room in hand."""
        if not self.ir_room_seconds:
            return None
        return sum(self.wrong[name] for name in ENGINE_CLASSES) / self.ir_room_seconds

    def as_dict(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 5)

        return {
            "ir_room_seconds": self.ir_room_seconds,
            "wrong_seconds": dict(self.wrong),
            "evidence_share": rounded(self.evidence_share),
            "engine_share": rounded(self.engine_share),
            **{f"{name}_share": rounded(self.share(name)) for name in CLASSES},
        }


def received_sightings(records: Iterable[Record]) -> list[tuple[datetime, Sighting]]:
    """The sightings of simulator ``records`` with the time each reached the server."""
    return [
        (record.at, record.observation)
        for record in records
        if isinstance(record, Received) and isinstance(record.observation, Sighting)
    ]


def room_loss(
    site: Site,
    truth_rows: Iterable[Mapping[str, Any]],
    location_rows: Iterable[Mapping[str, Any]],
    sightings: Iterable[tuple[datetime, Sighting]],
    lead_s: float = DEFAULT_LEAD_S,
    offline: Collection[str] = (),
) -> RoomLoss:
    """Classify the wrong seconds in IR rooms of ``location_rows`` (an engine's replay of
    ``sightings``, each with the time it reached the server, against ``truth_rows`` of a shift on
    ``site``); ``offline`` as in :func:`duress.sim.evaluate.evaluate`. The sightings may come in
    any order; from simulator records, :func:`received_sightings` picks them out."""
    names = {device: named[-1] for device, named in ir_areas(site, offline).items()}
    """An IR device's id → the room its code names."""
    ir_rooms = set(names.values())
    codes: dict[str, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    """badge → room → when its codes were received, in order."""
    for at, sighting in sightings:
        if sighting.device in names:
            codes[sighting.badge][names[sighting.device]].append(at)
    for rooms in codes.values():
        for times in rooms.values():
            times.sort()
    truths = rows_by_badge(truth_rows)
    locations = rows_by_badge(location_rows)
    lead = timedelta(seconds=lead_s)
    wrong = dict.fromkeys(CLASSES, 0)
    seconds = 0
    for badge, rows in truths.items():
        locs = sorted(locations.get(badge, ()), key=lambda r: r["ts"])
        fix = next((r["ts"] for r in locs if r["precision"] != Precision.UNKNOWN.value), None)
        if fix is None:
            continue  # never fixed: evaluate scores it by the time to first fix
        heard = codes.get(badge, {})
        i = 0
        current: Mapping[str, Any] | None = None
        stay: str | None = None
        start = fix
        shown = False
        for truth in sorted(rows, key=lambda r: r["ts"]):
            ts = truth["ts"]
            while i < len(locs) and locs[i]["ts"] <= ts:
                current = locs[i]
                i += 1
            room = truth["room"]
            if room is not None and room != stay:
                stay, start, shown = room, ts, False
            if room is None or ts < fix or room not in ir_rooms:
                continue
            seconds += 1
            located = current is not None and current["precision"] != Precision.UNKNOWN.value
            showing = current["room"] if located and current is not None else None
            if showing == room:
                shown = True
                continue
            times = heard.get(room, [])
            k = bisect_right(times, ts)
            last = times[k - 1] if k else None
            if last is None or last < start - lead:
                wrong["no_code"] += 1
            elif last < start:
                wrong["approach_code"] += 1
            elif showing is not None:
                wrong["other_room"] += 1
            elif not shown:
                wrong["entry_wait"] += 1
            else:
                wrong["dropped"] += 1
    return RoomLoss(ir_room_seconds=seconds, wrong=wrong)
