"""Accounts in SQLite and PostgreSQL: the tables of migration ``0002_accounts``.

Both backends run the same statements (written with ``?`` placeholders; PostgreSQL gets ``%s``) on
a connection of their own, under a lock, in autocommit: every method is one statement. Times are
stored as UTC text in SQLite (the events table's format) and as ``timestamptz`` in PostgreSQL.
The tables exist once the event store has been opened on the database (it applies migrations).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from duress.domain.accounts import ApiToken, Role, Scope, Session, User
from duress.domain.errors import StoreUnavailable
from duress.store import urls

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_USER = (
    "name, role, password_hash, units, staff, disabled, must_change_password, created_at,"
    " password_changed_at"
)
_TOKEN = "id, name, token_hash, scopes, username, created_at, expires_at, revoked_at"
_SESSION = "id_hash, username, csrf, created_at, last_seen_at"


class _SqlAccounts:
    """The statements; subclasses say how to run one and how times are written."""

    inline = False
    _integrity: tuple[type[Exception], ...] = ()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[tuple[Any, ...]], int]:
        raise NotImplementedError

    def _ts(self, value: datetime | None) -> Any:
        return value

    # --- users -----------------------------------------------------------------------------------

    def add_user(self, user: User) -> bool:
        sql = f"INSERT INTO users ({_USER}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        return self._insert(sql, self._user_params(user))

    def get_user(self, name: str) -> User | None:
        rows, _ = self._run(f"SELECT {_USER} FROM users WHERE name = ?", (name,))
        return _user(rows[0]) if rows else None

    def list_users(self) -> list[User]:
        rows, _ = self._run(f"SELECT {_USER} FROM users ORDER BY name")
        return [_user(r) for r in rows]

    def update_user(self, user: User) -> bool:
        sql = (
            "UPDATE users SET role = ?, password_hash = ?, units = ?, staff = ?, disabled = ?,"
            " must_change_password = ?, created_at = ?, password_changed_at = ? WHERE name = ?"
        )
        params = self._user_params(user)
        _, count = self._run(sql, (*params[1:], params[0]))
        return count == 1

    def _user_params(self, user: User) -> tuple[Any, ...]:
        return (
            user.name,
            user.role.value,
            user.password_hash,
            ",".join(user.units),
            user.staff,
            user.disabled,
            user.must_change_password,
            self._ts(user.created_at),
            self._ts(user.password_changed_at),
        )

    # --- tokens ----------------------------------------------------------------------------------

    def add_token(self, token: ApiToken) -> bool:
        sql = f"INSERT INTO api_tokens ({_TOKEN}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        params = (
            token.id,
            token.name,
            token.token_hash,
            ",".join(sorted(s.value for s in token.scopes)),
            token.user,
            self._ts(token.created_at),
            self._ts(token.expires_at),
            self._ts(token.revoked_at),
        )
        return self._insert(sql, params)

    def token_by_hash(self, token_hash: str) -> ApiToken | None:
        sql = f"SELECT {_TOKEN} FROM api_tokens WHERE token_hash = ?"
        rows, _ = self._run(sql, (token_hash,))
        return _token(rows[0]) if rows else None

    def get_token(self, token_id: str) -> ApiToken | None:
        rows, _ = self._run(f"SELECT {_TOKEN} FROM api_tokens WHERE id = ?", (token_id,))
        return _token(rows[0]) if rows else None

    def list_tokens(self) -> list[ApiToken]:
        rows, _ = self._run(f"SELECT {_TOKEN} FROM api_tokens ORDER BY created_at, id")
        return [_token(r) for r in rows]

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        sql = "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
        _, count = self._run(sql, (self._ts(at), token_id))
        return count == 1

    # --- sessions --------------------------------------------------------------------------------

    def add_session(self, session: Session) -> None:
        sql = f"INSERT INTO sessions ({_SESSION}) VALUES (?, ?, ?, ?, ?)"
        params = (
            session.id_hash,
            session.user,
            session.csrf,
            self._ts(session.created_at),
            self._ts(session.last_seen_at),
        )
        self._run(sql, params)

    def get_session(self, id_hash: str) -> Session | None:
        rows, _ = self._run(f"SELECT {_SESSION} FROM sessions WHERE id_hash = ?", (id_hash,))
        if not rows:
            return None
        id_, user, csrf, created, seen = rows[0]
        return Session(id_, user, csrf, _when(created), _when(seen))

    def touch_session(self, id_hash: str, at: datetime) -> None:
        self._run("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", (self._ts(at), id_hash))

    def delete_session(self, id_hash: str) -> None:
        self._run("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))

    def delete_user_sessions(self, user: str) -> int:
        _, count = self._run("DELETE FROM sessions WHERE username = ?", (user,))
        return count

    def _insert(self, sql: str, params: Sequence[Any]) -> bool:
        try:
            self._run(sql, params)
        except self._integrity:
            return False
        return True


class SqliteAccounts(_SqlAccounts):
    """Accounts in the SQLite file at ``path`` (the event store's file, already migrated)."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = 5.0) -> None:
        self._where = f"SQLite at {path}"
        self._lock = threading.Lock()
        self._integrity = (sqlite3.IntegrityError,)
        try:
            self._conn = sqlite3.connect(
                Path(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{self._where} cannot be opened for accounts: {exc}") from exc

    def _ts(self, value: datetime | None) -> Any:
        return None if value is None else value.astimezone(UTC).strftime(_TS_FORMAT)

    def _run(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[tuple[Any, ...]], int]:
        with self._lock, self._errors():
            cur = self._conn.execute(sql, tuple(params))
            rows = cur.fetchall()
            return rows, cur.rowcount

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{self._where} failed an accounts query: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SqliteAccounts({self._where!r})"


class PostgresAccounts(_SqlAccounts):
    """Accounts in the PostgreSQL database at ``url`` (already migrated by the event store)."""

    def __init__(self, url: str, *, connect_timeout_s: float = 5.0) -> None:
        self._url = url
        self._where = f"PostgreSQL at {urls.mask(url)}"
        self._lock = threading.Lock()
        self._integrity = (psycopg.errors.UniqueViolation, psycopg.errors.ForeignKeyViolation)
        self._timeout = max(1, round(connect_timeout_s))
        self._conn: psycopg.Connection[Any] | None = None
        with self._lock:
            self._connection()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            try:
                self._conn = psycopg.connect(
                    self._url, autocommit=True, connect_timeout=self._timeout
                )
            except psycopg.Error as exc:
                raise StoreUnavailable(f"{self._where} cannot be reached: {exc}") from exc
        return self._conn

    def _run(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[tuple[Any, ...]], int]:
        query = sql.replace("?", "%s")
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    with conn.cursor() as cur:
                        cur.execute(query, tuple(params))
                        rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
                        return rows, cur.rowcount
                except self._integrity:
                    raise
                except psycopg.Error as exc:
                    if (conn.broken or conn.closed) and attempt == 1:
                        continue
                    raise StoreUnavailable(
                        f"{self._where} failed an accounts query: {exc}"
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()

    def __repr__(self) -> str:
        return f"PostgresAccounts({self._where!r})"


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def _maybe(value: Any) -> datetime | None:
    return None if value is None else _when(value)


def _user(row: tuple[Any, ...]) -> User:
    name, role, hashed, units, staff, disabled, must_change, created, changed = row
    return User(
        name=name,
        role=Role(role),
        password_hash=hashed,
        units=tuple(u for u in str(units).split(",") if u),
        staff=staff,
        disabled=bool(disabled),
        must_change_password=bool(must_change),
        created_at=_when(created),
        password_changed_at=_when(changed),
    )


def _token(row: tuple[Any, ...]) -> ApiToken:
    id_, name, hashed, scopes, user, created, expires, revoked = row
    parse: Callable[[str], Scope] = Scope
    return ApiToken(
        id=id_,
        name=name,
        token_hash=hashed,
        scopes=frozenset(parse(s) for s in str(scopes).split(",") if s),
        user=user,
        created_at=_when(created),
        expires_at=_maybe(expires),
        revoked_at=_maybe(revoked),
    )
