"""What every event is: a subject, a record for the store, and one registry of types.

Each event names its ``subject`` (the alert, badge or device it is about) and turns into a
:class:`NewEvent` record for the event store; :func:`decode` turns a stored record back into the typed
event (any registered type: the package imports every module of events).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from duress.domain.errors import UnknownEventType


class SubjectKind(StrEnum):
    ALERT = "alert"
    BADGE = "badge"
    DEVICE = "device"
    SITE = "site"
    ACCOUNT = "account"
    TOKEN = "token"


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    id: str


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event as the store takes it: a type, a time, a subject and a JSON payload."""

    type: str
    ts: datetime
    subject: Subject
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the store returns it, with its position ``seq`` in the one total order."""

    seq: int
    type: str
    ts: datetime
    subject: Subject
    payload: Mapping[str, Any]


_REGISTRY: dict[str, type[Event]] = {}


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all domain events."""

    type: ClassVar[str]
    subject_kind: ClassVar[SubjectKind]
    subject_field: ClassVar[str]

    ts: datetime

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            if cls.type in _REGISTRY:
                raise TypeError(f"event type {cls.type!r} is defined twice")
            _REGISTRY[cls.type] = cls

    @property
    def subject(self) -> Subject:
        return Subject(self.subject_kind, str(getattr(self, self.subject_field)))

    def to_record(self) -> NewEvent:
        names = _payload_names.get(type(self))
        if names is None:
            names = _payload_names[type(self)] = tuple(
                f.name for f in dataclasses.fields(self) if f.name != "ts"
            )
        payload = {
            name: v if type(v := getattr(self, name)) in _PLAIN else _to_json(v) for name in names
        }
        return NewEvent(type=self.type, ts=self.ts, subject=self.subject, payload=payload)


@dataclass(frozen=True, kw_only=True)
class AlertEvent(Event):
    """An event about one alert (its subject is the ``alert`` id)."""

    subject_kind = SubjectKind.ALERT
    subject_field = "alert"

    alert: str


@dataclass(frozen=True, kw_only=True)
class BadgeEvent(Event):
    """An event about one badge (its subject is the ``badge`` id)."""

    subject_kind = SubjectKind.BADGE
    subject_field = "badge"

    badge: str


@dataclass(frozen=True, kw_only=True)
class AccountEvent(Event):
    """An event about one user account (its subject is the ``user`` name)."""

    subject_kind = SubjectKind.ACCOUNT
    subject_field = "user"

    user: str


def decode(record: StoredEvent | NewEvent) -> Event:
    """The typed event for a stored record; raises :class:`UnknownEventType` for an unknown type."""
    cls = _REGISTRY.get(record.type)
    if cls is None:
        raise UnknownEventType(record.type)
    shapes = _payload_shapes.get(cls)
    if shapes is None:
        shapes = _payload_shapes[cls] = tuple(
            (f.name, "datetime" in str(f.type), "tuple" in str(f.type))
            for f in dataclasses.fields(cls)
            if f.name != "ts"
        )
    payload = record.payload
    kwargs: dict[str, Any] = {}
    for name, is_datetime, is_tuple in shapes:
        if name in payload:
            value = payload[name]
            if is_datetime and isinstance(value, str):
                value = datetime.fromisoformat(value)
            elif is_tuple and isinstance(value, list):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            kwargs[name] = value
    return cls(ts=record.ts, **kwargs)


def event_types() -> Mapping[str, type[Event]]:
    """Every registered event type, by name (for docs and for the store's consumers)."""
    return dict(_REGISTRY)


_PLAIN = frozenset({str, int, float, bool, type(None)})
_payload_names: dict[type[Event], tuple[str, ...]] = {}
"""Each event class's payload fields (every field but ``ts``), found once."""
_payload_shapes: dict[type[Event], tuple[tuple[str, bool, bool], ...]] = {}
"""Each event class's payload fields with whether each is a time or a tuple, found once."""


def _to_json(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    # Plain dicts and lists (a policy, a recipient list) are most of a payload: their plain items
    # are taken as they are, without a call each.
    if kind is dict:
        return {
            k if type(k) is str else str(k): v if type(v) in _PLAIN else _to_json(v)
            for k, v in value.items()
        }
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else _to_json(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    return value
