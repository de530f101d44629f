"""The native format: every message type, every reject reason, batch-level limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duress.domain.errors import InvalidMessage
from duress.domain.observations import ButtonEvent, Heartbeat, Sighting, SightingKind
from duress.ingest.codecs.fields import parse_timestamp
from duress.ingest.codecs.native import (
    BatchLimits,
    Rejection,
    decode_batch,
    decode_message,
    decode_object,
    decode_sighting_line,
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


# --- sighting lines: the offline fast path ---------------------------------------------------

LINE: dict[str, Any] = {
    "type": "sighting",
    "ts": "2025-03-03T07:00:00.004314+00:00",
    "badge": "sim-3733",
    "device": "ble-f3-s04",
    "kind": "ble",
    "received_at": "2025-03-03T07:00:00.036619+00:00",
    "rssi": -78.4,
}


def full_decoder(line: bytes) -> tuple[datetime | None, Sighting] | str:
    """What ``duress locate`` makes of a line without the fast path: the result or the reason."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return "not_json"
    if type(obj) is not dict:
        return "not_an_object"
    try:
        raw = obj.get("received_at")
        at = None if raw is None else parse_timestamp(raw, "received_at")
        observation = decode_object(obj)
    except InvalidMessage as exc:
        return exc.reason
    if not isinstance(observation, Sighting):
        return "not_a_sighting"
    return at, observation


def agrees(line: bytes) -> bool:
    """The fast path either declines the line or gives exactly what the full decoder gives."""
    fast = decode_sighting_line(line, ids={})
    if fast is None:
        return False
    # repr: the same values, types, time zones and signs of zero, field by field
    assert repr(fast) == repr(full_decoder(line))
    assert fast[1] == full_decoder(line)[1]
    return True


def test_a_simulated_line_takes_the_fast_path() -> None:
    line = json.dumps(LINE).encode()
    assert agrees(line)
    assert decode_sighting_line(line, ids={}) == (
        datetime(2025, 3, 3, 7, 0, 0, 36619, tzinfo=UTC),
        Sighting(
            datetime(2025, 3, 3, 7, 0, 0, 4314, tzinfo=UTC),
            "sim-3733",
            "ble-f3-s04",
            SightingKind.BLE,
            -78.4,
        ),
    )


def test_lines_share_one_string_per_id() -> None:
    ids: dict[str, str] = {}
    first = decode_sighting_line(json.dumps(LINE).encode(), ids=ids)
    second = decode_sighting_line(json.dumps(with_(LINE, rssi=-70)).encode(), ids=ids)
    assert first is not None
    assert second is not None
    assert second[1].badge is first[1].badge
    assert second[1].device is first[1].device
    assert ids == {"sim-3733": "sim-3733", "ble-f3-s04": "ble-f3-s04"}


@pytest.mark.parametrize(
    "changes",
    [
        {"ts": "2024-05-01T12:00:00Z", "received_at": "2024-05-01T12:00:00.25Z"},
        {"ts": "2024-05-01T12:00:00.123456789Z"},  # up to 9 digits, as the full decoder
        {"kind": "ir", "rssi": None, "gateway": "gw-1"},
        {"kind": "ir", "rssi": -40},
        {"rssi": -120},
        {"badge": "é" * 128, "extra": {"nested": [1, 2.5, None]}},
    ],
)
def test_common_variants_take_the_fast_path(changes: dict[str, Any]) -> None:
    assert agrees(json.dumps(with_(LINE, **changes)).encode())


