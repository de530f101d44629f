from datetime import UTC, datetime
from typing import Any

import pytest

from duress.domain.events import NewEvent, Subject, SubjectKind
from duress.store import records

TS = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def event(payload: Any) -> NewEvent:
    return NewEvent(type="t", ts=TS, subject=Subject(SubjectKind.BADGE, "b1"), payload=payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"a": 1, "b": [1, 2.5, None, True], "c": {"d": "é", "e": []}},
        {"tuple": (1, 2)},  # accepted, read back as a list
        {"text": "a literal \\u0000, not a NUL"},
    ],
)
def test_what_an_append_returns_is_what_a_read_would(payload: Any) -> None:
    (row,) = records.encode([event(payload)])
    appended = records.appended(7, row)
    assert appended == records.stored(7, row)
    assert appended.payload == records.stored(7, row).payload


def test_a_plain_payload_is_read_back_once_while_encoding() -> None:
    payload = {"a": [1, 2], "b": {"c": "d"}}
    (row,) = records.encode([event(payload)])
    assert row.value == payload
    assert records.appended(1, row).payload is row.value


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"a": float("nan")}, r"payload\.a is nan"),
        ({1: "x"}, "has a key 1 that is not a string"),
        ({"a": "x\x00y"}, r"payload\.a contains the NUL character"),
        ({"a\x00": 1}, "a key containing the NUL character"),
        ({"a": {"b": datetime(2026, 1, 1)}}, r"payload\.a\.b is a datetime"),
    ],
)
def test_refusals_still_name_the_path(payload: Any, message: str) -> None:
    with pytest.raises(records.InvalidEvent, match=message):
        records.encode([event(payload)])
