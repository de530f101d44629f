import asyncio

import httpx
from fastapi import FastAPI

from duress.channels.hl7_acm import Hl7AcmNotifier, Hl7AcmSettings
from duress.channels.http_client import HttpClient
from duress.channels.wctp import WctpNotifier, WctpSettings, wctp_router
from duress.domain.notification import DeliveryStatus, Reply
from duress.service.clock import SystemClock
from duress.service.delivery import ChannelPolicy, Delivery, DeliveryPolicy, RetryPolicy
from duress.sim.peers import AlertManagerPeer, WctpGatewayPeer
from duress.testing import FakeClock
from tests.channels.support import Updates, duress_notice


async def until(predicate: object, seconds: float = 5.0) -> None:
    async def poll() -> None:
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), seconds)


async def test_delivery_and_acceptance_end_to_end_over_wctp() -> None:
    """Delivery layer -> real HTTP -> gateway peer -> StatusInfo/MessageReply -> our router -> updates."""
    updates = Updates()
    gateway_clock = FakeClock()
    app = FastAPI()
    inbound_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://duress.test"
    )
    async with WctpGatewayPeer(clock=gateway_clock, client=inbound_client, delay_s=5) as gateway:
        settings = WctpSettings(
            url=gateway.url, sender_id="duress", reply_url="http://duress.test/wctp"
        )
        async with HttpClient() as outbound:
            notifier = WctpNotifier(settings, clock=SystemClock(), client=outbound)
            delivery = Delivery([notifier], updates, SystemClock())
            app.include_router(wctp_router(delivery.inbound, lookup=notifier.lookup))
            outcome = await delivery.deliver([duress_notice()])
            assert outcome.status is DeliveryStatus.SENT
            assert gateway.received[0].choices == ("Accept", "Decline")
            for _ in range(3):
                await until(lambda: gateway_clock.sleepers == 1)
                await gateway_clock.advance(5)
            await asyncio.wait_for(gateway.reported.wait(), 5)
    await inbound_client.aclose()
    assert [u.status for u in updates] == [
        DeliveryStatus.QUEUED,
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
        DeliveryStatus.REPLIED,
    ]
    assert updates[-1].reply is Reply.ACCEPT
    assert updates[-1].alert == "alert-1"
    assert updates[-1].recipient == "s2"
    assert gateway.posted == [("DELIVERED", 200), ("READ", 200), ("reply:Accept", 200)]


async def test_gateway_misbehaviour_is_reported_as_failure() -> None:
    for mode, detail in [
        ("http500", "gateway answered HTTP 500"),
        ("garbage", "malformed confirmation"),
        ("refuse", "gateway refused: WCTP 403"),
    ]:
        async with WctpGatewayPeer(mode=mode) as gateway, HttpClient() as client:
            notifier = WctpNotifier(WctpSettings(url=gateway.url, sender_id="d"), client=client)
            receipt = await notifier.send(duress_notice())
        assert receipt.status is DeliveryStatus.FAILED
        assert receipt.detail.startswith(detail)


async def test_a_hung_gateway_fails_over_to_the_alert_manager() -> None:
    updates = Updates()
    policy = DeliveryPolicy(
        retry=RetryPolicy(attempts=1), default=ChannelPolicy(timeout_s=0.3, failover_after_s=0.3)
    )
    async with (
        WctpGatewayPeer(mode="hang") as gateway,
        AlertManagerPeer(dispatch=()) as manager,
        HttpClient() as client,
    ):
        pager = WctpNotifier(
            WctpSettings(url=gateway.url, sender_id="d", timeout_s=5), client=client
        )
        acm = Hl7AcmNotifier(Hl7AcmSettings(host="127.0.0.1", port=manager.port))
        delivery = Delivery([pager, acm], updates, SystemClock(), policy=policy)
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome = await delivery.deliver(
            [duress_notice(), duress_notice(channel="hl7_acm", address="alert-manager")]
        )
        elapsed = loop.time() - started
        await acm.aclose()
    assert outcome.notice is not None
    assert outcome.notice.channel == "hl7_acm"
    assert elapsed < 2.0
    assert manager.received[0].message_type == "ORU^R40"
    assert any("no answer within 0.3 s" in u.detail for u in updates)
