"""The location engine on a hand-built two-floor site, with fake time only."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.sim.site_fixtures import at, ble, feed, ir, two_floor_site

from duress.domain.events import BadgeMoved
from duress.domain.location import (
    LocationEngine,
    LocationParams,
    RejectReason,
    epoch_seconds,
)
from duress.domain.observations import Sighting, SightingKind
from duress.domain.precision import Precision


@pytest.fixture
def engine() -> LocationEngine:
    return LocationEngine(two_floor_site())


def corridor_ble(badge: str, start: float, end: float, near: float = 15) -> list[Sighting]:
    """A badge standing in corridor c1 near x=``near``: the nearby beacons every second."""
    out = []
    for t in range(int(start), int(end)):
        for i, x in enumerate((5, 15, 25, 35, 45, 55), start=1):
            d = max(1.0, abs(x - near))
            out.append(ble(badge, f"ble-f1-{i}", t + 0.1 * i, round(-59 - 25 * math.log10(d), 1)))
    return out


def test_ir_in_a_room_locates_the_room_with_high_confidence(engine: LocationEngine) -> None:
    moved = feed(engine, [ir("b1", "ir-r1", 0), ir("b1", "ir-r1", 1)])
    assert len(moved) == 1  # the first hit gives the first fix; the second confirms it
    loc = engine.locate("b1", at(1))
    assert (loc.floor, loc.unit, loc.room, loc.zone, loc.bay) == ("f1", "u1", "r1", "r1", None)
    assert loc.precision is Precision.ROOM
    assert loc.confidence >= 0.9
    assert loc.required is Precision.ROOM
    assert loc.meets_requirement
    assert loc.source == "ir"
    assert not loc.stale
    assert loc.as_of == at(1)
    assert loc.since == at(0)


def test_bay_emitter_gives_bed_precision(engine: LocationEngine) -> None:
    feed(engine, [ir("b1", "ir-r3", 0), ir("b1", "em-r3-b2", 0.2), ir("b1", "ir-r3", 1)])
    loc = engine.locate("b1", at(1))
    assert (loc.room, loc.bay, loc.zone) == ("r3", "r3-b2", "r3")
    assert loc.precision is Precision.BED
    assert loc.area == "r3-b2"


def test_ble_only_gives_a_zone_and_shows_the_shortfall(engine: LocationEngine) -> None:
    feed(engine, corridor_ble("b1", 0, 6, near=15))
    loc = engine.locate("b1", at(6))
    assert loc.zone == "c1"
    assert loc.room is None
    assert loc.bay is None
    assert loc.precision is Precision.ZONE
    assert loc.source == "ble"
    assert 0 < loc.confidence <= 0.7
    assert loc.required is Precision.ROOM
    assert loc.meets_requirement is False


def test_ble_in_a_room_without_ir_names_the_room_as_zone(engine: LocationEngine) -> None:
    sightings = []
    for t in range(6):
        sightings.append(ble("b1", "ble-r4", t, -62))
        sightings.append(ble("b1", "ble-f1-5", t + 0.3, -80))
    feed(engine, sightings)
    loc = engine.locate("b1", at(6))
    assert (loc.zone, loc.room, loc.precision) == ("r4", None, Precision.ZONE)


def test_doorway_lingering_with_ir_leaks_does_not_flap(engine: LocationEngine) -> None:
    # in room r1 until t=5, then lingering in its doorway (corridor side) for 85 s
    sightings = [ir("b1", "ir-r1", t) for t in range(5)] + corridor_ble("b1", 5, 90, near=3)
    # IR leaks from r1 through the open door, even two a second apart: not a re-entry
    leaks = (15, 20, 21, 27, 40, 52, 53, 61, 75)
    sightings += [ir("b1", "ir-r1", t + 0.5) for t in leaks]
    sightings.sort(key=lambda s: s.ts)
    moved = feed(engine, sightings)
    assert [m.zone for m in moved] == ["r1", "c1"]


ONE_HIT = LocationParams(ir_one_hit_m=2.0)
"""One IR hit enters a room when BLE agrees (a site's choice; the default until 2026-11-30)."""


def test_one_ir_hit_enters_a_room_when_ble_agrees_and_the_site_asks_for_it() -> None:
    engine = LocationEngine(two_floor_site(), ONE_HIT)
    sightings = corridor_ble("b1", 0, 20, near=9)  # in the corridor, just outside r2
    moved = feed(engine, [*sightings, ir("b1", "ir-r2", 20.2)])
    assert moved[-1].room == "r2"
    assert moved[-1].as_of == at(20.2)


def test_one_ir_hit_is_not_enough_without_ble_agreement() -> None:
    # the BLE estimate is far down the corridor: a lone hit from r2 is not trusted
    engine = LocationEngine(two_floor_site(), ONE_HIT)
    assert (
        feed(engine, [*corridor_ble("b1", 0, 20, near=50), ir("b1", "ir-r2", 20.2)])[-1].zone
        == "c2"
    )
    assert engine.locate("b1", at(20.3)).zone == "c2"
    # the default: two hits, as for any IR entry
    off = LocationEngine(two_floor_site())
    feed(off, [*corridor_ble("b1", 0, 20, near=9), ir("b1", "ir-r2", 20.2)])
    assert off.locate("b1", at(20.3)).room is None
    feed(off, [ir("b1", "ir-r2", 21.2)])
    assert off.locate("b1", at(21.3)).room == "r2"


# The weighted-centroid rule (ble_grid off): margin, sustain, the deep challenger, the motion cue.
CENTROID = LocationParams(ble_grid=False)


def test_a_deep_ble_challenger_needs_less_sustain() -> None:
    p = CENTROID
    walk = corridor_ble("b1", 0, 20, near=10) + corridor_ble("b1", 20, 40, near=50)
    deep = feed(LocationEngine(two_floor_site(), p), walk)
    full = feed(LocationEngine(two_floor_site(), replace(p, ble_deep_m=math.inf)), walk)
    assert [m.zone for m in deep] == [m.zone for m in full] == ["c1", "c2"]
    assert deep[-1].as_of is not None
    assert full[-1].as_of is not None
    # at least one estimate period earlier (1.5 s of sustain vs 3 s; estimates once a second)
    assert (full[-1].as_of - deep[-1].as_of).total_seconds() >= p.ble_update_s


def walking_ble(badge: str, start: float, x0: float, speed: float, seconds: int) -> list[Sighting]:
    """A badge walking along corridor c1/c2 from ``x0`` at ``speed`` m/s: beacons each second."""
    out = []
    for k in range(seconds):
        t = start + k
        x = x0 + speed * k
        for i, bx in enumerate((5, 15, 25, 35, 45, 55), start=1):
            d = max(1.0, math.hypot(bx - x, 0.5))
            out.append(ble(badge, f"ble-f1-{i}", t + 0.1 * i, round(-59 - 25 * math.log10(d), 1)))
    return out


def test_walking_away_changes_zone_sooner_than_the_sustain() -> None:
    walk = corridor_ble("b1", 0, 10, near=20) + walking_ble("b1", 10, 20.0, 1.3, 20)
    cue = feed(LocationEngine(two_floor_site(), CENTROID), walk)
    still = feed(LocationEngine(two_floor_site(), replace(CENTROID, ble_walk_estimates=0)), walk)
    assert [m.zone for m in cue] == [m.zone for m in still] == ["c1", "c2"]
    assert cue[-1].as_of is not None
    assert still[-1].as_of is not None
    assert cue[-1].as_of < still[-1].as_of  # no sustain: the estimates kept moving out of c1


def test_a_slow_drift_is_not_walking() -> None:
    # a standing badge whose estimate drifts (0.3 m/s, a slow RSSI change) gets the full sustain
    drift = corridor_ble("b1", 0, 10, near=24) + walking_ble("b1", 10, 24.0, 0.3, 40)
    cue = feed(LocationEngine(two_floor_site(), CENTROID), drift)
    still = feed(LocationEngine(two_floor_site(), replace(CENTROID, ble_walk_estimates=0)), drift)
    assert [(m.zone, m.as_of) for m in cue] == [(m.zone, m.as_of) for m in still]


def test_ble_estimate_wobbling_across_a_zone_boundary_does_not_flap(engine: LocationEngine) -> None:
    sightings = []
    for t in range(120):
        lead = 1.2 if (t // 5) % 2 else -1.2  # centroid at x ≈ 30.6 or 29.4
        sightings.append(ble("b1", "ble-f1-3", t, -75 - lead / 2))
        sightings.append(ble("b1", "ble-f1-4", t + 0.5, -75 + lead / 2))
    moved = feed(engine, sightings)
    assert len(moved) == 1


def test_walking_into_a_room_is_detected_within_two_hits(engine: LocationEngine) -> None:
    sightings = corridor_ble("b1", 0, 20, near=9)
    sightings += [ir("b1", "ir-r2", t) for t in (20.0, 21.0, 22.0, 23.0)]
    moved = feed(engine, sightings)
    assert moved[-1].room == "r2"
    assert moved[-1].as_of is not None
    assert moved[-1].as_of <= at(21.0)
    assert moved[-1].since == at(20.0)


def test_walking_down_the_corridor_changes_zone_within_the_sustain_time(
    engine: LocationEngine,
) -> None:
    p = engine.params
    moved = feed(engine, corridor_ble("b1", 0, 20, near=10) + corridor_ble("b1", 20, 40, near=50))
    assert [m.zone for m in moved] == ["c1", "c2"]
    delay = (moved[-1].as_of - at(20)).total_seconds()  # type: ignore[operator]
    assert delay <= p.ble_window_s / 2 + p.ble_sustain_s + 2 * p.ble_update_s


def test_leaving_a_room_falls_back_to_ble_after_the_ir_hold(engine: LocationEngine) -> None:
    p = engine.params
    sightings = [ir("b1", "ir-r1", t) for t in range(10)] + corridor_ble("b1", 10, 30, near=3)
    moved = feed(engine, sightings)
    assert [m.zone for m in moved] == ["r1", "c1"]
    assert moved[-1].as_of is not None
    assert (moved[-1].as_of - at(9)).total_seconds() <= p.ir_hold_s + 2 * p.ble_update_s


def test_stale_evidence_ages_then_turns_unknown(engine: LocationEngine) -> None:
    p = engine.params
    feed(engine, [ir("b1", "ir-r1", 0), ir("b1", "ir-r1", 1)])
    fresh = engine.locate("b1", at(5))
    assert fresh.age_s == pytest.approx(4)
    assert not fresh.stale
    old = engine.locate("b1", at(1 + p.stale_after_s + 1))
    assert old.stale
    assert old.room == "r1"
    assert old.confidence < fresh.confidence
    assert engine.expire(at(60)) == []
    gone = engine.locate("b1", at(1 + p.unknown_after_s + 1))
    assert gone.precision is Precision.UNKNOWN
    assert gone.room is None
    assert gone.floor is None
    assert gone.last_known is not None
    assert gone.last_known.room == "r1"
    assert gone.as_of == at(1)
    expired = engine.expire(at(1 + p.unknown_after_s + 1))
    assert [e.badge for e in expired] == ["b1"]
    assert engine.expire(at(1 + p.unknown_after_s + 2)) == []  # reported once
    feed(engine, [ir("b1", "ir-r2", 200), ir("b1", "ir-r2", 201)])
    assert engine.locate("b1", at(201)).room == "r2"


def test_teleport_across_floors_is_held_back(engine: LocationEngine) -> None:
    p = engine.params
    feed(engine, [ir("b1", "ir-r1", 0), ir("b1", "ir-r1", 1)])
    assert feed(engine, [ir("b1", "ir-r21", 2), ir("b1", "ir-r21", 3)]) == []
    assert engine.locate("b1", at(3)).room == "r1"
    assert engine.rejections[RejectReason.IMPLAUSIBLE_MOVE] >= 1
    moved = feed(engine, [ir("b1", "ir-r21", t) for t in range(4, 12)])
    assert [m.room for m in moved] == ["r21"]
    assert moved[0].as_of is not None
    assert (moved[0].as_of - at(1)).total_seconds() >= p.floor_change_s_per_level


def test_fresh_ir_wins_over_ble(engine: LocationEngine) -> None:
    sightings = [ir("b1", "ir-r2", t) for t in range(0, 30, 2)] + corridor_ble("b1", 0, 30, 50)
    sightings.sort(key=lambda s: s.ts)
    moved = feed(engine, sightings)
    assert [m.zone for m in moved] == ["r2"]


def test_moved_event_carries_the_location(engine: LocationEngine) -> None:
    (loc,) = feed(engine, [ir("b1", "ir-r3", 0), ir("b1", "em-r3-b1", 0.1)])[-1:]
    event = loc.moved_event()
    assert isinstance(event, BadgeMoved)
    assert (event.badge, event.area, event.floor, event.unit) == ("b1", "r3-b1", "f1", "u1")
    assert event.precision == loc.precision.value
    assert event.ts == loc.as_of
    assert event.since == loc.since
    assert event.to_record().subject.id == "b1"
    assert engine.observe_move(ir("b1", "ir-r3", 0.5), at(0.5)) is None


def test_snapshot_is_json_ready(engine: LocationEngine) -> None:
    feed(engine, [ir("b1", "ir-r1", 0)])
    snap = engine.snapshot(at(2))
    assert snap["b1"]["area"] == "r1"
    assert snap["b1"]["precision"] == "room"
    assert snap["b1"]["as_of"] == at(0).isoformat()


def test_unknown_badge_is_never_located(engine: LocationEngine) -> None:
    assert engine.locate("nobody", at(0)).precision is Precision.UNKNOWN
    feed(engine, [ir("nobody", "ir-r1", 0)])
    assert engine.locate("nobody", at(0)).precision is Precision.UNKNOWN
    assert list(engine.locations(at(0))) == []


def test_unregistered_badges_can_be_accepted() -> None:
    engine = LocationEngine(two_floor_site(), LocationParams(accept_unregistered_badges=True))
    feed(engine, [ir("visitor", "ir-r1", 0)])
    assert engine.locate("visitor", at(0)).room == "r1"


NAIVE = datetime(2025, 3, 3, 8, 0)


@pytest.mark.parametrize(
    ("sighting", "now", "reason"),
    [
        (ir("ghost", "ir-r1", 0), 0, RejectReason.UNKNOWN_BADGE),
        (ir("b1", "ir-mars", 0), 0, RejectReason.UNKNOWN_DEVICE),
        (ir("b1", "gw1", 0), 0, RejectReason.NOT_A_LOCATOR),
        (ir("b1", "ir-nowhere", 0), 0, RejectReason.NOT_A_LOCATOR),
        (ir("b1", "ble-f1-1", 0), 0, RejectReason.KIND_MISMATCH),
        (ble("b1", "ir-r1", 0, -60), 0, RejectReason.KIND_MISMATCH),
        (Sighting(NAIVE, "b1", "ir-r1", SightingKind.IR), 0, RejectReason.NAIVE_TIMESTAMP),
        (ir("b1", "ir-r1", 60), 0, RejectReason.FUTURE),
        (ir("b1", "ir-r1", 0), 600, RejectReason.LATE),
        (Sighting(at(0), "b1", "ble-f1-1", SightingKind.BLE), 0, RejectReason.MISSING_RSSI),
        (ble("b1", "ble-f1-1", 0, -130), 0, RejectReason.RSSI_OUT_OF_RANGE),
        (ble("b1", "ble-f1-1", 0, 5), 0, RejectReason.RSSI_OUT_OF_RANGE),
        (ble("b1", "ble-f1-1", 0, math.nan), 0, RejectReason.RSSI_OUT_OF_RANGE),
        (ble("b1", "ble-f1-1", 0, -math.inf), 0, RejectReason.RSSI_OUT_OF_RANGE),
    ],
)
def test_each_bad_input_is_counted_and_locates_nobody(
    engine: LocationEngine, sighting: Sighting, now: float, reason: RejectReason
) -> None:
    assert engine.observe(sighting, at(now)) is None
    assert engine.rejections[reason] == 1
    assert engine.rejections.total == 1
    assert engine.locate(sighting.badge, at(now)).precision is Precision.UNKNOWN


def test_out_of_order_and_duplicates_are_counted(engine: LocationEngine) -> None:
    feed(engine, [ir("b1", "ir-r1", 10)])
    assert engine.observe(ir("b1", "ir-r1", 10), at(10)) is None
    assert engine.rejections[RejectReason.DUPLICATE] == 1
    assert engine.observe(ir("b1", "ir-r2", 5), at(10)) is None
    assert engine.rejections[RejectReason.OUT_OF_ORDER] == 1
    # slightly out of order (within the tolerance) is accepted
    engine.observe(ir("b1", "ir-r1", 9.5), at(10))
    assert engine.rejections.total == 2
    assert engine.rejections.as_dict()["duplicate"] == 1
    assert engine.locate("b1", at(10)).room == "r1"


_ZONES = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60)
)


