"""The radio models behave as configured: loss, noise, walls, IR detection and leakage, latency."""

from __future__ import annotations

import random
import statistics
from dataclasses import replace

import pytest

from duress.domain.devices import Device, DeviceKind
from duress.domain.site import Site
from duress.sim.movement import find_doors
from duress.sim.radio import BleModel, IrModel, RadioParams, gateway_delay
from tests.sim.site_fixtures import two_floor_site

SITE = two_floor_site()


def test_loss_rate_is_about_the_configured_one() -> None:
    params = RadioParams(loss_prob=0.2, burst_prob=0.0)
    model = BleModel(SITE, params)
    rng = random.Random(1)
    n = 20_000
    lost = sum(1 for _ in range(n) if model.sample(-60.0, rng) is None)
    assert lost / n == pytest.approx(0.2, abs=0.015)


def test_noise_sigma_is_about_the_configured_one() -> None:
    params = RadioParams(loss_prob=0.0, burst_prob=0.0, noise_sigma_db=6.0)
    model = BleModel(SITE, params)
    rng = random.Random(2)
    values = [model.sample(-60.0, rng) for _ in range(20_000)]
    got = [v for v in values if v is not None]
    assert statistics.mean(got) == pytest.approx(-60.0, abs=0.2)
    assert statistics.stdev(got) == pytest.approx(6.0, abs=0.2)


def test_devices_read_off_their_configured_power_by_a_fixed_spread() -> None:
    exact = BleModel(SITE, RadioParams())
    spread = BleModel(SITE, RadioParams(tx_spread_db=4.0))
    again = BleModel(SITE, RadioParams(tx_spread_db=4.0))
    devices = [d.id for d in SITE.devices.values() if d.kind.is_ble]
    offsets = []
    for device in devices:
        configured = exact.true_tx_power(device)
        true = spread.true_tx_power(device)
        assert configured is not None
        assert true is not None
        assert true == again.true_tx_power(device)  # fixed per device, not per run
        offsets.append(true - configured)
        assert spread.mean_rssi("f1", 30, 11.5, device) == pytest.approx(
            (exact.mean_rssi("f1", 30, 11.5, device) or 0.0) + true - configured
        )
    assert all(o != 0 for o in offsets)
    assert exact.tx_offset(devices[0]) == 0.0
    assert spread.true_tx_power("nope") is None


def test_multipath_bursts_pull_some_readings_down() -> None:
    bursty = RadioParams(loss_prob=0.0, burst_prob=0.2, noise_sigma_db=4.0)
    rng = random.Random(3)
    model = BleModel(SITE, bursty)
    values = [v for v in (model.sample(-60.0, rng) for _ in range(10_000)) if v is not None]
    assert sum(1 for v in values if v < -60 - 3 * 4.0) / len(values) > 0.05


def test_walls_lower_rssi() -> None:
    params = RadioParams(wall_loss_db=5.0)
    model = BleModel(SITE, params)
    # same 4.5 m from the beacon at (5, 11.5): along the corridor vs. behind r1's wall
    open_air = model.mean_rssi("f1", 9.5, 11.5, "ble-f1-1")
    behind_wall = model.mean_rssi("f1", 5, 7, "ble-f1-1")
    assert open_air is not None
    assert behind_wall is not None
    assert open_air - behind_wall == pytest.approx(5.0)
    other_floor = model.mean_rssi("f2", 5, 11.5, "ble-f1-1")
    assert other_floor is not None
    assert other_floor < open_air - params.floor_loss_db + 10
    assert model.mean_rssi("f1", 0, 0, "nope") is None


def test_ble_heard_respects_range_and_sensitivity() -> None:
    model = BleModel(SITE, RadioParams(loss_prob=0.0))
    heard = dict(model.heard("f1", 15, 11.5, random.Random(4)))
    assert "ble-f1-2" in heard
    assert all(-98 <= v <= 0 for v in heard.values())
    assert "ble-f1-6" not in heard  # 40 m away: out of range


def test_ir_detection_leakage_and_blind_spots() -> None:
    params = RadioParams(ir_detect_prob=0.8, ir_door_leak_prob=0.3, door_open_prob=1.0)
    model = IrModel(SITE, params, find_doors(SITE))
    rng = random.Random(5)
    n = 5_000

    def rate(x: float, y: float, blind: bool = False, floor: str = "f1") -> float:
        seen = 0
        for t in range(n):
            seen += any(d == "ir-r1" for d, _ in model.detections(floor, x, y, blind, t, rng, 0))
        return seen / n

    assert rate(3, 7) == pytest.approx(0.8, abs=0.03)
    assert rate(3, 7, blind=True) == pytest.approx(params.ir_blind_detect_prob, abs=0.01)
    assert rate(3, 10.5) == pytest.approx(0.3, abs=0.03)  # corridor side of r1's door
    assert rate(3, 12.8) == 0.0  # across the corridor: too far for a leak
    assert rate(9, 7) == 0.0  # in r2: walls stop IR
    assert model.covered("r1")
    assert not model.covered("r4")


def test_closed_doors_do_not_leak() -> None:
    params = RadioParams(ir_door_leak_prob=1.0, door_open_prob=0.0)
    model = IrModel(SITE, params, find_doors(SITE))
    assert model.detections("f1", 3, 10.5, False, 0.0, random.Random(6), 0) == []


