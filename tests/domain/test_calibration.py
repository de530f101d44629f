"""Survey-walk calibration: the walk's positions, the robust fit, and the engine taking the result."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from duress.domain.calibration import (
    Calibration,
    Checkpoint,
    FitOptions,
    Reading,
    SurveyWalk,
    calibrate_site,
    calibrated_params,
    fit_survey,
)
from duress.domain.location import LocationEngine
from duress.domain.location_params import LocationParams
from duress.domain.observations import Sighting, SightingKind
from duress.domain.site import Site
from duress.domain.walls import Walls
from duress.sim.layout import build_hospital
from duress.sim.radio import BleModel, RadioParams
from duress.sim.scenario import Received, SimParams, simulate

T0 = 1_764_489_600.0  # 2025-11-30T08:00Z


@pytest.fixture(scope="module")
def site() -> Site:
    # one floor, three BLE-only rooms each side of the corridor, a beacon in every room
    return build_hospital(floors=1, rooms_per_side=3, badges=2, ir=False)


def _ble(site: Site) -> list[str]:
    return sorted(d.id for d in site.devices.values() if d.kind.is_ble and d.position)


def _tour(site: Site) -> list[Checkpoint]:
    """A walk standing 20 s beside every BLE device (1.5 m off it) and walking between them."""
    points: list[Checkpoint] = []
    t = T0
    for device_id in _ble(site):
        x, y = site.devices[device_id].position or (0.0, 0.0)
        for dx, dy in ((1.5, 0.0), (0.0, 1.5), (-1.5, 0.0), (4.0, 3.0)):
            points.append(Checkpoint(t, "f1", x + dx, y + dy))
            t += 5.0
    return points


def _readings(
    site: Site, walk: SurveyWalk, true_tx: dict[str, float], n: float, w: float
) -> list[Reading]:
    """Noise-free readings of every device, every half second of the walk, by the model."""
    walls = Walls(site)
    out = []
    t = walk.checkpoints[0].ts
    while t <= walk.checkpoints[-1].ts:
        here = walk.position(t)
        assert here is not None
        floor, x, y = here
        for device_id, tx in true_tx.items():
            pos = site.devices[device_id].position
            assert pos is not None
            d = max(0.5, math.hypot(x - pos[0], y - pos[1]))
            if d > 12.0:
                continue
            k = walls.count(floor, (x, y), pos)
            out.append(Reading(t, device_id, tx - 10 * n * math.log10(d) - w * k))
        t += 0.5
    return out


# --- The walk ----------------------------------------------------------------------------------


def test_the_walk_is_a_straight_line_at_constant_speed_between_checkpoints() -> None:
    walk = SurveyWalk(
        [
            Checkpoint(T0 + 10, "f1", 10.0, 0.0),
            Checkpoint(T0, "f1", 0.0, 0.0),  # out of order: sorted
            Checkpoint(T0 + 20, "f1", 10.0, 10.0),
        ]
    )
    assert walk.position(T0) == ("f1", 0.0, 0.0)
    assert walk.position(T0 + 2.5) == ("f1", 2.5, 0.0)
    assert walk.position(T0 + 15) == ("f1", 10.0, 5.0)
    assert walk.position(T0 + 20) == ("f1", 10.0, 10.0)
    assert walk.position(T0 - 1) is None  # before the walk
    assert walk.position(T0 + 21) is None  # after it


def test_a_floor_change_or_a_long_gap_leaves_the_position_unknown() -> None:
    walk = SurveyWalk(
        [
            Checkpoint(T0, "f1", 0.0, 0.0),
            Checkpoint(T0 + 30, "f2", 0.0, 0.0),  # the stairs
            Checkpoint(T0 + 500, "f2", 50.0, 0.0),  # 470 s later: not a straight walk
        ],
        max_gap_s=120.0,
    )
    assert walk.position(T0 + 10) is None
    assert walk.position(T0 + 200) is None
    assert walk.position(T0 + 30) == ("f2", 0.0, 0.0)


def test_how_close_the_walk_came_counts_the_segments_between_checkpoints() -> None:
    walk = SurveyWalk([Checkpoint(T0, "f1", 0.0, 0.0), Checkpoint(T0 + 10, "f1", 10.0, 0.0)])
    assert walk.nearest_m("f1", 5.0, 3.0) == pytest.approx(3.0)  # beside the middle
    assert walk.nearest_m("f1", 13.0, 4.0) == pytest.approx(5.0)  # past the end
    assert walk.nearest_m("f2", 5.0, 3.0) is None


# --- The fit -----------------------------------------------------------------------------------


def test_noise_free_readings_give_back_the_true_model_exactly(site: Site) -> None:
    devices = _ble(site)
    rng = random.Random(5)
    true_tx = {d: -59.0 + rng.uniform(-6, 6) for d in devices}
    walk = SurveyWalk(_tour(site))
    fit = fit_survey(site, walk, _readings(site, walk, true_tx, n=2.8, w=5.5))
    assert fit.model_fitted
    assert fit.path_loss_exponent == pytest.approx(2.8, abs=0.01)
    assert fit.wall_loss_db == pytest.approx(5.5, abs=0.05)
    for d in fit.devices:
        assert d.tx_power == pytest.approx(true_tx[d.device], abs=0.05), d
        assert d.spread_db == pytest.approx(0.0, abs=0.05)
    assert fit.outliers == 0


def test_multipath_bursts_do_not_move_the_fit(site: Site) -> None:
    devices = _ble(site)
    true_tx = dict.fromkeys(devices, -62.0)
    walk = SurveyWalk(_tour(site))
    clean = _readings(site, walk, true_tx, n=2.5, w=4.5)
    rng = random.Random(9)
    bursty = [replace(r, rssi=r.rssi - 20.0) if rng.random() < 0.1 else r for r in clean]
    fit = fit_survey(site, walk, bursty)
    assert fit.outliers > 0.08 * len(clean)
    assert fit.path_loss_exponent == pytest.approx(2.5, abs=0.05)
    for d in fit.devices:
        assert d.tx_power == pytest.approx(-62.0, abs=0.3), d


def test_a_simulated_survey_walk_recovers_each_devices_true_power(site: Site) -> None:
    """The simulator's devices read N(0, 4 dB) off their configured power; its readings have
    5 dB noise, bursts, losses and a -98 dBm sensitivity. The walk measures the truth."""
    radio = RadioParams(tx_spread_db=4.0)
    records = list(
        simulate(site, minutes=8, badges=1, seed=3, params=SimParams(radio=radio), survey=True)
    )
    walk = SurveyWalk(
        [
            Checkpoint(r["ts"].timestamp(), r["floor"], r["x"], r["y"])
            for r in records
            if not isinstance(r, Received)
        ]
    )
    readings = [
        Reading(o.ts.timestamp(), o.device, o.rssi)
        for r in records
        if isinstance(r, Received)
        and isinstance(o := r.observation, Sighting)
        and o.kind is SightingKind.BLE
        and o.rssi is not None
    ]
    fit = fit_survey(site, walk, readings)
    truth = BleModel(site, radio)
    before, after = [], []
    for d in fit.devices:
        true_tx = truth.true_tx_power(d.device)
        assert true_tx is not None, d
        assert d.tx_power is not None, d
        before.append(((d.was or -59.0) - true_tx) ** 2)
        after.append((d.tx_power - true_tx) ** 2)
    rms_before = math.sqrt(sum(before) / len(before))
    rms_after = math.sqrt(sum(after) / len(after))
    assert rms_before > 2.5
    assert rms_after < 1.5
    assert rms_after < rms_before / 2.5
    assert fit.path_loss_exponent == pytest.approx(2.5, abs=0.3)
    assert fit.wall_loss_db == pytest.approx(4.5, abs=1.5)
    assert fit.weak > 0  # readings near the sensitivity were left out


def test_a_device_the_walk_missed_keeps_its_value_and_says_why(site: Site) -> None:
    devices = _ble(site)
    walk = SurveyWalk(_tour(site))
    readings = _readings(site, walk, dict.fromkeys(devices, -60.0), n=2.5, w=4.5)
    missed = devices[0]
    kept = [r for r in readings if r.device != missed or r.ts < T0 + 3]
    fit = fit_survey(site, walk, kept, FitOptions(min_samples=20))
    result = next(d for d in fit.devices if d.device == missed)
    assert result.tx_power is None
    assert result.samples < 20
    assert "of 20 samples" in result.note
    assert "stop near it" in result.note
    assert result.nearest_m is not None
    assert 0.0 < result.nearest_m <= 1.5
    calibration = fit.calibration("test walk")
    assert missed not in calibration.tx_power
    assert len(calibration.tx_power) == len(devices) - 1


def test_without_fit_model_the_exponent_and_wall_loss_are_kept(site: Site) -> None:
    devices = _ble(site)
    walk = SurveyWalk(_tour(site))
    readings = _readings(site, walk, dict.fromkeys(devices, -60.0), n=3.0, w=4.5)
    fit = fit_survey(site, walk, readings, FitOptions(fit_model=False, path_loss_exponent=3.0))
    assert not fit.model_fitted
    assert fit.path_loss_exponent == 3.0
    calibration = fit.calibration("walk")
    assert calibration.path_loss_exponent is None
    assert calibration.wall_loss_db is None
    assert all(v == pytest.approx(-60.0, abs=0.1) for v in calibration.tx_power.values())


def test_readings_that_cannot_be_used_are_counted_per_reason(site: Site) -> None:
    device = _ble(site)[0]
    walk = SurveyWalk([Checkpoint(T0, "f1", 1.0, 1.0), Checkpoint(T0 + 10, "f1", 2.0, 1.0)])
    readings = [
        Reading(T0 + 1, "no-such-device", -60.0),
        Reading(T0 - 5, device, -60.0),  # before the walk
        Reading(T0 + 2, device, -60.0),
        Reading(T0 + 2, device, -60.0),  # delivered twice
    ]
    fit = fit_survey(site, walk, readings)
    assert fit.skipped["duplicate (the same device and time again)"] == 1
    assert fit.skipped["not a BLE device with a position"] == 1
    assert fit.skipped["no known position (outside the walk, a gap or a floor change)"] == 1
    assert all(d.tx_power is None for d in fit.devices)
    assert not fit.model_fitted


# --- Using it ----------------------------------------------------------------------------------


def test_calibrated_params_replace_the_exponent_and_the_wall_loss() -> None:
    params = LocationParams()
    assert calibrated_params(params, None) is params
    assert calibrated_params(params, Calibration(tx_power={"x": -60.0})) is params
    cal = Calibration(path_loss_exponent=2.9, wall_loss_db=6.0)
    got = calibrated_params(params, cal)
    assert got.ble_path_loss_exponent == 2.9
    assert got.ble_grid_wall_db == 6.0


def test_the_engine_takes_the_sites_calibration(site: Site) -> None:
    calibrated = replace(site, calibration=Calibration(path_loss_exponent=3.1, wall_loss_db=2.0))
    engine = LocationEngine(calibrated, LocationParams(ble_path_loss_exponent=2.0))
    assert engine.params.ble_path_loss_exponent == 3.1
    assert engine.params.ble_grid_wall_db == 2.0
    engine.params = LocationParams()  # set anew: the calibration still applies
    assert engine.params.ble_path_loss_exponent == 3.1
    assert LocationEngine(site).params.ble_path_loss_exponent == 2.5


def test_calibrate_site_replaces_the_powers_of_ble_devices_only(site: Site) -> None:
    device = _ble(site)[0]
    cal = Calibration(tx_power={device: -66.0})
    calibrated = calibrate_site(site, cal)
    assert calibrated.devices[device].tx_power == -66.0
    assert calibrated.calibration is cal
    assert site.devices[device].tx_power != -66.0  # the original is untouched
    with pytest.raises(ValueError, match="'nope' is not a BLE device"):
        calibrate_site(site, Calibration(tx_power={"nope": -60.0}))
    ir = next(d.id for d in site.devices.values() if not d.kind.is_ble)
    with pytest.raises(ValueError, match="is not a BLE device"):
        calibrate_site(site, Calibration(tx_power={ir: -60.0}))


def test_a_stop_is_two_checkpoints_at_one_place_however_long_apart() -> None:
    walk = SurveyWalk(
        [
            Checkpoint(T0, "f1", 0.0, 0.0),
            Checkpoint(T0 + 10, "f1", 10.0, 0.0),
            Checkpoint(T0 + 610, "f1", 10.0, 0.0),  # ten minutes standing
            Checkpoint(T0 + 620, "f1", 20.0, 0.0),
        ],
        max_gap_s=120.0,
    )
    assert walk.position(T0 + 300) == ("f1", 10.0, 0.0)
    assert walk.standing(T0 + 300, margin_s=2.0)
    assert not walk.standing(T0 + 11, margin_s=2.0)  # just stopped: within the margin
    assert not walk.standing(T0 + 5, margin_s=2.0)  # walking
    assert not walk.standing(T0 + 615, margin_s=2.0)


def test_standing_readings_fit_whatever_the_walks_clock(site: Site) -> None:
    """A walk noted on a clock 2 s off the badge's: the walking samples are 2.6 m off, the
    standing ones are not."""
    devices = _ble(site)
    rng = random.Random(11)
    true_tx = {d: -59.0 + rng.uniform(-5, 5) for d in devices}
    points: list[Checkpoint] = []
    t = T0
    for device_id in devices:  # 15 s standing 1.5 m beside each device, 5 s walking between
        x, y = site.devices[device_id].position or (0.0, 0.0)
        points += [Checkpoint(t, "f1", x + 1.5, y), Checkpoint(t + 15, "f1", x + 1.5, y)]
        t += 20
    walk = SurveyWalk(points)
    readings = _readings(site, walk, true_tx, n=2.5, w=4.5)
    late = SurveyWalk([replace(c, ts=c.ts + 2.0) for c in walk.checkpoints])
    options = FitOptions(stops_only=True, fit_model=False, min_samples=5, stop_margin_s=0.5)
    fit = fit_survey(site, late, readings, options)
    assert fit.skipped["not while standing (stops_only)"] > 0
    fitted = [d for d in fit.devices if d.tx_power is not None]
    assert len(fitted) == len(devices)
    for d in fitted:
        assert d.tx_power == pytest.approx(true_tx[d.device], abs=0.3), d


def test_an_implausible_model_is_said_to_be(site: Site) -> None:
    devices = _ble(site)
    walk = SurveyWalk(_tour(site))
    fit = fit_survey(site, walk, _readings(site, walk, dict.fromkeys(devices, -60.0), 2.5, 4.5))
    assert fit.model_plausible
    odd = fit_survey(site, walk, _readings(site, walk, dict.fromkeys(devices, -60.0), 4.5, 0.0))
    assert odd.path_loss_exponent == pytest.approx(4.5, abs=0.05)
    assert not odd.model_plausible
