"""The event store's contract: an append-only, totally ordered log of events.

Every backend (memory, SQLite, PostgreSQL) implements :class:`EventStore` and passes the same
contract test suite (``tests/store/test_contract.py``). :func:`duress.store.open_store` picks one by
URL; ``docs/store.md`` says what each guarantees.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from duress.domain.events import NewEvent, StoredEvent, Subject

Timers = Mapping[str, datetime | None]
"""Named timers to set (a due time) or clear (None) in the same transaction as an append."""


@dataclass(frozen=True, slots=True)
class Timer:
    key: str
    due_at: datetime


class EventStore(Protocol):
    url: str
    """The URL this store was opened with, with any password masked."""

    def append(
        self, events: Sequence[NewEvent], *, timers: Timers | None = None
    ) -> list[StoredEvent]:
        """Append ``events`` in one transaction and return them with their sequence numbers.

        When this returns, the events are committed and on stable storage (fsynced): a caller may
        acknowledge a press only after it returns. Sequence numbers increase in commit order, so a
        reader that has seen ``seq = n`` never later finds a new event below ``n``; the returned
        records equal what :meth:`read` returns (times in UTC, payloads as decoded JSON).

        Raises ``InvalidEvent`` (a ``ValueError``) before writing anything when an event cannot be
        stored (naive time, unknown subject kind, payload that is not JSON), and
        ``StoreUnavailable`` when the write fails; either way nothing of the batch is stored.
        """
        ...

    def read(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        subject: Subject | None = None,
        types: Collection[str] | None = None,
    ) -> list[StoredEvent]:
        """Events with ``seq > after`` in sequence order, optionally for one subject or some types.

        At most ``limit`` events (all when None); ``types=()`` matches nothing. Raises
        ``StoreUnavailable`` when the read fails.
        """
        ...

    def claim_due(
        self, now: datetime, *, owner: str, lease_s: float, limit: int = 100
    ) -> list[Timer]:
        """Claim up to ``limit`` timers due at ``now`` that nobody holds (or whose lease ran out),
        for ``lease_s`` seconds. Two instances never claim the same timer at once (PostgreSQL:
        ``FOR UPDATE SKIP LOCKED``). A claim ends when an append sets or clears the timer."""
        ...

    def next_due(self) -> datetime | None:
        """The earliest due time of any timer, or None."""
        ...

    def last_seq(self) -> int:
        """The highest sequence number stored, 0 when empty."""
        ...

    def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the store answers a trivial query."""
        ...

    def close(self) -> None: ...
