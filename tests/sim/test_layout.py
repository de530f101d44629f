"""The synthetic hospital: room beacons beside the IR monitors when asked."""

from __future__ import annotations

from duress.domain.devices import DeviceKind
from duress.sim.layout import build_hospital


def test_room_beacons_add_a_beacon_in_the_middle_of_every_ir_room() -> None:
    plain = build_hospital(floors=1, rooms_per_side=4, badges=2, ble_only_every=0)
    both = build_hospital(floors=1, rooms_per_side=4, badges=2, ble_only_every=0, room_beacons=True)
    added = set(both.devices) - set(plain.devices)
    assert set(plain.devices) <= set(both.devices)
    assert all(both.devices[d] == plain.devices[d] for d in plain.devices)
    assert plain.facility == both.facility
    ir_rooms = {d.area for d in plain.devices.values() if d.kind is DeviceKind.IR_MONITOR}
    assert len(ir_rooms) == 8
    assert added == {f"ble-{room}" for room in ir_rooms}
    areas = both.facility.areas
    for room in sorted(r for r in ir_rooms if r is not None):
        beacon = both.devices[f"ble-{room}"]
        assert beacon.kind is DeviceKind.BLE_BEACON
        assert beacon.position is not None
        xs = [x for x, _ in areas[room].polygon]
        ys = [y for _, y in areas[room].polygon]
        assert beacon.position == ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)


def test_ble_only_rooms_get_the_same_beacon_with_or_without_room_beacons() -> None:
    plain = build_hospital(floors=1, rooms_per_side=4, badges=2)
    both = build_hospital(floors=1, rooms_per_side=4, badges=2, room_beacons=True)
    ble_only = [d for d in plain.devices if d.startswith("ble-f1-") and "-c" not in d]
    assert ble_only
    assert all(both.devices[d] == plain.devices[d] for d in ble_only)
