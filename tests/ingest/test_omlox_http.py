"""``PUT /providers/{id}/location|proximity`` with a real runtime (in-memory store, fake clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from tests.sites import small_site

from duress.domain.ingest_mapping import OmloxSource
from duress.ingest.omlox_http import omlox_router
from duress.service.engine_locator import EngineLocator
from duress.service.runtime import Runtime
from duress.testing import FakeClock, MemoryStore

MAPPING = OmloxSource(sources={"zone-icu-1": "ir-icu-1"}, providers={"tag-1": "b-1"})


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    site = small_site()
    rt = Runtime(site=site, store=MemoryStore(), clock=FakeClock(), locator=EngineLocator(site))
    await rt.start()
    yield rt
    await rt.stop()


async def put(runtime: Runtime, path: str, body: bytes, mapping: OmloxSource | None = MAPPING):
    app = FastAPI()
    app.include_router(omlox_router(runtime, mapping))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.put(path, content=body)


async def test_a_proximity_fix_locates_the_badge(runtime: Runtime) -> None:
    body = b'{"source": "zone-icu-1", "provider_type": "rfid", "provider_id": "tag-1"}'
    response = await put(runtime, "/providers/tag-1/proximity", body)
    assert response.status_code == 204
    assert "b-1" in runtime.locator.snapshot(runtime.clock.now())


async def test_a_location_with_another_provider_id_is_rejected(runtime: Runtime) -> None:
    body = (
        b'{"position": {"type": "Point", "coordinates": [1, 2]}, "source": "zone-icu-1",'
        b' "provider_type": "uwb", "provider_id": "tag-1"}'
    )
    response = await put(runtime, "/providers/tag-2/location", body)
    assert response.status_code == 422
    assert response.json()["reason"] == "bad_value"
    assert (await put(runtime, "/providers/tag-1/location", body)).status_code == 204


async def test_unmapped_and_unconfigured(runtime: Runtime) -> None:
    body = b'{"source": "zone-x", "provider_type": "rfid", "provider_id": "tag-1"}'
    response = await put(runtime, "/providers/tag-1/proximity", body)
    assert (response.status_code, response.json()["reason"]) == (422, "unmapped_locator")
    assert runtime.metrics.rejected.labels("unmapped_locator")._value.get() == 1
    assert (await put(runtime, "/providers/tag-1/proximity", body, None)).status_code == 404
