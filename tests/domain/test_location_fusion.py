"""IR and BLE together: the BLE exit cue, holding a quiet IR room, and re-entry after an exit
(with the fresh run: only the hits since the exit count)."""

from __future__ import annotations

import math

from tests.sim.site_fixtures import at, ble, feed, ir, two_floor_site

from duress.domain.location import LocationEngine, LocationParams, _Heard
from duress.domain.observations import Sighting
from duress.domain.precision import Precision


def _feed(engine: LocationEngine, start: int, end: int, ir_until: int, near: float) -> None:
    """Each second: IR from room r1 while t < ir_until; corridor beacons at rssi near / -85."""
    for t in range(start, end):
        if t < ir_until:
            engine.observe(ir("b1", "ir-r1", t + 0.2), at(t + 0.3))
        engine.observe(ble("b1", "ble-f1-1", t + 0.5, near), at(t + 0.6))
        engine.observe(ble("b1", "ble-f1-2", t + 0.5, -85.0), at(t + 0.6))


def test_a_quiet_ir_room_is_kept_while_ble_shows_no_change() -> None:
    engine = LocationEngine(two_floor_site())
    _feed(engine, 0, 60, ir_until=5, near=-75.0)  # an IR blind spot from t=5 on
    location = engine.locate("b1", at(60))
    assert location.room == "r1"
    assert location.precision is Precision.ROOM
    assert location.confidence <= 0.7  # less sure than with fresh IR
    assert location.age_s < 2  # the unchanged BLE picture is current evidence


def test_the_quiet_hold_has_a_limit() -> None:
    engine = LocationEngine(two_floor_site(), LocationParams(ir_quiet_max_s=20.0))
    _feed(engine, 0, 40, ir_until=5, near=-75.0)
    assert engine.locate("b1", at(40)).room is None


def test_without_ble_the_ir_hold_ends_after_ir_hold_s() -> None:
    engine = LocationEngine(two_floor_site())
    for t in range(5):
        engine.observe(ir("b1", "ir-r1", t), at(t + 0.1))
    engine.observe(ble("b1", "ble-f1-1", 12, -60.0), at(12.1))
    engine.observe(ble("b1", "ble-f1-1", 13.5, -60.0), at(13.6))
    assert engine.locate("b1", at(14)).zone == "c1"


def test_ble_exit_cue_ends_the_ir_stay_before_the_hold() -> None:
    engine = LocationEngine(two_floor_site())
    _feed(engine, 0, 10, ir_until=10, near=-75.0)
    assert engine.locate("b1", at(10)).room == "r1"
    _feed(engine, 10, 14, ir_until=0, near=-55.0)  # walked out: no IR, corridor beacon 20 dB up
    location = engine.locate("b1", at(14))
    assert location.room is None
    assert location.zone == "c1"  # 4 s after the last IR hit, before ir_hold_s (6 s)


def test_doorway_ir_leaks_after_an_exit_need_more_than_two_hits() -> None:
    engine = LocationEngine(two_floor_site())
    _feed(engine, 0, 10, ir_until=10, near=-75.0)
    _feed(engine, 10, 16, ir_until=0, near=-55.0)
    assert engine.locate("b1", at(16)).zone == "c1"
    # two leaks through the open door, one second apart, while BLE still says "outside"
    engine.observe(ir("b1", "ir-r1", 16.2), at(16.3))
    engine.observe(ir("b1", "ir-r1", 17.2), at(17.3))
    assert engine.locate("b1", at(17.5)).zone == "c1"
    # really walking back in: IR keeps coming (and the BLE picture is the room's again)
    _feed(engine, 18, 20, ir_until=20, near=-75.0)
    assert engine.locate("b1", at(20)).room == "r1"


