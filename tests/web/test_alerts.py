from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import httpx
import pytest
from tests.sites import routed_site
from tests.web.support import bearer, quick_accounts

from duress.domain.accounts import Role
from duress.service.bootstrap import build_runtime
from duress.testing import FakeClock, MemoryStore, RecordingNotifier
from duress.web.app import create_app


@pytest.fixture
async def desk() -> AsyncIterator[tuple[httpx.AsyncClient, FakeClock]]:
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
    headers = await bearer(app, "desk", Role.SECURITY_OPERATOR)
    # Ben Okafor (staff n-2) signs in as a responder: his actions are recorded as n-2.
    ben = await bearer(app, "ben", Role.RESPONDER, staff="n-2")
    admin = await bearer(app, "root")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://duress.test", headers=headers
    ) as client:
        client.ben = ben  # type: ignore[attr-defined]
        client.admin = admin  # type: ignore[attr-defined]
        yield client, clock
    await runtime.stop()


async def press(
    client: httpx.AsyncClient, clock: FakeClock, badge: str = "b-1", seq: int = 1
) -> None:
    body = {
        "messages": [
            {
                "type": "button",
                "ts": clock.now().isoformat(),
                "badge": badge,
                "seq": seq,
                "presses": 3,
            }
        ]
    }
    response = await client.post("/api/v1/ingest", json=body, headers=client.admin)
    assert response.json()["accepted"] == 1


async def test_an_alert_is_listed_and_read_with_its_timeline(desk) -> None:
    client, clock = desk
    await press(client, clock)
    [alert] = (await client.get("/api/v1/alerts")).json()
    assert (alert["id"], alert["state"], alert["kind"], alert["unit"]) == (
        "a-1",
        "notified",
        "assist",
        "icu",
    )
    assert alert["staff_name"] == "Ana Reyes"
    assert alert["notified"][0]["id"] == "n-2"
    one = (await client.get("/api/v1/alerts/a-1")).json()
    types = [e["type"] for e in one["timeline"]]
    assert types[:2] == ["alert.raised", "alert.notified"]


async def test_accept_on_scene_resolve_with_the_acting_person(desk) -> None:
    client, clock = desk
    await press(client, clock)
    await clock.advance(7)
    ben = client.ben
    accepted = (
        await client.post("/api/v1/alerts/a-1/accept", json={"by": "someone else"}, headers=ben)
    ).json()
    assert accepted["state"] == "accepted"
    assert accepted["seconds_to_accept"] == 7.0
    await clock.advance(40)
    await client.post("/api/v1/alerts/a-1/on-scene", json={"via": "dashboard"}, headers=ben)
    resolved = await client.post(
        "/api/v1/alerts/a-1/resolve",
        json={"code": "event", "severity": "moderate", "note": "verbal threat"},
        headers=ben,
    )
    body = resolved.json()
    assert (body["state"], body["resolution"], body["severity"]) == (
        "resolved",
        "event",
        "moderate",
    )
    assert body["seconds_to_scene"] == 47.0
    assert (await client.get("/api/v1/alerts")).json() == []
    closed = (await client.get("/api/v1/alerts", params={"state": "closed"})).json()
    assert [a["id"] for a in closed] == ["a-1"]
    timeline = (await client.get("/api/v1/alerts/a-1")).json()["timeline"]
    on_scene = next(e for e in timeline if e["type"] == "alert.on_scene")
    assert on_scene["payload"] == {"alert": "a-1", "by": "n-2", "via": "dashboard"}


async def test_acting_on_a_closed_alert_is_a_conflict(desk) -> None:
    client, clock = desk
    await press(client, clock)
    await client.post("/api/v1/alerts/a-1/cancel", json={"by": "desk", "note": "test press"})
    response = await client.post("/api/v1/alerts/a-1/accept", json={"by": "n-2"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "closed" in response.json()["detail"]


async def test_bad_actions_are_explained(desk) -> None:
    client, clock = desk
    await press(client, clock)
    missing = await client.post("/api/v1/alerts/a-404/accept", json={"by": "n-2"})
    assert missing.status_code == 404
    no_severity = await client.post("/api/v1/alerts/a-1/resolve", json={"by": "x", "code": "event"})
    assert no_severity.status_code == 400
    assert "severity" in no_severity.json()["detail"]
    no_reason = await client.post("/api/v1/alerts/a-1/cancel", json={"by": "x"})
    assert no_reason.status_code == 422
    not_json = await client.post("/api/v1/alerts/a-1/accept", content=b"{nope")
    assert not_json.status_code == 422


async def test_alerts_filter_by_unit_and_mode(desk) -> None:
    client, clock = desk
    await press(client, clock, badge="b-1", seq=1)
    await press(client, clock, badge="b-test", seq=1)
    tests = (await client.get("/api/v1/alerts", params={"mode": "test"})).json()
    assert [a["badge"] for a in tests] == ["b-test"]
    icu = (await client.get("/api/v1/alerts", params={"unit": "icu", "mode": "real"})).json()
    assert [a["badge"] for a in icu] == ["b-1"]
