import asyncio
import gc
import json
from dataclasses import replace

import pytest

from duress.channels.http_client import HttpClient
from duress.channels.webhook import (
    WebhookNotifier,
    WebhookSettings,
    pagerduty_payload,
    verify_signature,
)
from duress.domain.errors import ConfigError
from duress.domain.notification import DeliveryStatus, EventPhase, Receipt
from duress.testing import FakeClock
from tests.channels.http_server import Answer, HttpServer, closed_port
from tests.channels.support import duress_notice

NATIVE = WebhookSettings(name="vms", url="https://vms.example/hook", secret="s3cret")


def hook(server: HttpServer, **changes: object) -> WebhookSettings:
    return replace(NATIVE, url=server.url("/hook"), **changes)  # type: ignore[arg-type]


async def test_native_webhook_is_signed_and_idempotent(
    server: HttpServer, http: HttpClient
) -> None:
    server.answer = Answer(202)
    clock = FakeClock()
    notifier = WebhookNotifier(hook(server), client=http, clock=clock)
    receipt = await notifier.send(duress_notice(channel="webhook:vms"))
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.detail == "HTTP 202"
    request = server.seen[0]
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.body)
    assert body["type"] == "duress.alert.start"
    assert body["location"]["room"] == "12"
    assert body["staff"] == "Jane Doe (RN)"
    assert request.headers["idempotency-key"] == "alert-1:t1:s2"
    ts = request.headers["x-duress-timestamp"]
    assert ts == str(int(clock.now().timestamp()))
    assert verify_signature(
        "s3cret",
        ts,
        request.body,
        request.headers["x-duress-signature"],
        now=clock.now().timestamp(),
    )
    assert not verify_signature(
        "other",
        ts,
        request.body,
        request.headers["x-duress-signature"],
        now=clock.now().timestamp(),
    )
    assert not verify_signature(
        "s3cret",
        ts,
        request.body,
        request.headers["x-duress-signature"],
        now=clock.now().timestamp() + 301,
    )


async def test_extra_headers_are_sent(server: HttpServer, http: HttpClient) -> None:
    settings = hook(server, headers={"Authorization": "Token abc"})
    await WebhookNotifier(settings, client=http).send(duress_notice())
    assert server.seen[0].headers["authorization"] == "Token abc"


async def test_pagerduty_answer_gives_the_dedup_key(server: HttpServer, http: HttpClient) -> None:
    server.answer = Answer.json(202, {"status": "success", "dedup_key": "alert-1"})
    settings = hook(server, format="pagerduty", routing_key="R0UTING", secret="")
    receipt = await WebhookNotifier(settings, client=http).send(duress_notice())
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.provider_id == "alert-1"
    sent = json.loads(server.seen[0].body)
    assert (sent["routing_key"], sent["event_action"]) == ("R0UTING", "trigger")
    assert "x-duress-signature" not in server.seen[0].headers
    server.answer = Answer(202, b"not json")
    receipt = await WebhookNotifier(settings, client=http).send(duress_notice())
    assert (receipt.status, receipt.provider_id) == (DeliveryStatus.SENT, None)


def test_pagerduty_events_v2_trigger_and_resolve() -> None:
    trigger = pagerduty_payload(duress_notice(), "R0UTING")
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == "alert-1"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"].startswith("DURESS SECURITY")
    assert set(trigger["payload"]) >= {"summary", "source", "severity"}
    resolve = pagerduty_payload(duress_notice(phase=EventPhase.END), "R0UTING")
    assert resolve == {"routing_key": "R0UTING", "event_action": "resolve", "dedup_key": "alert-1"}


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (408, True), (429, True), (410, False)]
)
async def test_errors_are_failed_receipts(
    server: HttpServer, http: HttpClient, status: int, retryable: bool
) -> None:
    server.answer = Answer(status)
    receipt = await WebhookNotifier(hook(server), client=http).send(duress_notice())
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail == f"webhook answered HTTP {status}"
    assert receipt.retryable is retryable


async def test_a_redirect_is_not_followed(server: HttpServer, http: HttpClient) -> None:
    server.answer = Answer(307, headers={"Location": server.url("/elsewhere")})
    receipt = await WebhookNotifier(hook(server), client=http).send(duress_notice())
    assert receipt.detail == "webhook answered HTTP 307"
    assert [r.path for r in server.seen] == ["/hook"]


