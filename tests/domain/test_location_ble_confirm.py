"""One IR code confirms the room BLE already places the badge in (docs/location.md, rule 6):
BLE's grid filter can name an IR room at zone precision, where the IR rules for entering it (two
hits, or three after just leaving it) would wait for codes that an IR blind spot may not send
for minutes."""

from __future__ import annotations

from dataclasses import replace

from tests.sim.site_fixtures import TX, at, ble, ir, two_floor_site

from duress.domain.devices import Device, DeviceKind
from duress.domain.location import LocationEngine
from duress.domain.location_params import LocationParams
from duress.domain.precision import Precision
from duress.domain.site import Site
from duress.sim.layout import build_hospital
from duress.sim.radio import BleModel, RadioParams


def _site() -> Site:
    """The two-floor site with a BLE beacon in IR room r1 (x 0-6, y 4-10): BLE can tell r1."""
    site = two_floor_site()
    beacon = Device("ble-r1", DeviceKind.BLE_BEACON, "f1", 900.0, position=(3, 7), tx_power=TX)
    return replace(site, devices={**site.devices, beacon.id: beacon})


def _engine(ir_ble_inside_one_hit: bool = True) -> LocationEngine:
    # no beacon entry (rule 5): BLE alone places the badge in r1 at zone precision
    params = LocationParams(ir_beacon_entry=False, ir_ble_inside_one_hit=ir_ble_inside_one_hit)
    return LocationEngine(_site(), params)


def _scan(engine: LocationEngine, t: float, corridor: float, room: float) -> None:
    """One BLE scan at ``t``: corridor beacon ble-f1-1 (x 5, by r1's door) and r1's beacon."""
    engine.observe(ble("b1", "ble-f1-1", t, corridor), at(t + 0.1))
    engine.observe(ble("b1", "ble-r1", t, room), at(t + 0.1))


def _in_room_then_out(engine: LocationEngine) -> None:
    """In r1 with IR for 10 s, then 20 s in the corridor by its door: the room is left."""
    for t in range(10):
        engine.observe(ir("b1", "ir-r1", t + 0.2), at(t + 0.3))
        _scan(engine, t + 0.5, corridor=-75.0, room=-55.0)
    for t in range(10, 30):
        _scan(engine, t + 0.5, corridor=-55.0, room=-80.0)
    assert engine.locate("b1", at(30)).zone == "c1"


def _back_in_blind_spot(engine: LocationEngine, start: int, end: int) -> None:
    for t in range(start, end):
        _scan(engine, t + 0.5, corridor=-75.0, room=-55.0)


def test_one_code_confirms_a_room_ble_places_the_badge_in_even_just_after_leaving_it() -> None:
    engine = _engine()
    _in_room_then_out(engine)
    _back_in_blind_spot(engine, 30, 45)  # back in r1, in an IR blind spot
    before = engine.locate("b1", at(45))
    assert (before.zone, before.room, before.precision) == ("r1", None, Precision.ZONE)
    engine.observe(ir("b1", "ir-r1", 45.2), at(45.3))  # one code: the room just left
    after = engine.locate("b1", at(45.4))
    assert (after.room, after.precision, after.source) == ("r1", Precision.ROOM, "ir")
    assert after.as_of == at(45.2)


def test_turned_off_the_room_just_left_still_needs_the_re_entry_score() -> None:
    engine = _engine(ir_ble_inside_one_hit=False)
    _in_room_then_out(engine)
    _back_in_blind_spot(engine, 30, 45)
    engine.observe(ir("b1", "ir-r1", 45.2), at(45.3))
    location = engine.locate("b1", at(45.4))
    assert (location.zone, location.room, location.precision) == ("r1", None, Precision.ZONE)


