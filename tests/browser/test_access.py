"""Roles, CSRF and sessions in a real browser."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.support import LiveServer, alert_of, press

pytestmark = pytest.mark.browser

FETCH = """async ([path, token]) => {
  const headers = {"Content-Type": "application/json"};
  if (token !== null) headers["X-CSRF-Token"] = token;
  const r = await fetch(path, {method: "POST", headers, body: "{}", credentials: "same-origin"});
  return [r.status, await r.text()];
}"""


def test_a_unit_manager_cannot_see_another_units_alert_or_locations(
    live_server: LiveServer, sign_in: Any
) -> None:
    from playwright.sync_api import expect

    press(live_server, "b-0050", "ir-icu-rm-01")  # Aisha Scott, ICU
    press(live_server, "b-0004", "ir-ed-rm-04")  # Ethan Walker, ED
    manager = sign_in("icu-lead")
    expect(manager.locator(".alert-card", has_text="Aisha Scott")).to_be_visible()
    expect(manager.locator(".alert-card", has_text="Ethan Walker")).to_have_count(0)
    expect(manager.locator('#map [data-hit="ed-rm-04"]')).to_have_count(0)
    badges = manager.request.get("/api/v1/badges").json()
    assert "b-0004" not in badges
    assert "b-0050" in badges
    ed_alert = alert_of(live_server, "Ethan Walker")
    assert manager.request.get(f"/api/v1/alerts/{ed_alert}").status == 403


def test_an_auditor_sees_alerts_but_cannot_act(live_server: LiveServer, sign_in: Any) -> None:
    from playwright.sync_api import expect

    press(live_server, "b-0005", "ir-ed-rm-05")  # Kwame Garcia
    auditor = sign_in("audrey")
    card = auditor.locator(".alert-card", has_text="Kwame Garcia")
    expect(card).to_be_visible()
    expect(card.locator("[data-action]")).to_have_count(0)
    expect(auditor.locator("#badges-title")).to_have_count(0)  # no badge locations at all
    alert_id = alert_of(live_server, "Kwame Garcia")
    token = auditor.evaluate("document.querySelector('meta[name=csrf-token]').content")
    status, body = auditor.evaluate(FETCH, [f"/api/v1/alerts/{alert_id}/acknowledge", token])
    assert status == 403
    assert "does not allow act_alerts" in body


def test_csrf_and_session_rules(live_server: LiveServer, sign_in: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    press(live_server, "b-0006", "ir-ed-rm-06")  # Emily Thomas
    desk = sign_in("desk")
    card = desk.locator(".alert-card", has_text="Emily Thomas")
    expect(card).to_be_visible()
    alert_id = alert_of(live_server, "Emily Thomas")
    path = f"/api/v1/alerts/{alert_id}/acknowledge"

    cookies = {c["name"]: c for c in desk.context.cookies()}
    session = cookies["duress_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert cookies["duress_csrf"]["httpOnly"] is False
    assert desk.evaluate("document.cookie").count("duress_session") == 0  # scripts cannot read it

    status, body = desk.evaluate(FETCH, [path, None])
    assert status == 403
    assert "CSRF" in body
    status, _ = desk.evaluate(FETCH, [path, "forged"])
    assert status == 403
    expect(card).to_have_attribute("data-acked", "0")  # nothing changed
    token = desk.evaluate("document.querySelector('meta[name=csrf-token]').content")
    status, _ = desk.evaluate(FETCH, [path, token])
    assert status == 200
    expect(card).to_have_attribute("data-acked", "1")

    # Signing out ends the session: the same cookie in another browser is worth nothing.
    desk.locator("form.whoami button").click()
    desk.wait_for_url("**/login")
    context = browser.new_context(base_url=live_server.url)
    try:
        context.add_cookies([{k: session[k] for k in ("name", "value", "domain", "path")}])
        page = context.new_page()
        page.goto("/")
        assert "/login" in page.url
        assert context.request.get("/api/v1/alerts").status == 401
    finally:
        context.close()


def test_a_wrong_password_keeps_you_out(live_server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/")
        assert "/login" in page.url
        page.fill("#username", "desk")
        page.fill("#password", "not the password at all")
        page.click("button[type=submit]")
        expect(page.locator(".message")).to_contain_text("wrong user name or password")
        assert not [c for c in context.cookies() if c["name"] == "duress_session"]
    finally:
        context.close()
