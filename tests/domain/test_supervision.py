"""The pure supervision rules, with constructed times."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from duress.domain.events import BadgeBatteryChanged, BadgeNotSeen, ButtonStuck
from duress.domain.supervision import (
    BadgeWatch,
    BatteryLevel,
    BatteryThresholds,
    StuckButtonRules,
    StuckButtons,
    next_run,
)

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
OK, WARNING, LOW = BatteryLevel.OK, BatteryLevel.WARNING, BatteryLevel.LOW


@pytest.mark.parametrize(
    ("battery", "previous", "level"),
    [
        (80, OK, OK),
        (25, OK, WARNING),  # at the threshold: the lead time starts
        (10, WARNING, LOW),
        (3, OK, LOW),  # a battery that dies fast skips the warning
        (12, LOW, LOW),  # a wobble above low stays low
        (15, LOW, WARNING),  # 5 points above low: out of low
        (28, WARNING, WARNING),  # a wobble above warning stays warning
        (30, WARNING, OK),  # a new battery
        (100, LOW, OK),
    ],
)
def test_battery_levels_have_lead_time_and_hysteresis(
    battery: float, previous: BatteryLevel, level: BatteryLevel
) -> None:
    assert BatteryThresholds().level(battery, previous) is level


def test_a_long_hold_is_a_stuck_button_reported_once() -> None:
    stuck = StuckButtons(StuckButtonRules(max_hold_s=60.0))
    assert stuck.pressed("b-1", T0, 2.0) == []
    events = stuck.pressed("b-1", T0 + timedelta(seconds=5), 75.0)
    assert events == [
        ButtonStuck(
            ts=T0 + timedelta(seconds=5),
            badge="b-1",
            reason="hold",
            presses=2,
            hold_s=75.0,
            window_s=120.0,
        )
    ]
    assert stuck.pressed("b-1", T0 + timedelta(seconds=10), 75.0) == []


def test_presses_without_pause_are_a_stuck_button_and_a_quiet_window_rearms_it() -> None:
    stuck = StuckButtons(StuckButtonRules(max_presses=4, window_s=60.0))
    found = [stuck.pressed("b-1", T0 + timedelta(seconds=10 * i), 0.0) for i in range(6)]
    assert [len(f) for f in found] == [0, 0, 0, 1, 0, 0]
    assert isinstance(found[3][0], ButtonStuck)
    assert found[3][0].reason == "repeating"
    # four presses spread over more than the window are not stuck
    assert all(stuck.pressed("b-2", T0 + timedelta(seconds=30 * i), 0.0) == [] for i in range(4))
    # after a quiet window, b-1 can be reported again
    later = T0 + timedelta(minutes=10)
    again = [stuck.pressed("b-1", later + timedelta(seconds=i), 0.0) for i in range(4)]
    assert [len(a) for a in again] == [0, 0, 0, 1]


def test_the_badge_watch_keeps_the_latest_gateway_and_ignores_late_news() -> None:
    watch = BadgeWatch(["b-1"])
    watch.seen("b-1", T0, "gw-1")
    watch.seen("b-1", T0 - timedelta(seconds=5), "gw-2")
    assert watch.gateway_of("b-1") == "gw-1"
    watch.seen("b-1", T0 + timedelta(seconds=5), "gw-2")
    watch.seen("b-1", T0 + timedelta(seconds=6), None)  # HTTP: no gateway, the last one stays
    assert watch.gateway_of("b-1") == "gw-2"
    watch.seen("b-9", T0, "gw-1")  # not a badge of the site
    assert watch.gateway_of("b-9") is None


def test_badge_battery_changes_are_events() -> None:
    watch = BadgeWatch(["b-1"])
    assert watch.battery("b-1", T0, 90) == []
    assert watch.battery("b-1", T0, 20) == [
        BadgeBatteryChanged(ts=T0, badge="b-1", battery=20, level="warning", previous="ok")
    ]
    assert watch.battery("b-1", T0, 19) == []
    rebuilt = BadgeWatch(["b-1"])
    rebuilt.apply(watch.battery("b-1", T0, 5)[0])
    state = rebuilt.get("b-1")
    assert state is not None
    assert (state.battery, state.battery_level) == (5, LOW)


def test_badges_not_seen_are_reported_once_each_until_seen_again() -> None:
    watch = BadgeWatch(["b-1", "b-2", "b-3"], not_seen_h=24, staff={"b-1": "n-1"})
    watch.begin(T0)
    watch.seen("b-1", T0, "gw-1")
    watch.seen("b-2", T0 + timedelta(hours=20), "gw-1")
    day = T0 + timedelta(hours=24)
    assert watch.sweep(day) == [
        BadgeNotSeen(ts=day, badge="b-1", last_seen=T0, hours=24.0, staff="n-1"),
        BadgeNotSeen(ts=day, badge="b-3", last_seen=None, hours=24.0, staff=None),
    ]
    assert watch.sweep(day + timedelta(hours=1)) == []
    assert watch.not_seen() == ["b-1", "b-3"]
    watch.seen("b-1", day + timedelta(hours=2))
    assert watch.not_seen() == ["b-3"]
    later = day + timedelta(hours=30)
    assert [e.badge for e in watch.sweep(later) if isinstance(e, BadgeNotSeen)] == ["b-1", "b-2"]


def test_the_synthetic_test_runs_next_at_its_local_time_across_daylight_saving() -> None:
    zone = ZoneInfo("America/New_York")
    at = time(3, 30)
    before = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # Saturday; DST starts Sunday 8 March
    first = next_run(before, at, zone)
    assert first.astimezone(zone).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)
    assert first.tzinfo is UTC
    assert first == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT
    second = next_run(first, at, zone)
    assert second - first == timedelta(days=1)
    assert next_run(first - timedelta(seconds=1), at, zone) == first