def test_leaks_to_someone_lingering_outside_the_door_need_many_hits() -> None:
    engine = LocationEngine(two_floor_site())
    _feed(engine, 0, 10, ir_until=10, near=-75.0)
    _feed(engine, 10, 16, ir_until=0, near=-55.0)  # left: BLE says "outside" (change >= 3 dB)
    # four leaks in three seconds: three would do with BLE back to the room's picture
    for t in (16.2, 17.2, 18.2, 19.2):
        engine.observe(ir("b1", "ir-r1", t), at(t + 0.1))
    assert engine.locate("b1", at(19.5)).zone == "c1"
    # IR that keeps coming wins even while BLE lags behind
    for t in (20.2, 21.2, 22.2):
        engine.observe(ir("b1", "ir-r1", t), at(t + 0.1))
    assert engine.locate("b1", at(22.5)).room == "r1"
    # the ablation: the old re-entry score (2.5) only
    old = LocationEngine(two_floor_site(), LocationParams(ir_reenter_out_score=0.0))
    _feed(old, 0, 10, ir_until=10, near=-75.0)
    _feed(old, 10, 16, ir_until=0, near=-55.0)
    for t in (16.2, 17.2, 18.2, 19.2):
        old.observe(ir("b1", "ir-r1", t), at(t + 0.1))
    assert old.locate("b1", at(19.5)).room == "r1"


def _bays(engine: LocationEngine, start: int, end: int, emitter: str | None) -> None:
    """Each second: room r3's monitor, the given bay emitter (None: silent), corridor BLE."""
    for t in range(start, end):
        engine.observe(ir("b1", "ir-r3", t + 0.2), at(t + 0.3))
        if emitter is not None:
            engine.observe(ir("b1", emitter, t + 0.2), at(t + 0.3))
        engine.observe(ble("b1", "ble-f1-2", t + 0.5, -75.0), at(t + 0.6))


def test_a_bay_is_held_while_its_emitter_merely_misses() -> None:
    engine = LocationEngine(two_floor_site())
    _bays(engine, 0, 5, "em-r3-b1")
    assert engine.locate("b1", at(5)).bay == "r3-b1"
    _bays(engine, 5, 30, None)  # the room monitor still sees the badge, the bay emitter not
    location = engine.locate("b1", at(30))
    assert location.bay == "r3-b1"
    assert location.precision is Precision.BED
    dropped = LocationEngine(two_floor_site(), LocationParams(ir_bay_hold_s=0.0))
    _bays(dropped, 0, 5, "em-r3-b1")
    _bays(dropped, 5, 30, None)
    assert dropped.locate("b1", at(30)).bay is None


def test_the_quiet_hold_keeps_the_bay() -> None:
    engine = LocationEngine(two_floor_site())
    _bays(engine, 0, 5, "em-r3-b1")
    for t in range(5, 40):  # an IR blind spot: nothing from the room, BLE unchanged
        engine.observe(ble("b1", "ble-f1-2", t + 0.5, -75.0), at(t + 0.6))
    location = engine.locate("b1", at(40))
    assert location.room == "r3"
    assert location.bay == "r3-b1"


def test_a_lone_reflection_from_the_next_bay_does_not_move_a_held_bay() -> None:
    engine = LocationEngine(two_floor_site())
    _bays(engine, 0, 5, "em-r3-b1")
    _bays(engine, 5, 15, None)
    engine.observe(ir("b1", "em-r3-b2", 15.2), at(15.3))  # one reflection
    _bays(engine, 16, 20, None)
    assert engine.locate("b1", at(20)).bay == "r3-b1"
    _bays(engine, 20, 23, "em-r3-b2")  # really moved: the other emitter keeps seeing the badge
    assert engine.locate("b1", at(23)).bay == "r3-b2"


def test_ble_median_of_three_ignores_one_burst() -> None:
    engine = LocationEngine(two_floor_site())
    for t, rssi in enumerate((-60.0, -61.0, -95.0, -60.0)):
        engine.observe(ble("b1", "ble-f1-1", t, rssi), at(t + 0.1))
    assert engine._tracks["b1"].filtered("ble-f1-1") == -61.0  # median of -61, -95, -60


