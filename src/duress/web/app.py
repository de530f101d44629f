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
from duress.ingest.omlox_http import omlox_router
from duress.service.runtime import Runtime
from duress.web import alerts, api, dashboard, operations, problems


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    """The ASGI app. With ``manage_runtime`` the app starts and stops the runtime with itself."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_runtime and not runtime.started:
            await runtime.start()
        try:
            yield
        finally:
            if manage_runtime and runtime.started:
                await runtime.stop()

    app = FastAPI(
        title="Duress",
        version=__version__,
        summary="Staff-duress platform for hospitals: ingest, events, live state.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    problems.install(app)
    app.include_router(operations.router)
    app.include_router(api.router)
    app.include_router(alerts.router)
    app.include_router(omlox_router(runtime), prefix="/omlox/v2")
    for router in inbound_routers(
        runtime.delivery.notifiers, runtime.delivery.inbound, clock=runtime.clock
    ):
        app.include_router(router)
    app.include_router(dashboard.router)
    dashboard.mount_static(app)
    return app
