"""The embedded event store: one SQLite file in WAL mode, one writer, fsynced at every commit.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL`` makes SQLite fsync the write-ahead log at
every commit, so when :meth:`SqliteStore.append` returns the batch survives a crash or power loss
(on macOS ``fullfsync`` asks the drive to flush its cache too). Writes go through one connection
guarded by a lock and start with ``BEGIN IMMEDIATE``, so a batch never waits for a lock halfway
through and its sequence numbers are allotted in commit order. Reads use a second, read-only
connection and never wait for a write. Several processes may open the same file; they take turns to
write (``busy_timeout``).

Checkpoints (copying the log back into the database file) are SQLite's own by default: the commit
that takes the log past 1,000 pages runs one, and waits for it. A server hands them to
:meth:`SqliteStore.checkpoint` instead (:meth:`SqliteStore.defer_checkpoints`; see
``duress.service.checkpoints``), which runs them on a connection of their own, so that no press's
commit waits for one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import structlog

from duress.domain.errors import StoreUnavailable
from duress.domain.events import NewEvent, StoredEvent, Subject
from duress.store import migrate, records, urls
from duress.store.base import Timer, Timers

log = structlog.get_logger(__name__)

MEMORY = ":memory:"

_INSERT = "INSERT INTO events (type, ts, subject_kind, subject_id, payload) VALUES (?, ?, ?, ?, ?)"
AUTO_CHECKPOINT_PAGES = 1000
"""SQLite's default: the commit that takes the log past this many pages copies it back."""
BACKSTOP_CHECKPOINT_PAGES = 20_000
"""With checkpoints deferred, the commits still run one past this many pages (80 MB of 4 KiB pages):
a backstop, should the job that runs them stop."""

_SET_TIMER = (
    "INSERT INTO timers (key, due_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
    " SET due_at = excluded.due_at, claimed_by = NULL, claimed_until = NULL"
)


