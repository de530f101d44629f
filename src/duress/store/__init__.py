"""The event store: an append-only, totally ordered log of every fact (see :class:`EventStore`).

:func:`open_store` picks the backend by URL:

- ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``: the default,
  :class:`~duress.store.sqlite.SqliteStore`;
- ``postgresql://user@host:port/database`` (or ``postgres://``):
  :class:`~duress.store.postgres.PostgresStore`;
- ``sqlite://:memory:`` and ``memory://`` (tests only, with ``allow_memory=True``): nothing is
  durable.
"""

from __future__ import annotations

from duress.domain.errors import ConfigError
from duress.store import urls
from duress.store.base import EventStore
from duress.store.records import InvalidEvent

__all__ = ["EventStore", "InvalidEvent", "open_store"]


def open_store(url: str, *, allow_memory: bool = False) -> EventStore:
    """Open (creating and migrating as needed) the event store at ``url``.

    Raises :class:`ConfigError` for a URL of an unknown form (naming the accepted forms), or for an
    in-memory store unless ``allow_memory`` (a server must never acknowledge a press it can lose);
    raises :class:`StoreUnavailable` when the database cannot be opened.
    """
    kind = urls.scheme(url)
    if kind == "sqlite":
        path = urls.sqlite_path(url)
        if path is None:
            _check_memory(url, allow_memory)
        from duress.store.sqlite import MEMORY, SqliteStore

        return SqliteStore(MEMORY if path is None else path)
    if kind in ("postgresql", "postgres"):
        from duress.store.postgres import PostgresStore

        return PostgresStore(url)
    if kind == "memory" and url == "memory://":
        _check_memory(url, allow_memory)
        from duress.store.memory import MemoryStore

        return MemoryStore(url)
    raise urls.unknown(url)


def _check_memory(url: str, allow_memory: bool) -> None:
    if not allow_memory:
        raise ConfigError(
            [
                f"store URL {url!r}: an in-memory store loses every event when the process stops; "
                f"use a file or a server ({urls.ACCEPTED.split(', and for tests')[0]})"
            ]
        )
