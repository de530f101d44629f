"""Request-scoped access to the runtime the app was built around."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from duress.service.runtime import Runtime


async def _runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, a hop that
    # cost the press path milliseconds whenever the event loop was busy with sightings.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
