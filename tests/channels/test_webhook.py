import json

import httpx
import pytest

from duress.channels.webhook import (
    WebhookNotifier,
    WebhookSettings,
    pagerduty_payload,
    verify_signature,
)
from duress.domain.errors import ConfigError
from duress.domain.notification import DeliveryStatus, EventPhase
from duress.testing import FakeClock
from tests.channels.support import duress_notice

NATIVE = WebhookSettings(name="vms", url="https://vms.example/hook", secret="s3cret")


def recorder(seen: list[httpx.Request], response: httpx.Response) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_native_webhook_is_signed_and_idempotent() -> None:
    seen: list[httpx.Request] = []
    clock = FakeClock()
    notifier = WebhookNotifier(NATIVE, client=recorder(seen, httpx.Response(202)), clock=clock)
    receipt = await notifier.send(duress_notice(channel="webhook:vms"))
    assert receipt.status is DeliveryStatus.SENT
    request = seen[0]
    body = json.loads(request.content)
    assert body["type"] == "duress.alert.start"
    assert body["location"]["room"] == "12"
    assert body["staff"] == "Jane Doe (RN)"
    assert request.headers["idempotency-key"] == "alert-1:t1:s2"
    ts = request.headers["x-duress-timestamp"]
    assert ts == str(int(clock.now().timestamp()))
    assert verify_signature(
        "s3cret",
        ts,
        request.content,
        request.headers["x-duress-signature"],
        now=clock.now().timestamp(),
    )
    assert not verify_signature(
        "other",
        ts,
        request.content,
        request.headers["x-duress-signature"],
        now=clock.now().timestamp(),
    )
    assert not verify_signature(
        "s3cret",
        ts,
        request.content,
        request.headers["x-duress-signature"],
        now=clock.now().timestamp() + 301,
    )


def test_pagerduty_events_v2_trigger_and_resolve() -> None:
    trigger = pagerduty_payload(duress_notice(), "R0UTING")
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == "alert-1"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"].startswith("DURESS SECURITY")
    assert set(trigger["payload"]) >= {"summary", "source", "severity"}
    resolve = pagerduty_payload(duress_notice(phase=EventPhase.END), "R0UTING")
    assert resolve == {"routing_key": "R0UTING", "event_action": "resolve", "dedup_key": "alert-1"}


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (410, False)])
async def test_errors_are_failed_receipts(status: int, retryable: bool) -> None:
    receipt = await WebhookNotifier(NATIVE, client=recorder([], httpx.Response(status))).send(
        duress_notice()
    )
    assert receipt.detail == f"webhook answered HTTP {status}"
    assert receipt.retryable is retryable


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
