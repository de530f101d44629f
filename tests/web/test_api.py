import json
from collections.abc import AsyncIterator

import httpx
import pytest
from tests.sites import small_site
from tests.web.support import bearer, quick_accounts

from duress.ingest.body_decoding import is_bulk
from duress.service.bootstrap import build_runtime
from duress.service.runtime import Runtime
from duress.testing import MemoryStore
from duress.web.app import create_app


def ts(clock) -> str:
    return clock.now().isoformat()


async def test_a_mixed_batch_keeps_every_good_message(client: httpx.AsyncClient, clock) -> None:
    batch = {
        "messages": [
            {"type": "button", "ts": ts(clock), "badge": "b-1", "seq": 1, "presses": 3},
            {
                "type": "sighting",
                "ts": ts(clock),
                "badge": "b-1",
                "device": "ir-icu-1",
                "kind": "ir",
            },
            {"type": "sighting", "ts": ts(clock), "badge": "b-1"},
            {
                "type": "sighting",
                "ts": ts(clock),
                "badge": "b-ghost",
                "device": "ir-icu-1",
                "kind": "ir",
            },
            {"type": "heartbeat", "ts": "yesterday", "device": "gw-1"},
        ]
    }
    response = await client.post("/api/v1/ingest", json=batch)
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [
        (2, "missing_field"),
        (3, "unknown_badge"),
        (4, "bad_timestamp"),
    ]


