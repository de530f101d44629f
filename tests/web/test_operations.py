import httpx
from tests.sites import small_site

from duress.service.bootstrap import build_runtime
from duress.testing import FakeClock, MemoryStore
from duress.web.app import create_app


async def test_healthz_says_the_process_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_the_store_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"store": "ok"}}


async def test_readyz_names_an_unreachable_broker() -> None:
    runtime = build_runtime(
        small_site(), store=MemoryStore(), clock=FakeClock(), mqtt_url="mqtt://127.0.0.1:1"
    )
    await runtime.start()
    try:
        app = create_app(runtime, manage_runtime=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
    finally:
        await runtime.stop()
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["store"] == "ok"
    assert "127.0.0.1:1 is not reachable" in checks["broker"]


async def test_metrics_count_ingest_by_type(client: httpx.AsyncClient, clock) -> None:
    batch = {"messages": [{"type": "heartbeat", "ts": clock.now().isoformat(), "device": "gw-1"}]}
    await client.post("/api/v1/ingest", json=batch)
    text = (await client.get("/metrics")).text
    assert 'duress_ingest_messages_total{type="heartbeat"} 1.0' in text
    assert 'duress_devices{status="online"} 1.0' in text
