"""What only the PostgreSQL store promises: instances share one ordered log, durably."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from tests.store.support import assert_migrated_once, event, open_at_once, with_params

from duress.domain.errors import StoreUnavailable
from duress.store import migrate
from duress.store.postgres import PostgresStore

pytestmark = pytest.mark.postgres


@pytest.fixture
def url(pg_schema: tuple[str, str]) -> str:
    return pg_schema[1]


@pytest.fixture
def store(url: str) -> Iterator[PostgresStore]:
    with PostgresStore(url) as opened:
        yield opened


def test_two_stores_on_one_database_see_each_others_events(store: PostgresStore, url: str) -> None:
    with PostgresStore(url) as other:
        store.append([event(at=0)])
        other.append([event(at=1), event(at=2)])
        store.append([event(at=3)])

        assert [e.seq for e in other.read()] == [1, 2, 3, 4]
        assert store.read() == other.read()
        assert store.last_seq() == other.last_seq() == 4


def test_two_instances_appending_at_once_share_one_gap_free_order(
    store: PostgresStore, url: str
) -> None:
    with PostgresStore(url) as other:
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def work(s: PostgresStore) -> None:
            try:
                start.wait()
                for i in range(30):
                    s.append([event(at=i), event(at=i)])
            except BaseException as exc:  # reported below
                errors.append(exc)

        pool = [threading.Thread(target=work, args=(s,)) for s in (store, other)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()

        assert errors == []
        assert [e.seq for e in store.read()] == list(range(1, 121))


def test_appends_wait_for_each_other_but_not_forever(
    url: str, pg_admin: psycopg.Connection
) -> None:
    with PostgresStore(url, lock_timeout_s=0.1) as store:
        (key,) = pg_admin.execute(
            "SELECT (x'44555245'::bigint << 32) | 'events'::regclass::oid::bigint"
        ).fetchone() or (0,)
        with pg_admin.transaction():
            pg_admin.execute(
                "SELECT pg_advisory_xact_lock(%s)", (key,)
            )  # another instance appending
            with pytest.raises(StoreUnavailable, match=r"refused the write: .*lock timeout"):
                store.append([event()])

        assert [e.seq for e in store.append([event()])] == [1]


def test_migrations_are_recorded_once(
    store: PostgresStore, url: str, pg_admin: psycopg.Connection
) -> None:
    PostgresStore(url).close()
    rows = pg_admin.execute("SELECT version, name FROM schema_migrations").fetchall()
    assert_migrated_once(rows, "postgres", store.schema_version)


def test_opening_a_new_schema_from_several_threads_at_once(url: str) -> None:
    open_at_once(lambda: PostgresStore(url), 5)


def test_events_cannot_be_changed_deleted_or_truncated(
    store: PostgresStore, pg_admin: psycopg.Connection
) -> None:
    store.append([event()])
    for sql in ("UPDATE events SET type = 'forged'", "DELETE FROM events", "TRUNCATE events"):
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            pg_admin.execute(sql)
    assert [e.type for e in store.read()] == ["button.pressed"]


def test_a_write_the_server_refuses_stores_nothing_of_its_batch(
    store: PostgresStore, pg_admin: psycopg.Connection
) -> None:
    store.append([event(at=0)])
    pg_admin.execute(
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'boom refused'; END $$;"
        " CREATE TRIGGER boom BEFORE INSERT ON events FOR EACH ROW"
        " WHEN (NEW.type = 'boom') EXECUTE FUNCTION boom()"
    )

    with pytest.raises(StoreUnavailable, match=r"PostgreSQL at .+:\d+/\w+ refused the write: boom"):
        store.append([event(at=1), event(at=2), event("boom", at=3)])

    assert [e.seq for e in store.read()] == [1]
    (appended,) = store.append([event(at=4)])  # the store still works; the failed batch left a gap
    assert appended.seq > 1
    assert [e.seq for e in store.read()] == [1, appended.seq]


def test_a_lost_connection_is_replaced_without_losing_the_next_press(
    pg_schema: tuple[str, str], pg_admin: psycopg.Connection
) -> None:
    name = f"duress_test_{uuid.uuid4().hex[:8]}"
    with PostgresStore(with_params(pg_schema[1], application_name=name)) as store:
        store.append([event(at=0)])
        store.ping()
        killed = pg_admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s",
            (name,),
        ).fetchone()
        assert killed == (2,)  # the writing and the reading connection

        (appended,) = store.append([event(at=1)])

        assert appended.seq == 2
        assert [e.seq for e in store.read()] == [1, 2]
        store.ping()


def test_synchronous_commit_is_turned_back_on(pg_schema: tuple[str, str]) -> None:
    url = with_params(
        pg_schema[1], options=f"-csearch_path%3D{pg_schema[0]}%20-csynchronous_commit%3Doff"
    )
    with PostgresStore(url) as store:
        assert store.setting("synchronous_commit") == "on"
        assert store.setting("search_path") == pg_schema[0]


def test_a_schema_newer_than_this_version_is_refused(
    store: PostgresStore, url: str, pg_admin: psycopg.Connection
) -> None:
    pg_admin.execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')")

    with pytest.raises(
        StoreUnavailable,
        match=f"schema version 99 but this Duress knows only up to {len(migrate.migrations('postgres'))}",
    ):
        PostgresStore(url)


def test_payloads_are_queryable_jsonb_and_times_timestamptz(
    store: PostgresStore, pg_admin: psycopg.Connection
) -> None:
    store.append([event(payload={"badge": "B-7", "hold_s": 1.5})])

    row = pg_admin.execute(
        "SELECT payload->>'badge', (payload->>'hold_s')::float, pg_typeof(ts)::text FROM events"
    ).fetchone()

    assert row == ("B-7", 1.5, "timestamp with time zone")