async def test_a_batch_that_is_not_json_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/ingest", content=b"{not json")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["reason"] == "not_json"
    assert problem["status"] == 400


async def test_the_event_log_filters_by_subject_and_type(client, clock) -> None:
    press = {"type": "button", "ts": ts(clock), "badge": "b-2", "seq": 4, "presses": 3}
    sighting = {
        "type": "sighting",
        "ts": ts(clock),
        "badge": "b-1",
        "device": "ir-icu-1",
        "kind": "ir",
    }
    start = (await client.get("/api/v1/events")).json()[-1]["seq"]  # after the test's accounts
    await client.post("/api/v1/ingest", json={"messages": [press, sighting]})
    events = (await client.get("/api/v1/events", params={"after": start})).json()
    assert events[0]["type"] == "button.pressed"
    assert [e["type"] for e in events[-2:]] == ["device.online", "badge.moved"]
    only = await client.get(
        "/api/v1/events",
        params={"subject_kind": "badge", "subject_id": "b-2", "type": "button.pressed"},
    )
    assert [e["payload"]["seq"] for e in only.json()] == [4]
    typed = await client.get("/api/v1/events", params={"type": "device.online"})
    assert [e["subject_id"] for e in typed.json()] == ["ir-icu-1"]
    after = await client.get("/api/v1/events", params={"after": events[-2]["seq"]})
    assert [e["type"] for e in after.json()] == ["badge.moved"]


async def test_half_a_subject_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/events", params={"subject_kind": "badge"})
    assert response.status_code == 400
    assert "together" in response.json()["detail"]


async def test_badges_show_where_and_how_sure(client, clock, runtime: Runtime) -> None:
    sighting = {
        "type": "sighting",
        "ts": ts(clock),
        "badge": "b-1",
        "device": "ir-icu-1",
        "kind": "ir",
    }
    await client.post("/api/v1/ingest", json={"messages": [sighting] * 3})
    located = (await client.get("/api/v1/badges")).json()
    b1 = located["b-1"]
    assert b1["room"] == "icu-1"
    assert b1["precision"] == "room"
    assert b1["source"] == "ir"
    assert 0 < b1["confidence"] <= 1


async def test_devices_report_supervision_state(client, clock) -> None:
    beat = {"type": "heartbeat", "ts": ts(clock), "device": "gw-1", "battery": 77}
    await client.post("/api/v1/ingest", json={"messages": [beat]})
    devices = {d["device"]: d for d in (await client.get("/api/v1/devices")).json()}
    assert devices["gw-1"]["status"] == "online"
    assert devices["gw-1"]["battery"] == 77
    assert devices["ir-icu-1"]["status"] == "unknown"


async def test_openapi_documents_the_ingest_batch(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/api/v1/ingest"]["post"]["requestBody"]["content"]["application/json"]
    assert "$ref" not in str(body["schema"])  # self-contained
    assert "sighting" in str(body["schema"])
    assert "/api/v1/stream" in spec["paths"]


@pytest.fixture
async def process_client(clock) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """The API of a server whose location engine runs in its own process (the default)."""
    runtime = build_runtime(
        small_site(), store=MemoryStore(), clock=clock, location_engine="process"
    )
    await runtime.start()
    app = create_app(runtime, manage_runtime=False, accounts=quick_accounts(runtime))
    headers = await bearer(app, "admin-tester")
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://duress.test", headers=headers
        ) as c:
            yield c, runtime
    finally:
        await runtime.stop()


def ir_sighting(clock, badge: str = "b-1") -> dict[str, object]:
    return {"type": "sighting", "ts": ts(clock), "badge": badge, "device": "ir-icu-1", "kind": "ir"}


async def test_a_bulk_batch_is_located_in_the_location_process_keeping_every_good_message(
    process_client, clock
) -> None:
    client, runtime = process_client
    messages = [ir_sighting(clock) for _ in range(40)]
    messages[3] = {"type": "sighting", "ts": ts(clock), "badge": "b-1"}
    messages[7] = ir_sighting(clock, badge="b-ghost")
    messages[9] = {"type": "heartbeat", "ts": ts(clock), "device": "gw-1"}
    body = json.dumps({"messages": messages}).encode()
    assert is_bulk(body)
    response = await client.post("/api/v1/ingest", content=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 38
    assert [(r["index"], r["reason"]) for r in answer["rejected"]] == [
        (3, "missing_field"),
        (7, "unknown_badge"),
    ]
    assert runtime.locator.where("b-1", clock.now())["room"] == "icu-1"
    assert runtime.health.state("gw-1").last_seen == clock.now()


async def test_a_bulk_body_that_is_not_a_batch_is_a_problem_there_too(process_client) -> None:
    client, _ = process_client
    response = await client.post("/api/v1/ingest", content=b"[" + b" " * 4000 + b"{not json")
    assert response.status_code == 400
    assert response.json()["reason"] == "not_json"


async def test_a_large_batch_with_a_press_is_decoded_here_and_the_press_stored_at_once(
    process_client, clock
) -> None:
    client, runtime = process_client
    press = {"type": "button", "ts": ts(clock), "badge": "b-2", "seq": 9, "presses": 3}
    body = json.dumps({"messages": [ir_sighting(clock)] * 40 + [press]}).encode()
    assert not is_bulk(body)
    response = await client.post("/api/v1/ingest", content=body)
    assert response.json()["accepted"] == 41
    assert [e.payload["seq"] for e in await runtime.read(types=["button.pressed"])] == [9]


async def test_the_served_ingest_route_answers_as_the_documented_one(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock
) -> None:
    from starlette.routing import Route

    from duress.web.api import _ingest_route, router

    served = router.routes[0]  # matched before the documented route of the same path
    assert isinstance(served, Route)
    assert (served.path, served.endpoint) == ("/api/v1/ingest", _ingest_route)
    press = {"type": "button", "ts": ts(clock), "badge": "b-1", "seq": 1, "presses": 3}
    answer = await client.post("/api/v1/ingest", json={"messages": [press, {"type": "x"}]})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert (body["accepted"], body["duplicates"]) == (1, 0)
    assert [r["index"] for r in body["rejected"]] == [1]
    again = await client.post("/api/v1/ingest", json={"messages": [press]})
    assert again.json() == {"accepted": 1, "duplicates": 1, "rejected": []}
    refused = await anonymous.post("/api/v1/ingest", json={"messages": [press]})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
