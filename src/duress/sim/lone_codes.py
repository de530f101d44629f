"""Lone codes: the first code of a room to reach the server after a silence, and who it came to.

An engine that names a room on its first code is in the room about a second sooner at every entry
whose first code comes before the wearer is inside (leaked through the open door as they came up
to it, or decoded inside just before the truth's whole second): :mod:`duress.sim.room_loss` counts
those seconds as ``approach_code``. It would also name the room to everyone else that code reaches.
This module counts both, from the truth, so that the choice can be read in figures: per
badge-hour, how many lone codes came to someone walking in, and how many to someone who did not.

A *lone code* of room R reaches badge B at ``t`` when no code of R had reached B in the
``silence_s`` (10 s) before. By the truth at ``t`` (its newest row at or before ``t``) it is, in
this order:

- ``inside``: B is in R (a first code after the entry, or after a quiet spell in the room);
- ``entering``: B is in R within ``enter_s`` (3 s) after ``t``;
- ``lingering``: B was in R within ``left_s`` (60 s) before ``t`` (someone who left the room and
  stands or walks by its door: an engine that remembers the room it last left can refuse one
  code of it);
- ``passing``: anyone else (walking past an open door, standing in the corridor by it, or coming
  in later than ``enter_s``).

``entering`` codes are what acting on one code buys; ``passing`` codes are what it costs (each a
room shown to someone outside it, most of them a flap). A bay emitter's code names its room as a
room monitor's does; devices in ``offline`` are left out as in :mod:`duress.sim.evaluate`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from duress.domain.observations import Sighting
from duress.domain.site import Site
from duress.sim.evaluate import rows_by_badge
from duress.sim.evidence_bound import ir_areas

KINDS = ("inside", "entering", "lingering", "passing")
DEFAULT_SILENCE_S = 10.0
DEFAULT_ENTER_S = 3.0
DEFAULT_LEFT_S = 60.0


@dataclass(frozen=True, slots=True)
class LoneCodes:
    badge_hours: float
    """Truth time of all badges, in hours (one truth row is one second)."""
    counts: Mapping[str, int]
    """Lone codes per kind (every name of :data:`KINDS`)."""

    def per_badge_hour(self, kind: str) -> float | None:
        if not self.badge_hours:
            return None
        return self.counts[kind] / self.badge_hours

    @property
    def passing_per_entering(self) -> float | None:
        """Lone codes to passers-by for each one to someone walking in: what one code per entry
        would show wrongly for each entry it would show sooner."""
        entering = self.counts["entering"]
        return self.counts["passing"] / entering if entering else None

    def as_dict(self) -> dict[str, Any]:
        def rounded(value: float | None, digits: int = 2) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "badge_hours": round(self.badge_hours, 3),
            "counts": dict(self.counts),
            **{f"{kind}_per_badge_hour": rounded(self.per_badge_hour(kind)) for kind in KINDS},
            "passing_per_entering": rounded(self.passing_per_entering, 3),
        }


def lone_codes(
    site: Site,
    truth_rows: Iterable[Mapping[str, Any]],
    sightings: Iterable[tuple[datetime, Sighting]],
    offline: Collection[str] = (),
    silence_s: float = DEFAULT_SILENCE_S,
    enter_s: float = DEFAULT_ENTER_S,
    left_s: float = DEFAULT_LEFT_S,
) -> LoneCodes:
    """Classify the lone IR codes of ``sightings`` (each with the time it reached the server, in
    any order; :func:`duress.sim.room_loss.received_sightings` picks them out of simulator
    records) by where ``truth_rows`` of the shift on ``site`` placed the wearer."""
    rooms = {device: named[-1] for device, named in ir_areas(site, offline).items()}
    heard: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for at, sighting in sightings:
        room = rooms.get(sighting.device)
        if room is not None:
            heard[sighting.badge].append((at, room))
    truths = rows_by_badge(truth_rows)
    seconds = sum(len(rows) for rows in truths.values())
    counts = dict.fromkeys(KINDS, 0)
    silence = timedelta(seconds=silence_s)
    enter = timedelta(seconds=enter_s)
    left = timedelta(seconds=left_s)
    for badge, codes in heard.items():
        rows = sorted(truths.get(badge, ()), key=lambda r: r["ts"])
        if not rows:
            continue
        times = [row["ts"] for row in rows]
        last: dict[str, datetime] = {}
        for at, room in sorted(codes):
            before = last.get(room)
            last[room] = at
            if before is not None and at - before < silence:
                continue
            now = bisect_right(times, at) - 1
            if now < 0:
                continue  # before the shift's first truth row: nothing to say who it came to
            if rows[now]["room"] == room:
                counts["inside"] += 1
                continue
            ahead = range(now + 1, bisect_right(times, at + enter))
            if any(rows[k]["room"] == room for k in ahead):
                counts["entering"] += 1
            elif any(rows[k]["room"] == room for k in range(bisect_left(times, at - left), now)):
                counts["lingering"] += 1
            else:
                counts["passing"] += 1
    return LoneCodes(badge_hours=seconds / 3600.0, counts=counts)
