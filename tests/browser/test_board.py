"""The desk and the responder in real browsers: a press appears live, is acknowledged, accepted on a
phone, and resolved; the screenshots in the docs come from here."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from tests.browser.support import LiveServer, alert_of, press

pytestmark = pytest.mark.browser
LIVE_WITHIN_MS = 1000


def test_a_press_appears_live_is_acknowledged_accepted_and_resolved(
    live_server: LiveServer, sign_in: Any, images: Path
) -> None:
    from playwright.sync_api import expect

    desk = sign_in("desk", viewport={"width": 1600, "height": 900})
    expect(desk.locator("#live")).to_have_text("live")  # the event stream is connected
    expect(desk.locator(".alert-card")).to_have_count(0)
    loaded = desk.evaluate("performance.getEntriesByType('navigation').length")

    started = time.monotonic()
    press(live_server, "b-0001", "ir-ed-rm-01")
    card = desk.locator(".alert-card", has_text="James Garcia")
    expect(card).to_be_visible(timeout=LIVE_WITHIN_MS)
    seen_after = time.monotonic() - started
    assert seen_after < LIVE_WITHIN_MS / 1000, f"shown after {seen_after:.2f} s"
    assert desk.evaluate("performance.getEntriesByType('navigation').length") == loaded  # no reload
    alert_id = alert_of(live_server, "James Garcia")

    # Until the desk acknowledges: the card flashes and the alarm sounds.
    expect(card).to_have_class(re.compile(r"\bunacked\b"))
    expect(card).to_contain_text("ED Exam Room 01")
    expect(card).to_contain_text("Floor 1, unit Emergency Department")
    expect(card).to_contain_text("Benjamin Chen")  # notified: the ED charge nurse
    desk.wait_for_function("window.duressAlarm.ringing && window.duressAlarm.beeps > 0")
    expect(desk.locator(f'#map [data-hit="ed-rm-01"][data-alert="{alert_id}"]')).to_be_visible()
    desk.screenshot(path=str(images / "board.png"))
    desk.locator("#map").screenshot(path=str(images / "map.png"))
    assert (images / "board.png").stat().st_size > 10_000

    card.locator('[data-action="acknowledge"]').click()
    expect(card).to_have_attribute("data-acked", "1")
    expect(card).to_contain_text("seen by desk")
    desk.wait_for_function("!window.duressAlarm.ringing")

    # The responder, on a phone, in a second browser context.
    phone = sign_in("ben", viewport={"width": 390, "height": 844}, path="/respond")
    mine = phone.locator(f'.alert-card[data-alert="{alert_id}"]')
    expect(mine).to_contain_text("Floor 1, unit Emergency Department, room ED Exam Room 01")
    expect(mine).to_contain_text("last seen")
    phone.screenshot(path=str(images / "respond.png"))
    mine.locator('[data-action="accept"]').click()
    expect(mine.locator(".my-answer")).to_contain_text("accepted")
    expect(card).to_contain_text("Accepted: Benjamin Chen")  # live on the desk, no reload
    mine.locator('[data-action="on-scene"]').click()
    expect(card).to_contain_text("On scene: Benjamin Chen")

    card.locator('[data-action="resolve"]').click()
    dialog = desk.locator("#resolve-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#resolve-code").select_option("false_alarm")
    dialog.locator("#resolve-note").fill("pressed by mistake while lifting a patient")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(card).to_have_count(0)
    resolved = live_server.get(f"/api/v1/alerts/{alert_id}", live_server.reader).json()
    assert (resolved["state"], resolved["resolution"]) == ("resolved", "false_alarm")
    assert resolved["accepted_by"] == ["s-0031"]


def test_assign_and_cancel_from_the_desk(live_server: LiveServer, sign_in: Any) -> None:
    from playwright.sync_api import expect

    desk = sign_in("desk")
    expect(desk.locator("#live")).to_have_text("live")
    press(live_server, "b-0002", "ir-ed-rm-02")
    card = desk.locator(".alert-card", has_text="Grace Garcia")
    expect(card).to_be_visible()
    card.locator('[data-action="assign"]').click()
    dialog = desk.locator("#assign-dialog")
    expect(dialog.locator("#assign-staff")).to_be_visible()
    dialog.locator("#assign-staff").select_option("s-0163")  # Chloe Jackson, security
    dialog.locator("button[type=submit]").click()
    expect(card).to_contain_text("Accepted: Chloe Jackson")
    expect(card).to_have_attribute("data-acked", "1")  # assigning is seeing it

    card.locator('[data-action="cancel"]').click()
    cancel = desk.locator("#cancel-dialog")
    cancel.locator("#cancel-note").fill("wearer called: she is fine")
    cancel.locator("button[type=submit]").click()
    expect(card).to_have_count(0)


def test_the_keyboard_acknowledges_the_newest_unacknowledged_alert(
    live_server: LiveServer, sign_in: Any
) -> None:
    from playwright.sync_api import expect

    desk = sign_in("desk")
    expect(desk.locator("#live")).to_have_text("live")
    press(live_server, "b-0003", "ir-ed-rm-03")
    card = desk.locator(".alert-card", has_text="Wei Smith")
    expect(card).to_have_attribute("data-acked", "0")
    desk.keyboard.press("a")
    expect(card).to_have_attribute("data-acked", "1")


def test_the_engineering_views(live_server: LiveServer, sign_in: Any, images: Path) -> None:
    from playwright.sync_api import expect

    desk = sign_in("desk", path="/admin")
    expect(desk.locator('#devices tr[data-device="ir-ed-rm-01"]')).to_be_visible()
    expect(desk.locator('#units tr[data-unit="ed"]')).to_contain_text("zone")
    diagram = desk.locator("#routing-ed img")
    if shutil.which("dot"):
        diagram.scroll_into_view_if_needed()
        desk.wait_for_function(
            "document.querySelector('#routing-ed img').naturalWidth > 0", timeout=10_000
        )
    desk.screenshot(path=str(images / "admin.png"), full_page=False)
    desk.goto("/map?devices=1&floor=f1")
    expect(desk.locator('svg [data-device="ir-ed-rm-01"]')).to_have_count(1)
