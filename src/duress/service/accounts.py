"""Accounts at work: users with argon2 passwords, sessions, API tokens, sign-in throttling, audit.

:class:`Accounts` is what the web layer and the CLI drive. It keeps records in an
:class:`~duress.store.accounts.AccountStore` and appends an event for every change, sign-in,
refusal and location view (``record``), so the audit trail is the event log. Secrets are never
stored: passwords as argon2id hashes, session and token secrets as their SHA-256.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from duress.domain.accounts import (
    AccountConflict,
    ApiToken,
    Forbidden,
    Principal,
    Role,
    Scope,
    Session,
    Throttle,
    Throttled,
    Unauthenticated,
    User,
    check_name,
    check_password,
    token_principal,
    user_principal,
)
from duress.domain.errors import NotFound
from duress.domain.events import (
    AccessDenied,
    AccountCreated,
    AccountDisabled,
    Event,
    LocationViewed,
    PasswordChanged,
    SignedIn,
    SignedOut,
    SignInFailed,
    TokenIssued,
    TokenRevoked,
)
from duress.service.clock import Clock
from duress.store.accounts import AccountStore, accounts_for, is_inline
from duress.store.base import EventStore

log = structlog.get_logger(__name__)
T = TypeVar("T")

Record = Callable[[Sequence[Event]], Awaitable[object]]
TOKEN_PREFIX = "duress_"
VIEW_AUDIT_INTERVAL = timedelta(seconds=60)
"""A viewer seeing the same badge's location again within this is not recorded again (the board
refreshes several times a second)."""
LINK_TTL = timedelta(minutes=10)
FIRST_ADMIN = "admin"


def fast_hasher() -> PasswordHasher:
    """An argon2id hasher with the smallest costs: for tests only."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_password() -> str:
    """A random password: 20 characters from letters and digits (about 119 bits)."""
    return secrets.token_urlsafe(15)


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    idle: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    location_after: timedelta = timedelta(minutes=15)

    @property
    def address_max_failures(self) -> int:
        return self.max_failures * 4

    @property
    def touch_every(self) -> timedelta:
        """How stale ``last_seen_at`` may get before a request writes it again."""
        return min(timedelta(seconds=60), self.idle / 10)


@dataclass(frozen=True, slots=True)
class SignIn:
    """A new session: ``secret`` goes in the cookie, ``session.csrf`` in forms and headers."""

    secret: str
    session: Session
    user: User


TOKEN_RECHECK = timedelta(seconds=5)
"""How long a token found valid is trusted before it is looked up again."""


