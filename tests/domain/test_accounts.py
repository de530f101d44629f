"""The permission table, principals, the privacy rule and the sign-in throttle (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from duress.domain.accounts import (
    PERMISSIONS,
    AlertWindow,
    ApiToken,
    Permission,
    Role,
    Scope,
    Throttle,
    User,
    check_name,
    check_password,
    location_visible,
    parse_scopes,
    permission_table_markdown,
    scope_table_markdown,
    token_principal,
    user_principal,
)

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
DOC = Path(__file__).resolve().parents[2] / "docs" / "accounts.md"


def user(role: Role, *, units: tuple[str, ...] = (), staff: str | None = None) -> User:
    return User("u", role, "hash", T0, T0, units=units, staff=staff)


def token(*scopes: Scope, owner: str | None = None) -> ApiToken:
    return ApiToken("t-1", "gw", "h", frozenset(scopes), T0, user=owner)


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        (Role.ADMIN, Permission.MANAGE_USERS, True),
        (Role.ADMIN, Permission.READ_ALL_LOCATIONS, True),
        (Role.SECURITY_OPERATOR, Permission.ACT_ALERTS, True),
        (Role.SECURITY_OPERATOR, Permission.READ_ALL_LOCATIONS, False),
        (Role.SECURITY_OPERATOR, Permission.MANAGE_USERS, False),
        (Role.UNIT_MANAGER, Permission.READ_LOCATIONS, True),
        (Role.UNIT_MANAGER, Permission.READ_EVENTS, False),
        (Role.RESPONDER, Permission.ACT_ALERTS, True),
        (Role.RESPONDER, Permission.READ_DEVICES, False),
        (Role.RESPONDER, Permission.READ_AUDIT, False),
        (Role.AUDITOR, Permission.READ_AUDIT, True),
        (Role.AUDITOR, Permission.ACT_ALERTS, False),
        (Role.AUDITOR, Permission.READ_LOCATIONS, False),
        (Role.SECURITY_OPERATOR, Permission.INGEST, False),
    ],
)
def test_the_permission_table(role: Role, permission: Permission, allowed: bool) -> None:
    assert (permission in PERMISSIONS[role]) is allowed
    assert user_principal(user(role)).can(permission) is allowed


def test_only_admins_manage_users_and_see_every_location() -> None:
    for permission in (Permission.MANAGE_USERS, Permission.READ_ALL_LOCATIONS):
        assert [r for r in Role if permission in PERMISSIONS[r]] == [Role.ADMIN]


def test_a_users_token_allows_what_both_its_scopes_and_the_role_allow() -> None:
    responder = user(Role.RESPONDER, staff="n-2")
    p = token_principal(token(Scope.READ, Scope.ACT, owner="u"), responder)
    assert p.can(Permission.ACT_ALERTS)
    assert not p.can(Permission.READ_AUDIT)  # the scope would, the role does not
    assert p.actor == "n-2"
    reader = token_principal(token(Scope.READ, owner="u"), user(Role.ADMIN))
    assert not reader.can(Permission.ACT_ALERTS)  # the role would, the scope does not
    assert reader.can(Permission.READ_ALL_LOCATIONS)


def test_a_service_token_is_never_a_tracker() -> None:
    p = token_principal(token(Scope.READ, Scope.INGEST), None)
    assert p.can(Permission.INGEST)
    assert p.can(Permission.READ_LOCATIONS)
    assert not p.can(Permission.READ_ALL_LOCATIONS)
    assert not p.can(Permission.READ_AUDIT)
    assert p.actor == "token:gw"


def test_location_is_visible_around_an_alert_only() -> None:
    after = timedelta(minutes=15)
    responder = user_principal(user(Role.RESPONDER))
    open_alert = AlertWindow(frozenset({"b-1"}), "icu", None)
    closed = AlertWindow(frozenset({"b-1"}), "icu", T0)

    def sees(p, alerts, now=T0):  # type: ignore[no-untyped-def]
        return location_visible(p, "b-1", alerts, now=now, after=after)

    assert not sees(responder, [])
    assert sees(responder, [open_alert])
    assert sees(responder, [closed], T0 + timedelta(minutes=15))
    assert not sees(responder, [closed], T0 + timedelta(minutes=15, seconds=1))
    assert sees(user_principal(user(Role.ADMIN)), [])
    assert not sees(user_principal(user(Role.AUDITOR)), [open_alert])
    assert sees(user_principal(user(Role.UNIT_MANAGER, units=("icu",))), [open_alert])
    assert not sees(user_principal(user(Role.UNIT_MANAGER, units=("ed",))), [open_alert])


def test_the_throttle_locks_after_the_limit_and_unlocks_after_the_window() -> None:
    throttle = Throttle(3, timedelta(minutes=15))
    assert throttle.retry_after("ana", T0) is None
    assert not throttle.failed("ana", T0)
    assert not throttle.failed("ana", T0)
    assert throttle.failed("ana", T0 + timedelta(seconds=10))
    assert throttle.retry_after("ana", T0 + timedelta(seconds=10)) == 900.0
    assert throttle.retry_after("ana", T0 + timedelta(minutes=15, seconds=10)) is None
    assert throttle.retry_after("ben", T0) is None


def test_old_failures_do_not_add_up_and_success_clears() -> None:
    throttle = Throttle(2, timedelta(minutes=1))
    throttle.failed("ana", T0)
    assert not throttle.failed("ana", T0 + timedelta(minutes=2))  # a fresh window
    throttle.succeeded("ana")
    assert not throttle.failed("ana", T0 + timedelta(minutes=2))


def test_names_passwords_and_scopes_are_checked_with_a_fix() -> None:
    assert check_name("ana.reyes@icu") == "ana.reyes@icu"
    with pytest.raises(ValueError, match="lower-case"):
        check_name("Ana Reyes")
    with pytest.raises(ValueError, match="12 characters"):
        check_password("short")
    assert parse_scopes(["read", "ACT"]) == {Scope.READ, Scope.ACT}
    with pytest.raises(ValueError, match="ingest, read, act"):
        parse_scopes(["write"])


def test_the_docs_show_the_tables_from_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert permission_table_markdown() in text, "regenerate the table in docs/accounts.md"
    assert scope_table_markdown() in text