@given(st.datetimes(timezones=st.just(UTC) | _ZONES))
def test_epoch_seconds_is_timestamp_for_every_aware_datetime(dt: datetime) -> None:
    assert epoch_seconds(dt) == dt.timestamp()


@given(st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2200, 1, 1)))
def test_epoch_seconds_of_a_naive_datetime_is_its_timestamp(dt: datetime) -> None:
    assert epoch_seconds(dt) == dt.timestamp()  # local time, as datetime.timestamp has it


def test_a_top_k_of_zero_uses_every_device_heard() -> None:
    walk = [
        s for near in (5, 15, 25, 35, 45) for s in corridor_ble("b1", near / 5, near / 5 + 2, near)
    ]
    walk.sort(key=lambda s: s.ts)
    every = LocationEngine(two_floor_site(), replace(CENTROID, ble_top_k=0))
    six = LocationEngine(two_floor_site(), replace(CENTROID, ble_top_k=6))  # the site's six beacons
    assert [every.observe(s, s.ts) for s in walk] == [six.observe(s, s.ts) for s in walk]
    assert every.locate("b1", at(11)) == six.locate("b1", at(11))


def test_an_ir_code_overrules_a_ble_place_on_another_floor_at_once() -> None:
    # heard through the ceiling: the first BLE fix puts the badge on floor 2's corridor
    scans = [ble("b1", "ble-f2-2", t + 0.5, -60.0) for t in range(3)]
    engine = LocationEngine(two_floor_site())
    feed(engine, scans)
    assert engine.locate("b1", at(3)).floor == "f2"
    # IR codes of r1 on floor 1: IR does not cross floors, so the badge is there now
    codes = [ir("b1", "ir-r1", 3.2), ir("b1", "ir-r1", 4.0)]
    feed(engine, codes)
    assert engine.locate("b1", at(4.1)).room == "r1"
    # turned off: the BLE place holds the move back as any other, floor_change_s_per_level
    off = LocationEngine(two_floor_site(), LocationParams(ir_overrules_ble_floor=False))
    feed(off, [*scans, *codes])
    assert off.locate("b1", at(4.1)).floor == "f2"
    assert off.rejections[RejectReason.IMPLAUSIBLE_MOVE] >= 1
