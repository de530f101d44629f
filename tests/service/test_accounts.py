"""Accounts: hashing, sessions and their timeouts, sign-in lockout, tokens, first run (fake clock)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta

import pytest

from duress.domain.accounts import (
    AccountConflict,
    Forbidden,
    Role,
    Scope,
    Throttled,
    Unauthenticated,
)
from duress.domain.events import Event
from duress.service.accounts import Accounts, AuthPolicy, fast_hasher
from duress.store.accounts import MemoryAccounts
from duress.testing import FakeClock

PASSWORD = "correct horse battery staple"


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def types(self) -> list[str]:
        return [e.type for e in self.events]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def accounts(clock: FakeClock, recorder: Recorder) -> Accounts:
    policy = AuthPolicy(
        idle=timedelta(minutes=30),
        max_age=timedelta(hours=12),
        max_failures=3,
        lockout=timedelta(minutes=15),
    )
    return Accounts(
        MemoryAccounts(), clock=clock, record=recorder, policy=policy, hasher=fast_hasher()
    )


async def test_passwords_are_stored_as_argon2id_hashes(accounts: Accounts) -> None:
    user = await accounts.add_user("ana", PASSWORD, Role.RESPONDER, by="test")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    signed = await accounts.sign_in("ana", PASSWORD, address="10.0.0.1")
    assert signed.user.name == "ana"
    assert signed.session.id_hash == hashlib.sha256(signed.secret.encode()).hexdigest()


async def test_a_user_name_is_taken_once(accounts: Accounts) -> None:
    await accounts.add_user("ana", PASSWORD, Role.RESPONDER, by="test")
    with pytest.raises(AccountConflict):
        await accounts.add_user("ana", PASSWORD, Role.ADMIN, by="test")
    with pytest.raises(ValueError, match="unit"):
        await accounts.add_user("um", PASSWORD, Role.UNIT_MANAGER, by="test")


async def test_tokens_are_stored_hashed_and_can_be_revoked(accounts: Accounts) -> None:
    token, secret = await accounts.issue_token("gw-1", [Scope.INGEST], by="test")
    assert secret.startswith("duress_")
    assert len(secret) > 40
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in repr(t) for t in await accounts.tokens())
    principal = await accounts.token_principal(secret)
    assert principal.name == "gw-1"
    await accounts.revoke_token(token.id, by="test")
    with pytest.raises(Unauthenticated, match="revoked"):
        await accounts.token_principal(secret)
    with pytest.raises(Unauthenticated):
        await accounts.token_principal("duress_guessed")


async def test_a_token_expires(accounts: Accounts, clock: FakeClock) -> None:
    _, secret = await accounts.issue_token(
        "gw-1", [Scope.INGEST], expires_in=timedelta(days=1), by="test"
    )
    await accounts.token_principal(secret)
    await clock.advance(86_400)
    with pytest.raises(Unauthenticated):
        await accounts.token_principal(secret)


async def test_wrong_passwords_lock_the_user_then_unlock(
    accounts: Accounts, clock: FakeClock, recorder: Recorder
) -> None:
    await accounts.add_user("ana", PASSWORD, Role.RESPONDER, by="test")
    for _ in range(3):
        with pytest.raises(Unauthenticated, match="wrong user name or password"):
            await accounts.sign_in("ana", "not the password", address="10.0.0.1")
    with pytest.raises(Throttled) as locked:
        await accounts.sign_in("ana", PASSWORD, address="10.0.0.2")  # even the right one
    assert locked.value.retry_after == 900
    await clock.advance(900)
    assert (await accounts.sign_in("ana", PASSWORD, address="10.0.0.2")).user.name == "ana"
    assert recorder.types().count("login.failed") == 4


async def test_an_address_guessing_many_users_is_throttled(accounts: Accounts) -> None:
    for n in range(12):
        with pytest.raises(Unauthenticated):
            await accounts.sign_in(f"user{n}", "guess", address="10.6.6.6")
    with pytest.raises(Throttled, match="this address"):
        await accounts.sign_in("someone", "guess", address="10.6.6.6")


async def test_sessions_end_when_idle_or_too_old(accounts: Accounts, clock: FakeClock) -> None:
    await accounts.add_user("ana", PASSWORD, Role.RESPONDER, by="test")
    idle = await accounts.sign_in("ana", PASSWORD, address="a")
    await clock.advance(29 * 60)
    await accounts.session(idle.secret)
    await clock.advance(29 * 60)
    await accounts.session(idle.secret)  # each use resets the idle timer
    await clock.advance(30 * 60)
    with pytest.raises(Unauthenticated, match="idle"):
        await accounts.session(idle.secret)
    busy = await accounts.sign_in("ana", PASSWORD, address="a")
    for _ in range(24):  # 24 x 29 min: 11 h 36 min, active all along
        await accounts.session(busy.secret)
        await clock.advance(29 * 60)
    await clock.advance(25 * 60)  # 12 h 1 min after sign-in, 25 min after the last request
    with pytest.raises(Unauthenticated, match="maximum age"):
        await accounts.session(busy.secret)


async def test_disabling_ends_sessions_but_not_the_last_admin(accounts: Accounts) -> None:
    await accounts.add_user("root", PASSWORD, Role.ADMIN, by="test")
    await accounts.add_user("ana", PASSWORD, Role.RESPONDER, by="test")
    signed = await accounts.sign_in("ana", PASSWORD, address="a")
    await accounts.disable_user("ana", by="root")
    with pytest.raises(Unauthenticated):
        await accounts.session(signed.secret)
    with pytest.raises(Forbidden, match="disabled"):
        await accounts.sign_in("ana", PASSWORD, address="a")
    with pytest.raises(AccountConflict, match="last enabled admin"):
        await accounts.disable_user("root", by="root")


async def test_first_run_creates_an_admin_once(accounts: Accounts, recorder: Recorder) -> None:
    password = await accounts.ensure_admin()
    assert password is not None
    assert len(password) >= 12
    admin = await accounts.user("admin")
    assert admin.role is Role.ADMIN
    assert admin.must_change_password
    assert await accounts.ensure_admin() is None
    signed = await accounts.sign_in("admin", password, address="a")
    assert accounts.user_principal(signed.user).must_change_password
    await accounts.set_password("admin", PASSWORD, by="admin", current=password)
    assert not (await accounts.user("admin")).must_change_password
    assert recorder.types()[:1] == ["account.created"]
    assert "account.password_changed" in recorder.types()


async def test_a_login_link_works_once_and_expires(accounts: Accounts, clock: FakeClock) -> None:
    await accounts.add_user("demo-operator", PASSWORD, Role.SECURITY_OPERATOR, by="demo")
    code = accounts.login_link("demo-operator")
    assert (await accounts.redeem_link(code, address="a")).user.name == "demo-operator"
    with pytest.raises(Unauthenticated):
        await accounts.redeem_link(code, address="a")
    late = accounts.login_link("demo-operator")
    await clock.advance(601)
    with pytest.raises(Unauthenticated, match="expired"):
        await accounts.redeem_link(late, address="a")
