"""Accounts, roles and what each may do: a pure permission table, principals and the privacy rule.

Nothing here hashes, stores or reads a clock: :mod:`duress.service.accounts` does that. This module
says *who may do what* and *whose location may be seen when*, so the rules are one table that the
docs (``docs/accounts.md``) reproduce and the tests check.

- :data:`PERMISSIONS`: role -> the actions it allows.
- :data:`SCOPE_PERMISSIONS`: an API token's scope -> the actions it allows. A token bound to a user
  allows what both its scopes and the user's role allow.
- :class:`Principal`: who is asking (a signed-in user or an API token), with :meth:`Principal.can`.
- :func:`location_visible`: the privacy rule for one badge's location.
- :class:`Throttle`: failed sign-ins per key (a user name, a client address) and the lockout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from duress.domain.alert import Alert
from duress.domain.errors import DuressError


class Role(StrEnum):
    ADMIN = "admin"
    SECURITY_OPERATOR = "security_operator"
    UNIT_MANAGER = "unit_manager"
    RESPONDER = "responder"
    AUDITOR = "auditor"


class Permission(StrEnum):
    VIEW_BOARD = "view_board"
    """Open the live board (what it shows still follows the other permissions)."""
    READ_ALERTS = "read_alerts"
    """List and read alerts (a unit manager: only their units' alerts)."""
    ACT_ALERTS = "act_alerts"
    """Accept, decline, acknowledge, mark on scene, resolve, cancel."""
    READ_LOCATIONS = "read_locations"
    """See badge locations, within the privacy window (see :func:`location_visible`)."""
    READ_ALL_LOCATIONS = "read_all_locations"
    """See every badge's location at any time (no privacy window)."""
    READ_DEVICES = "read_devices"
    READ_EVENTS = "read_events"
    """Read the raw event log (badge movements are redacted without READ_ALL_LOCATIONS)."""
    INGEST = "ingest"
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"
    """Read and export the audit log."""


class Scope(StrEnum):
    INGEST = "ingest"
    READ = "read"
    ACT = "act"


P = Permission
PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.SECURITY_OPERATOR: frozenset(
        {
            P.VIEW_BOARD,
            P.READ_ALERTS,
            P.ACT_ALERTS,
            P.READ_LOCATIONS,
            P.READ_DEVICES,
            P.READ_EVENTS,
        }
    ),
    Role.UNIT_MANAGER: frozenset(
        {P.VIEW_BOARD, P.READ_ALERTS, P.ACT_ALERTS, P.READ_LOCATIONS, P.READ_DEVICES}
    ),
    Role.RESPONDER: frozenset({P.VIEW_BOARD, P.READ_ALERTS, P.ACT_ALERTS, P.READ_LOCATIONS}),
    Role.AUDITOR: frozenset(
        {P.VIEW_BOARD, P.READ_ALERTS, P.READ_DEVICES, P.READ_EVENTS, P.READ_AUDIT}
    ),
}
"""What each role allows. Unit managers are further limited to their units (:attr:`Principal.units`)."""

SCOPE_PERMISSIONS: Mapping[Scope, frozenset[Permission]] = {
    Scope.INGEST: frozenset({P.INGEST}),
    Scope.READ: frozenset(
        {
            P.VIEW_BOARD,
            P.READ_ALERTS,
            P.READ_LOCATIONS,
            P.READ_ALL_LOCATIONS,
            P.READ_DEVICES,
            P.READ_EVENTS,
            P.READ_AUDIT,
        }
    ),
    Scope.ACT: frozenset({P.ACT_ALERTS}),
}
"""What each API token scope allows (intersected with the user's role for a user's token)."""

SERVICE_TOKEN_EXCLUDED = frozenset({P.READ_ALL_LOCATIONS, P.READ_AUDIT})
"""A token bound to no user never sees locations outside the privacy window, nor the audit log:
integrations are not trackers; an auditor's export script uses a token of the auditor."""
UNIT_SCOPED_ROLES = frozenset({Role.UNIT_MANAGER})
NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
"""User and token names: lower-case letters, digits, ``. _ @ -``; at most 64 characters."""
MIN_PASSWORD = 12


