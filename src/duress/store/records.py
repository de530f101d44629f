"""Turning :class:`NewEvent` records into rows and rows back into :class:`StoredEvent` records.

Every backend goes through these functions, so every backend accepts and refuses the same events and
returns the same Python values: a payload comes back as what ``json.loads`` makes of its JSON text,
and a timestamp comes back timezone-aware in UTC.

An event is refused with :class:`InvalidEvent` (before anything of its batch is written) when its
type is empty, its subject kind is unknown, its time is naive, or its payload is not JSON: values
other than str/int/float/bool/None/list/dict, NaN or infinite floats, non-string keys, or the NUL
character (which PostgreSQL cannot store in text or JSONB).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from duress.domain.events import NewEvent, StoredEvent, Subject, SubjectKind

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class InvalidEvent(ValueError):
    """An event cannot be stored as given (a programming error upstream, never retried)."""


@dataclass(frozen=True, slots=True)
class Row:
    """An event validated and encoded for a database row."""

    type: str
    ts: datetime
    subject_kind: str
    subject_id: str
    payload: str
    value: Any = field(default=None, compare=False, repr=False)
    """The payload as ``json.loads`` makes of ``payload``, when encoding made it (else None): what
    :func:`appended` returns without parsing the text again."""


def encode(events: Sequence[NewEvent]) -> list[Row]:
    """Validate and encode a batch, or raise :class:`InvalidEvent` naming the first bad event."""
    rows: list[Row] = []
    for index, event in enumerate(events):
        try:
            rows.append(_encode_one(event))
        except InvalidEvent as exc:
            where = f"event {index + 1} of {len(events)}"
            raise InvalidEvent(f"{where} (type {getattr(event, 'type', '?')!r}): {exc}") from None
    return rows


def _encode_one(event: NewEvent) -> Row:
    if not isinstance(event, NewEvent):
        raise InvalidEvent(f"expected a NewEvent, got {type(event).__name__}")
    if not isinstance(event.type, str) or not event.type:
        raise InvalidEvent("the event type must be a non-empty string")
    try:
        kind = SubjectKind(event.subject.kind)
    except ValueError:
        known = ", ".join(k.value for k in SubjectKind)
        raise InvalidEvent(
            f"unknown subject kind {event.subject.kind!r} (known: {known})"
        ) from None
    if not isinstance(event.subject.id, str):
        raise InvalidEvent(
            f"the subject id must be a string, got {type(event.subject.id).__name__}"
        )
    if not isinstance(event.ts, datetime) or event.ts.utcoffset() is None:
        raise InvalidEvent(f"the time must be a timezone-aware datetime, got {event.ts!r}")
    if not isinstance(event.payload, Mapping):
        raise InvalidEvent(f"the payload must be a mapping, got {type(event.payload).__name__}")
    payload, value = _quick_json(event.payload)
    if value is None:
        _check_json(event.payload, "payload")
        try:
            payload = json.dumps(
                event.payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")
            )
        except (TypeError, ValueError) as exc:  # pragma: no cover - _check_json catches these
            raise InvalidEvent(f"the payload is not JSON: {exc}") from None
    for text in (event.type, event.subject.id):
        if "\x00" in text:
            raise InvalidEvent("the type and subject id must not contain the NUL character")
    return Row(
        type=event.type,
        ts=event.ts.astimezone(UTC),
        subject_kind=kind.value,
        subject_id=event.subject.id,
        payload=payload,
        value=value,
    )


def _quick_json(payload: Mapping[str, Any]) -> tuple[str, Any]:
    """The payload's JSON text and what it reads back as, when that is the payload itself: then it
    is portable JSON as :func:`_check_json` means it (no NaN or infinity, string keys only, no NUL,
    nothing JSON cannot carry) without walking it in Python. ``("", None)`` when it is not so (a
    tuple, a key that is not a string, a value JSON refuses, a NUL): :func:`_check_json` says why
    or lets it through, and the text is made again."""
    try:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return "", None
    if "\\u0000" in text:  # JSON writes NUL so, in a key or a value (or it is literal text)
        return "", None
    value = json.loads(text)
    return (text, value) if value == payload else ("", None)


def _check_json(value: Any, path: str) -> None:
    """Raise :class:`InvalidEvent` naming the path of the first value that is not portable JSON."""
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidEvent(f"{path} contains the NUL character")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidEvent(f"{path} is {value!r}, which JSON cannot represent")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidEvent(f"{path} has a key {key!r} that is not a string")
            if "\x00" in key:
                raise InvalidEvent(f"{path} has a key containing the NUL character")
            _check_json(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]")
        return
    raise InvalidEvent(
        f"{path} is a {type(value).__name__}, which is not JSON "
        "(use str, int, float, bool, None, lists and dicts; datetimes as RFC 3339 strings)"
    )


def appended(seq: int, row: Row) -> StoredEvent:
    """The record for ``row`` just stored at ``seq``: as :func:`stored`, with the payload encoding
    read back already when it did (each row is appended once, so nobody else holds that value)."""
    if row.value is None:
        return stored(seq, row)
    return StoredEvent(
        seq=seq,
        type=row.type,
        ts=row.ts,
        subject=Subject(SubjectKind(row.subject_kind), row.subject_id),
        payload=row.value,
    )


def stored(seq: int, row: Row) -> StoredEvent:
    """The record for ``row`` once stored at ``seq``, as a read would return it."""
    return StoredEvent(
        seq=seq,
        type=row.type,
        ts=row.ts,
        subject=Subject(SubjectKind(row.subject_kind), row.subject_id),
        payload=json.loads(row.payload),
    )


def from_columns(
    seq: int, type_: str, ts: datetime | str, kind: str, ident: str, payload: Any
) -> StoredEvent:
    """A :class:`StoredEvent` from a database row; ``payload`` is JSON text or already decoded."""
    if isinstance(ts, str):
        ts = parse_ts(ts)
    elif ts.tzinfo is not UTC:
        ts = ts.astimezone(UTC)
    return StoredEvent(
        seq=seq,
        type=type_,
        ts=ts,
        subject=Subject(SubjectKind(kind), ident),
        payload=json.loads(payload) if isinstance(payload, str | bytes) else payload,
    )


def format_ts(ts: datetime) -> str:
    """A UTC time as fixed-width text that sorts in time order (SQLite's column format)."""
    return ts.astimezone(UTC).strftime(_TS_FORMAT)


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be None or >= 0, got {limit}")


def check_aware(ts: datetime) -> None:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise InvalidEvent(f"time {ts.isoformat()} has no time zone; use an aware UTC datetime")


def check_timers(timers: Mapping[str, datetime | None] | None) -> dict[str, datetime | None]:
    """Timers to set or clear, checked before anything is written (keys non-empty, times aware)."""
    out: dict[str, datetime | None] = {}
    for key, at in (timers or {}).items():
        if not isinstance(key, str) or not key:
            raise InvalidEvent(f"timer key {key!r} must be a non-empty string")
        if at is not None:
            check_aware(at)
            at = at.astimezone(UTC)
        out[key] = at
    return out


EVENT_COLUMNS = "seq, type, ts, subject_kind, subject_id, payload"


def select_events(
    *,
    after: int,
    limit: int | None,
    subject: Subject | None,
    types: Collection[str] | None,
    mark: str,
) -> tuple[str, list[Any]]:
    """The query of :meth:`EventStore.read` for a SQL backend whose parameter mark is ``mark``
    (``?`` for SQLite, ``%s`` for PostgreSQL): events after ``after``, optionally of one subject
    and some types, in sequence order."""
    where = [f"seq > {mark}"]
    args: list[Any] = [after]
    if subject is not None:
        where.append(f"subject_kind = {mark} AND subject_id = {mark}")
        args += [str(subject.kind), subject.id]
    if types is not None:
        wanted = sorted(set(types))
        where.append(f"type IN ({', '.join([mark] * len(wanted))})")
        args += wanted
    sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY seq"
    if limit is not None:
        sql += f" LIMIT {mark}"
        args.append(limit)
    return sql, args


def reads_nothing(limit: int | None, types: Collection[str] | None) -> bool:
    """True when a read can only answer nothing (no types asked, or a limit of 0)."""
    return (types is not None and not types) or limit == 0