async def test_a_hanging_webhook_is_a_failed_receipt(server: HttpServer, http: HttpClient) -> None:
    server.answer = Answer(hang=True)
    settings = hook(server, timeout_s=0.2)
    receipt = await WebhookNotifier(settings, client=http).send(duress_notice())
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail == "webhook did not answer within 0.2 s"
    assert receipt.retryable


async def test_an_unreachable_webhook_is_a_failed_receipt(http: HttpClient) -> None:
    settings = replace(NATIVE, url=f"http://127.0.0.1:{closed_port()}/hook")
    receipt = await WebhookNotifier(settings, client=http).send(duress_notice())
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail.startswith("webhook unreachable: ClientConnectorError: ")
    assert receipt.retryable


async def test_a_notifier_closes_the_pool_it_owns(server: HttpServer) -> None:
    notifier = WebhookNotifier(hook(server))
    assert (await notifier.send(duress_notice())).status is DeliveryStatus.SENT
    await notifier.aclose()
    del notifier
    gc.collect()  # an unclosed pool would warn here (ResourceWarning: an error in this suite)


def test_settings_list() -> None:
    hooks = WebhookSettings.list_from(
        [
            {"name": "vms", "url": "https://vms.example/h", "secret": "x"},
            {
                "name": "pd",
                "url": "https://events.pagerduty.com/v2/enqueue",
                "format": "pagerduty",
                "routing_key": "abc",
            },
        ]
    )
    assert [h.name for h in hooks] == ["vms", "pd"]
    with pytest.raises(ConfigError) as err:
        WebhookSettings.list_from(
            [
                {"name": "pd", "url": "https://x.example", "format": "pagerduty"},
                {"name": "n", "url": "ftp://x"},
            ]
        )
    text = str(err.value)
    assert "channels.webhooks[0].routing_key: missing" in text
    assert "channels.webhooks[1].url: 'ftp://x' is not a http/https URL" in text
    assert "channels.webhooks[1].secret: missing" in text


async def _begun(notifier: WebhookNotifier) -> asyncio.Task[Receipt]:
    """The notifier's ``begin``, once its held connection is open (the first call opens it)."""
    for _ in range(200):
        task = notifier.begin(duress_notice(channel="webhook:vms"))
        if task is not None:
            return task
        await asyncio.sleep(0.005)
    raise AssertionError("the webhook never held a connection open")


async def test_begin_writes_the_same_signed_request_on_a_held_connection(
    server: HttpServer, http: HttpClient
) -> None:
    server.answer = Answer(202)
    clock = FakeClock()
    notifier = WebhookNotifier(hook(server), client=http, clock=clock)
    try:
        receipt = await (await _begun(notifier))
        assert (receipt.status, receipt.detail) == (DeliveryStatus.SENT, "HTTP 202")
        await notifier.send(duress_notice(channel="webhook:vms"))
        begun, sent = server.seen
        assert begun.body == sent.body
        for name in ("content-type", "idempotency-key", "x-duress-timestamp", "x-duress-signature"):
            assert begun.headers[name] == sent.headers[name]
        server.answer = Answer(503)
        receipt = await (await _begun(notifier))
        assert (receipt.status, receipt.retryable) == (DeliveryStatus.FAILED, True)
        assert receipt.detail == "webhook answered HTTP 503"
    finally:
        await notifier.aclose()


async def test_a_begun_request_whose_connection_broke_is_sent_again(
    server: HttpServer, http: HttpClient
) -> None:
    notifier = WebhookNotifier(hook(server), client=http)
    try:
        await (await _begun(notifier))
        lane = notifier._lane
        assert lane is not None
        for connection in list(lane._open):
            assert connection.transport is not None
            connection.transport.abort()  # as if the far end had closed it, unseen yet
            connection.closed = False
            lane._idle.append(connection)
        task = notifier.begin(duress_notice(channel="webhook:vms"))
        receipt = await task if task is not None else None
        assert receipt is not None
        assert receipt.status is DeliveryStatus.SENT
    finally:
        await notifier.aclose()


async def test_a_webhook_behind_a_proxy_never_begins(
    server: HttpServer, http: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    notifier = WebhookNotifier(hook(server), client=http)
    assert notifier.begin(duress_notice()) is None
    await notifier.aclose()
