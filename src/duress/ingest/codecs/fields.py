"""Reading typed fields out of decoded JSON, for every codec: strict JSON, timestamps, ids, numbers.

Each reader either returns a value of the promised type or raises :class:`InvalidMessage`
whose ``detail`` names the field, shows the bad value and says how to fix it. Nothing here does
I/O or reads the clock.

Reason codes raised here (stable, documented in ``docs/formats.md``): ``not_json``,
``not_an_object``, ``missing_field``, ``wrong_type``, ``bad_timestamp``, ``bad_value``,
``out_of_range``, ``rssi_out_of_range``, ``unknown_topic``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from duress.domain.errors import InvalidMessage

RSSI_MIN: Final = -120.0
"""Weakest plausible received signal strength, dBm (below the noise floor of every BLE radio)."""
RSSI_MAX: Final = 0.0
"""Strongest plausible received signal strength, dBm."""
MAX_ID_LENGTH: Final = 128
"""Longest badge, device or gateway id accepted, in characters."""

_SHOW = 60  # characters of a bad value shown back in a detail

_RFC3339 = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r":[0-5][0-9](?:\.[0-9]{1,9})?(?P<offset>[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def show(value: object) -> str:
    """A short, safe rendering of a bad value for an error detail."""
    text = json.dumps(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error details."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def loads(data: bytes | str, *, what: str = "payload") -> Any:
    """Strict JSON: rejects NaN/Infinity, invalid UTF-8, too-deep nesting; raises ``not_json``."""
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise InvalidMessage("not_json", f"{what} nests too deeply; send flat JSON") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int-digits limit, NaN
        raise InvalidMessage(
            "not_json", f"{what} is not valid UTF-8 JSON ({exc}); send a JSON document"
        ) from None


def load_object(data: bytes | str, *, what: str = "payload") -> dict[str, Any]:
    """Strict JSON that must be an object; raises ``not_json`` or ``not_an_object``."""
    value = loads(data, what=what)
    if type(value) is not dict:
        raise InvalidMessage(
            "not_an_object", f"{what} is a JSON {json_type(value)}; send a JSON object {{...}}"
        )
    return value


def wrong_type(field: str, value: object, expected: str) -> InvalidMessage:
    return InvalidMessage(
        "wrong_type",
        f"field {field!r} is a {json_type(value)} ({show(value)}); send {expected}",
    )


def missing(field: str, expected: str) -> InvalidMessage:
    return InvalidMessage("missing_field", f"field {field!r} is missing; send {expected}")


def parse_timestamp(value: object, field: str = "ts") -> datetime:
    """An RFC 3339 timestamp with an offset, as an aware UTC datetime."""
    if type(value) is not str:
        raise wrong_type(field, value, 'an RFC 3339 string such as "2024-05-01T12:00:00Z"')
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise InvalidMessage(
            "bad_timestamp",
            f"field {field!r} is {show(value)}, not an RFC 3339 timestamp; "
            'send e.g. "2024-05-01T12:00:00.250Z"',
        )
    if match.group("offset") is None:
        raise InvalidMessage(
            "bad_timestamp",
            f"field {field!r} is {show(value)}, which has no UTC offset; "
            f'add "Z" or "+00:00" (e.g. {show(value + "Z")})',
        )
    text = value.upper() if "t" in value or "z" in value else value
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidMessage(
            "bad_timestamp",
            f"field {field!r} is {show(value)}, which is not a real date and time; "
            "check the month, day, hour, minute and second",
        ) from None


def require_utc(moment: datetime, name: str = "received_at") -> datetime:
    """A caller-supplied time as aware UTC; a naive one is a programming error (``ValueError``)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


def identifier(value: object, field: str) -> str:
    """A non-empty id string of at most :data:`MAX_ID_LENGTH` characters, no control characters."""
    if type(value) is not str:
        raise wrong_type(field, value, "a string id")
    if (
        not value
        or len(value) > MAX_ID_LENGTH
        or (not value.isprintable() and _CONTROL.search(value) is not None)
    ):
        raise InvalidMessage(
            "bad_value",
            f"field {field!r} is {show(value)}; send a non-empty id without control characters, "
            f"of at most {MAX_ID_LENGTH} characters",
        )
    return value


def required(obj: Mapping[str, Any], field: str, expected: str) -> Any:
    """``obj[field]``, which must be present and not null."""
    value = obj.get(field)
    if value is None:
        raise missing(field, expected)
    return value


def optional_identifier(obj: Mapping[str, Any], field: str) -> str | None:
    value = obj.get(field)
    return None if value is None else identifier(value, field)


def optional_text(obj: Mapping[str, Any], field: str) -> str | None:
    """Any string (a display name, ...), or None when absent or null."""
    value = obj.get(field)
    if value is None or type(value) is str:
        return value
    raise wrong_type(field, value, "a string")


def number(value: object, field: str) -> float:
    """A finite JSON number (not a boolean) as a float."""
    if type(value) is float:
        if math.isfinite(value):
            return value
    elif type(value) is int:
        if -(2**53) <= value <= 2**53:
            return float(value)
    else:
        raise wrong_type(field, value, "a number")
    raise InvalidMessage("out_of_range", f"field {field!r} is {show(value)}; send a finite number")


def optional_number(obj: Mapping[str, Any], field: str) -> float | None:
    value = obj.get(field)
    return None if value is None else number(value, field)


def integer(value: object, field: str) -> int:
    """A JSON integer (not a boolean; ``3.0`` is accepted as 3)."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise wrong_type(field, value, "an integer")


def optional_integer(obj: Mapping[str, Any], field: str) -> int | None:
    value = obj.get(field)
    return None if value is None else integer(value, field)


def optional_boolean(obj: Mapping[str, Any], field: str) -> bool | None:
    value = obj.get(field)
    if value is None or type(value) is bool:
        return value
    raise wrong_type(field, value, "true or false")


def rssi(value: object, field: str = "rssi") -> float:
    """A received signal strength within :data:`RSSI_MIN`..:data:`RSSI_MAX` dBm."""
    dbm = number(value, field)
    if not RSSI_MIN <= dbm <= RSSI_MAX:
        raise InvalidMessage(
            "rssi_out_of_range",
            f"field {field!r} is {show(value)} dBm; send a signal strength between "
            f"{RSSI_MIN:g} and {RSSI_MAX:g} dBm (negative, e.g. -67)",
        )
    return dbm


def in_range(value: float, field: str, low: float, high: float, unit: str = "") -> float:
    if not low <= value <= high:
        raise InvalidMessage(
            "out_of_range",
            f"field {field!r} is {show(value)}{unit}; "
            f"send a value between {low:g} and {high:g}{unit}",
        )
    return value


def topic_levels(topic: str) -> list[str]:
    """An MQTT topic's levels; wildcards or an empty topic raise ``unknown_topic``."""
    if type(topic) is not str or not topic or "+" in topic or "#" in topic:
        raise InvalidMessage(
            "unknown_topic", f"topic {show(topic)} is not a concrete MQTT topic name"
        )
    return topic.split("/")
