"""Supervision rules, pure: battery levels with lead time, stuck buttons, badges not seen, and the
daily synthetic test's schedule. Times are arguments; nothing here reads a clock.

What is supervised and what each rule means is in ``docs/supervision.md``. Device heartbeats and
gateways' last wills are :mod:`duress.domain.device_health`; this module holds the rest:

- :class:`BatteryThresholds`: ``ok`` → ``warning`` (replace soon: the lead time) → ``low``
  (trouble), with a hysteresis so that a reading wobbling around a threshold is one change;
- :class:`StuckButtons`: a hold longer than plausible, or button events without pause;
- :class:`BadgeWatch`: each badge's last sighting, gateway and battery; badges not seen for hours;
- :class:`SyntheticTest` and :func:`next_run`: when the daily end-to-end test runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum

from duress.domain.events import BadgeBatteryChanged, BadgeNotSeen, ButtonStuck, Event

TROUBLE_KIND = "trouble"
"""The kind of a supervision alert: only routing policies that name it match (like ``test``)."""
TROUBLE_PRIORITY = 5
"""Trouble alerts sort after every duress alert (priority 1 is the most urgent)."""


class BatteryLevel(StrEnum):
    OK = "ok"
    WARNING = "warning"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class BatteryThresholds:
    """At or below ``warning_pct`` a battery is ``warning`` (the lead time to replace it); at or below
    ``low_pct`` it is ``low`` and raises a trouble alert. A level is left upwards only once the
    reading is ``hysteresis_pct`` above its threshold (a new battery), never on a wobble."""

    warning_pct: float = 25.0
    low_pct: float = 10.0
    hysteresis_pct: float = 5.0

    def level(self, battery: float, previous: BatteryLevel = BatteryLevel.OK) -> BatteryLevel:
        if battery <= self.low_pct:
            return BatteryLevel.LOW
        if previous is BatteryLevel.LOW and battery < self.low_pct + self.hysteresis_pct:
            return BatteryLevel.LOW
        if battery <= self.warning_pct:
            return BatteryLevel.WARNING
        if previous is not BatteryLevel.OK and battery < self.warning_pct + self.hysteresis_pct:
            return BatteryLevel.WARNING
        return BatteryLevel.OK


@dataclass(frozen=True, slots=True)
class StuckButtonRules:
    """A button is stuck when one button event reports a hold of ``max_hold_s`` or more (nobody holds
    a duress button for a minute), or when one badge sends ``max_presses`` button events within
    ``window_s`` (a contact bouncing, a badge crushed in a pocket)."""

    max_hold_s: float = 60.0
    max_presses: int = 10
    window_s: float = 120.0


@dataclass(frozen=True, slots=True)
class SyntheticTest:
    """Every day at ``at`` (site time) a press of ``badge`` (a test badge) is published on the
    ``buttons`` topic of ``gateway``; it must reach a test recipient within ``deadline_s``."""

    at: time
    badge: str
    gateway: str
    deadline_s: float = 60.0


@dataclass(frozen=True, slots=True)
class SupervisionRules:
    """The site's ``supervision:`` section (defaults when absent)."""

    battery: BatteryThresholds = field(default_factory=BatteryThresholds)
    stuck: StuckButtonRules = field(default_factory=StuckButtonRules)
    badge_not_seen_h: float = 72.0
    """A badge not heard from for this many hours is reported (adoption)."""
    synthetic: SyntheticTest | None = None
    """The daily end-to-end test; None: not run."""


