"""The server's own JSON format: batches of sightings, button events and heartbeats.

Used by ``POST /api/v1/ingest`` (a batch) and by MQTT gateways (a batch or one message). Pure:
bytes in, typed observations out; no I/O, no clock. The format is specified in
``docs/formats.md`` and, as a JSON Schema, in ``duress/ingest/schemas/native-batch.schema.json``.

A batch is ``{"messages": [...]}`` or a bare JSON array. Each message is decoded on its own: a
bad message becomes a :class:`Rejection` at its index and never costs the good ones. Only a batch
that is not JSON, not a batch, or over the :class:`BatchLimits` is rejected whole
(``InvalidMessage``).

:func:`decode_sighting_line` is a fast path for files of sightings (``duress locate``): one pass of
``msgspec`` for the common shape of line, and None for any other line, which the caller then gives
to the full decoder, so both answer the same for every line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Literal

import msgspec

from duress.domain.errors import InvalidMessage
from duress.domain.observations import (
    ButtonEvent,
    Heartbeat,
    Observation,
    Sighting,
    SightingKind,
)
from duress.ingest.codecs.fields import (
    MAX_ID_LENGTH,
    RSSI_MAX,
    RSSI_MIN,
    identifier,
    in_range,
    integer,
    json_type,
    load_object,
    loads,
    missing,
    number,
    optional_identifier,
    parse_timestamp,
    required,
    rssi,
    show,
)

MAX_SEQ: Final = 2**63 - 1
"""Largest badge sequence number (it is stored as a signed 64-bit integer)."""
MAX_PRESSES: Final = 1000
"""Most presses one button message may report."""
MAX_HOLD_S: Final = 3600.0
"""Longest hold one button message may report, in seconds."""
DEFAULT_MAX_BYTES: Final = 1024 * 1024
DEFAULT_MAX_MESSAGES: Final = 5000


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """How large a batch may be: ``max_bytes`` of JSON, ``max_messages`` messages."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_messages: int = DEFAULT_MAX_MESSAGES


DEFAULT_LIMITS: Final = BatchLimits()