def check_name(name: str, what: str = "user name") -> str:
    """``name`` if it is a valid user or token name; else a ValueError saying how to write one."""
    if not NAME.match(name):
        raise ValueError(
            f"{what} {name!r} is not valid: use 1 to 64 lower-case letters, digits, '.', '_', "
            "'@' or '-', starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    """``password`` if it is long enough; else a ValueError saying what is needed."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise ValueError("a password may have at most 1024 characters")
    return password


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """Scopes from their names; ValueError naming the bad one and the known ones."""
    out = set()
    for value in values:
        try:
            out.add(Scope(value.strip().lower()))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ValueError(f"unknown scope {value!r}; use one or more of {known}") from None
    if not out:
        raise ValueError("give at least one scope: ingest, read or act")
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class User:
    """A local account. ``staff`` links it to a staff id of the site (then actions are by that id)."""

    name: str
    role: Role
    password_hash: str
    created_at: datetime
    password_changed_at: datetime
    units: tuple[str, ...] = ()
    staff: str | None = None
    disabled: bool = False
    must_change_password: bool = False


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as stored: only the SHA-256 of its secret is kept."""

    id: str
    name: str
    token_hash: str
    scopes: frozenset[Scope]
    created_at: datetime
    user: str | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser session as stored: only the SHA-256 of the cookie's secret is kept."""

    id_hash: str
    user: str
    csrf: str
    created_at: datetime
    last_seen_at: datetime

    def expired(self, now: datetime, *, idle: timedelta, max_age: timedelta) -> str | None:
        """Why the session is over at ``now`` (idle, too old), or None while it is valid."""
        if now - self.created_at >= max_age:
            return "the session reached its maximum age; sign in again"
        if now - self.last_seen_at >= idle:
            return "the session was idle too long; sign in again"
        return None


class PrincipalKind(StrEnum):
    USER = "user"
    TOKEN = "token"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user (signed in, or through their token) or a service token."""

    kind: PrincipalKind
    name: str
    """The user's name, or the token's name for a token bound to no user."""
    permissions: frozenset[Permission]
    role: Role | None = None
    units: frozenset[str] = frozenset()
    staff: str | None = None
    token: str | None = None
    """The token's id when the request came with an API token."""
    must_change_password: bool = False

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def actor(self) -> str:
        """Who is recorded as acting (``by``): the linked staff id, the user name, or the token."""
        if self.staff:
            return self.staff
        if self.role is None:
            return f"token:{self.name}"
        return self.name

    @property
    def unit_scoped(self) -> bool:
        return self.role in UNIT_SCOPED_ROLES

    def sees_unit(self, unit: str | None) -> bool:
        """Whether alerts of ``unit`` are visible (a unit manager: only their units)."""
        return not self.unit_scoped or (unit is not None and unit in self.units)


def user_principal(user: User) -> Principal:
    return Principal(
        kind=PrincipalKind.USER,
        name=user.name,
        permissions=PERMISSIONS[user.role],
        role=user.role,
        units=frozenset(user.units),
        staff=user.staff,
        must_change_password=user.must_change_password,
    )


def token_principal(token: ApiToken, user: User | None) -> Principal:
    """A token's principal: its scopes' permissions, and the user's role's when it has a user."""
    allowed: frozenset[Permission] = frozenset().union(
        *(SCOPE_PERMISSIONS[s] for s in token.scopes)
    )
    if user is None:
        return Principal(
            kind=PrincipalKind.TOKEN,
            name=token.name,
            permissions=allowed - SERVICE_TOKEN_EXCLUDED,
            token=token.id,
        )
    return Principal(
        kind=PrincipalKind.TOKEN,
        name=user.name,
        permissions=allowed & PERMISSIONS[user.role],
        role=user.role,
        units=frozenset(user.units),
        staff=user.staff,
        token=token.id,
    )


# --- privacy ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertWindow:
    """What the privacy rule needs to know of one alert: its unit, and whether and when it closed."""

    badges: frozenset[str]
    unit: str | None
    closed_at: datetime | None


def alert_window(alert: Alert) -> AlertWindow:
    return AlertWindow(
        badges=frozenset({alert.badge, *alert.parties}),
        unit=alert.unit,
        closed_at=None if alert.is_open else (alert.closed_at or alert.raised_at),
    )


def visible_badges(
    principal: Principal, alerts: Iterable[Alert], *, now: datetime, after: timedelta
) -> frozenset[str] | None:
    """The badges whose location ``principal`` may see now (None: every badge).

    The same rule as :func:`location_visible`, computed once for a whole table."""
    if principal.can(Permission.READ_ALL_LOCATIONS):
        return None
    if not principal.can(Permission.READ_LOCATIONS):
        return frozenset()
    out: set[str] = set()
    for alert in alerts:
        window = alert_window(alert)
        if not principal.sees_unit(window.unit):
            continue
        if window.closed_at is None or now - window.closed_at <= after:
            out |= window.badges
    return frozenset(out)


def location_visible(
    principal: Principal,
    badge: str,
    alerts: Iterable[AlertWindow],
    *,
    now: datetime,
    after: timedelta,
) -> bool:
    """Whether ``principal`` may see ``badge``'s location at ``now``.

    With READ_ALL_LOCATIONS: always. With READ_LOCATIONS: only while an alert involving the badge
    is open, or for ``after`` once it closed; a unit manager only for alerts of their units.
    Without either: never.
    """
    if principal.can(Permission.READ_ALL_LOCATIONS):
        return True
    if not principal.can(Permission.READ_LOCATIONS):
        return False
    for alert in alerts:
        if badge not in alert.badges or not principal.sees_unit(alert.unit):
            continue
        if alert.closed_at is None or now - alert.closed_at <= after:
            return True
    return False


# --- sign-in throttling ----------------------------------------------------------------------


@dataclass(slots=True)
class _Failures:
    count: int = 0
    first: datetime | None = None
    locked_until: datetime | None = None


@dataclass(slots=True)
class Throttle:
    """Failed attempts per key; ``limit`` failures within ``window`` lock the key for ``window``.

    A success clears the key. Pure: every call takes ``now``.
    """

    limit: int
    window: timedelta
    _keys: dict[str, _Failures] = field(default_factory=dict)

    def retry_after(self, key: str, now: datetime) -> float | None:
        """Seconds until ``key`` may try again, or None when it may try now."""
        state = self._keys.get(key)
        if state is None or state.locked_until is None:
            return None
        if now >= state.locked_until:
            del self._keys[key]
            return None
        return (state.locked_until - now).total_seconds()

    def failed(self, key: str, now: datetime) -> bool:
        """Count a failure; True when it locks ``key``."""
        state = self._keys.setdefault(key, _Failures())
        if state.first is None or now - state.first > self.window:
            state.count, state.first, state.locked_until = 0, now, None
        state.count += 1
        if state.count >= self.limit:
            state.locked_until = now + self.window
            return True
        return False

    def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)