def test_a_code_bles_place_did_not_agree_with_is_taken_when_ble_reaches_the_room() -> None:
    engine = _engine()
    off = _engine(ir_ble_inside_one_hit=False)
    for e in (engine, off):
        for t in range(10):  # in the corridor, 20 m down from r1's door
            for device, rssi in (("ble-f1-3", -55.0), ("ble-f1-2", -75.0), ("ble-f1-1", -85.0)):
                e.observe(ble("b1", device, t + 0.5, rssi), at(t + 0.6))
        assert e.locate("b1", at(10)).zone == "c1"
        # a lone code of r1 while BLE still has the badge far down the corridor: not taken
        e.observe(ir("b1", "ir-r1", 10.2), at(10.3))
        assert e.locate("b1", at(10.4)).room is None
    # BLE catches up within the IR hold (ir_hold_s, 6 s): the code confirms the room
    shown = []
    for t in range(10, 16):
        for e in (engine, off):
            _scan(e, t + 0.5, corridor=-75.0, room=-55.0)
        shown.append((engine.locate("b1", at(t + 0.7)), off.locate("b1", at(t + 0.7))))
    ble_in = [k for k, (_, o) in enumerate(shown) if o.zone == "r1"]
    assert ble_in, "BLE alone should reach r1 within the hold"
    first = ble_in[0]
    assert shown[first][1].room is None  # BLE alone: zone precision
    on = shown[first][0]
    assert (on.room, on.precision, on.source) == ("r1", Precision.ROOM, "ir")


def test_a_code_older_than_the_ir_hold_is_not_taken_when_ble_reaches_the_room() -> None:
    engine = _engine()
    for t in range(10):
        for device, rssi in (("ble-f1-3", -55.0), ("ble-f1-2", -75.0), ("ble-f1-1", -85.0)):
            engine.observe(ble("b1", device, t + 0.5, rssi), at(t + 0.6))
    engine.observe(ir("b1", "ir-r1", 9.7), at(9.8))
    for t in range(10, 20):  # still in the corridor for 10 s more, then into r1
        for device, rssi in (("ble-f1-3", -55.0), ("ble-f1-2", -75.0), ("ble-f1-1", -85.0)):
            engine.observe(ble("b1", device, t + 0.5, rssi), at(t + 0.6))
    _back_in_blind_spot(engine, 20, 30)
    location = engine.locate("b1", at(30))
    assert (location.zone, location.room, location.precision) == ("r1", None, Precision.ZONE)


def test_the_room_confirmed_on_bles_word_learns_its_fingerprint_afresh() -> None:
    # A room of the simulated hospital and readings from the simulator's radio model, without
    # noise, so that BLE alone places a badge standing in the room there.
    site = build_hospital(floors=1, rooms_per_side=4, badges=1)
    radio = BleModel(site, RadioParams())
    spot, door = (11.0, 14.5), (12.5, 11.5)  # in room f1-n02; in the corridor outside it

    def scan(engine: LocationEngine, t: float, x: float, y: float, offset: float = 0.0) -> None:
        for device in site.devices.values():
            mean = radio.mean_rssi("f1", x, y, device.id) if device.kind.is_ble else None
            if mean is not None and mean > -95.0:
                reading = ble("sim-0001", device.id, t, round(mean + offset, 1))
                engine.observe(reading, at(t + 0.1))

    def code(engine: LocationEngine, t: float) -> None:
        engine.observe(ir("sim-0001", "ir-f1-n02", t), at(t + 0.1))

    def seconds_out_of_the_room(relearn: bool) -> int:
        engine = LocationEngine(site, LocationParams(ir_ble_relearn=relearn))
        for t in range(30):  # the first stay, in view of IR, the badge read 12 dB weak (a coat)
            code(engine, t + 0.2)
            scan(engine, t + 0.5, *spot, offset=-12.0)
        for t in range(30, 60):  # out in the corridor: the room is left
            scan(engine, t + 0.5, *door)
        for t in range(60, 90):  # back at the same spot, in an IR blind spot, the coat off
            scan(engine, t + 0.5, *spot)
        assert engine.locate("sim-0001", at(90)).zone == "f1-n02"  # BLE: zone precision
        code(engine, 89.9)  # one code: the room (rule 6)
        out = 0
        for t in range(90, 140):  # no code for 50 s more
            scan(engine, t + 0.5, *spot)
            out += engine.locate("sim-0001", at(t + 0.7)).room != "f1-n02"
        return out

    # the fingerprint of the first stay says "12 dB louder: walked out" at the first IR gap
    assert seconds_out_of_the_room(relearn=False) > 30
    assert seconds_out_of_the_room(relearn=True) == 0