@pytest.mark.parametrize(
    ("changes", "full"),
    [
        ({"ts": "2024-05-01t12:00:00z"}, "sighting"),  # lower case: valid, the full decoder
        ({"ts": "2024-05-01 12:00:00+00:00"}, "sighting"),
        ({"ts": "2024-05-01T14:00:00+02:00"}, "sighting"),  # converted to UTC there
        ({"ts": "2024-05-01T12:00:00+0000"}, "bad_timestamp"),
        ({"ts": "2024-05-01T12:00:00"}, "bad_timestamp"),
        ({"ts": "2024-05-01T24:00:00Z"}, "bad_timestamp"),
        ({"ts": "2024-02-30T12:00:00Z"}, "bad_timestamp"),
        ({"ts": "0000-01-01T00:00:00Z"}, "bad_timestamp"),
        ({"ts": "2024-05-01T12:00:00.1234567890Z"}, "bad_timestamp"),
        ({"ts": "٢٠٢٤-05-01T12:00:00Z"}, "bad_timestamp"),
        ({"ts": 1714564800}, "wrong_type"),
        ({"received_at": "2024-05-01T12:00:00-0500"}, "bad_timestamp"),
        ({"received_at": None}, "sighting"),  # no arrival time: the replay clock decides
        ({"rssi": 0}, "sighting"),  # 0 dBm: the full decoder keeps the sign of 0
        ({"rssi": -0.0}, "sighting"),
        ({"rssi": 5}, "rssi_out_of_range"),
        ({"rssi": -121}, "rssi_out_of_range"),
        ({"rssi": True}, "wrong_type"),
        ({"rssi": None}, "missing_field"),
        ({"badge": ""}, "bad_value"),
        ({"badge": "x" * 129}, "bad_value"),
        ({"badge": "a\x07b"}, "bad_value"),
        ({"badge": "a\u2028b"}, "sighting"),  # not printable, not a control character
        ({"device": 7}, "wrong_type"),
        ({"gateway": ""}, "bad_value"),
        ({"kind": "BLE"}, "bad_value"),
        ({"type": "heartbeat"}, "not_a_sighting"),
        ({"padding": "x" * 1100}, "sighting"),  # over FAST_LINE_MAX_BYTES
    ],
)
def test_everything_else_is_left_to_the_full_decoder(changes: dict[str, Any], full: str) -> None:
    line = json.dumps(with_(LINE, **changes)).encode()
    assert decode_sighting_line(line, ids={}) is None
    if full == "sighting":
        assert isinstance(full_decoder(line), tuple)
    else:
        assert full_decoder(line) == full


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"not json",
        b"[1]",
        b'{"type": "sighting"',
        b"[" * 5000,
        json.dumps(LINE).encode()[:-1] + b', "x": NaN}',
        json.dumps(LINE).replace('"badge"', '"badge": "a", "badge"').encode(),  # last wins
        json.dumps(LINE).replace('"type"', '"ty\\u0070e"').encode(),
        json.dumps(LINE).encode()[:-1] + b', "type": "button"}',
        json.dumps(LINE).encode()[:-1] + b', "x": "\\ud800"}',
        b"\xef\xbb\xbf" + json.dumps(LINE).encode(),
        json.dumps(LINE).encode().replace(b"sim-3733", b"sim-\xff"),
    ],
)
def test_odd_lines_agree(line: bytes) -> None:
    agrees(line)


timestamps = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.just(UTC)).map(
        lambda d: d.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])).map(str),
    st.from_regex(
        r"[0-9١]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2})?(\.[0-9]{0,11})?"
        r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?",
        fullmatch=True,
    ),
    st.text(max_size=40),
)
ids = st.one_of(
    st.sampled_from(["sim-1", "ble-f3-s04", "", "x" * 128, "x" * 129, "a\x00b", "a\u2028b"]),
    st.text(max_size=140),
    st.integers(),
    st.none(),
)
strengths = st.one_of(
    st.floats(-130, 10),
    st.integers(-130, 10),
    st.sampled_from([0, -0.0, 0.0, True, "x", -1e400, 10**30]),
    st.none(),
)
changes = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["sighting", "button", "Sighting", 1]),
        "ts": timestamps,
        "badge": ids,
        "device": ids,
        "kind": st.sampled_from(["ble", "ir", "BLE", "", None, 0]),
        "rssi": strengths,
        "gateway": ids,
        "received_at": timestamps,
        "extra": st.text(max_size=5),
    },
)
lines = st.builds(
    lambda changed, dropped: {k: v for k, v in {**LINE, **changed}.items() if k not in dropped},
    changes,
    st.sets(st.sampled_from(sorted(LINE)), max_size=1),
)
"""Near-valid sighting lines: a good one with some fields changed and perhaps one dropped."""


@given(lines, st.booleans())
@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
def test_fast_path_agrees_with_the_full_decoder(message: dict[str, Any], ascii: bool) -> None:
    agrees(json.dumps(message, ensure_ascii=ascii).encode())


@given(
    st.fixed_dictionaries(
        {
            "ts": timestamps,
            "received_at": timestamps,
            "rssi": st.floats(-120, 0) | st.integers(-120, 0),
        }
    )
)
@settings(max_examples=1500)
def test_fast_path_agrees_on_timestamps_and_strengths(changes: dict[str, Any]) -> None:
    agrees(json.dumps(with_(LINE, **changes)).encode())


@given(st.binary(max_size=300))
def test_fast_path_agrees_on_arbitrary_bytes(data: bytes) -> None:
    agrees(data)
