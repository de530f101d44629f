"""The account tables on every backend: memory, SQLite and the real PostgreSQL (own schema)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.store.support import Backend

from duress.domain.accounts import ApiToken, Role, Scope, Session, User
from duress.store import open_store
from duress.store.accounts import AccountStore, accounts_for, open_accounts

T0 = datetime(2026, 3, 1, 3, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def accounts(backend: Backend) -> Iterator[AccountStore]:
    store = backend.open()  # opening the event store applies the migrations
    found = accounts_for(store)
    yield found
    found.close()


def ana(**changes: object) -> User:
    user = User("ana", Role.UNIT_MANAGER, "$argon2id$x", T0, T0, units=("icu", "ed"), staff="n-1")
    return replace(user, **changes)  # type: ignore[arg-type]


def test_users_are_added_read_listed_and_updated(accounts: AccountStore) -> None:
    assert accounts.add_user(ana())
    assert not accounts.add_user(ana(role=Role.ADMIN))  # the name is taken
    assert accounts.get_user("ana") == ana()
    assert accounts.get_user("nobody") is None
    assert accounts.add_user(ana(name="ben", units=(), staff=None, role=Role.RESPONDER))
    assert [u.name for u in accounts.list_users()] == ["ana", "ben"]
    assert accounts.update_user(ana(disabled=True, must_change_password=True))
    assert accounts.get_user("ana") == ana(disabled=True, must_change_password=True)
    assert not accounts.update_user(ana(name="carl"))


def test_tokens_are_found_by_hash_and_revoked_once(accounts: AccountStore) -> None:
    accounts.add_user(ana())
    token = ApiToken(
        "t-1",
        "gw-4",
        "ab" * 32,
        frozenset({Scope.INGEST, Scope.READ}),
        T0,
        user="ana",
        expires_at=T0 + timedelta(days=30),
    )
    assert accounts.add_token(token)
    assert not accounts.add_token(replace(token, id="t-2"))  # the hash is taken
    assert not accounts.add_token(replace(token, id="t-3", token_hash="cd" * 32, user="ghost"))
    assert accounts.token_by_hash("ab" * 32) == token
    assert accounts.get_token("t-1") == token
    assert accounts.revoke_token("t-1", T0 + timedelta(hours=1))
    assert not accounts.revoke_token("t-1", T0 + timedelta(hours=2))
    assert not accounts.revoke_token("t-404", T0)
    [listed] = accounts.list_tokens()
    assert listed.revoked_at == T0 + timedelta(hours=1)


def test_sessions_are_touched_and_ended(accounts: AccountStore) -> None:
    accounts.add_user(ana())
    session = Session("h1", "ana", "csrf-1", T0, T0)
    accounts.add_session(session)
    accounts.add_session(replace(session, id_hash="h2"))
    assert accounts.get_session("h1") == session
    accounts.touch_session("h1", T0 + timedelta(minutes=5))
    assert accounts.get_session("h1") == replace(session, last_seen_at=T0 + timedelta(minutes=5))
    accounts.delete_session("h1")
    assert accounts.get_session("h1") is None
    assert accounts.delete_user_sessions("ana") == 1
    assert accounts.get_session("h2") is None


def test_accounts_survive_a_reopen(backend: Backend) -> None:
    if not backend.durable:
        pytest.skip("the memory store keeps nothing once closed")
    first = accounts_for(backend.open())
    first.add_user(ana())
    first.close()
    again = open_accounts(backend.url)
    try:
        assert again.get_user("ana") == ana()
    finally:
        again.close()


def test_the_migration_numbers_stay_contiguous(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{tmp_path / 'e.db'}")
    try:
        versions = [
            v
            for (v,) in store._writer.execute("SELECT version FROM schema_migrations")  # type: ignore[attr-defined]
        ]
    finally:
        store.close()
    assert versions[:2] == [1, 2]