def test_gateway_latency_and_drops() -> None:
    params = RadioParams(gateway_drop_prob=0.1)
    rng = random.Random(7)
    delays = [gateway_delay(params, rng) for _ in range(20_000)]
    kept = [d for d in delays if d is not None]
    assert 1 - len(kept) / len(delays) == pytest.approx(0.1, abs=0.01)
    assert statistics.median(kept) == pytest.approx(params.gateway_latency_median_s, rel=0.05)
    assert min(kept) > 0


def test_ir_reports_a_code_at_most_once_a_second_at_its_first_decode() -> None:
    params = RadioParams(ir_detect_prob=1.0, ir_decode_prob=1.0)
    model = IrModel(SITE, params, find_doors(SITE))
    for t in range(50):
        seen = model.detections("f1", 3, 7, False, t, random.Random(t), 0)
        assert [d for d, _ in seen] == ["ir-r1"]
        assert seen[0][1] < params.ir_period_s  # the first broadcast of the second


@pytest.mark.parametrize("door_open", [0.0, 1.0])
def test_a_badge_walking_into_a_room_is_seen_only_after_crossing_the_wall(door_open: float) -> None:
    # from the corridor (y 11) into r1 (y < 10) during one second: at 1 m/s, inside after 0.5 s;
    # through a closed door, or an open one where IR only leaks (here never): the broadcasts
    # after the crossing are tested at the room's probability
    params = RadioParams(
        ir_detect_prob=1.0, ir_decode_prob=1.0, door_open_prob=door_open, ir_door_leak_prob=0.0
    )
    model = IrModel(SITE, params, find_doors(SITE))
    offsets = []
    for t in range(200):
        seen = model.detections("f1", 3, 9.5, False, t, random.Random(t), 0, start=(3, 10.5))
        offsets += [offset for d, offset in seen if d == "ir-r1"]
    assert len(offsets) == 200
    assert min(offsets) >= 0.5
    assert max(offsets) < 0.75  # the first broadcast after the crossing, 4 a second


def test_a_badge_walking_out_through_an_open_door_is_not_seen_once_outside() -> None:
    # whatever the second's draw gave inside, the broadcasts on the corridor side (the ones left
    # to decode after the inside ones were missed) are tested at the leak's probability (here 0)
    params = RadioParams(
        ir_detect_prob=0.9, ir_decode_prob=0.3, door_open_prob=1.0, ir_door_leak_prob=0.0
    )
    model = IrModel(SITE, params, find_doors(SITE))
    inside = outside = 0
    for t in range(400):
        seen = model.detections("f1", 3, 10.5, False, t, random.Random(t), 0, start=(3, 9.5))
        inside += sum(1 for d, offset in seen if d == "ir-r1" and offset < 0.5)
        outside += sum(1 for d, offset in seen if d == "ir-r1" and offset >= 0.5)
    assert inside > 100
    assert outside == 0


def test_one_draw_a_second_holds_for_every_broadcast_of_it() -> None:
    # standing still, the line of sight of a second is one draw: about 60 % of the seconds have a
    # code, not the 1 - 0.4 ** 4 it would be with a draw per broadcast
    params = RadioParams(ir_detect_prob=0.6, ir_decode_prob=1.0)
    model = IrModel(SITE, params, find_doors(SITE))
    rng = random.Random(11)
    seen = sum(bool(model.detections("f1", 3, 7, False, t, rng, 0)) for t in range(4000))
    assert seen / 4000 == pytest.approx(0.6, abs=0.03)


def _with_door_monitor() -> Site:
    monitor = Device("door-r1", DeviceKind.IR_DOOR, "f1", 300.0, area="r1", gateway="gw1")
    return replace(SITE, devices={**SITE.devices, monitor.id: monitor})


def test_a_door_monitor_is_seen_in_its_doorway_on_either_side_only() -> None:
    site = _with_door_monitor()
    params = RadioParams(ir_detect_prob=0.8, door_open_prob=1.0)
    model = IrModel(site, params, find_doors(site))
    rng = random.Random(8)

    def rate(x: float, y: float) -> float:
        seen = 0
        for t in range(3_000):
            seen += any(d == "door-r1" for d, _ in model.detections("f1", x, y, False, t, rng, 0))
        return seen / 3_000

    # r1's door is at (3, 10): the beam reaches 0.6 m either side of it
    inside_door, outside_door = rate(3, 9.6), rate(3, 10.4)
    expected = 0.8 * (1 - (1 - params.ir_decode_prob) ** 4)
    assert inside_door == pytest.approx(expected, abs=0.03)
    assert outside_door == pytest.approx(expected, abs=0.03)
    assert rate(3, 10.8) == 0.0  # a step out into the corridor: where passers-by walk
    assert rate(3, 7) == 0.0  # the middle of the room
    assert not model.covered("door-r1")


def test_door_monitors_draw_from_their_own_stream() -> None:
    # the room's codes and the random stream after them are the same with or without the door
    # monitor, so that a site with them has the same walks as the site without
    with_door = IrModel(_with_door_monitor(), RadioParams(), find_doors(SITE))
    without = IrModel(SITE, RadioParams(), find_doors(SITE))
    for t in range(200):
        a, b = random.Random(t), random.Random(t)
        seen = with_door.detections("f1", 3, 9.7, False, t, a, 0, start=(3, 10.7))
        plain = without.detections("f1", 3, 9.7, False, t, b, 0, start=(3, 10.7))
        assert [c for c in seen if c[0] != "door-r1"] == plain
        assert a.random() == b.random()
