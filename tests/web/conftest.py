from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from tests.sites import small_site
from tests.web.support import bearer, quick_accounts

from duress.service.bootstrap import build_runtime
from duress.service.runtime import Runtime
from duress.testing import FakeClock, MemoryStore
from duress.web.app import create_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def runtime(clock: FakeClock) -> AsyncIterator[Runtime]:
    rt = build_runtime(small_site(), store=MemoryStore(), clock=clock)
    await rt.start()
    yield rt
    await rt.stop()


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime, manage_runtime=False, accounts=quick_accounts(runtime))


@pytest.fixture
async def admin_headers(app: FastAPI) -> dict[str, str]:
    """An admin's token with every scope."""
    return await bearer(app, "admin-tester")


@pytest.fixture
async def client(app: FastAPI, admin_headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A client authenticated as an admin (token with every scope)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://duress.test", headers=admin_headers
    ) as c:
        yield c


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no credentials."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://duress.test") as c:
        yield c
