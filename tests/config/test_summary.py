"""The site summary counts what the example site holds."""

from __future__ import annotations

import shutil
from pathlib import Path

from duress.config.loader import load_site
from duress.config.summary import summarize
from duress.domain.precision import Precision

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mercy-general"


def test_summary_of_the_example_site() -> None:
    summary = summarize(load_site(EXAMPLE))
    assert (summary.id, summary.name, summary.timezone) == (
        "mercy-general",
        "Mercy General Hospital",
        "America/Chicago",
    )
    assert (summary.buildings, summary.floors) == (1, 3)
    assert summary.areas == 275
    assert summary.areas_by_kind["bay"] == 40
    assert summary.areas_by_kind["corridor"] == 36
    assert list(summary.areas_by_kind)[:3] == ["room", "bay", "corridor"]  # AreaKind order
    assert summary.devices_by_kind == {
        "bay_emitter": 40,
        "ble_beacon": 106,
        "gateway": 9,
        "ir_monitor": 171,
    }
    units = {u.id: u for u in summary.units}
    assert units["bh"].required_precision is Precision.BED
    assert units["ed"].required_precision is Precision.ZONE
    assert units["ed"].coverage_roles == ("rn", "charge_nurse", "md", "tech")
    assert units["admin"].coverage_roles == ()
    assert units["icu"].staff == 35
    assert summary.staff == 179
    assert summary.staff_by_role["security_officer"] == 12
    assert summary.responders == 15
    assert summary.badges == 188
    assert summary.badges_by_kind == {"responder": 15, "staff": 169, "test": 4}
    assert summary.spare_badges == 5
    assert (summary.teams, summary.policies, summary.holidays) == (6, 7, 6)
    assert (summary.ble_devices, summary.ble_calibrated) == (106, 0)
    assert summary.calibration_source is None


def test_the_summary_says_how_much_a_survey_walk_calibrated(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "site")
    (tmp_path / "site" / "calibration.yaml").write_text(
        "calibration:\n  source: walk of 2026-11-30\n  tx_power: {ble-f1-001: -61, ble-f1-002: -57}\n"
    )
    summary = summarize(load_site(tmp_path / "site"))
    assert (summary.ble_devices, summary.ble_calibrated) == (106, 2)
    assert summary.calibration_source == "walk of 2026-11-30"
