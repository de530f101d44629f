"""Where accounts live: users, API tokens and sessions, in the event store's own database.

Accounts are mutable records, not events, so they have their own tables (migration
``0002_accounts``); the service appends an event for every change so the audit trail stays in the
log. Every backend implements :class:`AccountStore`:

- :class:`MemoryAccounts`: for tests and the in-memory event store;
- :class:`~duress.store.accounts_sql.SqliteAccounts` and
  :class:`~duress.store.accounts_sql.PostgresAccounts`: their own connection to the same database.

:func:`accounts_for` picks the one that matches an opened event store; :func:`open_accounts` opens
one by URL (the CLI). Each method is one statement, atomic on its own.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from typing import Any, Protocol

from duress.domain.accounts import ApiToken, Session, User
from duress.store import urls
from duress.store.base import EventStore


class AccountStore(Protocol):
    def add_user(self, user: User) -> bool:
        """Insert ``user``; False (and nothing changed) when the name is taken."""
        ...

    def get_user(self, name: str) -> User | None: ...

    def list_users(self) -> list[User]:
        """Every user, by name."""
        ...

    def update_user(self, user: User) -> bool:
        """Replace the stored user of that name; False when there is none."""
        ...

    def add_token(self, token: ApiToken) -> bool:
        """Insert ``token``; False when its id or hash is taken."""
        ...

    def token_by_hash(self, token_hash: str) -> ApiToken | None: ...

    def get_token(self, token_id: str) -> ApiToken | None: ...

    def list_tokens(self) -> list[ApiToken]:
        """Every token, oldest first."""
        ...

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        """Mark the token revoked at ``at``; False when unknown or already revoked."""
        ...

    def add_session(self, session: Session) -> None: ...

    def get_session(self, id_hash: str) -> Session | None: ...

    def touch_session(self, id_hash: str, at: datetime) -> None: ...

    def delete_session(self, id_hash: str) -> None: ...

    def delete_user_sessions(self, user: str) -> int:
        """End every session of ``user`` (disabled, password changed); how many ended."""
        ...

    def close(self) -> None: ...


class MemoryAccounts:
    """Accounts in dictionaries: same contract as the databases, nothing durable."""

    inline = True
    """Calls are cheap and never block: the service calls them on the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, User] = {}
        self._tokens: dict[str, ApiToken] = {}
        self._sessions: dict[str, Session] = {}

    def add_user(self, user: User) -> bool:
        with self._lock:
            if user.name in self._users:
                return False
            self._users[user.name] = user
            return True

    def get_user(self, name: str) -> User | None:
        with self._lock:
            return self._users.get(name)

    def list_users(self) -> list[User]:
        with self._lock:
            return [self._users[n] for n in sorted(self._users)]

    def update_user(self, user: User) -> bool:
        with self._lock:
            if user.name not in self._users:
                return False
            self._users[user.name] = user
            return True

    def add_token(self, token: ApiToken) -> bool:
        with self._lock:
            taken = token.id in self._tokens or any(
                t.token_hash == token.token_hash for t in self._tokens.values()
            )
            if taken or (token.user is not None and token.user not in self._users):
                return False
            self._tokens[token.id] = token
            return True

    def token_by_hash(self, token_hash: str) -> ApiToken | None:
        with self._lock:
            return next((t for t in self._tokens.values() if t.token_hash == token_hash), None)

    def get_token(self, token_id: str) -> ApiToken | None:
        with self._lock:
            return self._tokens.get(token_id)

    def list_tokens(self) -> list[ApiToken]:
        with self._lock:
            return sorted(self._tokens.values(), key=lambda t: (t.created_at, t.id))

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        with self._lock:
            token = self._tokens.get(token_id)
            if token is None or token.revoked_at is not None:
                return False
            self._tokens[token_id] = dataclasses.replace(token, revoked_at=at)
            return True

    def add_session(self, session: Session) -> None:
        with self._lock:
            self._sessions[session.id_hash] = session

    def get_session(self, id_hash: str) -> Session | None:
        with self._lock:
            return self._sessions.get(id_hash)

    def touch_session(self, id_hash: str, at: datetime) -> None:
        with self._lock:
            session = self._sessions.get(id_hash)
            if session is not None:
                self._sessions[id_hash] = dataclasses.replace(session, last_seen_at=at)

    def delete_session(self, id_hash: str) -> None:
        with self._lock:
            self._sessions.pop(id_hash, None)

    def delete_user_sessions(self, user: str) -> int:
        with self._lock:
            gone = [k for k, s in self._sessions.items() if s.user == user]
            for key in gone:
                del self._sessions[key]
            return len(gone)

    def close(self) -> None:
        pass


def accounts_for(store: EventStore) -> AccountStore:
    """The account store in the same database as the opened event ``store``."""
    from duress.store.memory import MemoryStore
    from duress.store.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        from duress.store.accounts_sql import SqliteAccounts

        if store.path is None:
            return MemoryAccounts()
        return SqliteAccounts(store.path)
    if isinstance(store, MemoryStore):
        return MemoryAccounts()
    from duress.store.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        from duress.store.accounts_sql import PostgresAccounts

        conninfo: str = store._conninfo  # same package: the URL with its password
        return PostgresAccounts(conninfo)
    raise TypeError(f"no account store for {store!r}")


def open_accounts(url: str) -> AccountStore:
    """The account store in the database at the event store ``url`` (migrated by opening the store
    first: call :func:`duress.store.open_store` before this, or use :func:`accounts_for`)."""
    kind = urls.scheme(url)
    if kind == "sqlite":
        from duress.store.accounts_sql import SqliteAccounts

        path = urls.sqlite_path(url)
        return MemoryAccounts() if path is None else SqliteAccounts(path)
    if kind in ("postgresql", "postgres"):
        from duress.store.accounts_sql import PostgresAccounts

        return PostgresAccounts(url)
    if kind == "memory":
        return MemoryAccounts()
    raise urls.unknown(url)


def is_inline(store: Any) -> bool:
    """Whether ``store`` may be called on the event loop (it never blocks)."""
    return bool(getattr(store, "inline", False))
