"""The ``supervision:`` section: battery thresholds, stuck buttons, badges not seen, the synthetic test."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from tests.config.test_loader import MINIMAL, problem_text, write

from duress.config.loader import load_site
from duress.domain.supervision import SupervisionRules, SyntheticTest

SUPERVISED = (
    MINIMAL
    + """\
supervision:
  battery: {warning_pct: 30, low_pct: 12}
  stuck_button: {max_hold_s: 45, max_presses: 8, window_s: 90}
  badge_not_seen_h: 48
  synthetic: {at: "03:30", badge: t-1, gateway: gw-1, deadline_s: 20}
"""
)


def test_the_supervision_section_loads(tmp_path: Path) -> None:
    rules = load_site(write(tmp_path, SUPERVISED)).supervision
    assert (rules.battery.warning_pct, rules.battery.low_pct) == (30, 12)
    assert (rules.stuck.max_hold_s, rules.stuck.max_presses, rules.stuck.window_s) == (45, 8, 90)
    assert rules.badge_not_seen_h == 48
    assert rules.synthetic == SyntheticTest(time(3, 30), "t-1", "gw-1", 20.0)


def test_without_the_section_the_defaults_apply(tmp_path: Path) -> None:
    assert load_site(write(tmp_path, MINIMAL)).supervision == SupervisionRules()


def test_supervision_problems_name_the_key_and_the_fix(tmp_path: Path) -> None:
    text = (
        SUPERVISED.replace("low_pct: 12", "low_pct: 40")
        .replace("badge: t-1", "badge: b-1")
        .replace("gateway: gw-1, deadline_s", "gateway: ble-1, deadline_s")
        .replace('at: "03:30"', 'at: "25:00"')
    )
    found = problem_text(tmp_path, text)
    assert "supervision.battery.low_pct: 40 is not below warning_pct 30" in found
    assert "supervision.synthetic.badge: 'b-1' is not a badge of kind test" in found
    assert "supervision.synthetic.gateway: 'ble-1' is not a device of kind gateway" in found
    assert "supervision.synthetic.at" in found
