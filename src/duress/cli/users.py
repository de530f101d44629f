"""``duress users`` and ``duress tokens``: local accounts and API tokens, and the server's first run.

The commands open the event store named by ``--db`` (or the site's ``server.store_url``, or
``DURESS_STORE_URL``) like ``duress serve`` does; every change is also an event in the log.
Secrets (one-time passwords, token secrets) are printed once and never stored.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from duress.config.settings import Settings, load_settings
from duress.domain.accounts import AccountError, Role, Scope, check_password, parse_scopes
from duress.domain.errors import ConfigError, NotFound, StoreUnavailable
from duress.domain.events import Event
from duress.service.accounts import Accounts, AuthPolicy, new_password
from duress.service.clock import SystemClock
from duress.service.runtime import Runtime
from duress.store import open_store
from duress.store.base import EventStore
from duress.web.auth import CookiePolicy

T = TypeVar("T")
console = Console(stderr=True)
out = Console()
users_app = typer.Typer(help="Local user accounts: add, list, disable, reset a password.")
tokens_app = typer.Typer(help="API tokens for gateways and integrations: issue, list, revoke.")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="The site configuration (file or folder).")
]
DbOpt = Annotated[
    str | None, typer.Option("--db", help="Event store URL; overrides server.store_url.")
]


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")


# --- wiring shared with `duress serve` and `duress demo` -------------------------------------------


def auth_policy(settings: Settings) -> AuthPolicy:
    return AuthPolicy(
        idle=timedelta(seconds=settings.session_idle_timeout_s),
        max_age=timedelta(seconds=settings.session_max_age_s),
        max_failures=settings.login_max_failures,
        lockout=timedelta(seconds=settings.login_lockout_s),
        location_after=timedelta(seconds=settings.location_visible_after_s),
    )


def cookie_policy(settings: Settings) -> CookiePolicy:
    return CookiePolicy(secure=settings.cookie_secure, public_url=settings.public_url)


def server_accounts(runtime: Runtime, settings: Settings) -> Accounts:
    """The accounts the server's app uses (events recorded through the runtime)."""
    return Accounts.beside(
        runtime.store, clock=runtime.clock, record=runtime.record, policy=auth_policy(settings)
    )


def first_run(runtime: Runtime, settings: Settings) -> None:
    """When the store has no enabled admin, create ``admin`` and print its one-time password."""
    accounts = _direct_accounts(runtime.store, settings)
    try:
        password = asyncio.run(accounts.ensure_admin())
    finally:
        accounts.store.close()
    if password is not None:
        console.print(
            "[bold yellow]First run:[/bold yellow] created the user [bold]admin[/bold] with the "
            f"one-time password\n\n    {password}\n\n"
            "  It is shown only this once. Sign in at /login and choose your own password; "
            "then add users with `duress users add`."
        )


def demo_login(runtime: Runtime, accounts: Accounts, settings: Settings) -> str:
    """``duress demo``: make sure ``demo-operator`` (a security operator) exists and return a
    one-time sign-in URL for it (valid 10 minutes, in this process only)."""
    direct = _direct_accounts(runtime.store, settings)

    async def ensure() -> None:
        try:
            await direct.user("demo-operator")
        except NotFound:
            await direct.add_user(
                "demo-operator", new_password(), Role.SECURITY_OPERATOR, by="demo"
            )

    try:
        asyncio.run(ensure())
    finally:
        direct.store.close()
    code = accounts.login_link("demo-operator")
    return f"http://{settings.host}:{settings.port}/login/link?code={code}"


def _direct_accounts(store: EventStore, settings: Settings) -> Accounts:
    """Accounts whose events go straight to ``store`` (no runtime running)."""

    async def record(events: Sequence[Event]) -> None:
        await asyncio.to_thread(store.append, [e.to_record() for e in events])

    return Accounts.beside(store, clock=SystemClock(), record=record, policy=auth_policy(settings))


