"""The published JSON Schema and the decoder agree on what a valid native batch is."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duress.domain.errors import InvalidMessage
from duress.ingest.codecs.native import decode_batch

SCHEMA: dict[str, Any] = json.loads(
    files("duress.ingest").joinpath("schemas/native-batch.schema.json").read_text("utf-8")
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
TS = "2024-05-01T12:00:00Z"


def schema_accepts(document: object) -> bool:
    return bool(VALIDATOR.is_valid(document))


def decoder_accepts(document: object) -> bool:
    try:
        return not decode_batch(json.dumps(document).encode()).rejections
    except InvalidMessage:
        return False


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


VALID: list[dict[str, Any]] = [
    {"type": "sighting", "ts": TS, "badge": "B-1", "device": "ble-1", "kind": "ble", "rssi": -60},
    {"type": "sighting", "ts": TS, "badge": "B-1", "device": "ble-1", "kind": "ble", "rssi": -120},
    {"type": "sighting", "ts": TS, "badge": "B-1", "device": "ble-1", "kind": "ble", "rssi": 0},
    {"type": "sighting", "ts": TS, "badge": "B-1", "device": "ir-1", "kind": "ir"},
    {"type": "sighting", "ts": TS, "badge": "B-1", "device": "ir-1", "kind": "ir", "rssi": None},
    {"type": "sighting", "ts": TS, "badge": "Bé", "device": "ir", "kind": "ir", "gateway": "g"},
    {
        "type": "sighting",
        "ts": "2024-05-01t12:00:00.123+05:30",
        "badge": "B",
        "device": "d",
        "kind": "ir",
        "gateway": None,
        "future_field": [1, 2],
    },
    {"type": "button", "ts": TS, "badge": "B-1", "seq": 0, "presses": 1},
    {"type": "button", "ts": TS, "badge": "B-1", "seq": 2**63 - 1, "presses": 1000},
    {"type": "button", "ts": TS, "badge": "B-1", "seq": 5, "hold_s": 0},
    {"type": "button", "ts": TS, "badge": "B-1", "seq": 5, "hold_s": 3600, "presses": 2},
    {"type": "button", "ts": TS, "badge": "B-1", "seq": 5.0, "presses": 3.0},
    {"type": "heartbeat", "ts": TS, "device": "gw-1"},
    {"type": "heartbeat", "ts": TS, "device": "gw-1", "battery": 0, "gateway": "gw-0"},
    {"type": "heartbeat", "ts": TS, "device": "gw-1", "battery": 100.0},
    {"type": "heartbeat", "ts": TS, "device": "gw-1", "battery": None},
    {"type": "heartbeat", "ts": TS, "device": "x" * 128},
]

INVALID: list[Any] = [
    42,
    [],
    {},
    {"type": "panic", "ts": TS},
    {"type": None, "ts": TS, "device": "d"},
    {"type": "heartbeat", "device": "d"},
    {"type": "heartbeat", "ts": "2024-05-01T12:00:00", "device": "d"},
    {"type": "heartbeat", "ts": "2024-05-01", "device": "d"},
    {"type": "heartbeat", "ts": "2024-05-01T12:00:00+0200", "device": "d"},
    {"type": "heartbeat", "ts": 1714564800, "device": "d"},
    {"type": "heartbeat", "ts": TS, "device": ""},
    {"type": "heartbeat", "ts": TS, "device": "x" * 129},
    {"type": "heartbeat", "ts": TS, "device": "a\tb"},
    {"type": "heartbeat", "ts": TS, "device": 7},
    {"type": "heartbeat", "ts": TS, "device": "d", "battery": 100.5},
    {"type": "heartbeat", "ts": TS, "device": "d", "battery": True},
    {"type": "heartbeat", "ts": TS, "device": "d", "gateway": ""},
    {"type": "sighting", "ts": TS, "badge": "B", "device": "d", "kind": "ble"},
    {"type": "sighting", "ts": TS, "badge": "B", "device": "d", "kind": "ble", "rssi": None},
    {"type": "sighting", "ts": TS, "badge": "B", "device": "d", "kind": "ble", "rssi": -121},
    {"type": "sighting", "ts": TS, "badge": "B", "device": "d", "kind": "ble", "rssi": 0.5},
    {"type": "sighting", "ts": TS, "badge": "B", "device": "d", "kind": "ir", "rssi": 1},
    {"type": "sighting", "ts": TS, "badge": "B", "device": "d", "kind": "ble", "rssi": "-6"},
    {"type": "sighting", "ts": TS, "badge": "B", "device": "d", "kind": "uwb"},
    {"type": "sighting", "ts": TS, "badge": "B", "device": "d"},
    {"type": "sighting", "ts": TS, "device": "d", "kind": "ir"},
    {"type": "button", "ts": TS, "badge": "B", "seq": 1},
    {"type": "button", "ts": TS, "badge": "B", "presses": 1},
    {"type": "button", "ts": TS, "badge": "B", "seq": -1, "presses": 1},
    {"type": "button", "ts": TS, "badge": "B", "seq": 2**63, "presses": 1},
    {"type": "button", "ts": TS, "badge": "B", "seq": 1.5, "presses": 1},
    {"type": "button", "ts": TS, "badge": "B", "seq": 1, "presses": 0},
    {"type": "button", "ts": TS, "badge": "B", "seq": 1, "presses": 1001},
    {"type": "button", "ts": TS, "badge": "B", "seq": 1, "presses": None},
    {"type": "button", "ts": TS, "badge": "B", "seq": 1, "hold_s": -1},
    {"type": "button", "ts": TS, "badge": "B", "seq": 1, "hold_s": 3601},
    {"type": "button", "ts": TS, "badge": "B", "seq": True, "presses": 1},
]


@pytest.mark.parametrize("message", VALID)
def test_both_accept(message: dict[str, Any]) -> None:
    assert schema_accepts({"messages": [message]})
    assert schema_accepts([message])
    assert decoder_accepts({"messages": [message]})
    assert decoder_accepts([message])


@pytest.mark.parametrize("message", INVALID)
def test_both_reject(message: object) -> None:
    assert not schema_accepts({"messages": [message]})
    assert not decoder_accepts({"messages": [message]})


@pytest.mark.parametrize(
    "document",
    [{}, {"messages": {}}, {"messages": None}, "x", 3, None, {"messages": [VALID[0]] * 5001}],
)
def test_both_reject_whole_batches(document: object) -> None:
    assert not schema_accepts(document)
    assert not decoder_accepts(document)


def test_both_accept_empty_batches_and_batch_extras() -> None:
    document: object
    for document in ({"messages": []}, [], {"messages": VALID, "sent_by": "gw-1"}):
        assert schema_accepts(document)
        assert decoder_accepts(document)


# Values near every boundary, valid and not; the schema and the decoder must always agree.
_ids = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=130),
    st.sampled_from(["", "a\x00b", "\x85", 5, None, True, ["B"]]),
)
_ts = st.sampled_from(
    [
        TS,
        "2024-05-01T12:00:00.5-04:00",
        "2024-05-01 12:00:00z",
        "2024-05-01T12:00:00",
        "2024-05-01",
        "12:00",
        17,
        None,
    ]
)
_numbers = st.one_of(
    st.integers(-200, 200),
    st.floats(-200, 200, allow_nan=False),
    st.sampled_from([None, True, "1", -120, 0, 100, 1000, 1001, 3600, 3600.01, 2**63, 2**63 - 1]),
)
_message = st.fixed_dictionaries(
    {"type": st.sampled_from(["sighting", "button", "heartbeat", "other", None, 1])},
    optional={
        "ts": _ts,
        "badge": _ids,
        "device": _ids,
        "gateway": _ids,
        "kind": st.sampled_from(["ir", "ble", "uwb", None, 0]),
        "rssi": _numbers,
        "seq": _numbers,
        "presses": _numbers,
        "hold_s": _numbers,
        "battery": _numbers,
    },
)


@settings(max_examples=600)
@given(_message)
def test_schema_and_decoder_agree_on_generated_messages(message: dict[str, Any]) -> None:
    document = {"messages": [message]}
    assert schema_accepts(document) == decoder_accepts(document), message
