import asyncio
import random
from collections.abc import Callable

import pytest

from duress.domain.notification import DeliveryStatus, DeliveryUpdate, Notice, Receipt
from duress.service.delivery import (
    BreakerPolicy,
    BreakerState,
    ChannelPolicy,
    CircuitBreaker,
    Delivery,
    DeliveryPolicy,
    RetryPolicy,
)
from duress.testing import FakeClock, RecordingNotifier


def notice(channel: str, address: str = "addr", key: str = "k1", alert: str = "a1") -> Notice:
    return Notice(
        key=key,
        alert=alert,
        recipient="s1",
        channel=channel,
        address=address,
        subject="Duress",
        body="Floor 4",
    )


class HangingNotifier:
    """Never answers, and ignores cancellation once (a truly stuck driver)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.calls = 0

    async def send(self, notice: Notice) -> Receipt:
        self.calls += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class ScriptedNotifier:
    """Answers from a script: a Receipt status, an exception, in order; the last answer repeats."""

    def __init__(self, channel: str, *answers: DeliveryStatus | Exception, retryable: bool = True):
        self.channel = channel
        self.answers = list(answers)
        self.retryable = retryable
        self.calls: list[Notice] = []

    async def send(self, notice: Notice) -> Receipt:
        self.calls.append(notice)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return Receipt(
            notice.key,
            answer,
            detail=f"{self.channel} said {answer}",
            provider_id="p-1",
            retryable=self.retryable,
        )


class Updates(list[DeliveryUpdate]):
    async def __call__(self, update: DeliveryUpdate) -> None:
        self.append(update)

    def statuses(self, channel: str | None = None) -> list[str]:
        return [u.status.value for u in self if channel is None or u.channel == channel]


async def until(predicate: Callable[[], bool]) -> None:
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


def make(
    *notifiers: object, policy: DeliveryPolicy | None = None
) -> tuple[Delivery, FakeClock, Updates]:
    clock = FakeClock()
    updates = Updates()
    delivery = Delivery(notifiers, updates, clock, policy=policy, rng=random.Random(7))  # type: ignore[arg-type]
    return delivery, clock, updates


async def test_a_working_channel_reports_queued_then_sent() -> None:
    pager = RecordingNotifier("wctp")
    delivery, _, updates = make(pager)
    outcome = await delivery.deliver([notice("wctp")])
    assert outcome.ok
    assert outcome.notice is not None
    assert outcome.notice.channel == "wctp"
    assert updates.statuses() == ["queued", "sent"]
    assert updates[0].alert == "a1"
    assert updates[0].recipient == "s1"


async def test_transient_failures_are_retried_with_backoff_on_the_clock() -> None:
    flaky = ScriptedNotifier("sms", ConnectionError("refused"), DeliveryStatus.SENT)
    policy = DeliveryPolicy(
        retry=RetryPolicy(attempts=3, base_s=0.5, jitter=0.0),
        default=ChannelPolicy(failover_after_s=10),
    )
    delivery, clock, updates = make(flaky, policy=policy)
    task = delivery.dispatch([notice("sms")])
    await until(lambda: len(updates) == 2 and clock.sleepers == 1)
    assert updates.statuses() == ["queued", "failed"]
    assert "ConnectionError: refused" in updates[-1].detail
    assert "retrying in 0.50 s" in updates[-1].detail
    await clock.advance(0.49)
    assert len(flaky.calls) == 1
    await clock.advance(0.01)
    outcome = await task
    assert outcome.ok
    assert len(flaky.calls) == 2
    assert updates[-1].attempt == 2


def test_backoff_grows_exponentially_within_jitter_and_cap() -> None:
    policy = RetryPolicy(base_s=0.1, factor=2, max_s=1.0, jitter=0.25)
    rng = random.Random(1)
    for retry, nominal in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]:
        d = policy.delay(retry, rng)
        assert nominal * 0.75 <= d <= nominal * 1.25
    assert RetryPolicy(jitter=0).delay(1, rng) == pytest.approx(0.1)


async def test_a_dead_endpoint_fails_over_to_the_next_method_within_two_seconds() -> None:
    pager = HangingNotifier("wctp")
    sms = RecordingNotifier("sms")
    delivery, clock, updates = make(pager, sms)
    task = delivery.dispatch([notice("wctp", "4711"), notice("sms", "+15550100")])
    await until(lambda: clock.sleepers > 0)
    await clock.advance(1.99)
    assert sms.sent == []
    await clock.advance(0.01)
    outcome = await task
    assert outcome.ok
    assert outcome.notice is not None
    assert outcome.notice.channel == "sms"
    assert clock.monotonic() == pytest.approx(2.0)
    failed = [u for u in updates if u.status is DeliveryStatus.FAILED]
    assert "no answer within 2.0 s" in failed[0].detail
    assert "trying sms:+15550100" in failed[0].detail
    assert outcome.tried == ("wctp:4711", "sms:+15550100")


async def test_failover_time_is_configurable() -> None:
    policy = DeliveryPolicy(default=ChannelPolicy(timeout_s=5, failover_after_s=0.5))
    sms = RecordingNotifier("sms")
    delivery, clock, _ = make(HangingNotifier("wctp"), sms, policy=policy)
    task = delivery.dispatch([notice("wctp"), notice("sms")])
    await until(lambda: clock.sleepers > 0)
    await clock.advance(0.5)
    assert (await task).notice == notice("sms")


async def test_one_hanging_channel_never_blocks_other_channels_or_alerts() -> None:
    stuck = HangingNotifier("wctp")
    email = RecordingNotifier("email")
    webhook = RecordingNotifier("webhook")
    delivery, clock, updates = make(stuck, email, webhook)
    hung = delivery.dispatch([notice("wctp", key="k-stuck", alert="a1")])
    others = [
        delivery.dispatch([notice("email", key=f"k{i}", alert=f"a{i}")]) for i in range(2, 6)
    ] + [delivery.dispatch([notice("webhook", key="k9", alert="a9")])]
    done, _ = await asyncio.wait(
        others, timeout=1.0
    )  # real time: all finish without the clock moving
    assert len(done) == len(others)
    assert all(t.result().ok for t in done)
    assert clock.monotonic() == 0.0
    assert not hung.done()
    assert len(email.sent) == 4
    assert len(webhook.sent) == 1
    await clock.advance(2.0)
    outcome = await hung
    assert not outcome.ok
    assert "no answer within 2.0 s" in outcome.detail
    assert updates.statuses("wctp") == ["queued", "failed"]


async def test_a_notifier_that_raises_is_reported_never_crashes() -> None:
    broken = ScriptedNotifier("cap", RuntimeError("boom"))
    delivery, _clock, updates = make(broken, policy=DeliveryPolicy(retry=RetryPolicy(attempts=1)))
    outcome = await delivery.deliver([notice("cap")])
    assert not outcome.ok
    assert outcome.detail == "RuntimeError: boom"
    assert updates[-1].status is DeliveryStatus.FAILED


async def test_a_permanent_failure_moves_on_at_once_without_retrying() -> None:
    bad = ScriptedNotifier("wctp", DeliveryStatus.FAILED, retryable=False)
    sms = RecordingNotifier("sms")
    delivery, clock, _ = make(bad, sms)
    outcome = await delivery.deliver([notice("wctp"), notice("sms")])
    assert outcome.notice is not None
    assert outcome.notice.channel == "sms"
    assert len(bad.calls) == 1
    assert clock.monotonic() == 0.0
    assert delivery.breaker("wctp").state is BreakerState.CLOSED


async def test_unknown_channel_is_a_failed_update_and_the_next_method_is_tried() -> None:
    sms = RecordingNotifier("sms")
    delivery, _, updates = make(sms)
    outcome = await delivery.deliver([notice("fax"), notice("sms")])
    assert outcome.ok
    assert updates[0].status is DeliveryStatus.FAILED
    assert "no channel 'fax'" in updates[0].detail


async def test_all_methods_failing_ends_failed_with_the_last_reason() -> None:
    policy = DeliveryPolicy(retry=RetryPolicy(attempts=1))
    delivery, _, _ = make(
        ScriptedNotifier("a", DeliveryStatus.FAILED),
        ScriptedNotifier("b", ConnectionError("down")),
        policy=policy,
    )
    outcome = await delivery.deliver([notice("a"), notice("b")])
    assert outcome.status is DeliveryStatus.FAILED
    assert outcome.notice is None
    assert outcome.detail == "ConnectionError: down"


async def test_the_breaker_opens_after_consecutive_failures_and_half_opens_after_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(BreakerPolicy(failures=2, cooldown_s=10), clock)
    assert breaker.allow()
    breaker.failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    await clock.advance(10)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()
    breaker.failure()
    assert breaker.state is BreakerState.OPEN
    await clock.advance(10)
    assert breaker.allow()
    breaker.success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()


async def test_an_open_circuit_fails_fast_and_fails_over_without_waiting() -> None:
    policy = DeliveryPolicy(retry=RetryPolicy(attempts=1), breaker=BreakerPolicy(failures=2))
    down = ScriptedNotifier("wctp", ConnectionError("refused"))
    sms = RecordingNotifier("sms")
    delivery, _clock, updates = make(down, sms, policy=policy)
    for i in range(2):
        await delivery.deliver([notice("wctp", key=f"k{i}")])
    assert delivery.breaker("wctp").state is BreakerState.OPEN
    outcome = await delivery.deliver([notice("wctp", key="k3"), notice("sms", key="k3")])
    assert outcome.notice is not None
    assert outcome.notice.channel == "sms"
    assert len(down.calls) == 2
    assert any("circuit open for wctp" in u.detail for u in updates)


async def test_the_same_key_is_never_sent_twice_to_the_same_endpoint() -> None:
    pager = RecordingNotifier("wctp")
    delivery, _, _ = make(pager)
    first = await delivery.deliver([notice("wctp", "4711")])
    again = await delivery.deliver([notice("wctp", "4711")])
    other_endpoint = await delivery.deliver([notice("wctp", "4712")])
    assert first.ok
    assert again.ok
    assert other_endpoint.ok
    assert [n.address for n in pager.sent] == ["4711", "4712"]


async def test_concurrent_deliveries_of_one_key_send_once() -> None:
    slow = HangingNotifier("wctp")
    delivery, _clock, _ = make(slow)
    delivery.dispatch([notice("wctp")])
    await until(lambda: slow.calls == 1)
    duplicate = await delivery.deliver([notice("wctp")])
    assert duplicate.ok
    assert slow.calls == 1
    await delivery.aclose()


async def test_inbound_reports_are_matched_and_enriched() -> None:
    pager = ScriptedNotifier("sms", DeliveryStatus.SENT)
    delivery, clock, updates = make(pager)
    await delivery.deliver([notice("sms", "+1555")])
    await delivery.inbound(DeliveryUpdate(DeliveryStatus.DELIVERED, clock.now(), provider_id="p-1"))
    await delivery.inbound(
        DeliveryUpdate(DeliveryStatus.READ, clock.now(), key="k1", channel="sms")
    )
    await delivery.inbound(
        DeliveryUpdate(DeliveryStatus.READ, clock.now(), key="nobody", channel="sms")
    )
    assert [(u.status.value, u.alert, u.address) for u in updates[-3:]] == [
        ("delivered", "a1", "+1555"),
        ("read", "a1", "+1555"),
        ("read", None, ""),
    ]


async def test_an_unconfirmed_method_also_tries_the_next_one() -> None:
    policy = DeliveryPolicy(channels={"wctp": ChannelPolicy(confirm_within_s=30)})
    pager = RecordingNotifier("wctp")
    sms = RecordingNotifier("sms")
    delivery, clock, updates = make(pager, sms, policy=policy)
    task = delivery.dispatch([notice("wctp"), notice("sms")])
    await until(lambda: updates.statuses() == ["queued", "sent"] and clock.sleepers == 1)
    await clock.advance(30)
    outcome = await task
    assert outcome.notice is not None
    assert outcome.notice.channel == "sms"
    assert any("not confirmed within 30 s" in u.detail for u in updates)


async def test_a_confirmation_stops_failover() -> None:
    policy = DeliveryPolicy(channels={"wctp": ChannelPolicy(confirm_within_s=30)})
    pager = RecordingNotifier("wctp")
    sms = RecordingNotifier("sms")
    delivery, clock, updates = make(pager, sms, policy=policy)
    task = delivery.dispatch([notice("wctp"), notice("sms")])
    await until(lambda: updates.statuses() == ["queued", "sent"] and clock.sleepers == 1)
    await clock.advance(5)
    await delivery.inbound(
        DeliveryUpdate(DeliveryStatus.DELIVERED, clock.now(), key="k1", channel="wctp")
    )
    outcome = await task
    assert outcome.status is DeliveryStatus.DELIVERED
    assert sms.sent == []


async def test_a_failing_update_callback_does_not_stop_delivery() -> None:
    async def explode(update: DeliveryUpdate) -> None:
        raise ValueError("store down")

    pager = RecordingNotifier("wctp")
    delivery = Delivery([pager], explode, FakeClock())
    assert (await delivery.deliver([notice("wctp")])).ok


async def test_what_is_remembered_is_bounded_in_time_and_count() -> None:
    pager = ScriptedNotifier("sms", DeliveryStatus.SENT)
    policy = DeliveryPolicy(retention_s=3600, max_tracked=3)
    delivery, clock, updates = make(pager, policy=policy)
    for n in range(5):
        await delivery.deliver([notice("sms", key=f"k{n}")])
    assert delivery.tracked == 3  # the two oldest were forgotten
    await clock.advance(3601)
    await delivery.inbound(
        DeliveryUpdate(DeliveryStatus.READ, clock.now(), key="k4", channel="sms")
    )
    assert delivery.tracked == 0
    assert updates[-1].alert is None  # too old to match: passed on as the far end said it
    again = await delivery.deliver([notice("sms", key="k4")])
    assert again.ok
    assert len(pager.calls) == 6  # forgotten, so sent again (far ends still have the key)


async def test_confirmation_waiters_are_dropped_when_the_delivery_ends() -> None:
    policy = DeliveryPolicy(channels={"wctp": ChannelPolicy(confirm_within_s=30)})
    pager = RecordingNotifier("wctp")
    delivery, clock, updates = make(pager, policy=policy)
    task = delivery.dispatch([notice("wctp")])
    await until(lambda: updates.statuses() == ["queued", "sent"] and clock.sleepers == 1)
    await delivery.inbound(
        DeliveryUpdate(DeliveryStatus.DELIVERED, clock.now(), key="k1", channel="wctp")
    )
    assert (await task).status is DeliveryStatus.DELIVERED
    assert delivery._waiters == {}
    plain = RecordingNotifier("sms")
    other, _, _ = make(plain)
    await other.deliver([notice("sms")])
    assert other._waiters == {}  # no confirm_within_s: no waiter at all


class ClosingNotifier(ScriptedNotifier):
    """Holds a connection that ``aclose`` releases (or fails to)."""

    def __init__(self, channel: str, *, fails: bool = False) -> None:
        super().__init__(channel, DeliveryStatus.SENT)
        self.fails = fails
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1
        if self.fails:
            raise OSError("the link was already gone")


async def test_closing_delivery_closes_every_channel_even_when_one_fails() -> None:
    broken, webhook = ClosingNotifier("sms", fails=True), ClosingNotifier("webhook:ops")
    plain = ScriptedNotifier("wctp", DeliveryStatus.SENT)  # nothing to close
    delivery, _clock, _ = make(broken, webhook, plain)
    assert (await delivery.deliver([notice("webhook:ops")])).ok
    await delivery.aclose()
    await delivery.aclose()
    assert (broken.closed, webhook.closed) == (2, 2)


class EagerNotifier(ScriptedNotifier):
    """A channel that starts an attempt at once when it can (``begin``), like the webhook's held
    connection; ``ready`` says whether it can, ``begun`` records what it started."""

    def __init__(self, channel: str, *answers: DeliveryStatus | Exception, ready: bool = True):
        super().__init__(channel, *answers)
        self.ready = ready
        self.begun: list[Notice] = []
        self.answer: asyncio.Future[Receipt] | None = None

    def begin(self, notice: Notice) -> asyncio.Future[Receipt] | None:
        if not self.ready:
            return None
        self.begun.append(notice)
        self.answer = asyncio.get_running_loop().create_future()
        return self.answer


async def test_a_channel_that_can_begin_at_once_is_handed_the_notice_during_dispatch() -> None:
    hook = EagerNotifier("webhook:vms", DeliveryStatus.SENT)
    delivery, _, updates = make(hook)
    task = delivery.dispatch([notice("webhook:vms")])
    assert [n.key for n in hook.begun] == ["k1"]  # before the delivery's task has run at all
    assert hook.answer is not None
    hook.answer.set_result(Receipt("k1", DeliveryStatus.SENT, detail="HTTP 200"))
    outcome = await task
    assert outcome.ok
    assert hook.calls == []  # the first attempt was the begun one
    assert updates.statuses() == ["queued", "sent"]
    assert updates[-1].detail == "HTTP 200"


async def test_a_begun_attempt_that_fails_is_retried_through_send() -> None:
    hook = EagerNotifier("webhook:vms", DeliveryStatus.SENT)
    policy = DeliveryPolicy(retry=RetryPolicy(attempts=2, base_s=0.1, jitter=0.0))
    delivery, clock, updates = make(hook, policy=policy)
    task = delivery.dispatch([notice("webhook:vms")])
    assert hook.answer is not None
    hook.answer.set_result(Receipt("k1", DeliveryStatus.FAILED, detail="HTTP 503"))
    await until(lambda: updates.statuses() == ["queued", "failed"] and clock.sleepers == 1)
    await clock.advance(0.1)
    outcome = await task
    assert outcome.ok
    assert len(hook.begun) == len(hook.calls) == 1
    assert updates.statuses() == ["queued", "failed", "sent"]


async def test_a_channel_not_ready_to_begin_is_sent_to_as_before() -> None:
    hook = EagerNotifier("webhook:vms", DeliveryStatus.SENT, ready=False)
    delivery, _, updates = make(hook)
    outcome = await delivery.dispatch([notice("webhook:vms")])
    assert outcome.ok
    assert len(hook.calls) == 1
    assert updates.statuses() == ["queued", "sent"]


async def test_nothing_is_begun_for_an_open_circuit_or_a_key_already_sent() -> None:
    hook = EagerNotifier("webhook:vms", DeliveryStatus.SENT, ready=False)
    delivery, _, _ = make(hook, policy=DeliveryPolicy(breaker=BreakerPolicy(failures=1)))
    await delivery.dispatch([notice("webhook:vms")])
    hook.ready = True
    await delivery.dispatch([notice("webhook:vms")])  # the same key to the same endpoint
    assert hook.begun == []
    delivery.breaker("webhook:vms").failure()
    await delivery.dispatch([notice("webhook:vms", key="k2")])
    assert hook.begun == []


async def test_a_cancelled_delivery_stops_waiting_for_its_begun_attempt() -> None:
    hook = EagerNotifier("webhook:vms", DeliveryStatus.SENT)
    delivery, _, _ = make(hook)
    delivery.dispatch([notice("webhook:vms")])
    await delivery.aclose()
    assert hook.answer is not None
    assert hook.answer.cancelled()


async def test_a_begin_that_raises_falls_back_to_send() -> None:
    class Broken(EagerNotifier):
        def begin(self, notice: Notice) -> asyncio.Future[Receipt] | None:
            raise RuntimeError("bug")

    hook = Broken("webhook:vms", DeliveryStatus.SENT)
    delivery, _, updates = make(hook)
    outcome = await delivery.dispatch([notice("webhook:vms")])
    assert outcome.ok
    assert len(hook.calls) == 1
    assert updates.statuses() == ["queued", "sent"]
