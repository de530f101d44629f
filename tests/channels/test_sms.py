import json
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi import FastAPI

from duress.channels.sms import SmsNotifier, SmsSettings, sms_router
from duress.domain.errors import ConfigError
from duress.domain.notification import DeliveryStatus
from duress.testing import FakeClock
from tests.channels.support import Updates, duress_notice

TWILIO = SmsSettings.from_mapping(
    {
        "url": "https://api.twilio.example/2010-04-01/Accounts/AC1/Messages.json",
        "sender": "+15550100",
        "username": "AC1",
        "password": "secret",
        "fields": {
            "To": "{to}",
            "From": "{sender}",
            "Body": "{text}",
            "StatusCallback": "{status_url}",
        },
        "status_url": "https://duress.example/sms/status",
    }
)


def client(handler: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def test_twilio_style_form_post_with_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SM123", "status": "queued"})

    receipt = await SmsNotifier(TWILIO, client=client(handler)).send(
        duress_notice(channel="sms", address="+15550111")
    )
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.provider_id == "SM123"
    form = parse_qs(seen[0].content.decode())
    assert form["To"] == ["+15550111"]
    assert form["From"] == ["+15550100"]
    assert form["Body"][0].startswith("DURESS SECURITY. Floor 4")
    assert form["StatusCallback"] == ["https://duress.example/sms/status"]
    assert seen[0].headers["authorization"].startswith("Basic ")
    assert seen[0].headers["idempotency-key"] == "alert-1:t1:s2"


async def test_json_template_with_bearer_token() -> None:
    settings = SmsSettings.from_mapping(
        {
            "url": "https://sms.example/send",
            "format": "json",
            "token": "t0k",
            "fields": {"to": "{to}", "msg": "{text}"},
            "id_field": "id",
        }
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": 7})

    receipt = await SmsNotifier(settings, client=client(handler)).send(duress_notice(channel="sms"))
    assert receipt.provider_id == "7"
    assert json.loads(seen[0].content)["to"] == "4711"
    assert seen[0].headers["authorization"] == "Bearer t0k"


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (400, False)])
async def test_gateway_errors_are_failed_receipts(status: int, retryable: bool) -> None:
    receipt = await SmsNotifier(
        TWILIO, client=client(lambda r: httpx.Response(status, text="no"))
    ).send(duress_notice(channel="sms"))
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail.startswith(f"SMS gateway answered HTTP {status}")
    assert receipt.retryable is retryable


async def test_a_hanging_gateway_is_a_failed_receipt() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow")

    receipt = await SmsNotifier(TWILIO, client=client(handler)).send(duress_notice(channel="sms"))
    assert receipt.detail == "SMS gateway did not answer within 2 s"


async def test_status_callbacks_become_updates() -> None:
    updates = Updates()
    app = FastAPI()
    app.include_router(sms_router(updates, clock=FakeClock()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        ok = await c.post("/sms/status", data={"MessageSid": "SM123", "MessageStatus": "delivered"})
        failed = await c.post(
            "/sms/status",
            data={"MessageSid": "SM124", "MessageStatus": "undelivered", "ErrorCode": "30003"},
        )
        bad = await c.post("/sms/status", data={"MessageStatus": "teleported"})
    assert (ok.status_code, failed.status_code, bad.status_code) == (204, 204, 400)
    assert [(u.status, u.provider_id) for u in updates] == [
        (DeliveryStatus.DELIVERED, "SM123"),
        (DeliveryStatus.FAILED, "SM124"),
        (DeliveryStatus.FAILED, None),
    ]
    assert updates[1].detail == "provider error 30003"


def test_settings_name_bad_placeholders() -> None:
    with pytest.raises(ConfigError) as err:
        SmsSettings.from_mapping({"url": "https://sms.example", "fields": {"Body": "{patient}"}})
    assert "channels.sms.fields.Body: '{patient}' uses an unknown placeholder" in str(err.value)
