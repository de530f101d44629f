"""A real runtime (in-memory store, fake clock) on the small test site, and MQTT helpers."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from tests.sites import small_site

from duress.service.engine_locator import EngineLocator
from duress.service.runtime import Runtime
from duress.service.worker_locator import WorkerLocator
from duress.testing import FakeClock, MemoryStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture(params=["inline", "process"])
async def runtime(
    request: pytest.FixtureRequest, clock: FakeClock, store: MemoryStore
) -> AsyncIterator[Runtime]:
    """Both ways the server runs the location engine: on its loop, or in its own process (where
    sighting topics are decoded too)."""
    site = small_site()
    locator = EngineLocator(site) if request.param == "inline" else WorkerLocator(site)
    rt = Runtime(site=site, store=store, clock=clock, locator=locator)
    await rt.start()
    yield rt
    await rt.stop()


@pytest.fixture
def site_id() -> str:
    """A site id of the test's own, so that topics never meet another test's."""
    return f"t-{uuid.uuid4().hex[:10]}"


def press(ts: datetime, seq: int, badge: str = "b-1", **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "ts": ts.isoformat(),
        "badge": badge,
        "seq": seq,
        "presses": 3,
        **extra,
    }


def sighting(ts: datetime, badge: str = "b-1", device: str = "ir-icu-1") -> dict[str, Any]:
    return {
        "type": "sighting",
        "ts": ts.isoformat(),
        "badge": badge,
        "device": device,
        "kind": "ir",
    }


def dumps(value: object) -> bytes:
    return json.dumps(value).encode()
