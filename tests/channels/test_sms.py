import base64
import gc
import json
from dataclasses import replace
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi import FastAPI

from duress.channels.http_client import HttpClient
from duress.channels.sms import SmsNotifier, SmsSettings, sms_router
from duress.domain.errors import ConfigError
from duress.domain.notification import DeliveryStatus
from duress.testing import FakeClock
from tests.channels.http_server import Answer, HttpServer, closed_port
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


def at(server: HttpServer, settings: SmsSettings = TWILIO) -> SmsSettings:
    return replace(settings, url=server.url("/2010-04-01/Accounts/AC1/Messages.json"))


async def test_twilio_style_form_post_with_basic_auth(server: HttpServer, http: HttpClient) -> None:
    server.answer = Answer.json(201, {"sid": "SM123", "status": "queued"})
    receipt = await SmsNotifier(at(server), client=http).send(
        duress_notice(channel="sms", address="+15550111")
    )
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.provider_id == "SM123"
    assert receipt.detail == "HTTP 201"
    request = server.seen[0]
    assert (request.method, request.path) == ("POST", "/2010-04-01/Accounts/AC1/Messages.json")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.body.decode())
    assert form["To"] == ["+15550111"]
    assert form["From"] == ["+15550100"]
    assert form["Body"][0].startswith("DURESS SECURITY. Floor 4")
    assert form["StatusCallback"] == ["https://duress.example/sms/status"]
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"AC1:secret").decode()
    assert request.headers["idempotency-key"] == "alert-1:t1:s2"


async def test_json_template_with_bearer_token(server: HttpServer, http: HttpClient) -> None:
    settings = SmsSettings.from_mapping(
        {
            "url": server.url("/send"),
            "format": "json",
            "token": "t0k",
            "fields": {"to": "{to}", "msg": "{text}"},
            "id_field": "id",
        }
    )
    server.answer = Answer.json(200, {"id": 7})
    receipt = await SmsNotifier(settings, client=http).send(duress_notice(channel="sms"))
    assert receipt.provider_id == "7"
    assert server.seen[0].headers["content-type"] == "application/json"
    assert json.loads(server.seen[0].body)["to"] == "4711"
    assert server.seen[0].headers["authorization"] == "Bearer t0k"


async def test_get_template_sends_the_fields_as_query_parameters(
    server: HttpServer, http: HttpClient
) -> None:
    settings = replace(at(server), method="GET")
    server.answer = Answer.json(200, {"sid": "SM9"})
    receipt = await SmsNotifier(settings, client=http).send(
        duress_notice(channel="sms", address="+15550111")
    )
    assert receipt.provider_id == "SM9"
    request = server.seen[0]
    assert (request.method, request.body) == ("GET", b"")
    assert request.query["To"] == "+15550111"
    assert request.query["Body"].startswith("DURESS SECURITY. Floor 4")
    assert request.headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (400, False)])
async def test_gateway_errors_are_failed_receipts(
    server: HttpServer, http: HttpClient, status: int, retryable: bool
) -> None:
    server.answer = Answer.text(status, "no")
    receipt = await SmsNotifier(at(server), client=http).send(duress_notice(channel="sms"))
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail.startswith(f"SMS gateway answered HTTP {status}")
    assert receipt.detail == f"SMS gateway answered HTTP {status}: no"
    assert receipt.retryable is retryable


async def test_a_hanging_gateway_is_a_failed_receipt(server: HttpServer, http: HttpClient) -> None:
    server.answer = Answer(hang=True)
    settings = replace(at(server), timeout_s=0.2)
    receipt = await SmsNotifier(settings, client=http).send(duress_notice(channel="sms"))
    assert receipt.detail == "SMS gateway did not answer within 0.2 s"


async def test_an_unreachable_gateway_is_a_failed_receipt(http: HttpClient) -> None:
    settings = replace(TWILIO, url=f"http://127.0.0.1:{closed_port()}/send")
    receipt = await SmsNotifier(settings, client=http).send(duress_notice(channel="sms"))
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail.startswith("SMS gateway unreachable: ClientConnectorError: ")


async def test_a_notifier_closes_the_pool_it_owns(server: HttpServer) -> None:
    notifier = SmsNotifier(at(server))
    assert (await notifier.send(duress_notice(channel="sms"))).status is DeliveryStatus.SENT
    await notifier.aclose()
    del notifier
    gc.collect()  # an unclosed pool would warn here (ResourceWarning: an error in this suite)


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