class SqliteStore:
    """The event store in the SQLite file at ``path`` (created with its folders if missing).

    ``path`` may be ``":memory:"`` for tests (nothing is durable then). ``busy_timeout_s`` bounds
    how long a write waits for another process that is writing to the same file.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = 5.0) -> None:
        self._memory = str(path) == MEMORY
        self.path = None if self._memory else Path(path)
        self.url = urls.MEMORY_SQLITE if self._memory else f"sqlite:///{path}"
        self._where = "SQLite in memory" if self._memory else f"SQLite at {path}"
        self._busy_timeout_s = busy_timeout_s
        self._write_lock = threading.Lock()
        self._checkpoint_lock = threading.Lock()
        self._checkpointer: sqlite3.Connection | None = None
        self._closed = False
        created = False
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                created = not self.path.exists()
            self._writer = self._connect()
            try:
                self.schema_version = self._migrate()
                if created and self.path is not None:
                    _fsync_dir(self.path.parent)
                self._reader = self._writer if self._memory else self._connect(read_only=True)
            except BaseException:
                self._writer.close()
                raise
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"{self._where} cannot be opened: {exc}") from exc
        self._read_lock = self._write_lock if self._memory else threading.Lock()
        log.info("store.opened", backend="sqlite", url=self.url, schema_version=self.schema_version)

    # --- EventStore ----------------------------------------------------------------------------

    def append(
        self, events: Sequence[NewEvent], *, timers: Timers | None = None
    ) -> list[StoredEvent]:
        rows = records.encode(events)
        due = records.check_timers(timers)
        if not rows and not due:
            return []
        params = [
            (r.type, records.format_ts(r.ts), r.subject_kind, r.subject_id, r.payload) for r in rows
        ]
        with self._write_lock, self._errors("refused the write"):
            self._check_open()
            with _transaction(self._writer):
                seqs = [self._writer.execute(_INSERT, p).lastrowid for p in params]
                for key, at in due.items():
                    if at is None:
                        self._writer.execute("DELETE FROM timers WHERE key = ?", (key,))
                    else:
                        self._writer.execute(_SET_TIMER, (key, records.format_ts(at)))
        return [records.appended(_int(seq), row) for seq, row in zip(seqs, rows, strict=True)]

    def claim_due(
        self, now: datetime, *, owner: str, lease_s: float, limit: int = 100
    ) -> list[Timer]:
        records.check_aware(now)
        at = records.format_ts(now)
        until = records.format_ts(now + timedelta(seconds=lease_s))
        with self._write_lock, self._errors("refused to claim timers"):
            self._check_open()
            with _transaction(self._writer):
                due = self._writer.execute(
                    "SELECT key, due_at FROM timers WHERE due_at <= ?"
                    " AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY due_at LIMIT ?",
                    (at, at, limit),
                ).fetchall()
                self._writer.executemany(
                    "UPDATE timers SET claimed_by = ?, claimed_until = ? WHERE key = ?",
                    [(owner, until, key) for key, _ in due],
                )
        return [Timer(key, records.parse_ts(when)) for key, when in due]

    def next_due(self) -> datetime | None:
        with self._read_lock, self._errors("failed a read"):
            self._check_open()
            (when,) = self._reader.execute("SELECT min(due_at) FROM timers").fetchone()
        return records.parse_ts(when) if when is not None else None

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
            after=after, limit=limit, subject=subject, types=types, mark="?"
        )
        with self._read_lock, self._errors("failed a read"):
            self._check_open()
            if records.reads_nothing(limit, types):
                return []
            rows = self._reader.execute(sql, args).fetchall()
        return [records.from_columns(*row) for row in rows]

    def last_seq(self) -> int:
        with self._read_lock, self._errors("failed a read"):
            self._check_open()
            (seq,) = self._reader.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
        return int(seq)

    def ping(self) -> None:
        with self._read_lock, self._errors("did not answer"):
            self._check_open()
            self._reader.execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            if self._reader is not self._writer:
                with self._read_lock:
                    self._reader.close()
            with self._checkpoint_lock:
                if self._checkpointer is not None:
                    self._checkpointer.close()
            self._writer.close()
        log.info("store.closed", backend="sqlite", url=self.url)

    # --- checkpoints ---------------------------------------------------------------------------

    def defer_checkpoints(self, deferred: bool = True) -> None:
        """Stop (or, with ``deferred=False``, resume) checkpoints in the commits themselves: from now
        on the caller runs :meth:`checkpoint` often enough. Commits still run one past
        ``BACKSTOP_CHECKPOINT_PAGES``, so a log whose checkpoints stopped stays bounded."""
        pages = BACKSTOP_CHECKPOINT_PAGES if deferred else AUTO_CHECKPOINT_PAGES
        with self._write_lock, self._errors("refused a setting"):
            if self._closed and not deferred:
                return  # nothing to give back: the next opening starts with SQLite's own
            self._check_open()
            self._writer.execute(f"PRAGMA wal_autocheckpoint = {pages}")

    def checkpoint(self) -> Checkpoint:
        """Copy what the log holds back into the database file (``PRAGMA wal_checkpoint(PASSIVE)``),
        on a connection of its own: commits go on meanwhile (a commit never waits for it), and it
        copies only what no reader still needs. Once it has copied everything, the next commit
        starts the log over from its beginning, so the log stays short."""
        if self._memory:
            return Checkpoint(0, 0, 0.0)
        started = time.monotonic()
        with self._checkpoint_lock, self._errors("failed a checkpoint"):
            self._check_open()
            if self._checkpointer is None:
                self._checkpointer = self._connect()
            _, logged, copied = self._checkpointer.execute(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
        return Checkpoint(max(logged, 0), max(copied, 0), time.monotonic() - started)

    # --- the rest ------------------------------------------------------------------------------

    def pragma(self, name: str) -> Any:
        """The value of ``PRAGMA name`` on the writing connection (for checks and tests)."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        with self._write_lock, self._errors("failed a read"):
            self._check_open()
            return self._writer.execute(f"PRAGMA {name}").fetchone()[0]

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({self.url!r})"

    def _connect(self, *, read_only: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(
            MEMORY if self.path is None else self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,  # no implicit transactions: we say BEGIN IMMEDIATE and COMMIT
            check_same_thread=False,  # each connection is used under its own lock
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            if not self._memory:
                mode = self._write_ahead(conn)
                if mode.lower() != "wal":
                    raise StoreUnavailable(
                        f"{self._where} cannot use write-ahead logging (journal_mode is {mode}): "
                        "put the database on a local file system"
                    )
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA fullfsync = ON")
            conn.execute("PRAGMA checkpoint_fullfsync = ON")
            if read_only:
                conn.execute("PRAGMA query_only = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _write_ahead(self, conn: sqlite3.Connection) -> str:
        """``PRAGMA journal_mode = WAL``, tried again while another connection is opening the same
        new file: switching a file's journal mode needs it to itself, and SQLite then answers "database
        is locked" at once, without waiting ``busy_timeout``. Returns the mode in effect."""
        deadline = time.monotonic() + self._busy_timeout_s
        delay = 0.002
        while True:
            try:
                (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
                return str(mode)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def _migrate(self) -> int:
        known = migrate.migrations("sqlite")
        conn = self._writer
        with _transaction(conn):
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            applied = {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}
            top = max(applied, default=0)
            if top > len(known):
                raise StoreUnavailable(migrate.newer_schema_message(self._where, top, len(known)))
            for m in known:
                if m.version in applied:
                    continue
                for statement in migrate.sqlite_statements(m.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at)"
                    " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                    (m.version, m.name),
                )
                log.info("store.migrated", backend="sqlite", url=self.url, version=m.version)
        return len(known)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"{self._where} is closed")

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{self._where} {what}: {exc}") from exc


class Checkpoint(NamedTuple):
    """What one :meth:`SqliteStore.checkpoint` did: the pages in the log, how many of them are now
    in the database file, and how long it took."""

    logged: int
    copied: int
    seconds: float


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error: a batch is all or nothing."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def _int(seq: int | None) -> int:
    if seq is None:  # pragma: no cover - an INSERT always sets lastrowid
        raise StoreUnavailable("SQLite did not report the sequence number of an insert")
    return seq


def _fsync_dir(path: Path) -> None:
    """Make a new file's directory entry durable (POSIX; a no-op on Windows)."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:  # pragma: no cover - Windows
        return
    fd = os.open(path, os.O_RDONLY | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
