"""Helpers for the store tests: event records, and where a test's store lives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from duress.domain.events import NewEvent, Subject, SubjectKind
from duress.store import open_store
from duress.store.base import EventStore

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@dataclass
class Backend:
    """Where a test's store lives; :meth:`open` opens another store there, closed after the test."""

    name: str
    url: str
    durable: bool
    _opened: list[EventStore] = field(default_factory=list)

    def open(self) -> EventStore:
        store = open_store(self.url, allow_memory=True)
        self._opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self._opened:
            store.close()


def with_params(url: str, **params: str) -> str:
    """``url`` with libpq parameters added to its query string."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


def event(
    type_: str = "button.pressed",
    *,
    badge: str = "B-001",
    kind: SubjectKind = SubjectKind.BADGE,
    at: float = 0.0,
    payload: Mapping[str, Any] | None = None,
) -> NewEvent:
    """A record ``at`` seconds after T0 about ``badge`` (or any subject of ``kind``)."""
    return NewEvent(
        type=type_,
        ts=T0 + timedelta(seconds=at),
        subject=Subject(kind, badge),
        payload={"n": 1} if payload is None else payload,
    )
