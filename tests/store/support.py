"""Helpers for the store tests: event records, and where a test's store lives."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from duress.domain.events import NewEvent, Subject, SubjectKind
from duress.store import migrate, open_store
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


def open_at_once(open_one: Callable[[], EventStore], count: int) -> None:
    """Open ``count`` stores on one new database from as many threads at once: migrations must run
    exactly once, and every store must then append to the same log."""
    start = threading.Barrier(count)
    opened: list[EventStore] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            opened.append(open_one())
        except BaseException as exc:  # reported below
            errors.append(exc)

    pool = [threading.Thread(target=run) for _ in range(count)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    try:
        assert errors == []
        for i, s in enumerate(opened):
            s.append([event(at=i)])
        assert [e.seq for e in opened[0].read()] == list(range(1, count + 1))
    finally:
        for s in opened:
            s.close()


def assert_migrated_once(rows: list[tuple[Any, ...]], backend: str, schema_version: int) -> None:
    """``schema_migrations`` rows: every known migration applied once, in order."""
    known = [(m.version, m.name) for m in migrate.migrations(backend)]
    assert rows == known
    assert known[0] == (1, "events")
    assert schema_version == len(known)
