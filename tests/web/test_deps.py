from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute


def _calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def test_every_route_and_dependency_runs_on_the_event_loop(app: FastAPI) -> None:
    """FastAPI runs a plain ``def`` endpoint or dependency in a worker thread: a hop that costs the
    press path milliseconds while the loop is busy with sightings. Ours are all ``async def``."""
    threaded = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for call in (route.endpoint, *_calls(route.dependant)):
            if not inspect.iscoroutinefunction(call) and not inspect.isasyncgenfunction(call):
                threaded.append(f"{route.path}: {getattr(call, '__qualname__', call)}")
    assert threaded == []
