"""The responder's phone view: the alerts sent to me, directions, accept / decline / on scene."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.web.views import Desk, desk

from duress.domain.accounts import Role


@pytest.fixture
async def d() -> AsyncIterator[Desk]:
    async with desk() as found:
        yield found


async def test_a_responder_sees_the_alerts_sent_to_them_with_plain_directions(d: Desk) -> None:
    await d.sight("b-1", "ir-icu-1")
    await d.press()  # ICU: Ben Okafor (n-2), the charge nurse, is paged
    await d.press("b-4", seq=1)  # ED: Ben is not paged
    await d.clock.advance(3)
    async with d.browser("ben", Role.RESPONDER, staff="n-2") as ben:
        page = await ben.get("/respond")
    assert page.status_code == 200
    assert 'class="phone"' in page.text
    assert 'data-live="/respond/list"' in page.text
    assert "Alerts sent to Ben Okafor" in page.text
    assert 'data-alert="a-1"' in page.text
    assert 'data-alert="a-2"' not in page.text
    assert "Floor 1, unit ICU, room ICU 1 — last seen 3 s ago" in page.text
    for action in ("accept", "on-scene", "decline"):
        assert f'data-action="{action}"' in page.text
    assert 'data-action="acknowledge"' not in page.text  # the desk's, not the responder's


async def test_accept_then_on_scene_from_the_phone(d: Desk) -> None:
    await d.press()
    async with d.browser("ben", Role.RESPONDER, staff="n-2") as ben:
        headers = {"X-CSRF-Token": ben.csrf}  # type: ignore[attr-defined]
        accepted = await ben.post(
            "/api/v1/alerts/a-1/accept", json={"via": "responder"}, headers=headers
        )
        assert accepted.status_code == 200
        listing = (await ben.get("/respond/list")).text
        assert "You: <strong>accepted</strong>" in listing
        assert 'data-action="accept"' not in listing
        assert 'data-action="on-scene"' in listing
        arrived = await ben.post(
            "/api/v1/alerts/a-1/on-scene", json={"via": "responder"}, headers=headers
        )
        assert arrived.status_code == 200
        listing = (await ben.get("/respond/list")).text
    assert "You: <strong>on scene</strong>" in listing
    alert = d.runtime.alerts.get("a-1")
    assert alert.accepted_by == ("n-2",)
    assert alert.on_scene_by == ("n-2",)


async def test_an_account_without_a_staff_link_is_told_why_it_sees_nothing(d: Desk) -> None:
    await d.press()
    async with d.browser("floater", Role.RESPONDER) as floater:
        listing = (await floater.get("/respond/list")).text
    assert "not linked to a staff member" in listing
    assert "data-alert" not in listing


async def test_an_auditor_gets_no_buttons(d: Desk) -> None:
    await d.press()
    async with d.browser("audrey", Role.AUDITOR, staff="n-2") as auditor:
        listing = (await auditor.get("/respond/list")).text
    assert 'data-alert="a-1"' in listing
    assert "data-action" not in listing
