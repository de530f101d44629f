"""An event store in memory, for tests and demos: same contract as the databases, no durability.

It validates and encodes events exactly as the database backends do (see
:mod:`duress.store.records`), so a test that passes against it does not fail later on a payload
SQLite or PostgreSQL would refuse.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from duress.domain.errors import StoreUnavailable
from duress.domain.events import NewEvent, StoredEvent, Subject
from duress.store import records
from duress.store.base import Timer, Timers


class MemoryStore:
    """The event store as a list in memory; thread-safe; everything is lost on :meth:`close`."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._rows: list[records.Row] = []
        self._timers: dict[str, tuple[datetime, str | None, datetime | None]] = {}
        self._closed = False

    def append(
        self, events: Sequence[NewEvent], *, timers: Timers | None = None
    ) -> list[StoredEvent]:
        rows = records.encode(events)
        due = records.check_timers(timers)
        with self._lock:
            self._check_open()
            first = len(self._rows) + 1
            self._rows.extend(rows)
            for key, at in due.items():
                if at is None:
                    self._timers.pop(key, None)
                else:
                    self._timers[key] = (at, None, None)
        return [records.stored(first + i, row) for i, row in enumerate(rows)]

    def claim_due(
        self, now: datetime, *, owner: str, lease_s: float, limit: int = 100
    ) -> list[Timer]:
        records.check_aware(now)
        until = now + timedelta(seconds=lease_s)
        with self._lock:
            self._check_open()
            free = sorted(
                (at, key)
                for key, (at, _, held_until) in self._timers.items()
                if at <= now and (held_until is None or held_until <= now)
            )[:limit]
            for at, key in free:
                self._timers[key] = (at, owner, until)
        return [Timer(key, at) for at, key in free]

    def next_due(self) -> datetime | None:
        with self._lock:
            self._check_open()
            return min((at for at, _, _ in self._timers.values()), default=None)

    def read(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        subject: Subject | None = None,
        types: Collection[str] | None = None,
    ) -> list[StoredEvent]:
        records.check_limit(limit)
        wanted = None if types is None else frozenset(types)
        kind = None if subject is None else str(subject.kind)
        with self._lock:
            self._check_open()
            rows = self._rows[max(after, 0) :]
            first = max(after, 0) + 1
        out: list[StoredEvent] = []
        for offset, row in enumerate(rows):
            if limit is not None and len(out) >= limit:
                break
            if subject is not None and (row.subject_kind != kind or row.subject_id != subject.id):
                continue
            if wanted is not None and row.type not in wanted:
                continue
            out.append(records.stored(first + offset, row))
        return out

    def last_seq(self) -> int:
        with self._lock:
            self._check_open()
            return len(self._rows)

    def ping(self) -> None:
        with self._lock:
            self._check_open()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._rows = []

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemoryStore({self.url!r})"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"the memory store {self.url} is closed")
