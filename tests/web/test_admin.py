"""Admin and engineering views: devices, badges, units' precision, routing diagrams."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from tests.web.views import Desk, desk

from duress.domain.accounts import Role
from duress.web import admin


@pytest.fixture
async def d() -> AsyncIterator[Desk]:
    async with desk() as found:
        yield found


async def heartbeat(d: Desk, device: str, battery: float | None = None) -> None:
    message = {"type": "heartbeat", "ts": d.clock.now().isoformat(), "device": device}
    if battery is not None:
        message["battery"] = battery
    async with d.client(d.admin) as client:
        response = await client.post("/api/v1/ingest", json={"messages": [message]})
    assert response.json()["accepted"] == 1, response.text


async def test_devices_show_health_with_troubles_first(d: Desk) -> None:
    await heartbeat(d, "gw-1")
    await heartbeat(d, "ir-icu-1", battery=8)
    await d.clock.advance(700)  # past two missed intervals of the IR monitor (300 s)
    await heartbeat(d, "gw-1")
    rows = admin.devices(d.runtime)
    by_id = {r["id"]: r for r in rows}
    assert by_id["ir-icu-1"]["status"] == "silent"
    assert by_id["ir-icu-1"]["battery"] == 8
    assert by_id["ir-icu-1"]["battery_level"] != "ok"
    assert by_id["gw-1"]["status"] == "online"
    assert by_id["gw-1"]["last_seen"] == "0 s ago"
    assert rows[0]["id"] == "ir-icu-1"  # trouble first
    assert by_id["ir-icu-1"]["where"] == "ICU 1"
    assert by_id["ble-corr"]["where"] == "(20, 12) m"


async def test_badges_show_who_wears_them_and_when_they_were_heard(d: Desk) -> None:
    await d.sight("b-1", "ir-icu-1")
    await d.clock.advance(30)
    rows = {r["id"]: r for r in admin.badges(d.runtime)}
    assert rows["b-1"]["assigned"] == "Ana Reyes (rn)"
    assert rows["b-1"]["last_seen"] == "30 s ago"
    assert rows["b-spare"]["assigned"] == ""
    assert rows["b-2"]["last_seen"] == "never"


async def test_units_show_required_and_achieved_precision(d: Desk) -> None:
    await d.sight("b-1", "ir-icu-1")
    await d.sight("b-2", "ir-icu-2")
    rows = {u["id"]: u for u in admin.units(d.runtime)}
    assert rows["icu"]["required"] == "room"
    assert (rows["icu"]["located"], rows["icu"]["meeting"], rows["icu"]["share"]) == (2, 2, 1.0)
    assert rows["icu"]["by_precision"] == [("room", 2)]
    assert rows["ed"]["share"] is None
    assert rows["icu"]["policies"] == ["ICU duress"]


async def test_the_admin_page_for_engineers_and_not_for_responders(d: Desk) -> None:
    async with d.browser("eng", Role.SECURITY_OPERATOR) as eng:
        page = await eng.get("/admin")
    assert page.status_code == 200
    for text in ("Devices", "Badges", "required and achieved precision", "Routing per unit"):
        assert text in page.text
    assert 'data-device="ir-icu-1"' in page.text
    assert "stateDiagram" in page.text or "flowchart" in page.text  # the Mermaid text
    async with d.browser("ben", Role.RESPONDER, staff="n-2") as ben:
        refused = await ben.get("/admin")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
async def test_routing_diagrams_are_svg_from_graphviz(d: Desk) -> None:
    async with d.client(d.admin) as client:
        svg = await client.get("/admin/routing/icu.svg")
        missing = await client.get("/admin/routing/nowhere.svg")
        text = await client.get("/admin/routing/icu.mmd")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content
    assert missing.status_code == 404
    assert text.status_code == 200
    assert "ICU" in text.text


async def test_without_graphviz_the_page_says_so_and_shows_mermaid(
    d: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin.shutil, "which", lambda _name: None)
    async with d.client(d.admin) as client:
        page = await client.get("/admin")
        svg = await client.get("/admin/routing/ed.svg")
    assert "Graphviz (<code>dot</code>) is not installed" in page.text
    assert "<img" not in page.text
    assert svg.status_code == 404
