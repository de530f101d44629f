import httpx

from duress.service.runtime import Runtime


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
