"""The ``calibration:`` section: a survey walk's transmit powers replace the configured ones."""

from __future__ import annotations

from pathlib import Path

from tests.config.test_loader import MINIMAL, edited, problem_text, write

from duress.config.loader import load_site
from duress.domain.calibration import Calibration
from duress.domain.location import LocationEngine

CALIBRATED = (
    edited(
        "  - {id: gw-1, kind: gateway, floor: f1, position: [5, 9]}\n",
        "  - {id: gw-1, kind: gateway, floor: f1, position: [5, 9]}\n"
        "  - {id: loc-1, kind: ble_locator, floor: f1, position: [30, 9]}\n",
    )
    + """\
calibration:
  source: survey walk of 2026-11-30, badge t-1
  path_loss_exponent: 2.7
  wall_loss_db: 5.5
  tx_power:
    ble-1: -61.5
    loc-1: -66
"""
)


def test_the_calibration_replaces_the_configured_powers(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, CALIBRATED))
    assert site.calibration == Calibration(
        tx_power={"ble-1": -61.5, "loc-1": -66.0},
        path_loss_exponent=2.7,
        wall_loss_db=5.5,
        source="survey walk of 2026-11-30, badge t-1",
    )
    assert site.devices["ble-1"].tx_power == -61.5  # was -59 in devices:
    assert site.devices["loc-1"].tx_power == -66.0
    params = LocationEngine(site).params
    assert (params.ble_path_loss_exponent, params.ble_grid_wall_db) == (2.7, 5.5)


def test_a_calibration_file_beside_the_site_files_applies(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)
    write(tmp_path, "calibration:\n  tx_power: {ble-1: -63}\n", name="calibration.yaml")
    site = load_site(tmp_path)
    assert site.devices["ble-1"].tx_power == -63.0
    assert site.calibration is not None
    assert site.calibration.path_loss_exponent is None
    assert LocationEngine(site).params.ble_path_loss_exponent == 2.5


def test_without_the_section_there_is_no_calibration(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, MINIMAL))
    assert site.calibration is None
    assert site.devices["ble-1"].tx_power == -59.0


def test_calibration_problems_name_the_key_and_the_fix(tmp_path: Path) -> None:
    text = (
        CALIBRATED.replace("ble-1: -61.5", "ble-9: -61.5\n    be-1: -60\n    gw-1: 300")
        .replace("path_loss_exponent: 2.7", "path_loss_exponent: 9")
        .replace("wall_loss_db: 5.5", "wall_loss_db: many")
    )
    found = problem_text(tmp_path, text)
    assert "calibration.tx_power.ble-9: 'ble-9' is not a device of the site" in found
    assert "did you mean 'ble-1'" in found
    assert (
        "calibration.tx_power.be-1: 'be-1' is a bay_emitter, which has no transmit power" in found
    )
    assert "calibration.tx_power.gw-1" in found
    assert "calibration.path_loss_exponent: 9 is out of range" in found
    assert "calibration.wall_loss_db: 'many' is not a number" in found


def test_tx_power_must_be_a_mapping_and_keys_must_be_known(tmp_path: Path) -> None:
    text = MINIMAL + "calibration:\n  tx_power: [-60]\n  walked: yesterday\n"
    found = problem_text(tmp_path, text)
    assert "calibration.tx_power: write one `<device id>: <dBm at 1 m>` per line" in found
    assert "calibration.walked: unknown key 'walked'" in found


def test_a_locator_may_have_its_own_tx_power(tmp_path: Path) -> None:
    text = edited(
        "  - {id: gw-1, kind: gateway, floor: f1, position: [5, 9]}\n",
        "  - {id: gw-1, kind: gateway, floor: f1, position: [5, 9]}\n"
        "  - {id: loc-1, kind: ble_locator, floor: f1, position: [30, 9], tx_power: -64}\n",
    )
    assert load_site(write(tmp_path, text)).devices["loc-1"].tx_power == -64.0
    bad = edited(
        "{id: be-1, kind: bay_emitter, area: bay-1}",
        "{id: be-1, kind: bay_emitter, area: bay-1, tx_power: -59}",
    )
    found = problem_text(tmp_path, bad)
    assert "only a BLE beacon or locator has tx_power, not a bay_emitter" in found
