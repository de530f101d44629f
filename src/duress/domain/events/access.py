"""Accounts, sign-ins and who looked at whose location: the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from duress.domain.events.base import AccountEvent, BadgeEvent, Event, SubjectKind


@dataclass(frozen=True, kw_only=True)
class AccountCreated(AccountEvent):
    """A local user was created (``by``: the admin, ``cli`` or ``first-run``)."""

    type = "account.created"

    role: str
    units: tuple[str, ...] = ()
    staff: str | None = None
    by: str


@dataclass(frozen=True, kw_only=True)
class AccountDisabled(AccountEvent):
    """A user was disabled: every session ends, their tokens stop working."""

    type = "account.disabled"

    by: str


@dataclass(frozen=True, kw_only=True)
class PasswordChanged(AccountEvent):
    """A user's password was changed (by themselves or reset by an admin)."""

    type = "account.password_changed"

    by: str


@dataclass(frozen=True, kw_only=True)
class TokenIssued(Event):
    """An API token was issued (its secret is never recorded)."""

    type = "token.issued"
    subject_kind = SubjectKind.TOKEN
    subject_field = "token"

    token: str
    name: str
    scopes: tuple[str, ...]
    user: str | None = None
    by: str


@dataclass(frozen=True, kw_only=True)
class TokenRevoked(Event):
    type = "token.revoked"
    subject_kind = SubjectKind.TOKEN
    subject_field = "token"

    token: str
    by: str


@dataclass(frozen=True, kw_only=True)
class SignedIn(AccountEvent):
    """A user signed in (``via``: ``password`` or ``link``, a one-time login link)."""

    type = "session.started"

    address: str
    via: str = "password"


@dataclass(frozen=True, kw_only=True)
class SignedOut(AccountEvent):
    type = "session.ended"

    reason: str


@dataclass(frozen=True, kw_only=True)
class SignInFailed(AccountEvent):
    """A sign-in was refused: ``reason`` is ``wrong_password``, ``disabled`` or ``throttled``."""

    type = "login.failed"

    address: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class LocationViewed(BadgeEvent):
    """Somebody was shown a badge's location (``via``: ``api``, ``board``, ``alert``)."""

    type = "location.viewed"

    staff: str | None = None
    by: str
    via: str


@dataclass(frozen=True, kw_only=True)
class AccessDenied(Event):
    """An authenticated request was refused for want of a permission, scope or CSRF token."""

    type = "access.denied"
    subject_kind = SubjectKind.ACCOUNT
    subject_field = "who"

    who: str
    method: str
    path: str
    reason: str
