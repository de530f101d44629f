"""A badge's place as the location engine last reported it, and that place seen at a later time.

The engine can run in a process of its own (``duress.service.location_process``): it then tells
the server, now and then, each badge's place in a small picklable :class:`PlaceReport`. The server
answers "where is this badge now?" from the latest report with :func:`location_at`, which ages it
exactly as the engine would: the confidence halves every ``confidence_half_life_s``, the location
is ``stale`` after ``stale_after_s`` and ``unknown`` (carrying the last known place) after
``unknown_after_s`` without evidence.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from duress.domain.badge_location import Location, unknown
from duress.domain.location_params import LocationParams
from duress.domain.precision import Precision


class PlaceReport(NamedTuple):
    """A located badge's place, with its confidence at the time of the evidence (``as_of``)."""

    floor: str | None
    unit: str | None
    room: str | None
    bay: str | None
    zone: str | None
    precision: Precision
    confidence: float
    """At ``as_of`` (before any ageing)."""
    as_of: float
    """POSIX seconds of the latest evidence."""
    since: float
    """POSIX seconds the badge entered this place."""
    required: Precision | None
    source: str


def report_of(location: Location, params: LocationParams) -> PlaceReport | None:
    """The report of a located badge's ``location`` (None for one that is not located)."""
    if location.as_of is None or location.since is None or location.source == "none":
        return None
    decay = 0.5 ** (location.age_s / params.confidence_half_life_s)
    return PlaceReport(
        floor=location.floor,
        unit=location.unit,
        room=location.room,
        bay=location.bay,
        zone=location.zone,
        precision=location.precision,
        confidence=min(1.0, location.confidence / decay) if decay > 0 else location.confidence,
        as_of=location.as_of.timestamp(),
        since=location.since.timestamp(),
        required=location.required,
        source=location.source,
    )


def age_at(report: PlaceReport, now: float) -> float:
    """Seconds from the report's evidence to ``now`` (POSIX seconds), never negative."""
    return max(0.0, now - report.as_of)


def confidence_at(report: PlaceReport, age: float, params: LocationParams) -> float:
    """The report's confidence ``age`` seconds after its evidence: halved every
    ``confidence_half_life_s``."""
    decay: float = 0.5 ** (age / params.confidence_half_life_s)
    return report.confidence * decay


def location_at(badge: str, report: PlaceReport, now: float, params: LocationParams) -> Location:
    """The badge's location at ``now`` (POSIX seconds) from its latest report: the confidence
    halved every ``confidence_half_life_s``, ``stale`` after ``stale_after_s``, ``unknown`` (with
    this place as the last known) after ``unknown_after_s``. The engine answers with this too."""
    age = age_at(report, now)
    precision = report.precision
    required = report.required
    location = Location(
        badge=badge,
        floor=report.floor,
        unit=report.unit,
        room=report.room,
        bay=report.bay,
        zone=report.zone,
        precision=precision,
        confidence=confidence_at(report, age, params),
        as_of=datetime.fromtimestamp(report.as_of, UTC),
        since=datetime.fromtimestamp(report.since, UTC),
        age_s=age,
        required=required,
        meets_requirement=required is not None and precision.meets(required),
        source=report.source,
        stale=age > params.stale_after_s,
    )
    if age <= params.unknown_after_s:
        return location
    return unknown(badge, last_known=location, age_s=age)