@dataclass(frozen=True, slots=True)
class Rejection:
    """Message ``index`` of a batch could not be decoded: ``reason`` code and human ``detail``."""

    index: int
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One entry per message of the batch, in order: its observation or its rejection."""

    results: tuple[Observation | Rejection, ...]

    @property
    def observations(self) -> list[Observation]:
        """The decoded messages, in batch order."""
        return [r for r in self.results if not isinstance(r, Rejection)]

    @property
    def rejections(self) -> list[Rejection]:
        """The messages that could not be decoded, in batch order."""
        return [r for r in self.results if isinstance(r, Rejection)]

    def response_body(self) -> dict[str, Any]:
        """The HTTP answer: ``{"accepted": n, "rejected": [{"index", "reason", "detail"}]}``."""
        rejected = [
            {"index": r.index, "reason": r.reason, "detail": r.detail} for r in self.rejections
        ]
        return {"accepted": len(self.results) - len(rejected), "rejected": rejected}


def _sighting(msg: dict[str, Any]) -> Sighting:
    ts = parse_timestamp(required(msg, "ts", "an RFC 3339 timestamp"))
    badge = identifier(required(msg, "badge", "the badge id"), "badge")
    device = identifier(required(msg, "device", "the id of the IR monitor or BLE beacon"), "device")
    kind_value = required(msg, "kind", '"ir" or "ble"')
    if kind_value == "ble":
        kind = SightingKind.BLE
        strength: float | None = rssi(required(msg, "rssi", "the signal strength in dBm (BLE)"))
    elif kind_value == "ir":
        kind = SightingKind.IR
        raw = msg.get("rssi")
        strength = None if raw is None else rssi(raw)
    elif type(kind_value) is str:
        raise InvalidMessage(
            "bad_value", f'field \'kind\' is {show(kind_value)}; send "ir" or "ble"'
        )
    else:
        raise InvalidMessage(
            "wrong_type",
            f'field \'kind\' is a {json_type(kind_value)} ({show(kind_value)}); send "ir" or "ble"',
        )
    gateway = msg.get("gateway")
    if gateway is not None:
        gateway = identifier(gateway, "gateway")
    return Sighting(ts, badge, device, kind, strength, gateway)


def _button(msg: dict[str, Any]) -> ButtonEvent:
    ts = parse_timestamp(required(msg, "ts", "an RFC 3339 timestamp"))
    badge = identifier(required(msg, "badge", "the badge id"), "badge")
    seq_value = required(msg, "seq", "the badge's own sequence number (an integer >= 0)")
    seq = integer(seq_value, "seq")
    if not 0 <= seq <= MAX_SEQ:
        raise InvalidMessage(
            "out_of_range",
            f"field 'seq' is {show(seq_value)}; send the badge's sequence number, "
            f"an integer from 0 to {MAX_SEQ}",
        )
    has_presses = "presses" in msg
    has_hold = "hold_s" in msg
    if not (has_presses or has_hold):
        raise missing("presses", "the number of presses (>= 1) or 'hold_s', the hold in seconds")
    presses = 1
    if has_presses:
        raw_presses = msg["presses"]
        presses = integer(raw_presses, "presses")
        if not 1 <= presses <= MAX_PRESSES:
            raise InvalidMessage(
                "out_of_range",
                f"field 'presses' is {show(raw_presses)}; send an integer from 1 to {MAX_PRESSES}",
            )
    hold_s = 0.0
    if has_hold:
        hold_s = in_range(number(msg["hold_s"], "hold_s"), "hold_s", 0.0, MAX_HOLD_S, " s")
    gateway = msg.get("gateway")
    if gateway is not None:
        gateway = identifier(gateway, "gateway")
    return ButtonEvent(ts, badge, seq, presses, hold_s, gateway)


def _heartbeat(msg: dict[str, Any]) -> Heartbeat:
    ts = parse_timestamp(required(msg, "ts", "an RFC 3339 timestamp"))
    device = identifier(required(msg, "device", "the device (or badge) id"), "device")
    battery_value = msg.get("battery")
    battery = None
    if battery_value is not None:
        battery = in_range(number(battery_value, "battery"), "battery", 0.0, 100.0, " %")
    return Heartbeat(ts, device, battery, optional_identifier(msg, "gateway"))


_DECODERS: Final[dict[str, Callable[[dict[str, Any]], Observation]]] = {
    "sighting": _sighting,
    "button": _button,
    "heartbeat": _heartbeat,
}
TYPES: Final = tuple(_DECODERS)
"""The message types this version decodes."""


def decode_object(msg: object) -> Observation:
    """One already-parsed native message (a JSON object) to its observation."""
    if type(msg) is not dict:
        raise InvalidMessage(
            "not_an_object",
            f'a message is a JSON {json_type(msg)}; send an object with a "type" field',
        )
    kind = msg.get("type")
    decoder = _DECODERS.get(kind) if type(kind) is str else None
    if decoder is not None:
        return decoder(msg)
    if kind is None:
        raise missing("type", '"sighting", "button" or "heartbeat"')
    if type(kind) is not str:
        raise InvalidMessage(
            "wrong_type",
            f"field 'type' is a {json_type(kind)} ({show(kind)}); "
            'send "sighting", "button" or "heartbeat"',
        )
    raise InvalidMessage(
        "unknown_type",
        f'field \'type\' is {show(kind)}; this server decodes "sighting", "button" and "heartbeat"',
    )


def decode_message(data: bytes, *, limits: BatchLimits = DEFAULT_LIMITS) -> Observation:
    """One native message (a JSON object), e.g. an MQTT payload, to its observation."""
    _check_size(data, limits)
    return decode_object(load_object(data, what="message"))


def _check_size(data: bytes, limits: BatchLimits) -> None:
    if len(data) > limits.max_bytes:
        raise InvalidMessage(
            "batch_too_large",
            f"the body is {len(data)} bytes, over the limit of {limits.max_bytes}; "
            "split it into smaller batches",
        )


def decode_batch(data: bytes, *, limits: BatchLimits = DEFAULT_LIMITS) -> BatchResult:
    """A batch (``{"messages": [...]}`` or ``[...]``) to one result per message.

    Raises ``InvalidMessage`` only when the whole batch is unusable: ``batch_too_large``,
    ``not_json``, ``not_a_batch`` or ``too_many_messages``.
    """
    _check_size(data, limits)
    document = loads(data, what="the batch")
    if type(document) is dict:
        messages = document.get("messages")
        if type(messages) is not list:
            raise InvalidMessage(
                "not_a_batch",
                "the batch object has no 'messages' array "
                f"({'it is missing' if messages is None else 'it is a ' + json_type(messages)}); "
                'send {"messages": [...]} or a bare JSON array',
            )
    elif type(document) is list:
        messages = document
    else:
        raise InvalidMessage(
            "not_a_batch",
            f"the batch is a JSON {json_type(document)}; "
            'send {"messages": [...]} or a JSON array',
        )
    if len(messages) > limits.max_messages:
        raise InvalidMessage(
            "too_many_messages",
            f"the batch has {len(messages)} messages, over the limit of {limits.max_messages}; "
            "split it into smaller batches",
        )
    results: list[Observation | Rejection] = []
    append = results.append
    for index, msg in enumerate(messages):
        try:
            append(decode_object(msg))
        except InvalidMessage as exc:
            append(Rejection(index, exc.reason, exc.detail))
    return BatchResult(tuple(results))


# --- sighting lines: the offline fast path ------------------------------------------------------

FAST_LINE_MAX_BYTES: Final = 1024
"""Longer lines always take the full decoder. A JSON document this short nests at most 512 deep
and holds no 4,300-digit integer, limits that only the standard ``json`` module enforces, so both
decoders agree on which lines are JSON."""

_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]


class _SightingLine(msgspec.Struct, gc=False):
    """The fields of a native sighting line, typed; anything else is ignored, as by ``_sighting``."""

    type: Literal["sighting"]
    ts: str
    badge: _Id
    device: _Id
    kind: SightingKind
    rssi: float | None = None
    gateway: _Id | None = None
    received_at: str | None = None


_line_decoder: Final = msgspec.json.Decoder(_SightingLine)
_parse_iso: Final = datetime.fromisoformat


def _setter(field: str) -> Callable[[Sighting, object], None]:
    """The slot setter of one :class:`Sighting` field (a frozen dataclass: its ``__init__`` sets
    each field through ``object.__setattr__``, about twice the cost of the slots' own setters)."""
    setter: Callable[[Sighting, object], None] = Sighting.__dict__[field].__set__
    return setter


_new: Final = object.__new__
_set_ts: Final = _setter("ts")
_set_badge: Final = _setter("badge")
_set_device: Final = _setter("device")
_set_kind: Final = _setter("kind")
_set_rssi: Final = _setter("rssi")
_set_gateway: Final = _setter("gateway")
_BLE: Final = SightingKind.BLE


_DIGITS_AS_ZERO: Final = bytes.maketrans(b"123456789", b"000000000")
_UTC_SHAPES: Final = frozenset(
    b"0000-00-00T00:00:00" + fraction + offset
    for fraction in (b"", *(b"." + b"0" * n for n in range(1, 10)))
    for offset in (b"Z", b"+00:00")
)
"""``YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+00:00)`` with every digit written as 0."""
_UTC_OFFSETS: Final = ("Z", "+00:00")


def _utc_moment(text: str) -> datetime | None:
    """A UTC timestamp of the common shape ``YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+00:00)``.

    What :func:`~duress.ingest.codecs.fields.parse_timestamp` returns for it (the same
    ``datetime.fromisoformat`` call on text its RFC 3339 pattern matches; the result is already
    UTC), or None for any other text, valid or not. ``text`` has no lone surrogates (msgspec
    rejects them).
    """
    if (
        text.encode().translate(_DIGITS_AS_ZERO) not in _UTC_SHAPES
        or not text.endswith(_UTC_OFFSETS)  # the shape reads +02:00 as +00:00
        or "T24" in text  # the pattern allows hours 00-23; some Pythons read 24:00
    ):
        return None
    try:
        return _parse_iso(text)
    except ValueError:  # not a real date (2024-02-30, year 0)
        return None


def decode_sighting_line(line: bytes, *, ids: dict[str, str]) -> tuple[datetime, Sighting] | None:
    """One line of a sightings file (a native sighting with its ``received_at``), the fast way.

    ``(received_at, sighting)`` exactly as :func:`~duress.ingest.codecs.fields.parse_timestamp`
    and :func:`decode_object` give them for the same line, for the common case: a JSON object of
    type ``sighting`` of at most :data:`FAST_LINE_MAX_BYTES`, UTC timestamps of the shape
    ``2024-05-01T12:00:00[.250]Z`` or ``+00:00``, ids of 1 to 128 printable characters, an RSSI
    from -120 dBm to below 0. Anything else, good or bad, returns None: the caller decodes the
    line with ``json.loads`` and :func:`decode_object`, whose error names the field and the fix.

    One pass of ``msgspec`` into a typed struct; the :class:`Sighting` is filled in through its
    slots (half the cost of its frozen ``__init__``). ``ids`` maps each badge and device id seen so
    far (in one file, say) to one string object for it: every sighting of a badge then carries the
    same string, whose hash is computed once and whose memory stays warm, which makes the location
    engine's lookups faster than with a new string per line.
    """
    if len(line) > FAST_LINE_MAX_BYTES:
        return None
    try:
        msg = _line_decoder.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    received = msg.received_at
    if received is None:
        return None
    badge = msg.badge
    device = msg.device
    gateway = msg.gateway
    if not (badge.isprintable() and device.isprintable()) or not (
        gateway is None or gateway.isprintable()
    ):
        return None
    kind = msg.kind
    value = msg.rssi
    if value is None:
        if kind is _BLE:
            return None
    elif not RSSI_MIN <= value < RSSI_MAX:  # 0 dBm: the full decoder keeps the sign of 0
        return None
    ts = _utc_moment(msg.ts)
    at = _utc_moment(received)
    if ts is None or at is None:
        return None
    sighting = _new(Sighting)
    _set_ts(sighting, ts)
    _set_badge(sighting, ids.setdefault(badge, badge))
    _set_device(sighting, ids.setdefault(device, device))
    _set_kind(sighting, kind)
    _set_rssi(sighting, value)
    _set_gateway(sighting, gateway)
    return at, sighting