class Accounts:
    def __init__(
        self,
        store: AccountStore,
        *,
        clock: Clock,
        record: Record,
        policy: AuthPolicy | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or AuthPolicy()
        self._record = record
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash = self._hasher.hash(secrets.token_hex(8))
        self._inline = is_inline(store)
        self._users = Throttle(self.policy.max_failures, self.policy.lockout)
        self._addresses = Throttle(self.policy.address_max_failures, self.policy.lockout)
        self._token_cache: dict[str, tuple[Principal, datetime]] = {}
        self._viewed: dict[tuple[str, str], datetime] = {}
        self._links: dict[str, tuple[str, datetime]] = {}

    @classmethod
    def beside(
        cls,
        events: EventStore,
        *,
        clock: Clock,
        record: Record,
        policy: AuthPolicy | None = None,
        hasher: PasswordHasher | None = None,
    ) -> Accounts:
        """Accounts in the same database as the event store ``events``."""
        return cls(accounts_for(events), clock=clock, record=record, policy=policy, hasher=hasher)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._inline:
            return fn(*args)
        return await asyncio.to_thread(fn, *args)

    # --- users ------------------------------------------------------------------------------

    async def add_user(
        self,
        name: str,
        password: str,
        role: Role,
        *,
        units: Collection[str] = (),
        staff: str | None = None,
        must_change_password: bool = False,
        by: str,
    ) -> User:
        """Create a user; ValueError for a bad name, password or units, AccountConflict if taken."""
        check_name(name)
        check_password(password)
        if role is Role.UNIT_MANAGER and not units:
            raise ValueError("a unit_manager needs at least one unit (--unit)")
        if units and role is not Role.UNIT_MANAGER:
            raise ValueError(f"units are for unit_manager users only, not {role.value}")
        now = self.clock.now()
        user = User(
            name=name,
            role=role,
            password_hash=await self._hash(password),
            created_at=now,
            password_changed_at=now,
            units=tuple(sorted(set(units))),
            staff=staff,
            must_change_password=must_change_password,
        )
        if not await self._call(self.store.add_user, user):
            raise AccountConflict(f"user {name!r} already exists")
        await self._record(
            [
                AccountCreated(
                    ts=now, user=name, role=role.value, units=user.units, staff=staff, by=by
                )
            ]
        )
        log.info("account.created", user=name, role=role.value, by=by)
        return user

    async def users(self) -> list[User]:
        return await self._call(self.store.list_users)

    async def user(self, name: str) -> User:
        found = await self._call(self.store.get_user, name)
        if found is None:
            raise NotFound("user", name)
        return found

    async def disable_user(self, name: str, *, by: str) -> User:
        """Disable ``name``: sessions end, tokens stop. The last enabled admin cannot go."""
        user = await self.user(name)
        if user.disabled:
            return user
        if user.role is Role.ADMIN:
            admins = [u for u in await self.users() if u.role is Role.ADMIN and not u.disabled]
            if len(admins) <= 1:
                raise AccountConflict(
                    f"{name!r} is the last enabled admin; add another admin first"
                )
        changed = dataclasses.replace(user, disabled=True)
        await self._call(self.store.update_user, changed)
        self._token_cache.clear()
        await self._call(self.store.delete_user_sessions, name)
        await self._record([AccountDisabled(ts=self.clock.now(), user=name, by=by)])
        return changed

    async def set_password(
        self,
        name: str,
        new: str,
        *,
        by: str,
        current: str | None = None,
        must_change: bool = False,
    ) -> User:
        """Change ``name``'s password (checking ``current`` when given); every session ends.
        ``must_change``: a one-time password, to be changed at the next sign-in."""
        check_password(new)
        user = await self.user(name)
        if current is not None and not await self._verify(user.password_hash, current):
            raise Unauthenticated("the current password is wrong")
        if current is not None and current == new:
            raise ValueError("choose a new password different from the current one")
        changed = dataclasses.replace(
            user,
            password_hash=await self._hash(new),
            password_changed_at=self.clock.now(),
            must_change_password=must_change,
        )
        await self._call(self.store.update_user, changed)
        await self._call(self.store.delete_user_sessions, name)
        await self._record([PasswordChanged(ts=self.clock.now(), user=name, by=by)])
        return changed

    async def ensure_admin(self) -> str | None:
        """First run: when no enabled admin exists, make ``admin`` one with a one-time password
        (to be changed at first sign-in) and return that password; else None."""
        users = await self.users()
        if any(u.role is Role.ADMIN and not u.disabled for u in users):
            return None
        password = new_password()
        existing = next((u for u in users if u.name == FIRST_ADMIN), None)
        if existing is None:
            await self.add_user(
                FIRST_ADMIN, password, Role.ADMIN, must_change_password=True, by="first-run"
            )
            return password
        now = self.clock.now()
        restored = dataclasses.replace(
            existing,
            role=Role.ADMIN,
            units=(),
            disabled=False,
            must_change_password=True,
            password_hash=await self._hash(password),
            password_changed_at=now,
        )
        await self._call(self.store.update_user, restored)
        await self._record([PasswordChanged(ts=now, user=FIRST_ADMIN, by="first-run")])
        return password

    # --- sessions ---------------------------------------------------------------------------

    async def sign_in(self, name: str, password: str, *, address: str) -> SignIn:
        """Check the password and open a session. Raises Throttled (429) while the user or the
        address is locked out, Unauthenticated (401) for a wrong name or password, Forbidden
        (403) for a disabled account."""
        now = self.clock.now()
        name = name.strip().lower()[:64]
        for throttle, key, who in (
            (self._users, name, "this user"),
            (self._addresses, address, "this address"),
        ):
            wait = throttle.retry_after(key, now)
            if wait is not None:
                await self._record(
                    [SignInFailed(ts=now, user=name or "?", address=address, reason="throttled")]
                )
                raise Throttled(
                    f"too many failed sign-ins for {who}; try again in {wait:.0f} s "
                    "(or ask an admin)",
                    retry_after=wait,
                )
        user = await self._call(self.store.get_user, name) if name else None
        ok = await self._verify(user.password_hash if user else self._dummy_hash, password)
        if user is None or not ok:
            self._users.failed(name, now)
            self._addresses.failed(address, now)
            await self._record(
                [SignInFailed(ts=now, user=name or "?", address=address, reason="wrong_password")]
            )
            raise Unauthenticated("wrong user name or password")
        if user.disabled:
            await self._record(
                [SignInFailed(ts=now, user=name, address=address, reason="disabled")]
            )
            raise Forbidden("this account is disabled; ask an admin")
        self._users.succeeded(name)
        return await self._open_session(user, address, via="password")

    async def _open_session(self, user: User, address: str, *, via: str) -> SignIn:
        now = self.clock.now()
        secret = secrets.token_urlsafe(32)
        session = Session(
            id_hash=sha256(secret),
            user=user.name,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
        await self._call(self.store.add_session, session)
        await self._record([SignedIn(ts=now, user=user.name, address=address, via=via)])
        return SignIn(secret, session, user)

    async def session(self, secret: str) -> tuple[Session, User]:
        """The live session of a cookie's ``secret``; Unauthenticated when there is none."""
        id_hash = sha256(secret)
        session = await self._call(self.store.get_session, id_hash)
        if session is None:
            raise Unauthenticated("you are not signed in, or your session ended; sign in again")
        now = self.clock.now()
        why = session.expired(now, idle=self.policy.idle, max_age=self.policy.max_age)
        user = await self._call(self.store.get_user, session.user)
        if why is None and (user is None or user.disabled):
            why = "the account is disabled"
        if why is not None or user is None:
            await self._call(self.store.delete_session, id_hash)
            await self._record([SignedOut(ts=now, user=session.user, reason="expired")])
            raise Unauthenticated(why or "the account is gone")
        if now - session.last_seen_at >= self.policy.touch_every:
            await self._call(self.store.touch_session, id_hash, now)
            session = dataclasses.replace(session, last_seen_at=now)
        return session, user

    async def sign_out(self, secret: str) -> None:
        id_hash = sha256(secret)
        session = await self._call(self.store.get_session, id_hash)
        if session is None:
            return
        await self._call(self.store.delete_session, id_hash)
        await self._record([SignedOut(ts=self.clock.now(), user=session.user, reason="logout")])

    def login_link(self, name: str) -> str:
        """A one-time code that signs ``name`` in (``/login/link?code=``) within 10 minutes.

        Kept in this process's memory only: for ``duress demo``, which creates and serves it."""
        code = secrets.token_urlsafe(24)
        self._links[sha256(code)] = (name, self.clock.now() + LINK_TTL)
        return code

    async def redeem_link(self, code: str, *, address: str) -> SignIn:
        entry = self._links.pop(sha256(code), None)
        if entry is None or self.clock.now() >= entry[1]:
            raise Unauthenticated(
                "this sign-in link is used up or expired; sign in with a password"
            )
        user = await self.user(entry[0])
        if user.disabled:
            raise Forbidden("this account is disabled; ask an admin")
        return await self._open_session(user, address, via="link")

    # --- tokens -----------------------------------------------------------------------------

    async def issue_token(
        self,
        name: str,
        scopes: Iterable[Scope],
        *,
        user: str | None = None,
        expires_in: timedelta | None = None,
        by: str,
    ) -> tuple[ApiToken, str]:
        """A new API token and its secret (shown once; only its SHA-256 is kept)."""
        check_name(name, "token name")
        wanted = frozenset(scopes)
        if not wanted:
            raise ValueError("give at least one scope: ingest, read or act")
        if user is not None:
            await self.user(user)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock.now()
        token = ApiToken(
            id="t-" + secrets.token_hex(4),
            name=name,
            token_hash=sha256(secret),
            scopes=wanted,
            created_at=now,
            user=user,
            expires_at=now + expires_in if expires_in else None,
        )
        if not await self._call(self.store.add_token, token):
            raise AccountConflict("a token with that id already exists; try again")
        await self._record(
            [
                TokenIssued(
                    ts=now,
                    token=token.id,
                    name=name,
                    scopes=tuple(sorted(s.value for s in wanted)),
                    user=user,
                    by=by,
                )
            ]
        )
        return token, secret

    async def tokens(self) -> list[ApiToken]:
        return await self._call(self.store.list_tokens)

    async def revoke_token(self, token_id: str, *, by: str) -> None:
        if await self._call(self.store.get_token, token_id) is None:
            raise NotFound("token", token_id)
        if await self._call(self.store.revoke_token, token_id, self.clock.now()):
            self._token_cache.clear()
            await self._record([TokenRevoked(ts=self.clock.now(), token=token_id, by=by)])

    async def token_principal(self, secret: str) -> Principal:
        """The principal of a bearer token; Unauthenticated when unknown, revoked or expired.

        A token found valid is remembered for :data:`TOKEN_RECHECK` (gateways post many times a
        second; the press path should not wait for a database read each time). A revocation or a
        disabled user therefore takes effect within that time on other instances, at once on this
        one."""
        digest = sha256(secret.strip())
        now = self.clock.now()
        known = self._token_cache.get(digest)
        if known is not None and known[1] > now:
            return known[0]
        token = await self._call(self.store.token_by_hash, digest)
        if token is None or not token.usable(now):
            raise Unauthenticated("the API token is unknown, revoked or expired")
        user = None
        if token.user is not None:
            user = await self._call(self.store.get_user, token.user)
            if user is None or user.disabled:
                raise Unauthenticated("the API token's user is disabled")
        principal = token_principal(token, user)
        until = now + TOKEN_RECHECK
        if token.expires_at is not None:
            until = min(until, token.expires_at)
        if len(self._token_cache) > 10_000:
            self._token_cache.clear()
        self._token_cache[digest] = (principal, until)
        return principal

    @staticmethod
    def user_principal(user: User) -> Principal:
        return user_principal(user)

    # --- audit ------------------------------------------------------------------------------

    async def viewed(
        self, principal: Principal, badges: Iterable[tuple[str, str | None]], *, via: str
    ) -> None:
        """Record that ``principal`` was shown these (badge, staff) locations; the same viewer and
        badge again within a minute is not recorded twice."""
        now = self.clock.now()
        events: list[Event] = []
        who = principal.actor
        for badge, staff in badges:
            last = self._viewed.get((who, badge))
            if last is not None and now - last < VIEW_AUDIT_INTERVAL:
                continue
            self._viewed[(who, badge)] = now
            events.append(LocationViewed(ts=now, badge=badge, staff=staff, by=who, via=via))
        if len(self._viewed) > 50_000:
            cutoff = now - VIEW_AUDIT_INTERVAL
            self._viewed = {k: v for k, v in self._viewed.items() if v >= cutoff}
        if events:
            await self._record(events)

    async def denied(self, principal: Principal, *, method: str, path: str, reason: str) -> None:
        await self._record(
            [
                AccessDenied(
                    ts=self.clock.now(),
                    who=principal.actor,
                    method=method,
                    path=path[:512],
                    reason=reason,
                )
            ]
        )

    # --- hashing ----------------------------------------------------------------------------

    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def _verify(self, hashed: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return bool(self._hasher.verify(hashed, password))
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)

    def close(self) -> None:
        self.store.close()