def test_heard_devices_keep_the_order_first_heard_when_some_fall_out_of_the_window() -> None:
    # the estimate breaks RSSI ties by this order: a device heard again goes last, as before
    engine = LocationEngine(two_floor_site())
    dev = next(iter(engine._devices.values()))
    heard = _Heard()
    for i in range(30):
        heard.add_device(f"d{i}", dev, float(i), -60.0 - i)
    heard.drop_devices_older(3.0)  # d0, d1, d2 out
    heard.add_device("d1", dev, 40.0, -50.0)
    assert heard.filtered("d0") is None
    assert heard.filtered("d1") == -50.0
    heard.drop_devices_older(25.0)  # most slots dead now: the arrays are compacted
    assert len(heard.ids) == len(heard.slot) == 6

    def live() -> list[str]:
        return [d for d, ts in zip(heard.ids, heard.newest(), strict=True) if ts > -math.inf]

    assert live() == ["d25", "d26", "d27", "d28", "d29", "d1"]
    assert [heard.filtered(d) for d in live()] == [-85.0, -86.0, -87.0, -88.0, -89.0, -50.0]


def test_a_room_just_left_needs_three_hits_even_when_ble_shows_no_change() -> None:
    engine = LocationEngine(two_floor_site())
    _feed(engine, 0, 10, ir_until=10, near=-75.0)
    # the IR hold expires with the BLE picture unchanged but the quiet hold limited to 0 s: left
    engine.params = LocationParams(ir_quiet_max_s=0.0)
    _feed(engine, 10, 18, ir_until=0, near=-75.0)
    assert engine.locate("b1", at(18)).room is None
    engine.observe(ir("b1", "ir-r1", 18.2), at(18.3))
    engine.observe(ir("b1", "ir-r1", 19.2), at(19.3))
    assert engine.locate("b1", at(19.5)).room is None
    cue = LocationEngine(two_floor_site(), LocationParams(ir_reenter_needs_ble_cue=True))
    _feed(cue, 0, 10, ir_until=10, near=-75.0)
    cue.params = LocationParams(ir_quiet_max_s=0.0, ir_reenter_needs_ble_cue=True)
    _feed(cue, 10, 18, ir_until=0, near=-75.0)
    cue.observe(ir("b1", "ir-r1", 18.2), at(18.3))
    cue.observe(ir("b1", "ir-r1", 19.2), at(19.3))
    assert cue.locate("b1", at(19.5)).room == "r1"


def test_a_blind_spot_reached_right_after_entry_keeps_the_room() -> None:
    # two IR hits while walking in, then an IR blind spot: one fingerprint sample is enough
    engine = LocationEngine(two_floor_site())
    _feed(engine, 0, 30, ir_until=2, near=-75.0)
    location = engine.locate("b1", at(30))
    assert location.room == "r1"
    assert location.precision is Precision.ROOM


# Fresh run: after the exit cue only the hits since the exit count toward going back in.


def _stay_exit_and_two_leaks(engine: LocationEngine) -> str | None:
    """Ten seconds in r1, out through the door (the exit cue), then two IR leaks through the open
    door while lingering: the zone shown after them."""
    _feed(engine, 0, 10, ir_until=10, near=-75.0)
    _feed(engine, 10, 12, ir_until=0, near=-55.0)
    assert engine.locate("b1", at(12)).zone == "c1"  # the exit cue ended the stay
    for t in (12.0, 12.8):
        engine.observe(ir("b1", "ir-r1", t), at(t + 0.1))
    return engine.locate("b1", at(13.5)).zone


def test_leaks_after_the_exit_cue_do_not_add_to_the_stays_own_hits() -> None:
    assert _stay_exit_and_two_leaks(LocationEngine(two_floor_site())) == "c1"


def test_walking_back_in_is_still_detected() -> None:
    engine = LocationEngine(two_floor_site())
    _stay_exit_and_two_leaks(engine)
    _feed(engine, 14, 20, ir_until=20, near=-75.0)  # IR keeps coming: really back inside
    assert engine.locate("b1", at(20)).room == "r1"


