"""IR supervision on its own: devices down after ``after`` heartbeat intervals unheard, rooms
offline while all their IR devices are down."""

from __future__ import annotations

from duress.domain.ir_supervision import IrSupervision

ROOMS = {"ir-a": "a", "em-a-1": "a", "ir-b": "b", "ir-c": "c"}
INTERVALS = {"ir-a": 300.0, "em-a-1": 300.0, "ir-b": 300.0, "ir-c": 0.0}
"""``ir-c`` has no heartbeat interval: it is never taken as down."""


def test_devices_unheard_since_the_first_check_go_down_after_two_intervals() -> None:
    watch = IrSupervision(ROOMS, INTERVALS)
    assert not watch.check(1000.0, 2.0)  # supervision starts here
    assert not watch.check(1600.0, 2.0)  # exactly two intervals: not yet
    assert watch.check(1601.0, 2.0)
    assert watch.offline == frozenset({"a", "b"})


def test_a_room_stays_online_while_one_of_its_devices_is_heard() -> None:
    watch = IrSupervision(ROOMS, INTERVALS)
    watch.check(0.0, 2.0)
    watch.heard("em-a-1", 500.0)
    assert watch.check(700.0, 2.0)  # ir-a and ir-b down; em-a-1 still keeps a
    assert watch.offline == frozenset({"b"})
    assert watch.check(1200.0, 2.0)
    assert watch.offline == frozenset({"a", "b"})


def test_hearing_a_down_device_brings_its_room_back_at_once() -> None:
    watch = IrSupervision(ROOMS, INTERVALS)
    watch.check(0.0, 2.0)
    watch.check(700.0, 2.0)
    assert watch.heard("ir-b", 700.0)
    assert watch.offline == frozenset({"a"})
    assert not watch.heard("ir-b", 650.0)  # older news changes nothing
    assert not watch.heard("ir-b", 701.0)  # nor does hearing a working device


def test_checks_are_at_most_once_a_second_and_off_with_zero() -> None:
    watch = IrSupervision(ROOMS, INTERVALS)
    watch.check(0.0, 2.0)
    assert not watch.check(1000.0, 0.0)
    assert watch.offline == frozenset()
    assert watch.check(1000.0, 2.0)
    watch.heard("ir-a", 1000.2)
    watch.heard("em-a-1", 1000.2)
    assert watch.offline == frozenset({"b"})
    assert not watch.check(1000.5, 2.0)  # within the second: not looked at


def test_a_device_it_does_not_supervise_is_not_in_it() -> None:
    watch = IrSupervision(ROOMS, INTERVALS)
    assert "ir-a" in watch
    assert "gw-1" not in watch
