"""Activation: what a press pattern means in a unit.

Badges report how many times the button was pressed within their window, or how long it was held.
Each unit maps patterns to an alert kind and priority (1 is the most urgent); a press that matches no
pattern raises nothing but is recorded (single presses are the usual accidental activation). A unit
may have a cancel window: the alert waits that long before notifying, so the wearer can take back an
accidental press before anyone is paged; it is recorded either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Pattern:
    """``presses`` in ``[min_presses, max_presses]``, or a hold of at least ``min_hold_s`` seconds."""

    kind: str
    priority: int
    min_presses: int | None = None
    max_presses: int | None = None
    min_hold_s: float | None = None

    def matches(self, presses: int, hold_s: float) -> bool:
        if self.min_hold_s is not None and hold_s >= self.min_hold_s:
            return True
        if self.min_presses is None:
            return False
        upper = self.max_presses if self.max_presses is not None else presses
        return self.min_presses <= presses <= upper


@dataclass(frozen=True, slots=True)
class ActivationRules:
    patterns: tuple[Pattern, ...]
    cancel_window_s: float = 0.0

    def classify(self, presses: int, hold_s: float) -> Pattern | None:
        """The most urgent matching pattern, or None."""
        matching = [p for p in self.patterns if p.matches(presses, hold_s)]
        return min(matching, key=lambda p: p.priority) if matching else None


DEFAULT_RULES = ActivationRules(
    patterns=(
        Pattern(kind="assist", priority=2, min_presses=3, max_presses=7),
        Pattern(kind="security", priority=1, min_presses=8, min_hold_s=2.0),
    )
)
"""Three to seven presses ask for staff assistance; eight or more, or a hold of two seconds, is a
security emergency. Single and double presses are ignored (and recorded)."""

TEST_KIND = "test"
"""The kind of every alert raised by a test badge, whatever its pattern."""


@dataclass(frozen=True, slots=True)
class Activation:
    """The site's activation rules: a default and per-unit overrides."""

    default: ActivationRules = DEFAULT_RULES
    units: Mapping[str, ActivationRules] = field(default_factory=dict)

    def rules_for(self, unit: str | None) -> ActivationRules:
        if unit is not None and unit in self.units:
            return self.units[unit]
        return self.default

    def kinds(self) -> frozenset[str]:
        every = [self.default, *self.units.values()]
        return frozenset(p.kind for rules in every for p in rules.patterns) | {TEST_KIND}
