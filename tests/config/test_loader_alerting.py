"""The alerting parts of the site: activation patterns per unit, on-call rotations, holiday days."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

from tests.config.test_loader import MINIMAL, edited, line_of, problems_of, write

from duress.config.loader import load_site
from duress.domain.activation import DEFAULT_RULES
from duress.domain.routing import HOLIDAY, TargetKind

ALERTING = (
    MINIMAL
    + """\
  rotations:
    - {id: sup, name: House supervisor, members: [n-1, n-2], shift_h: 12, start: "2026-01-05T07:00"}
activation:
  default:
    patterns:
      - {kind: assist, priority: 2, min_presses: 3, max_presses: 7}
      - {kind: security, priority: 1, min_presses: 8, hold_s: 2}
  units:
    ed: {cancel_window_s: 5, patterns: [{kind: security, priority: 1, min_presses: 2}]}
"""
)


def test_activation_and_rotations_load(tmp_path: Path) -> None:
    text = edited("{team: security}, ", "{team: security}, {rotation: sup}, ", ALERTING)
    text = edited("days: [mon, tue]", "days: [mon, tue, holiday]", text)
    site = load_site(write(tmp_path, text))
    ed = site.activation.rules_for("ed")
    assert ed.cancel_window_s == 5
    matched = ed.classify(2, 0.0)
    assert matched is not None
    assert matched.kind == "security"
    assert site.activation.rules_for("icu").patterns == DEFAULT_RULES.patterns
    rotation = site.rotations["sup"]
    assert rotation.start.utcoffset() is not None  # site time: America/Chicago
    assert rotation.on_call(datetime(2026, 1, 5, 14, tzinfo=UTC)) == "n-1"
    targets = site.policies[0].tiers[0].targets
    assert TargetKind.ROTATION in {t.kind for t in targets}
    window = site.policies[0].schedule[0]
    assert HOLIDAY in window.days
    assert window.start == time(7)


def test_activation_and_rotation_problems_are_all_reported(tmp_path: Path) -> None:
    text = ALERTING.replace("members: [n-1, n-2], shift_h: 12", "members: [n-1, n-9], shift_h: 0")
    text = text.replace("ed: {cancel_window_s: 5", "icu: {cancel_window_s: 90")
    text = text.replace(
        "{kind: assist, priority: 2, min_presses: 3, max_presses: 7}",
        "{kind: assist, priority: 2, min_presses: 5, max_presses: 3}",
    )
    text = edited("{team: security}, ", "{rotation: nobody}, ", text)
    path = write(tmp_path, text)
    found = problems_of(path)
    joined = "\n".join(found)
    assert (
        f"site.yaml:{line_of(text, 'members: [n-1, n-9]')}: routing.rotations[0].members[1]: 'n-9'"
        in joined
    )
    assert "routing.rotations[0].shift_h: 0 is out of range" in joined
    assert "activation.units.icu: 'icu' is not a known unit id" in joined
    assert "activation.units.icu.cancel_window_s" in joined
    assert "max_presses: 3 is below min_presses 5" in joined
    assert "'nobody' is not a known rotation id" in joined
    assert len(found) >= 6