def next_run(after: datetime, at: time, zone: tzinfo) -> datetime:
    """The first moment strictly after ``after`` when the site's local clock (``zone``) shows ``at``."""
    local = after.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    while candidate <= local:
        candidate = datetime.combine(candidate.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(after.tzinfo)


# --- Stuck buttons --------------------------------------------------------------------------------


class StuckButtons:
    """Watches button events per badge; reports a badge once when its button looks stuck, and again
    only after it has been quiet for a whole window."""

    def __init__(self, rules: StuckButtonRules) -> None:
        self.rules = rules
        self._recent: dict[str, deque[datetime]] = {}
        self._flagged: set[str] = set()

    def pressed(self, badge: str, ts: datetime, hold_s: float) -> list[Event]:
        window = timedelta(seconds=self.rules.window_s)
        recent = self._recent.setdefault(badge, deque())
        if recent and ts - recent[-1] > window:
            recent.clear()
            self._flagged.discard(badge)
        recent.append(ts)
        while recent and ts - recent[0] > window:
            recent.popleft()
        if badge in self._flagged:
            return []
        reason = None
        if hold_s >= self.rules.max_hold_s:
            reason = "hold"
        elif len(recent) >= self.rules.max_presses:
            reason = "repeating"
        if reason is None:
            return []
        self._flagged.add(badge)
        return [
            ButtonStuck(
                ts=ts,
                badge=badge,
                reason=reason,
                presses=len(recent),
                hold_s=hold_s,
                window_s=self.rules.window_s,
            )
        ]


# --- Badges ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class BadgeSeen:
    """What the server knows of one badge (mutable: updated on every sighting)."""

    badge: str
    last_seen: datetime | None = None
    gateway: str | None = None
    battery: float | None = None
    battery_level: BatteryLevel = BatteryLevel.OK
    not_seen: bool = False
    """True once reported not seen, until it is heard again."""


class BadgeWatch:
    """Each badge's last sighting (of any kind), the gateway that last carried it and its battery.

    Sightings are not stored (decision 2), so after a restart a badge counts as not seen since the
    watch began (:meth:`begin`).
    """

    def __init__(
        self,
        badges: Iterable[str],
        *,
        thresholds: BatteryThresholds | None = None,
        not_seen_h: float = 72.0,
        staff: dict[str, str | None] | None = None,
    ) -> None:
        self._badges = {b: BadgeSeen(b) for b in badges}
        self._thresholds = thresholds or BatteryThresholds()
        self._not_seen = timedelta(hours=not_seen_h)
        self._staff = staff or {}
        self._since: datetime | None = None

    def __contains__(self, badge: str) -> bool:
        return badge in self._badges

    def begin(self, now: datetime) -> None:
        """Start counting silence for badges never heard from (the server's start)."""
        if self._since is None:
            self._since = now

    def get(self, badge: str) -> BadgeSeen | None:
        return self._badges.get(badge)

    def states(self) -> Iterable[BadgeSeen]:
        return self._badges.values()

    def seen(self, badge: str, ts: datetime, gateway: str | None = None) -> None:
        """The hot path: a sighting, a press or a heartbeat of ``badge`` at ``ts``."""
        state = self._badges.get(badge)
        if state is None:
            return
        if state.last_seen is None or ts >= state.last_seen:
            state.last_seen = ts
            state.not_seen = False
            if gateway is not None:
                state.gateway = gateway

    def gateway_of(self, badge: str) -> str | None:
        state = self._badges.get(badge)
        return state.gateway if state is not None else None

    def battery(self, badge: str, ts: datetime, battery: float) -> list[Event]:
        """A battery reading; returns ``badge.battery`` when the level changes."""
        state = self._badges.get(badge)
        if state is None:
            return []
        level = self._thresholds.level(battery, state.battery_level)
        previous = state.battery_level
        state.battery = battery
        if level is previous:
            return []
        state.battery_level = level
        return [
            BadgeBatteryChanged(
                ts=ts, badge=badge, battery=battery, level=level.value, previous=previous.value
            )
        ]

    def apply(self, event: Event) -> None:
        """Fold a stored ``badge.battery`` back in (start-up)."""
        if isinstance(event, BadgeBatteryChanged) and event.badge in self._badges:
            state = self._badges[event.badge]
            state.battery = event.battery
            state.battery_level = BatteryLevel(event.level)

    def sweep(self, now: datetime) -> list[Event]:
        """``badge.not_seen`` for each badge that crossed the threshold since the last sweep."""
        events: list[Event] = []
        for state in self._badges.values():
            if state.not_seen:
                continue
            since = state.last_seen or self._since
            if since is None or now - since < self._not_seen:
                continue
            state.not_seen = True
            events.append(
                BadgeNotSeen(
                    ts=now,
                    badge=state.badge,
                    last_seen=state.last_seen,
                    hours=round((now - since).total_seconds() / 3600, 2),
                    staff=self._staff.get(state.badge),
                )
            )
        return events

    def not_seen(self) -> list[str]:
        """The badges reported not seen and not heard since, sorted (the adoption list)."""
        return sorted(s.badge for s in self._badges.values() if s.not_seen)


__all__ = [
    "TROUBLE_KIND",
    "TROUBLE_PRIORITY",
    "BadgeSeen",
    "BadgeWatch",
    "BatteryLevel",
    "BatteryThresholds",
    "StuckButtonRules",
    "StuckButtons",
    "SupervisionRules",
    "SyntheticTest",
    "next_run",
]