def permission_table_markdown() -> str:
    """The role/permission table as Markdown (``docs/accounts.md`` embeds it; a test checks)."""
    roles = list(Role)
    lines = [
        "| permission | " + " | ".join(f"`{r.value}`" for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for permission in Permission:
        marks = " | ".join("yes" if permission in PERMISSIONS[r] else "" for r in roles)
        lines.append(f"| `{permission.value}` | {marks} |")
    return "\n".join(lines) + "\n"


def scope_table_markdown() -> str:
    """The scope/permission table as Markdown (``docs/accounts.md`` embeds it)."""
    lines = ["| scope | allows |", "|---|---|"]
    for scope in Scope:
        allowed = ", ".join(f"`{p.value}`" for p in Permission if p in SCOPE_PERMISSIONS[scope])
        lines.append(f"| `{scope.value}` | {allowed} |")
    return "\n".join(lines) + "\n"


# --- errors ----------------------------------------------------------------------------------


class AccountError(DuressError):
    """Base of the account errors below; the web layer maps each to its HTTP status."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthenticated(AccountError):
    """No valid credentials: wrong password, unknown or revoked token, expired session (401)."""


class Forbidden(AccountError):
    """Authenticated, but not allowed: missing permission or scope, forged CSRF token (403)."""

    def __init__(self, detail: str, *, permission: str | None = None) -> None:
        super().__init__(detail)
        self.permission = permission


class Throttled(AccountError):
    """Too many failed sign-ins from this user or address; retry after ``retry_after`` s (429)."""

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class AccountConflict(AccountError):
    """The user or token already exists, or the change would leave no usable admin (409)."""
