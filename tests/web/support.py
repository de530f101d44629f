"""Accounts for the web tests: users and tokens made quickly (a cheap argon2 cost), and headers."""

from __future__ import annotations

from collections.abc import Collection

from fastapi import FastAPI

from duress.domain.accounts import Role, Scope
from duress.service.accounts import Accounts, AuthPolicy, fast_hasher
from duress.service.runtime import Runtime

PASSWORD = "correct horse battery staple"
ALL_SCOPES = tuple(Scope)


def quick_accounts(runtime: Runtime, policy: AuthPolicy | None = None) -> Accounts:
    """Accounts beside the runtime's store, hashing passwords at the lowest argon2 cost."""
    return Accounts.beside(
        runtime.store,
        clock=runtime.clock,
        record=runtime.record,
        policy=policy,
        hasher=fast_hasher(),
    )


async def bearer(
    app: FastAPI,
    name: str = "tester",
    role: Role = Role.ADMIN,
    *,
    scopes: Collection[Scope] = ALL_SCOPES,
    staff: str | None = None,
    units: Collection[str] = (),
) -> dict[str, str]:
    """Create user ``name`` and a token of theirs; the headers that authenticate with it."""
    accounts: Accounts = app.state.accounts
    await accounts.add_user(name, PASSWORD, role, units=units, staff=staff, by="test")
    _, secret = await accounts.issue_token(f"{name}-token", scopes, user=name, by="test")
    return {"Authorization": f"Bearer {secret}"}


async def service_token(app: FastAPI, name: str, scopes: Collection[Scope]) -> dict[str, str]:
    """Headers with a token bound to no user (a gateway, an integration)."""
    accounts: Accounts = app.state.accounts
    _, secret = await accounts.issue_token(name, scopes, by="test")
    return {"Authorization": f"Bearer {secret}"}
