"""The event store in PostgreSQL, for production and for several Duress instances sharing one log.

Durability: each append is one transaction, committed with ``synchronous_commit`` at least ``on``
(the store turns it back on if the server or role set it ``off``), so when
:meth:`PostgresStore.append` returns, the batch is in the server's fsynced write-ahead log (and on
synchronous standbys if the server is configured so).

Order: appends from every instance take one transaction-scoped advisory lock before inserting, so
sequence numbers are allotted in commit order. A reader that has seen ``seq = n`` will never later
see a newly committed event below ``n`` (the classic ``bigserial`` pitfall); a failed append may
leave a gap. The lock does not block readers or autovacuum.

Connections: one writing connection (autocommit off) and one reading connection (autocommit on),
each used under its own lock, so the store is thread-safe and reads never wait for a write. A
connection found broken is replaced on the next call; an append whose connection broke before
``COMMIT`` was sent is retried once on a fresh connection (nothing of it can have been stored).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
import structlog
from psycopg.conninfo import conninfo_to_dict

from duress.domain.errors import ConfigError, StoreUnavailable
from duress.domain.events import NewEvent, StoredEvent, Subject
from duress.store import migrate, records, urls
from duress.store.base import Timer, Timers

log = structlog.get_logger(__name__)

T = TypeVar("T")

_INSERT = (
    "INSERT INTO events (type, ts, subject_kind, subject_id, payload)"
    " VALUES (%s, %s, %s, %s, %s::jsonb) RETURNING seq"
)
_SET_TIMER = (
    "INSERT INTO timers (key, due_at) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE"
    " SET due_at = excluded.due_at, claimed_by = NULL, claimed_until = NULL"
)
_CLAIM = (
    "UPDATE timers SET claimed_by = %s, claimed_until = %s WHERE key IN ("
    " SELECT key FROM timers WHERE due_at <= %s AND (claimed_until IS NULL OR claimed_until <= %s)"
    " ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING key, due_at"
)
_APPEND_LOCK_CLASS = 0x44555245  # "DURE"; the low 32 bits of the key are the events table's oid
_MIGRATE_LOCK = "duress.store.migrate"


class PostgresStore:
    """The event store in the PostgreSQL database named by ``url`` (a libpq URL).

    Opening connects and applies pending migrations; it raises :class:`StoreUnavailable` when the
    server cannot be reached. ``lock_timeout_s`` bounds how long an append waits for another
    instance's append (a stuck instance must not stall presses forever).
    """

    def __init__(
        self, url: str, *, connect_timeout_s: float = 5.0, lock_timeout_s: float = 10.0
    ) -> None:
        self.url = urls.mask(url)
        try:
            info = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise ConfigError([f"store URL {self.url!r}: not a PostgreSQL URL: {exc}"]) from None
        host = info.get("host") or info.get("hostaddr") or "localhost"
        self._where = f"PostgreSQL at {host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"
        self._conninfo = url
        self._connect_kwargs: dict[str, Any] = {}
        if "connect_timeout" not in info:
            self._connect_kwargs["connect_timeout"] = max(1, round(connect_timeout_s))
        if "application_name" not in info:
            self._connect_kwargs["application_name"] = "duress"
        self._lock_timeout_ms = int(lock_timeout_s * 1000)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._writer: psycopg.Connection[Any] | None = None
        self._reader: psycopg.Connection[Any] | None = None
        self._append_lock_key = 0
        self._closed = False
        with self._write_lock:
            conn = self._connect("cannot be reached", autocommit=False)
            try:
                with self._errors("refused the schema migration"):
                    self.schema_version = self._migrate(conn)
                    self._prepare_writer(conn)
            except BaseException:
                conn.close()
                raise
            self._writer = conn
        log.info(
            "store.opened", backend="postgres", url=self.url, schema_version=self.schema_version
        )

    # --- EventStore ----------------------------------------------------------------------------

    def append(
        self, events: Sequence[NewEvent], *, timers: Timers | None = None
    ) -> list[StoredEvent]:
        rows = records.encode(events)
        due = records.check_timers(timers)
        if not rows and not due:
            return []
        params = [(r.type, r.ts, r.subject_kind, r.subject_id, r.payload) for r in rows]
        with self._write_lock:
            self._check_open()
            for attempt in (1, 2):
                conn = self._writer_connection()
                committing = False
                try:
                    with conn.cursor() as cur:
                        cur.execute("SELECT pg_advisory_xact_lock(%s)", (self._append_lock_key,))
                        seqs = _insert(cur, params) if params else []
                        for key, at in due.items():
                            if at is None:
                                cur.execute("DELETE FROM timers WHERE key = %s", (key,))
                            else:
                                cur.execute(_SET_TIMER, (key, at))
                    committing = True
                    conn.commit()
                    break
                except psycopg.Error as exc:
                    broken = self._drop_writer_if_broken(conn)
                    if broken and not committing and attempt == 1:
                        log.warning(
                            "store.reconnecting", backend="postgres", url=self.url, error=str(exc)
                        )
                        continue
                    if committing and broken:
                        what = "lost the connection while committing (the write may be stored)"
                    else:
                        what = "refused the write"
                    raise StoreUnavailable(f"{self._where} {what}: {exc}") from exc
        return [records.appended(seq, row) for seq, row in zip(seqs, rows, strict=True)]

    def read(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        subject: Subject | None = None,
        types: Collection[str] | None = None,
    ) -> list[StoredEvent]:
        records.check_limit(limit)
        sql, args = records.select_events(
            after=after, limit=limit, subject=subject, types=types, mark="%s"
        )
        if records.reads_nothing(limit, types):
            self.ping()
            return []
        rows = self._on_reader("failed a read", lambda cur: cur.execute(sql, args).fetchall())
        return [records.from_columns(*row) for row in rows]

    def claim_due(
        self, now: datetime, *, owner: str, lease_s: float, limit: int = 100
    ) -> list[Timer]:
        """``FOR UPDATE SKIP LOCKED``: instances claiming at the same moment get disjoint timers."""
        records.check_aware(now)
        until = now + timedelta(seconds=lease_s)
        with self._write_lock:
            self._check_open()
            conn = self._writer_connection()
            try:
                with conn.cursor() as cur:
                    claimed = cur.execute(_CLAIM, (owner, until, now, now, limit)).fetchall()
                conn.commit()
            except psycopg.Error as exc:
                self._drop_writer_if_broken(conn)
                raise StoreUnavailable(f"{self._where} refused to claim timers: {exc}") from exc
        return sorted(
            (Timer(str(key), at.astimezone(UTC)) for key, at in claimed), key=lambda t: t.due_at
        )

    def next_due(self) -> datetime | None:
        sql = "SELECT min(due_at) FROM timers"
        (when,) = self._on_reader("failed a read", lambda cur: _one(cur.execute(sql)))
        return when.astimezone(UTC) if when is not None else None

    def last_seq(self) -> int:
        sql = "SELECT coalesce(max(seq), 0) FROM events"
        row = self._on_reader("failed a read", lambda cur: _one(cur.execute(sql)))
        return int(row[0])

    def ping(self) -> None:
        self._on_reader("did not answer", lambda cur: cur.execute("SELECT 1").fetchone())

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            if self._closed:
                return
            self._closed = True
            for conn in (self._writer, self._reader):
                if conn is not None:
                    conn.close()
            self._writer = self._reader = None
        log.info("store.closed", backend="postgres", url=self.url)

    # --- the rest ------------------------------------------------------------------------------

    def setting(self, name: str) -> str:
        """The value of server setting ``name`` in the writing session (for checks and tests)."""
        with self._write_lock:
            self._check_open()
            conn = self._writer_connection()
            with self._errors("failed a read"):
                try:
                    with conn.cursor() as cur:
                        (value,) = _one(cur.execute("SELECT current_setting(%s)", (name,)))
                finally:
                    self._drop_writer_if_broken(conn)
        return str(value)

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    def _connect(self, what: str, *, autocommit: bool) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self._conninfo, autocommit=autocommit, **self._connect_kwargs)
        except psycopg.Error as exc:
            raise StoreUnavailable(f"{self._where} {what}: {exc}") from exc

    def _migrate(self, conn: psycopg.Connection[Any]) -> int:
        known = migrate.migrations("postgres")
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_MIGRATE_LOCK,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = {v for (v,) in cur.execute("SELECT version FROM schema_migrations")}
            top = max(applied, default=0)
            if top > len(known):
                raise StoreUnavailable(migrate.newer_schema_message(self._where, top, len(known)))
            for m in known:
                if m.version in applied:
                    continue
                cur.execute(m.sql.encode())  # no parameters: several statements, sent as written
                cur.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (m.version, m.name),
                )
                log.info("store.migrated", backend="postgres", url=self.url, version=m.version)
        conn.commit()
        return len(known)

    def _prepare_writer(self, conn: psycopg.Connection[Any]) -> None:
        """Make commits durable and appends bounded in waiting, and learn the append lock's key."""
        with conn.cursor() as cur:
            (oid,) = _one(cur.execute("SELECT 'events'::regclass::oid::bigint"))
            self._append_lock_key = (_APPEND_LOCK_CLASS << 32) | int(oid)
            (sync,) = _one(cur.execute("SHOW synchronous_commit"))
            if sync == "off":
                log.warning("store.synchronous_commit_was_off", backend="postgres", url=self.url)
                cur.execute("SET synchronous_commit = on")
            (fsync,) = _one(cur.execute("SHOW fsync"))
            if fsync != "on":
                log.error("store.server_fsync_off", backend="postgres", url=self.url)
            cur.execute(f"SET lock_timeout = {self._lock_timeout_ms}")
        conn.commit()

    def _writer_connection(self) -> psycopg.Connection[Any]:
        if self._writer is None:
            conn = self._connect("cannot be reached", autocommit=False)
            try:
                with self._errors("refused the session settings"):
                    self._prepare_writer(conn)
            except BaseException:
                conn.close()
                raise
            self._writer = conn
        return self._writer

    def _drop_writer_if_broken(self, conn: psycopg.Connection[Any]) -> bool:
        """Roll back; forget the connection if it is broken. True when it was broken."""
        if not conn.broken and not conn.closed:
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
                return False
        conn.close()
        self._writer = None
        return True

    def _on_reader(self, what: str, query: Callable[[psycopg.Cursor[Any]], T]) -> T:
        """Run ``query`` on the reading connection, reconnecting once if it was found broken."""
        with self._read_lock:
            self._check_open()
            for attempt in (1, 2):
                if self._reader is None:
                    self._reader = self._connect("cannot be reached", autocommit=True)
                conn = self._reader
                try:
                    with conn.cursor() as cur:
                        return query(cur)
                except psycopg.Error as exc:
                    if conn.broken or conn.closed:
                        conn.close()
                        self._reader = None
                        if attempt == 1:
                            continue
                    raise StoreUnavailable(f"{self._where} {what}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"{self._where} is closed")

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise StoreUnavailable(f"{self._where} {what}: {exc}") from exc


def _insert(cur: psycopg.Cursor[Any], params: list[tuple[Any, ...]]) -> list[int]:
    if len(params) == 1:
        (seq,) = _one(cur.execute(_INSERT, params[0]))
        return [int(seq)]
    cur.executemany(_INSERT, params, returning=True)
    seqs: list[int] = []
    while True:
        (seq,) = _one(cur)
        seqs.append(int(seq))
        if not cur.nextset():
            return seqs


def _one(cur: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    row = cur.fetchone()
    if row is None:  # pragma: no cover - every query here returns a row
        raise StoreUnavailable("PostgreSQL returned no row where one was expected")
    return tuple(row)
