"""The native format: every message type, every reject reason, batch-level limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from duress.domain.errors import InvalidMessage
from duress.domain.observations import ButtonEvent, Heartbeat, Sighting, SightingKind
from duress.ingest.codecs.native import (
    BatchLimits,
    Rejection,
    decode_batch,
    decode_message,
    decode_object,
)

TS = "2024-05-01T12:00:00.250Z"
WHEN = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)

SIGHTING: dict[str, Any] = {
    "type": "sighting",
    "ts": TS,
    "badge": "B-0042",
    "device": "ble-4B-12",
    "kind": "ble",
    "rssi": -67.5,
    "gateway": "gw-4b",
}
BUTTON: dict[str, Any] = {"type": "button", "ts": TS, "badge": "B-0042", "seq": 17, "presses": 3}
HEARTBEAT: dict[str, Any] = {"type": "heartbeat", "ts": TS, "device": "ir-4B-12", "battery": 87}


def body(*messages: object) -> bytes:
    return json.dumps({"messages": list(messages)}).encode()


def reject(message: object) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as caught:
        decode_object(message)
    return caught.value


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def without(base: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in base.items() if k != key}


# --- the three message types -----------------------------------------------------------------


def test_ble_sighting() -> None:
    assert decode_object(SIGHTING) == Sighting(
        ts=WHEN,
        badge="B-0042",
        device="ble-4B-12",
        kind=SightingKind.BLE,
        rssi=-67.5,
        gateway="gw-4b",
    )


def test_ir_sighting_needs_no_rssi_and_no_gateway() -> None:
    message = {"type": "sighting", "ts": TS, "badge": "B-1", "device": "ir-4B-12", "kind": "ir"}
    assert decode_object(message) == Sighting(WHEN, "B-1", "ir-4B-12", SightingKind.IR)


def test_ir_sighting_may_carry_rssi_and_null_optionals() -> None:
    message = with_(SIGHTING, kind="ir", rssi=None, gateway=None)
    observation = decode_object(message)
    assert isinstance(observation, Sighting)
    assert (observation.kind, observation.rssi, observation.gateway) == ("ir", None, None)


def test_button_presses() -> None:
    assert decode_object(BUTTON) == ButtonEvent(WHEN, "B-0042", seq=17, presses=3, hold_s=0.0)


def test_button_hold() -> None:
    message = {"type": "button", "ts": TS, "badge": "B-1", "seq": 0, "hold_s": 2.5, "gateway": "g"}
    assert decode_object(message) == ButtonEvent(WHEN, "B-1", 0, presses=1, hold_s=2.5, gateway="g")


def test_button_presses_and_hold_together() -> None:
    observation = decode_object(with_(BUTTON, hold_s=0))
    assert isinstance(observation, ButtonEvent)
    assert (observation.presses, observation.hold_s) == (3, 0.0)


def test_heartbeat() -> None:
    assert decode_object(HEARTBEAT) == Heartbeat(WHEN, "ir-4B-12", battery=87.0)
    assert decode_object(without(HEARTBEAT, "battery")) == Heartbeat(WHEN, "ir-4B-12")


def test_unknown_fields_are_ignored() -> None:
    assert decode_object(with_(HEARTBEAT, firmware="2.1.0", extra={"a": 1})) == decode_object(
        HEARTBEAT
    )


def test_integral_float_seq_is_an_integer() -> None:
    observation = decode_object(with_(BUTTON, seq=17.0))
    assert isinstance(observation, ButtonEvent)
    assert observation.seq == 17
    assert type(observation.seq) is int


# --- timestamps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T07:30:00-04:30", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01t12:00:00z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01 12:00:00+00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123456789Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T12:00:00.5Z", datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_timestamps_are_converted_to_utc(text: str, expected: datetime) -> None:
    observation = decode_object(with_(HEARTBEAT, ts=text))
    assert observation.ts == expected
    assert observation.ts.utcoffset() == timedelta(0)
    assert observation.ts.tzinfo is UTC


def test_naive_timestamp_is_rejected_with_the_fix() -> None:
    error = reject(with_(HEARTBEAT, ts="2024-05-01T12:00:00"))
    assert error.reason == "bad_timestamp"
    assert "'ts'" in error.detail
    assert '"Z"' in error.detail
    assert '"+00:00"' in error.detail
    assert "2024-05-01T12:00:00" in error.detail


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "2024-05-01",
        "2024-05-01T12:00Z",
        "2024-02-30T12:00:00Z",
        "2024-13-01T12:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T12:00:60Z",
        "2024-05-01T12:00:00+0200",
        "20240501T120000Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "2024-05-01T12:00:00Z\n",
        "",
    ],
)
def test_bad_timestamps(text: str) -> None:
    error = reject(with_(HEARTBEAT, ts=text))
    assert error.reason == "bad_timestamp"
    assert "'ts'" in error.detail


def test_timestamp_of_the_wrong_type() -> None:
    error = reject(with_(HEARTBEAT, ts=1714564800))
    assert error.reason == "wrong_type"
    assert "'ts'" in error.detail
    assert "1714564800" in error.detail


# --- reject reasons ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "reason", "mentions"),
    [
        ([1, 2], "not_an_object", "array"),
        ("sighting", "not_an_object", "string"),
        (without(SIGHTING, "type"), "missing_field", "'type'"),
        (with_(SIGHTING, type=7), "wrong_type", "'type'"),
        (with_(SIGHTING, type="panic"), "unknown_type", '"panic"'),
        (without(SIGHTING, "ts"), "missing_field", "'ts'"),
        (without(SIGHTING, "badge"), "missing_field", "'badge'"),
        (with_(SIGHTING, badge=None), "missing_field", "'badge'"),
        (with_(SIGHTING, badge=42), "wrong_type", "'badge'"),
        (with_(SIGHTING, badge=""), "bad_value", "'badge'"),
        (with_(SIGHTING, badge="x" * 129), "bad_value", "128"),
        (with_(SIGHTING, badge="B\n1"), "bad_value", "control"),
        (without(SIGHTING, "device"), "missing_field", "'device'"),
        (without(SIGHTING, "kind"), "missing_field", "'kind'"),
        (with_(SIGHTING, kind="uwb"), "bad_value", '"uwb"'),
        (with_(SIGHTING, kind=1), "wrong_type", "'kind'"),
        (without(SIGHTING, "rssi"), "missing_field", "'rssi'"),
        (with_(SIGHTING, rssi=None), "missing_field", "'rssi'"),
        (with_(SIGHTING, rssi="-67"), "wrong_type", "'rssi'"),
        (with_(SIGHTING, rssi=True), "wrong_type", "boolean"),
        (with_(SIGHTING, rssi=-121), "rssi_out_of_range", "-121"),
        (with_(SIGHTING, rssi=5), "rssi_out_of_range", "-120"),
        (with_(SIGHTING, kind="ir", rssi=3), "rssi_out_of_range", "'rssi'"),
        (with_(SIGHTING, gateway=""), "bad_value", "'gateway'"),
        (with_(SIGHTING, gateway=["gw"]), "wrong_type", "'gateway'"),
        (without(BUTTON, "seq"), "missing_field", "'seq'"),
        (with_(BUTTON, seq=-1), "out_of_range", "'seq'"),
        (with_(BUTTON, seq=2**63), "out_of_range", "'seq'"),
        (with_(BUTTON, seq=1.5), "wrong_type", "integer"),
        (with_(BUTTON, seq="17"), "wrong_type", "'seq'"),
        (with_(BUTTON, seq=False), "wrong_type", "boolean"),
        (without(BUTTON, "presses"), "missing_field", "hold_s"),
        (with_(BUTTON, presses=0), "out_of_range", "'presses'"),
        (with_(BUTTON, presses=1001), "out_of_range", "'presses'"),
        (with_(BUTTON, presses=None), "wrong_type", "'presses'"),
        (with_(BUTTON, hold_s=-0.5), "out_of_range", "'hold_s'"),
        (with_(BUTTON, hold_s=3600.5), "out_of_range", "'hold_s'"),
        (with_(BUTTON, hold_s="long"), "wrong_type", "'hold_s'"),
        (with_(HEARTBEAT, battery=101), "out_of_range", "'battery'"),
        (with_(HEARTBEAT, battery=-1), "out_of_range", "'battery'"),
        (with_(HEARTBEAT, battery="87%"), "wrong_type", "'battery'"),
        (without(HEARTBEAT, "device"), "missing_field", "'device'"),
    ],
)
def test_reject_reasons(message: object, reason: str, mentions: str) -> None:
    error = reject(message)
    assert error.reason == reason
    assert mentions in error.detail
    assert str(error) == f"{reason}: {error.detail}"


def test_details_say_how_to_fix() -> None:
    assert "send" in reject(with_(SIGHTING, rssi=-121)).detail
    assert "send" in reject(without(SIGHTING, "kind")).detail
    assert "sighting" in reject(with_(SIGHTING, type="panic")).detail


def test_huge_bad_values_are_shortened_in_details() -> None:
    error = reject(with_(SIGHTING, kind="k" * 10_000))
    assert len(error.detail) < 300


# --- batches -------------------------------------------------------------------------------


def test_batch_keeps_order_and_every_good_message() -> None:
    result = decode_batch(body(SIGHTING, {"type": "nope"}, BUTTON, 42, HEARTBEAT, {}))
    assert [type(r).__name__ for r in result.results] == [
        "Sighting",
        "Rejection",
        "ButtonEvent",
        "Rejection",
        "Heartbeat",
        "Rejection",
    ]
    assert result.observations == [
        decode_object(SIGHTING),
        decode_object(BUTTON),
        decode_object(HEARTBEAT),
    ]
    assert [(r.index, r.reason) for r in result.rejections] == [
        (1, "unknown_type"),
        (3, "not_an_object"),
        (5, "missing_field"),
    ]


def test_bare_array_batch() -> None:
    result = decode_batch(json.dumps([SIGHTING, BUTTON]).encode())
    assert len(result.observations) == 2
    assert result.rejections == []


def test_empty_batch() -> None:
    assert decode_batch(b'{"messages": []}').results == ()
    assert decode_batch(b"[]").results == ()


def test_response_body() -> None:
    result = decode_batch(body(SIGHTING, with_(SIGHTING, rssi=9), HEARTBEAT))
    response = result.response_body()
    assert response["accepted"] == 2
    assert response["rejected"] == [
        {"index": 1, "reason": "rssi_out_of_range", "detail": result.rejections[0].detail}
    ]
    json.dumps(response)  # serialisable as is


def test_rejection_is_a_value() -> None:
    assert Rejection(1, "missing_field", "x") == Rejection(1, "missing_field", "x")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not_json"),
        (b"{", "not_json"),
        (b"\xff\xfe\x00", "not_json"),
        (b'{"messages": [NaN]}', "not_json"),
        (b'{"messages": [{"type": "heartbeat", "battery": Infinity}]}', "not_json"),
        (b"[" * 100_000 + b"]" * 100_000, "not_json"),
        (b'"messages"', "not_a_batch"),
        (b"42", "not_a_batch"),
        (b"null", "not_a_batch"),
        (b"{}", "not_a_batch"),
        (b'{"messages": {"type": "heartbeat"}}', "not_a_batch"),
        (b'{"message": []}', "not_a_batch"),
    ],
)
def test_whole_batch_rejections(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode_batch(data)
    assert caught.value.reason == reason
    assert "send" in caught.value.detail


def test_batch_over_the_byte_limit() -> None:
    data = body(*[HEARTBEAT] * 10)
    decode_batch(data, limits=BatchLimits(max_bytes=len(data)))
    with pytest.raises(InvalidMessage) as caught:
        decode_batch(data, limits=BatchLimits(max_bytes=len(data) - 1))
    assert caught.value.reason == "batch_too_large"
    assert str(len(data)) in caught.value.detail
    assert "split" in caught.value.detail


def test_default_byte_limit_is_one_mebibyte() -> None:
    data = b"[" + b" " * (1024 * 1024) + b"]"
    with pytest.raises(InvalidMessage) as caught:
        decode_batch(data)
    assert caught.value.reason == "batch_too_large"


def test_batch_over_the_message_limit() -> None:
    assert len(decode_batch(body(*[HEARTBEAT] * 5000)).observations) == 5000
    with pytest.raises(InvalidMessage) as caught:
        decode_batch(body(*[HEARTBEAT] * 5001))
    assert caught.value.reason == "too_many_messages"
    assert "5001" in caught.value.detail
    with pytest.raises(InvalidMessage):
        decode_batch(body(*[HEARTBEAT] * 3), limits=BatchLimits(max_messages=2))


def test_batch_with_every_message_bad_is_still_a_result() -> None:
    result = decode_batch(body({}, {}, {}))
    assert result.observations == []
    assert [r.index for r in result.rejections] == [0, 1, 2]


# --- single messages (MQTT) ----------------------------------------------------------------


def test_decode_message() -> None:
    assert decode_message(json.dumps(BUTTON).encode()) == decode_object(BUTTON)


def test_decode_message_rejects_a_batch() -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode_message(body(BUTTON))
    assert caught.value.reason == "missing_field"
    with pytest.raises(InvalidMessage) as caught:
        decode_message(json.dumps([BUTTON]).encode())
    assert caught.value.reason == "not_an_object"


def test_offsets_other_than_utc_keep_the_instant() -> None:
    observation = decode_object(with_(HEARTBEAT, ts="2024-05-01T08:00:00-04:00"))
    assert observation.ts == datetime(2024, 5, 1, 8, tzinfo=timezone(timedelta(hours=-4)))
