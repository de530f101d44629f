"""What only the SQLite store promises: WAL, fsync at commit, one schema however often opened."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.store.support import assert_migrated_once, event, open_at_once

from duress.domain.errors import StoreUnavailable
from duress.store import migrate
from duress.store.sqlite import AUTO_CHECKPOINT_PAGES, BACKSTOP_CHECKPOINT_PAGES, SqliteStore


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(path) as opened:
        yield opened


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_wal_and_synchronous_full_are_set(store: SqliteStore, path: Path) -> None:
    assert store.pragma("journal_mode") == "wal"
    assert store.pragma("synchronous") == 2  # FULL: the WAL is fsynced at every commit
    conn = raw(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # stored in the file
    finally:
        conn.close()


def test_pragma_refuses_anything_but_a_name(store: SqliteStore) -> None:
    with pytest.raises(ValueError, match="not a pragma name"):
        store.pragma("synchronous = OFF")


def test_migrations_are_recorded_once(store: SqliteStore, path: Path) -> None:
    SqliteStore(path).close()
    SqliteStore(path).close()
    conn = raw(path)
    try:
        rows = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
    finally:
        conn.close()
    assert_migrated_once(rows, "sqlite", store.schema_version)


def test_opening_a_new_file_from_several_threads_at_once(path: Path) -> None:
    open_at_once(lambda: SqliteStore(path), 6)


def test_events_cannot_be_changed_or_deleted(store: SqliteStore, path: Path) -> None:
    store.append([event()])
    conn = raw(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE events SET type = 'forged'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM events")
    finally:
        conn.close()
    assert [e.type for e in store.read()] == ["button.pressed"]


def test_a_write_the_database_refuses_stores_nothing_of_its_batch(
    store: SqliteStore, path: Path
) -> None:
    store.append([event(at=0)])
    conn = raw(path)
    try:
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.type = 'boom'"
            " BEGIN SELECT RAISE(ABORT, 'boom refused'); END"
        )
    finally:
        conn.close()

    with pytest.raises(StoreUnavailable, match=r"SQLite at .*events\.db refused the write: boom"):
        store.append([event(at=1), event(at=2), event("boom", at=3)])

    assert [e.seq for e in store.read()] == [1]
    assert [e.seq for e in store.append([event(at=4)])] == [2]  # and the store still works


def test_a_schema_newer_than_this_version_is_refused(store: SqliteStore, path: Path) -> None:
    store.close()
    conn = raw(path)
    try:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01T00:00:00Z')")
    finally:
        conn.close()

    with pytest.raises(
        StoreUnavailable,
        match=f"schema version 99 but this Duress knows only up to {len(migrate.migrations('sqlite'))}",
    ):
        SqliteStore(path)


def test_two_stores_on_one_file_see_each_others_events(store: SqliteStore, path: Path) -> None:
    with SqliteStore(path) as other:
        store.append([event(at=0)])
        other.append([event(at=1)])
        store.append([event(at=2)])

        assert [e.seq for e in other.read()] == [1, 2, 3]
        assert other.last_seq() == store.last_seq() == 3


def test_a_folder_that_cannot_be_created_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    with pytest.raises(StoreUnavailable, match="cannot be opened"):
        SqliteStore(blocker / "events.db")


def test_in_memory_sqlite_works_for_tests() -> None:
    with SqliteStore(":memory:") as store:
        store.append([event(at=0), event(at=1)])
        assert [e.seq for e in store.read()] == [1, 2]
        assert store.url == "sqlite://:memory:"


def wal_size(path: Path) -> int:
    return Path(f"{path}-wal").stat().st_size


def test_deferred_checkpoints_leave_the_commits_and_run_on_their_own(
    store: SqliteStore, path: Path
) -> None:
    assert store.pragma("wal_autocheckpoint") == AUTO_CHECKPOINT_PAGES
    store.defer_checkpoints()
    assert store.pragma("wal_autocheckpoint") == BACKSTOP_CHECKPOINT_PAGES
    for i in range(50):
        store.append([event(at=i)], timers={f"alert:{i}": None})
    logged, copied, seconds = store.checkpoint()
    assert logged > 0
    assert copied == logged
    assert seconds >= 0
    size = wal_size(path)
    for i in range(50):  # the log starts over from its beginning: it does not grow
        store.append([event(at=i)])
        store.checkpoint()
    assert wal_size(path) <= size
    assert [e.seq for e in store.read()][-1] == 100
    conn = raw(path)
    try:  # everything is in the database file itself
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (100,)
    finally:
        conn.close()
    store.defer_checkpoints(False)
    assert store.pragma("wal_autocheckpoint") == AUTO_CHECKPOINT_PAGES


def test_a_checkpoint_beside_commits_of_another_thread_loses_nothing(store: SqliteStore) -> None:
    store.defer_checkpoints()
    done = threading.Event()

    def checkpoints() -> None:
        while not done.is_set():
            store.checkpoint()

    beside = threading.Thread(target=checkpoints)
    beside.start()
    try:
        for i in range(200):
            store.append([event(at=i)])
    finally:
        done.set()
        beside.join()
    assert [e.seq for e in store.read()] == list(range(1, 201))


def test_checkpoints_of_a_store_in_memory_or_closed(path: Path) -> None:
    with SqliteStore(":memory:") as memory:
        assert memory.checkpoint() == (0, 0, 0.0)
    store = SqliteStore(path)
    store.checkpoint()  # opens its connection, which closing the store closes too
    store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        store.checkpoint()
    store.defer_checkpoints(False)  # a server stopping after its store closed: nothing to undo
    with pytest.raises(StoreUnavailable, match="closed"):
        store.defer_checkpoints()
