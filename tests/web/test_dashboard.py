import httpx


async def test_the_board_names_the_site_and_shows_an_alert(
    client: httpx.AsyncClient, clock
) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert "Test Hospital" in page.text
    assert "No open alerts." in page.text
    press = {
        "type": "button",
        "ts": clock.now().isoformat(),
        "badge": "b-1",
        "seq": 1,
        "presses": 3,
    }
    await client.post("/api/v1/ingest", json={"messages": [press]})
    board = (await client.get("/dashboard/board")).text
    assert "Ana Reyes (rn)" in board
    assert "assist" in board
    assert "location unknown" in board
    assert "undelivered: no routing policy applies" in board  # the small site has no policies


async def test_static_assets_are_served(client: httpx.AsyncClient) -> None:
    script = await client.get("/static/live.js")
    assert script.status_code == 200
    assert "EventSource" in script.text
