"""A desk for the view tests: the routed site, recording channels, alert ids a-1, a-2, ..., and
browser-like clients signed in with a session (cookies and the CSRF token)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from tests.sites import routed_site
from tests.web.support import PASSWORD, bearer, quick_accounts

from duress.domain.accounts import Role
from duress.service.bootstrap import build_runtime
from duress.service.runtime import Runtime
from duress.testing import FakeClock, MemoryStore, RecordingNotifier
from duress.web.app import create_app

BASE = "http://duress.test"


@dataclass
class Desk:
    app: FastAPI
    runtime: Runtime
    clock: FakeClock
    admin: dict[str, str]
    """An admin's token headers (ingest, every scope)."""

    async def press(self, badge: str = "b-1", seq: int = 1, presses: int = 3) -> None:
        body = {
            "messages": [
                {
                    "type": "button",
                    "ts": self.clock.now().isoformat(),
                    "badge": badge,
                    "seq": seq,
                    "presses": presses,
                }
            ]
        }
        async with self.client(self.admin) as client:
            response = await client.post("/api/v1/ingest", json=body)
        assert response.json()["accepted"] == 1, response.text

    async def sight(self, badge: str, device: str) -> None:
        body = {
            "messages": [
                {
                    "type": "sighting",
                    "ts": self.clock.now().isoformat(),
                    "badge": badge,
                    "device": device,
                    "kind": "ir",
                }
            ]
        }
        async with self.client(self.admin) as client:
            response = await client.post("/api/v1/ingest", json=body)
        assert response.json()["accepted"] == 1, response.text

    @asynccontextmanager
    async def client(
        self, headers: dict[str, str] | None = None
    ) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers) as c:
            yield c

    @asynccontextmanager
    async def browser(
        self, name: str, role: Role, *, staff: str | None = None, units: Collection[str] = ()
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A client signed in as a new user, like a browser: the session cookie and, in
        ``X-CSRF-Token``, nothing yet (tests add it where they mean to)."""
        await self.app.state.accounts.add_user(
            name, PASSWORD, role, units=units, staff=staff, by="test"
        )
        async with self.client() as c:
            signed = await c.post("/login", json={"username": name, "password": PASSWORD})
            assert signed.status_code == 200, signed.text
            c.csrf = signed.json()["csrf"]  # type: ignore[attr-defined]
            yield c


@asynccontextmanager
async def desk() -> AsyncIterator[Desk]:
    clock = FakeClock()
    ids = itertools.count(1)
    runtime = build_runtime(
        routed_site(),
        store=MemoryStore(),
        clock=clock,
        inline_store=True,
        notifiers=[RecordingNotifier(c) for c in ("wctp", "sms", "email", "dashboard")],
        new_alert_id=lambda: f"a-{next(ids)}",
    )
    await runtime.start()
    app = create_app(runtime, manage_runtime=False, accounts=quick_accounts(runtime))
    admin = await bearer(app, "root")
    try:
        yield Desk(app, runtime, clock, admin)
    finally:
        await runtime.stop()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 2.0) -> None:
    """Wait (on the event loop, for background delivery tasks) until ``check`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(0.01)
