"""The ``location:`` section: location engine parameters that replace the defaults for a site."""

from __future__ import annotations

from pathlib import Path

from tests.config.test_loader import MINIMAL, problem_text, write

from duress.config.loader import load_site
from duress.domain.location import LocationEngine
from duress.domain.location_params import LocationParams

TUNED = (
    MINIMAL
    + """\
location:
  ir_one_hit_m: 0
  unknown_after_s: 300
  ble_top_k: 6
  ble_grid_heading_with_ir: true
"""
)


def test_the_settings_replace_the_engines_defaults(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, TUNED))
    assert site.location == {
        "ir_one_hit_m": 0.0,
        "unknown_after_s": 300.0,
        "ble_top_k": 6,
        "ble_grid_heading_with_ir": True,
    }
    params = LocationEngine(site).params
    assert params.ir_one_hit_m == 0.0
    assert params.unknown_after_s == 300.0
    assert params.ble_top_k == 6
    assert params.ble_grid_heading_with_ir is True
    assert params.ir_hold_s == LocationParams().ir_hold_s  # the others keep their defaults
    # over parameters a tool passes too (the site's word is the last)
    assert LocationEngine(site, LocationParams(ir_one_hit_m=2.5)).params.ir_one_hit_m == 0.0


def test_without_the_section_the_defaults_apply(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, MINIMAL))
    assert site.location == {}
    assert LocationEngine(site).params == LocationParams()


def test_location_problems_name_the_key_and_the_fix(tmp_path: Path) -> None:
    text = MINIMAL + (
        "location:\n"
        "  ir_one_hit: 0\n"
        "  unknown_after_s: soon\n"
        "  ble_top_k: 2.5\n"
        "  ble_grid: yes please\n"
    )
    found = problem_text(tmp_path, text)
    assert "location.ir_one_hit: unknown key 'ir_one_hit'" in found
    assert "did you mean 'ir_one_hit_m'" in found
    assert "location.unknown_after_s: 'soon' is not a number" in found
    assert "location.ble_top_k: 2.5 is not a whole number" in found
    assert "location.ble_grid: 'yes please' is not true/false" in found
    assert "location: a list of 1 is not a mapping; write it as `key: value` lines" in problem_text(
        tmp_path, MINIMAL + "location: [ir_one_hit_m]\n"
    )