def test_without_the_fresh_run_the_stays_hits_re_enter_at_the_leaks() -> None:
    # the rule before: the score built up during the stay, plus two leaks, re-entered the room
    engine = LocationEngine(two_floor_site(), LocationParams(ir_exit_fresh_run=False))
    assert _stay_exit_and_two_leaks(engine) == "r1"


def test_a_fingerprint_of_one_sample_needs_a_larger_change_to_mean_walked_out() -> None:
    def scans(start: int, end: int, offset: float) -> list[Sighting]:
        out = []
        for t in range(start, end):
            for i, x in enumerate((5, 15, 25, 35, 45, 55), start=1):
                d = max(1.0, abs(x - 9))
                rssi = round(-59 - 25 * math.log10(d) + offset, 1)
                out.append(ble("b1", f"ble-f1-{i}", t + 0.1 * i, rssi))
        return out

    def room_after(one_sample_db: float) -> str | None:
        # one sample only: the fingerprint learns at the entry and not after (ir_ref_fresh_s)
        params = LocationParams(
            ir_ref_fresh_s=0.05, ir_exit_db_one_sample=one_sample_db, ir_one_hit_m=2.0
        )
        engine = LocationEngine(two_floor_site(), params)
        feed(engine, scans(0, 20, 0.0))  # in the corridor just outside r2
        feed(engine, [ir("b1", "ir-r2", 20.65)])  # one code: in r2 (BLE agrees)
        assert engine.locate("b1", at(20.7)).room == "r2"
        feed(engine, scans(21, 40, 7.5))  # no more codes; the picture 7.5 dB louder
        return engine.locate("b1", at(40)).room

    assert room_after(LocationParams().ir_exit_db_one_sample) == "r2"  # 9 dB: kept (quiet hold)
    assert room_after(6.0) is None  # the exit cue of a mature fingerprint: left


def test_a_confirmed_room_gone_quiet_needs_a_larger_change_to_end() -> None:
    # IR for 15 s (a walk in and a dwell), then an IR blind spot: the BLE picture unchanged for
    # 10 s (the room is in the quiet hold), then 7.5 dB louder, as a burst or the body can make it
    def room_after(params: LocationParams, ir_until: int = 15) -> str | None:
        engine = LocationEngine(two_floor_site(), params)
        _feed(engine, 0, 15, ir_until=ir_until, near=-75.0)
        _feed(engine, 15, 25, ir_until=0, near=-75.0)
        assert engine.locate("b1", at(25)).room == "r1"
        _feed(engine, 25, 40, ir_until=0, near=-60.0)
        return engine.locate("b1", at(40)).room

    assert room_after(LocationParams()) == "r1"  # 7.5 dB < ir_quiet_exit_db: kept
    assert room_after(LocationParams(ir_quiet_exit_db=0.0)) is None  # the ordinary 6 dB cue
    assert room_after(LocationParams(ir_quiet_exit_db=7.0)) is None
    # codes over less than ir_quiet_confirmed_s: not confirmed, the ordinary cue ends it
    assert room_after(LocationParams(), ir_until=4) is None


def test_a_confirmed_room_is_left_at_once_when_the_walk_out_is_seen() -> None:
    # the walk to the door is in view: IR is fresh again, and the ordinary exit cue applies
    engine = LocationEngine(two_floor_site())
    _feed(engine, 0, 15, ir_until=15, near=-75.0)
    _feed(engine, 15, 30, ir_until=0, near=-75.0)  # quiet hold
    _feed(engine, 30, 33, ir_until=33, near=-75.0)  # walking to the door, seen
    _feed(engine, 33, 37, ir_until=0, near=-55.0)  # out: no IR, corridor beacon 20 dB up
    location = engine.locate("b1", at(37))
    assert location.room is None
    assert location.zone == "c1"