def _run(
    config: Path | None, db: str | None, work: Callable[[Accounts], Coroutine[Any, Any, T]]
) -> T:
    """Open the store, run ``work`` with the accounts, close; errors become exit status 1 or 2."""
    try:
        settings = load_settings(config, os.environ)
        if db is not None:
            settings = replace(settings, store_url=db)
        store = open_store(settings.store_url)
    except (ConfigError, StoreUnavailable) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    accounts = _direct_accounts(store, settings)
    try:
        return asyncio.run(work(accounts))
    except (AccountError, NotFound, ValueError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    finally:
        accounts.store.close()
        store.close()


# --- duress users ------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (lower-case letters, digits, . _ @ -).")],
    role: Annotated[
        Role,
        typer.Option("--role", "-r", help="admin, security_operator, ...", case_sensitive=False),
    ],
    unit: Annotated[
        list[str] | None, typer.Option("--unit", help="A unit of a unit_manager (repeat).")
    ] = None,
    staff: Annotated[
        str | None, typer.Option("--staff", help="The staff id this user is (actions are by it).")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from standard input; else a one-time password is printed.",
        ),
    ] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a user. Without --password-stdin, prints a one-time password to change at sign-in."""
    one_time = not password_stdin
    password = new_password() if one_time else sys.stdin.readline().rstrip("\r\n")
    if not one_time:
        try:
            check_password(password)
        except ValueError as error:
            console.print(f"[red]error:[/red] {error}")
            raise typer.Exit(1) from None

    async def work(accounts: Accounts) -> None:
        await accounts.add_user(
            name,
            password,
            role,
            units=unit or (),
            staff=staff,
            must_change_password=one_time,
            by="cli",
        )

    _run(config, db, work)
    out.print(f"added {name} ({role.value})")
    if one_time:
        typer.echo(f"one-time password (shown once; change it at the first sign-in): {password}")


@users_app.command("list")
def users_list(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """List the users: role, units, staff link, status."""

    async def work(accounts: Accounts) -> list[list[str]]:
        return [
            [
                u.name,
                u.role.value,
                ",".join(u.units),
                u.staff or "",
                "disabled" if u.disabled else "active",
                "yes" if u.must_change_password else "",
            ]
            for u in await accounts.users()
        ]

    rows = _run(config, db, work)
    table = Table("user", "role", "units", "staff", "status", "must change password")
    for row in rows:
        table.add_row(*row)
    out.print(table)


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="The user to disable.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Disable a user: their sessions end and their tokens stop working."""

    async def work(accounts: Accounts) -> None:
        await accounts.disable_user(name, by="cli")

    _run(config, db, work)
    out.print(f"disabled {name}")


@users_app.command("reset-password")
def users_reset_password(
    name: Annotated[str, typer.Argument(help="The user whose password is reset.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Give a user a new one-time password (printed once; to change at the next sign-in)."""
    password = new_password()

    async def work(accounts: Accounts) -> None:
        await accounts.set_password(name, password, by="cli", must_change=True)

    _run(config, db, work)
    typer.echo(f"one-time password for {name} (shown once): {password}")


# --- duress tokens -----------------------------------------------------------------------------


@tokens_app.command("issue")
def tokens_issue(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. gw-floor4.")],
    scope: Annotated[
        list[str], typer.Option("--scope", "-s", help="ingest, read or act (repeat for several).")
    ],
    user: Annotated[
        str | None,
        typer.Option("--user", help="Act as this user (their role limits the token)."),
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="Expire after this many days.")
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Issue an API token; its secret is printed once (only its SHA-256 is kept)."""
    try:
        scopes: frozenset[Scope] = parse_scopes(scope)
    except ValueError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    expires = timedelta(days=expires_days) if expires_days else None

    async def work(accounts: Accounts) -> tuple[str, str]:
        token, secret = await accounts.issue_token(
            name, scopes, user=user, expires_in=expires, by="cli"
        )
        return token.id, secret

    token_id, secret = _run(config, db, work)
    out.print(f"issued {token_id} ({name}; {', '.join(sorted(s.value for s in scopes))})")
    typer.echo(f"secret (shown once; send it as 'Authorization: Bearer <secret>'): {secret}")


@tokens_app.command("list")
def tokens_list(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """List the tokens (never their secrets)."""

    async def work(accounts: Accounts) -> list[list[str]]:
        now = accounts.clock.now()
        return [
            [
                t.id,
                t.name,
                ",".join(sorted(s.value for s in t.scopes)),
                t.user or "",
                t.created_at.isoformat(timespec="seconds"),
                t.expires_at.isoformat(timespec="seconds") if t.expires_at else "",
                "revoked" if t.revoked_at else ("active" if t.usable(now) else "expired"),
            ]
            for t in await accounts.tokens()
        ]

    rows = _run(config, db, work)
    table = Table("id", "name", "scopes", "user", "created", "expires", "status")
    for row in rows:
        table.add_row(*row)
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (see duress tokens list).")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Revoke a token: it stops working at once."""

    async def work(accounts: Accounts) -> None:
        await accounts.revoke_token(token_id, by="cli")

    _run(config, db, work)
    out.print(f"revoked {token_id}")
