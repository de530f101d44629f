"""Authentication and authorization over HTTP: roles, scopes, sessions, CSRF, lockout, privacy, audit."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from tests.web.support import PASSWORD, bearer, service_token

from duress.domain.accounts import Role, Scope
from duress.service.accounts import Accounts


def press(clock, badge: str = "b-1", seq: int = 1) -> dict:  # type: ignore[no-untyped-def]
    return {
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


def sighting(clock, badge: str = "b-1") -> dict:  # type: ignore[no-untyped-def]
    message = {
        "type": "sighting",
        "ts": clock.now().isoformat(),
        "badge": badge,
        "device": "ir-icu-1",
        "kind": "ir",
    }
    return {"messages": [message] * 3}


async def sign_in(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return await client.post(
        "/login", data={"username": name, "password": password, "csrf": csrf[1], "next": "/"}
    )


async def test_no_credentials_is_401_with_a_clear_problem(anonymous: httpx.AsyncClient) -> None:
    for method, path in [("GET", "/api/v1/alerts"), ("POST", "/api/v1/ingest")]:
        response = await anonymous.request(method, path)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "sign in" in response.json()["detail"]
    bad = await anonymous.get("/api/v1/alerts", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert "unknown, revoked or expired" in bad.json()["detail"]
    assert (await anonymous.get("/healthz")).status_code == 200
    assert (await anonymous.get("/metrics")).status_code == 200
    page = await anonymous.get("/")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2F"


async def test_ingest_needs_the_ingest_scope(anonymous, app: FastAPI, clock) -> None:  # type: ignore[no-untyped-def]
    gateway = await service_token(app, "gw-1", [Scope.INGEST])
    reader = await service_token(app, "dash", [Scope.READ])
    refused = await anonymous.post("/api/v1/ingest", json=press(clock), headers=reader)
    assert refused.status_code == 403
    assert "ingest" in refused.json()["detail"]
    taken = await anonymous.post("/api/v1/ingest", json=press(clock), headers=gateway)
    assert taken.json()["accepted"] == 1
    assert (await anonymous.get("/api/v1/alerts", headers=gateway)).status_code == 403
    omlox = await anonymous.put("/omlox/v2/providers/p/location", json={}, headers=reader)
    assert omlox.status_code == 403


async def test_an_auditor_reads_but_cannot_act(client, anonymous, app, clock) -> None:  # type: ignore[no-untyped-def]
    await client.post("/api/v1/ingest", json=press(clock))
    auditor = await bearer(app, "audra", Role.AUDITOR)
    [alert] = (await anonymous.get("/api/v1/alerts", headers=auditor)).json()
    refused = await anonymous.post(f"/api/v1/alerts/{alert['id']}/accept", json={}, headers=auditor)
    assert refused.status_code == 403
    assert "act_alerts" in refused.json()["detail"]
    assert (await anonymous.get("/api/v1/badges", headers=auditor)).status_code == 403
    one = (await anonymous.get(f"/api/v1/alerts/{alert['id']}", headers=auditor)).json()
    assert one["state"] != "accepted"  # nothing changed
    audit = (await anonymous.get("/api/v1/audit", headers=auditor)).json()
    denied = [e for e in audit if e["type"] == "access.denied"]
    assert [(e["payload"]["who"], e["payload"]["reason"]) for e in denied] == [
        ("audra", "act_alerts"),
        ("audra", "read_locations"),
    ]


async def test_a_responder_accepts_as_themselves(client, anonymous, app, clock) -> None:  # type: ignore[no-untyped-def]
    await client.post("/api/v1/ingest", json=press(clock))
    ben = await bearer(app, "ben", Role.RESPONDER, staff="n-2")
    [alert] = (await anonymous.get("/api/v1/alerts", headers=ben)).json()
    accepted = await anonymous.post(
        f"/api/v1/alerts/{alert['id']}/accept", json={"by": "someone-else"}, headers=ben
    )
    assert accepted.status_code == 200
    assert accepted.json()["accepted_by"] == ["n-2"]


async def test_a_unit_manager_sees_only_their_units(client, anonymous, app, clock) -> None:  # type: ignore[no-untyped-def]
    await client.post("/api/v1/ingest", json=sighting(clock))
    await client.post("/api/v1/ingest", json=press(clock))  # b-1 is Ana Reyes, ICU
    icu = await bearer(app, "icu-mgr", Role.UNIT_MANAGER, units=["icu"])
    ed = await bearer(app, "ed-mgr", Role.UNIT_MANAGER, units=["ed"])
    assert "b-1" in (await anonymous.get("/api/v1/badges", headers=icu)).json()
    assert (await anonymous.get("/api/v1/badges", headers=ed)).json() == {}
    assert (await anonymous.get("/api/v1/alerts", headers=ed)).json() == []
    [alert] = (await anonymous.get("/api/v1/alerts", headers=icu)).json()
    other = await anonymous.get(f"/api/v1/alerts/{alert['id']}", headers=ed)
    assert other.status_code == 403
    act = await anonymous.post(f"/api/v1/alerts/{alert['id']}/acknowledge", json={}, headers=ed)
    assert act.status_code == 403


async def test_locations_are_visible_only_around_an_alert(client, anonymous, app, clock) -> None:  # type: ignore[no-untyped-def]
    await client.post("/api/v1/ingest", json=sighting(clock))
    desk = await bearer(app, "desk", Role.SECURITY_OPERATOR)
    assert (await anonymous.get("/api/v1/badges", headers=desk)).json() == {}
    assert "b-1" in (await client.get("/api/v1/badges")).json()  # the admin sees all
    await client.post("/api/v1/ingest", json=press(clock))
    assert "b-1" in (await anonymous.get("/api/v1/badges", headers=desk)).json()
    [alert] = (await client.get("/api/v1/alerts")).json()
    await client.post(f"/api/v1/alerts/{alert['id']}/cancel", json={"note": "test press"})
    await clock.advance(14 * 60)
    await client.post("/api/v1/ingest", json=sighting(clock))
    assert "b-1" in (await anonymous.get("/api/v1/badges", headers=desk)).json()
    await clock.advance(2 * 60)
    assert (await anonymous.get("/api/v1/badges", headers=desk)).json() == {}
    views = (await client.get("/api/v1/audit")).json()
    seen = [
        (e["payload"]["by"], e["payload"]["badge"]) for e in views if e["type"] == "location.viewed"
    ]
    assert ("desk", "b-1") in seen


async def test_the_event_log_hides_movements_from_non_admins(client, anonymous, app, clock) -> None:  # type: ignore[no-untyped-def]
    await client.post("/api/v1/ingest", json=sighting(clock))
    desk = await bearer(app, "desk", Role.SECURITY_OPERATOR)
    moved = {"type": "badge.moved"}
    [mine] = (await anonymous.get("/api/v1/events", params=moved, headers=desk)).json()
    assert mine["payload"] == {"badge": "b-1"}
    [full] = (await client.get("/api/v1/events", params=moved)).json()
    assert len(full["payload"]) > 1  # the whole fix


async def test_a_browser_session_with_csrf(anonymous, app, clock, client) -> None:  # type: ignore[no-untyped-def]
    accounts: Accounts = app.state.accounts
    await accounts.add_user("desk", PASSWORD, Role.SECURITY_OPERATOR, by="test")
    await client.post("/api/v1/ingest", json=press(clock))
    signed = await sign_in(anonymous, "desk")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/"
    cookie = signed.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie if c.startswith("duress_session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=strict" in session_cookie
    board = await anonymous.get("/")
    assert board.status_code == 200
    assert "desk" in board.text
    [alert] = (await anonymous.get("/api/v1/alerts")).json()
    url = f"/api/v1/alerts/{alert['id']}/acknowledge"
    forged = await anonymous.post(url, json={})
    assert forged.status_code == 403
    assert "CSRF" in forged.json()["detail"]
    wrong = await anonymous.post(url, json={}, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    still = (await anonymous.get(f"/api/v1/alerts/{alert['id']}")).json()
    assert still["acknowledged_by"] == []  # nothing changed
    csrf = anonymous.cookies["duress_csrf"]
    assert (await anonymous.get("/api/v1/me")).json()["csrf"] == csrf
    done = await anonymous.post(url, json={}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200
    assert done.json()["acknowledged_by"] == ["desk"]
    out = await anonymous.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert (await anonymous.get("/api/v1/alerts")).status_code == 401


async def test_a_session_expires_when_idle(anonymous, app, clock) -> None:  # type: ignore[no-untyped-def]
    accounts: Accounts = app.state.accounts
    await accounts.add_user("desk", PASSWORD, Role.SECURITY_OPERATOR, by="test")
    await sign_in(anonymous, "desk")
    assert (await anonymous.get("/api/v1/alerts")).status_code == 200
    await clock.advance(30 * 60)
    expired = await anonymous.get("/api/v1/alerts")
    assert expired.status_code == 401
    assert "idle" in expired.json()["detail"]


async def test_wrong_passwords_are_throttled(anonymous, app) -> None:  # type: ignore[no-untyped-def]
    accounts: Accounts = app.state.accounts
    await accounts.add_user("desk", PASSWORD, Role.SECURITY_OPERATOR, by="test")
    for _ in range(5):
        wrong = await anonymous.post("/login", json={"username": "desk", "password": "nope"})
        assert wrong.status_code == 401
        assert wrong.json()["detail"] == "wrong user name or password"
    locked = await anonymous.post("/login", json={"username": "desk", "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) == 900
    assert "try again" in locked.json()["detail"]
    page = await sign_in(anonymous, "desk")
    assert page.status_code == 429
    assert "too many failed sign-ins" in page.text


async def test_bad_sign_in_bodies(anonymous) -> None:  # type: ignore[no-untyped-def]
    huge = await anonymous.post("/login", content=b"x" * 10_000)
    assert huge.status_code == 413
    broken = await anonymous.post(
        "/login", content=b"{no", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    no_csrf = await anonymous.post("/login", data={"username": "a", "password": "b"})
    assert no_csrf.status_code == 403


async def test_a_one_time_password_must_be_changed_first(anonymous, app) -> None:  # type: ignore[no-untyped-def]
    accounts: Accounts = app.state.accounts
    await accounts.add_user(
        "desk", PASSWORD, Role.SECURITY_OPERATOR, must_change_password=True, by="test"
    )
    signed = await sign_in(anonymous, "desk")
    assert signed.headers["location"] == "/password"
    blocked = await anonymous.get("/api/v1/alerts")
    assert blocked.status_code == 403
    assert "/password" in blocked.json()["detail"]
    assert (await anonymous.get("/")).headers["location"] == "/password"
    form = await anonymous.get("/password")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]  # type: ignore[index]
    new = "a much better passphrase"
    changed = await anonymous.post(
        "/password",
        data={"password": PASSWORD, "new_password": new, "confirm": new, "csrf": csrf},
    )
    assert changed.status_code == 303
    await sign_in(anonymous, "desk", new)
    assert (await anonymous.get("/api/v1/alerts")).status_code == 200


async def test_the_demo_link_signs_in_once(anonymous, app) -> None:  # type: ignore[no-untyped-def]
    accounts: Accounts = app.state.accounts
    await accounts.add_user("demo-operator", PASSWORD, Role.SECURITY_OPERATOR, by="demo")
    code = accounts.login_link("demo-operator")
    page = await anonymous.get("/login/link", params={"code": code})
    assert page.status_code == 200
    assert 'http-equiv="refresh"' in page.text
    assert (await anonymous.get("/")).status_code == 200
    anonymous.cookies.clear()
    again = await anonymous.get("/login/link", params={"code": code})
    assert again.status_code == 401


async def test_the_audit_exports_as_csv(client, anonymous, app, clock) -> None:  # type: ignore[no-untyped-def]
    await client.post("/api/v1/ingest", json=press(clock))
    [alert] = (await client.get("/api/v1/alerts")).json()
    await client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", json={})
    csv = await client.get("/api/v1/audit.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0] == "seq,ts,type,subject_kind,subject_id,by,detail"
    assert any(",alert.acknowledged,alert," in line for line in lines)
    responder = await bearer(app, "ben", Role.RESPONDER)
    assert (await anonymous.get("/api/v1/audit.csv", headers=responder)).status_code == 403


@pytest.mark.parametrize("scope", [Scope.READ, Scope.ACT])
async def test_a_service_token_never_reads_the_audit(anonymous, app, scope) -> None:  # type: ignore[no-untyped-def]
    headers = await service_token(app, f"int-{scope.value}", [scope])
    assert (await anonymous.get("/api/v1/audit", headers=headers)).status_code == 403
