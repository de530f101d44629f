"""The HTTP application: one FastAPI app around one :class:`~duress.service.runtime.Runtime`.

The same runtime object serves the server, the CLI's demo and the tests; this module only wires
routes to it. OpenAPI is served at ``/openapi.json`` and browsable at ``/docs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from duress import __version__
from duress.channels.setup import inbound_routers
from duress.domain.accounts import Permission
from duress.ingest.omlox_http import omlox_router
from duress.service.accounts import Accounts
from duress.service.runtime import Runtime
from duress.web import admin, alerts, api, audit, auth, dashboard, operations, problems, responder


def create_app(
    runtime: Runtime,
    *,
    manage_runtime: bool = True,
    accounts: Accounts | None = None,
    cookies: auth.CookiePolicy | None = None,
) -> FastAPI:
    """The ASGI app. With ``manage_runtime`` the app starts and stops the runtime with itself.

    ``accounts`` (users, sessions, tokens) defaults to the account tables in the runtime's store,
    with the default timeouts; ``cookies`` says when session cookies are ``Secure``."""
    own_accounts = accounts is None
    if accounts is None:
        accounts = Accounts.beside(runtime.store, clock=runtime.clock, record=runtime.record)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_runtime and not runtime.started:
            await runtime.start()
        try:
            yield
        finally:
            if manage_runtime and runtime.started:
                await runtime.stop()
            if own_accounts:
                accounts.close()

    app = FastAPI(
        title="Duress",
        version=__version__,
        summary="Staff-duress platform for hospitals: ingest, events, live state.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.accounts = accounts
    app.state.cookie_policy = cookies or auth.CookiePolicy()
    problems.install(app)
    auth.install(app)
    app.include_router(operations.router)
    app.include_router(api.router)
    app.include_router(alerts.router)
    app.include_router(audit.router)
    app.include_router(
        omlox_router(runtime),
        prefix="/omlox/v2",
        dependencies=[auth.require(Permission.INGEST)],
    )
    for router in inbound_routers(
        runtime.delivery.notifiers, runtime.delivery.inbound, clock=runtime.clock
    ):
        app.include_router(router)
    app.include_router(dashboard.router)
    app.include_router(responder.router)
    app.include_router(admin.router)
    dashboard.mount_static(app)
    return app
