"""The security desk's board and map, through the app (httpx, no browser)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tests.web.views import Desk, desk, eventually

from duress.domain.accounts import Role


@pytest.fixture
async def d() -> AsyncIterator[Desk]:
    async with desk() as found:
        yield found


async def test_the_board_names_the_site_and_shows_an_alert_with_everything_the_desk_needs(
    d: Desk,
) -> None:
    async with d.browser("op", Role.SECURITY_OPERATOR) as op:
        page = await op.get("/")
        assert page.status_code == 200
        assert "Test Hospital" in page.text
        assert "No open alerts." in page.text
        assert '<meta name="csrf-token" content="' + op.csrf + '">' in page.text  # type: ignore[attr-defined]
        assert "/static/duress.js" in page.text
        await d.sight("b-1", "ir-icu-1")
        await d.press()
        await d.clock.advance(4)

        async def delivered() -> bool:
            return "sent (wctp)" in (await op.get("/dashboard/board")).text

        await eventually(delivered)
        board = (await op.get("/dashboard/board")).text
    assert 'data-alert="a-1"' in board
    assert "Ana Reyes (rn)" in board
    assert "ASSIST" in board
    assert "ICU" in board  # the unit
    assert "Floor 1, unit ICU, room ICU 1" in board  # plain directions
    assert "room level, 100% sure" in board or "room level" in board
    assert "0:04" in board  # elapsed since the press
    assert "tier 1 of 3" in board
    assert "escalates in 26 s" in board
    assert "Ben Okafor" in board  # notified: the ICU charge nurse
    assert "charge_nurse of icu" in board or "charge nurse" in board
    assert 'data-acked="0"' in board
    assert "unacked" in board
    assert "not acknowledged" in board
    for action in ("acknowledge", "assign", "on-scene", "resolve", "cancel"):
        assert f'data-action="{action}"' in board


async def test_a_stale_fix_is_visibly_stale(d: Desk) -> None:
    await d.sight("b-1", "ir-icu-1")
    await d.press()
    await d.clock.advance(40)
    async with d.client(d.admin) as client:
        board = (await client.get("/dashboard/board")).text
    assert 'class="where stale"' in board
    assert "stale fix" in board
    assert "last seen 40 s ago" in board


async def test_acknowledge_stops_the_flash_and_names_who_saw_it(d: Desk) -> None:
    await d.press()
    async with d.browser("op", Role.SECURITY_OPERATOR) as op:
        done = await op.post(
            "/api/v1/alerts/a-1/acknowledge",
            json={"via": "dashboard"},
            headers={"X-CSRF-Token": op.csrf},  # type: ignore[attr-defined]
        )
        assert done.status_code == 200, done.text
        board = (await op.get("/dashboard/board")).text
    assert 'data-acked="1"' in board
    assert "unacked" not in board
    assert "seen by op" in board
    assert 'data-action="acknowledge"' not in board


async def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(d: Desk) -> None:
    await d.press()
    async with d.browser("op", Role.SECURITY_OPERATOR) as op:
        refused = await op.post("/api/v1/alerts/a-1/acknowledge", json={})
        forged = await op.post(
            "/dashboard/alerts/a-1/assign", json={"staff": "s-1"}, headers={"X-CSRF-Token": "x"}
        )
        board = (await op.get("/dashboard/board")).text
    assert refused.status_code == forged.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 'data-acked="0"' in board
    assert d.runtime.alerts.get("a-1").accepted_by == ()


async def test_assign_records_the_desk_acknowledging_and_the_responder_accepting(d: Desk) -> None:
    await d.press()
    async with d.browser("op", Role.SECURITY_OPERATOR) as op:
        choices = await op.get("/dashboard/alerts/a-1/assign")
        assert choices.status_code == 200
        # those paged first, then every responder
        assert choices.text.index("Ben Okafor") < choices.text.index("Eve Stone")
        done = await op.post(
            "/dashboard/alerts/a-1/assign",
            json={"staff": "s-2"},
            headers={"X-CSRF-Token": op.csrf},  # type: ignore[attr-defined]
        )
        assert done.status_code == 200, done.text
        assert done.json() == {"id": "a-1", "state": "accepted", "assigned": "s-2"}
        unknown = await op.post(
            "/dashboard/alerts/a-1/assign",
            json={"staff": "nobody"},
            headers={"X-CSRF-Token": op.csrf},  # type: ignore[attr-defined]
        )
        assert unknown.status_code == 400
        assert "nobody" in unknown.json()["detail"]
        board = (await op.get("/dashboard/board")).text
    assert "Accepted: <strong>Eve Stone</strong>" in board
    async with d.client(d.admin) as client:
        timeline = (await client.get("/api/v1/alerts/a-1")).json()["timeline"]
    kinds = [(e["type"], e["payload"].get("by"), e["payload"].get("via")) for e in timeline]
    assert ("alert.acknowledged", "op", None) in kinds
    assert ("alert.accepted", "s-2", "dashboard-assign") in kinds


async def test_assign_on_a_closed_alert_is_a_conflict(d: Desk) -> None:
    await d.press()
    async with d.client(d.admin) as client:
        await client.post("/api/v1/alerts/a-1/resolve", json={"code": "false_alarm"})
        closed = await client.post("/dashboard/alerts/a-1/assign", json={"staff": "s-2"})
        missing = await client.post("/dashboard/alerts/a-9/assign", json={"staff": "s-2"})
    assert closed.status_code == 409
    assert "resolved" in closed.json()["detail"]
    assert missing.status_code == 404


async def test_resolve_and_cancel_need_what_the_api_needs(d: Desk) -> None:
    await d.press()
    await d.press("b-4", seq=1)
    async with d.browser("op", Role.SECURITY_OPERATOR) as op:
        headers = {"X-CSRF-Token": op.csrf}  # type: ignore[attr-defined]
        no_reason = await op.post("/api/v1/alerts/a-2/cancel", json={"note": ""}, headers=headers)
        assert no_reason.status_code == 422
        no_severity = await op.post(
            "/api/v1/alerts/a-1/resolve", json={"code": "event"}, headers=headers
        )
        assert no_severity.status_code == 400
        ok = await op.post(
            "/api/v1/alerts/a-1/resolve",
            json={"code": "event", "severity": "minor", "note": "calmed", "via": "dashboard"},
            headers=headers,
        )
        assert ok.status_code == 200
        board = (await op.get("/dashboard/board")).text
    assert 'data-alert="a-1"' not in board
    assert 'data-alert="a-2"' in board


async def test_drills_tests_and_trouble_look_different_from_real_alerts(d: Desk) -> None:
    await d.press()
    await d.press("b-test", seq=1)
    await d.runtime.alerts.raise_trouble(
        subject="device:ir-icu-2",
        trouble="silent",
        description="IR monitor ICU 2 silent",
        floor="f1",
        area="icu-2",
    )
    async with d.client(d.admin) as client:
        board = (await client.get("/dashboard/board")).text
    assert "tone-real" in board
    assert "tone-test" in board
    assert '<span class="tag test">TEST</span>' in board
    assert "tone-trouble" in board
    assert "TROUBLE" in board
    assert "IR monitor ICU 2 silent" in board
    assert 'data-alarm="soft"' in board  # tests and trouble do not sound the duress alarm
    assert 'data-alarm="duress"' in board


async def test_the_map_highlights_the_alert_and_draws_its_trail(d: Desk) -> None:
    await d.sight("b-1", "ir-icu-1")
    await d.press()
    for _ in range(3):  # IR sightings a second apart: she walked into ICU 2
        await d.clock.advance(1)
        await d.sight("b-1", "ir-icu-2")
    async with d.client(d.admin) as client:
        fragment = (await client.get("/dashboard/map", params={"alert": "a-1"})).text
        page = await client.get("/map", params={"alert": "a-1"})
        floors = (await client.get("/dashboard/map", params={"floor": "nope"})).text
    assert 'data-floor="f1"' in fragment
    assert 'data-hit="icu-2"' in fragment  # where she is now
    assert 'class="hit real selected"' in fragment
    assert 'data-step="2"' in fragment  # icu-1 then icu-2
    assert page.status_code == 200
    assert "<svg" in page.text
    assert 'data-floor="f1"' in floors  # an unknown floor falls back to a real one


async def test_device_status_overlay_is_for_engineers_only(d: Desk) -> None:
    async with d.client(d.admin) as client:
        on = (await client.get("/dashboard/map", params={"floor": "f1", "devices": "1"})).text
    assert 'data-device="ir-icu-1"' in on
    assert 'data-status="unknown"' in on
    async with d.browser("ben", Role.RESPONDER, staff="n-2") as ben:
        off = (await ben.get("/dashboard/map", params={"floor": "f1", "devices": "1"})).text
    assert "data-device" not in off


async def test_a_unit_manager_sees_only_their_units_alerts_and_locations(d: Desk) -> None:
    await d.sight("b-1", "ir-icu-1")
    await d.press()  # ICU
    await d.press("b-4", seq=1)  # Dee Park, ED
    async with d.browser("ed-lead", Role.UNIT_MANAGER, units=["ed"]) as manager:
        board = (await manager.get("/dashboard/board")).text
        map_ = (await manager.get("/dashboard/map", params={"alert": "a-1"})).text
        assign = await manager.get("/dashboard/alerts/a-1/assign")
    assert "Dee Park" in board
    assert "Ana Reyes" not in board
    assert "ICU 1" not in board
    assert 'data-hit="icu-1"' not in map_
    assert assign.status_code == 403


async def test_an_auditor_sees_the_board_but_no_actions_and_no_locations(d: Desk) -> None:
    await d.sight("b-1", "ir-icu-1")
    await d.press()
    async with d.browser("audrey", Role.AUDITOR) as auditor:
        board = (await auditor.get("/dashboard/board")).text
        tried = await auditor.post(
            "/api/v1/alerts/a-1/acknowledge",
            json={},
            headers={"X-CSRF-Token": auditor.csrf},  # type: ignore[attr-defined]
        )
    assert "Ana Reyes" in board
    assert "data-action" not in board
    assert "Badge locations" not in board
    assert tried.status_code == 403


async def test_pages_send_a_browser_without_a_session_to_the_login_page(
    anonymous: httpx.AsyncClient,
) -> None:
    for path in ("/", "/map", "/respond", "/admin", "/dashboard/board"):
        response = await anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


async def test_static_assets_are_served(client: httpx.AsyncClient) -> None:
    script = await client.get("/static/duress.js")
    assert script.status_code == 200
    assert "EventSource" in script.text
    assert "AudioContext" in script.text  # the alarm is generated, no sound file
    assert "X-CSRF-Token" in script.text
    style = await client.get("/static/duress.css")
    assert style.status_code == 200


async def test_html_views_stay_out_of_the_openapi_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith(("/dashboard", "/respond", "/admin", "/map"))]


async def test_the_board_says_when_the_broker_is_unreachable(d: Desk) -> None:
    async with d.browser("op", Role.SECURITY_OPERATOR) as op:
        assert "Degraded" not in (await op.get("/dashboard/board")).text
        d.runtime.broker_down = "the MQTT broker at 127.0.0.1:1883 is not reachable (refused)"
        board = (await op.get("/dashboard/board")).text
    assert "Degraded" in board
    assert "127.0.0.1:1883 is not reachable" in board
