"""The event store's contract: an append-only, totally ordered log of events.

Every backend (memory, SQLite, PostgreSQL) implements :class:`EventStore` and passes the same contract
test suite (``tests/store/test_contract.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from duress.domain.events import NewEvent, StoredEvent, Subject


class EventStore(Protocol):
    url: str
    """The URL this store was opened with, with any password masked."""

    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Append ``events`` in one transaction and return them with their sequence numbers.

        When this returns, the events are committed and on stable storage (fsynced): a caller may
        acknowledge a press only after it returns. Raises ``StoreUnavailable`` when the write fails;
        then nothing of the batch is stored.
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
        """Events with ``seq > after`` in sequence order, optionally for one subject or some types."""
        ...

    def last_seq(self) -> int:
        """The highest sequence number stored, 0 when empty."""
        ...

    def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the store answers a trivial query."""
        ...

    def close(self) -> None: ...
