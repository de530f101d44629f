from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from duress.domain.errors import UnknownEventType
from duress.domain.events import (
    BadgeMoved,
    ButtonPressed,
    DeviceWentSilent,
    Event,
    NewEvent,
    StoredEvent,
    Subject,
    SubjectKind,
    decode,
    event_types,
)

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


def test_a_press_becomes_a_record_about_its_badge_and_back() -> None:
    press = ButtonPressed(
        ts=T0, badge="b-1", seq=7, presses=3, hold_s=0.0, received_at=T0, staff="n-1"
    )
    record = press.to_record()
    assert record.type == "button.pressed"
    assert record.subject == Subject(SubjectKind.BADGE, "b-1")
    assert record.payload["received_at"] == T0.isoformat()
    assert "ts" not in record.payload
    stored = StoredEvent(
        seq=1, type=record.type, ts=T0, subject=record.subject, payload=record.payload
    )
    assert decode(stored) == press


def test_datetimes_inside_the_payload_come_back_as_datetimes() -> None:
    silent = DeviceWentSilent(ts=T0, device="ir-1", last_seen=T0, silent_s=600.0)
    assert decode(silent.to_record()) == silent
    moved = BadgeMoved(
        ts=T0,
        badge="b-1",
        floor="f1",
        unit=None,
        area=None,
        precision="floor",
        confidence=0.5,
        since=T0,
    )
    assert decode(moved.to_record()) == moved


def test_an_unknown_type_is_named_in_the_error() -> None:
    record = NewEvent("alert.teleported", T0, Subject(SubjectKind.ALERT, "a-1"), {})
    with pytest.raises(UnknownEventType, match=r"alert\.teleported"):
        decode(record)


def test_every_event_type_is_registered_once() -> None:
    types = event_types()
    assert types["button.pressed"] is ButtonPressed
    with pytest.raises(TypeError, match="defined twice"):

        @dataclass(frozen=True, kw_only=True)
        class Again(Event):
            type = "button.pressed"
