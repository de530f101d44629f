import asyncio
from collections.abc import Callable

from duress.channels.hl7_acm import Hl7AcmNotifier, Hl7AcmSettings
from duress.domain.notification import DeliveryStatus, Reply
from duress.service.delivery import Delivery
from duress.sim.peers import AlertManagerPeer
from duress.testing import FakeClock
from tests.channels.support import Updates, duress_notice


async def until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait (a bounded time) for something another task does; fails the test instead of hanging."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), seconds)


async def test_dispatch_reports_follow_the_injected_clock() -> None:
    clock = FakeClock()
    updates = Updates()
    async with AlertManagerPeer(clock=clock, delay_s=10) as manager:
        notifier = Hl7AcmNotifier(
            Hl7AcmSettings(host="127.0.0.1", port=manager.port, ack_timeout_s=5)
        )
        delivery = Delivery([notifier], updates, FakeClock())
        notifier.on_update = delivery.inbound
        outcome = await delivery.deliver([duress_notice(channel="hl7_acm", address="am")])
        assert outcome.ok
        for expected in (DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.REPLIED):
            await until(lambda: clock.sleepers > 0)
            await clock.advance(10)
            await until(lambda expected=expected: updates[-1].status is expected)
        await notifier.aclose()
    assert updates[-1].reply is Reply.ACCEPT
    assert updates[-1].recipient == "s2"
    assert updates[-1].address == "am"


async def test_the_peer_can_refuse() -> None:
    async with AlertManagerPeer(ack="AR", error_text="not configured") as manager:
        notifier = Hl7AcmNotifier(Hl7AcmSettings(host="127.0.0.1", port=manager.port))
        receipt = await notifier.send(duress_notice())
        await notifier.aclose()
    assert receipt.detail == "alert manager answered AR: not configured"
