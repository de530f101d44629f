"""The delivery layer: turns "tell this person" into attempts on channels, and every attempt into updates.

One place owns retries, timeouts, circuit breakers, failover and idempotency, so channels stay simple
(``send(notice) -> Receipt``). For one target the caller hands an ordered list of notices, one per
contact method (pager first, then SMS, then email, ...):

- Each method gets attempts with exponential backoff and jitter (``RetryPolicy``), each attempt bounded
  by the channel's timeout (``ChannelPolicy.timeout_s``).
- A method that has not succeeded ``failover_after_s`` seconds (default 2 s) after its first attempt,
  or fails for good, or whose endpoint's circuit is open, is abandoned and the next method is tried.
- With ``confirm_within_s`` set for a channel, a method that was sent but not confirmed (delivered,
  read or replied) in that time is kept and the next method is tried as well.
- A circuit breaker per endpoint opens after ``BreakerPolicy.failures`` consecutive failures and lets one
  probe through (half-open) after ``cooldown_s``; while open, attempts fail at once.
- The same notice key is never sent twice to the same endpoint (channel + address) once it succeeded,
  nor concurrently.
- A channel that can start an attempt synchronously (``begin(notice)``, see :class:`EagerNotifier`:
  the webhook's held-open connections) gets the first contact method's first attempt during
  :meth:`Delivery.dispatch` itself, so the notice leaves in the caller's turn of the event loop
  (decision 14); retries go through ``send``.
- Every attempt is reported through the ``on_update`` callback: ``queued``, then ``sent`` (or better)
  or ``failed`` with the reason. Far-end reports enter through :meth:`Delivery.inbound`, which matches
  them to what was sent and forwards them to the same callback.

Every delivery runs as its own task and every call into a channel is bounded by a timer on the injected
clock, so one stalled endpoint never blocks other channels or other alerts; a channel that hangs and
ignores cancellation is abandoned, never awaited.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

import structlog

from duress.domain.notification import (
    DeliveryStatus,
    DeliveryUpdate,
    Notice,
    Notifier,
    Receipt,
    UpdateCallback,
)
from duress.service.clock import Clock

log = structlog.get_logger(__name__)

_CONFIRMED = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.REPLIED})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` per contact method; the n-th retry waits ``base_s * factor**(n-1)`` (at most
    ``max_s``), spread by ``±jitter`` (a fraction) so many senders do not retry in step."""

    attempts: int = 3
    base_s: float = 0.1
    factor: float = 2.0
    max_s: float = 2.0
    jitter: float = 0.25

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
        raw = min(self.max_s, self.base_s * self.factor ** max(0, retry - 1))
        return max(0.0, raw * (1.0 + self.jitter * (2.0 * rng.random() - 1.0)))


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failures: int = 3
    """Consecutive failures that open an endpoint's circuit."""
    cooldown_s: float = 30.0
    """How long the circuit stays open before one probe is let through."""


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    timeout_s: float = 2.0
    """One attempt's limit."""
    failover_after_s: float = 2.0
    """Try the next contact method when this one has not succeeded this long after its first attempt."""
    confirm_within_s: float | None = None
    """When set, also try the next method if this one is not delivered/read/replied in this time."""


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    default: ChannelPolicy = field(default_factory=ChannelPolicy)
    channels: Mapping[str, ChannelPolicy] = field(default_factory=dict)
    retention_s: float = 6 * 3600.0
    """How long a sent notice is remembered (idempotency, matching far-end reports)."""
    max_tracked: int = 100_000
    """At most this many notices are remembered; the oldest are forgotten first."""

    def for_channel(self, channel: str) -> ChannelPolicy:
        return self.channels.get(channel, self.default)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures of one endpoint; open after ``failures``, one probe after cool-down."""

    def __init__(self, policy: BreakerPolicy, clock: Clock) -> None:
        self._policy = policy
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock.monotonic() - self._opened_at >= self._policy.cooldown_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def retry_in_s(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self._policy.cooldown_s - self._clock.monotonic())

    def allow(self) -> bool:
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self._policy.failures:
            self._opened_at = self._clock.monotonic()
        self._probing = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a delivery ended: ``notice`` is the contact method that succeeded (``None`` if none did)."""

    status: DeliveryStatus
    notice: Notice | None = None
    tried: tuple[str, ...] = ()
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not DeliveryStatus.FAILED


@dataclass(slots=True)
class _MethodResult:
    ok: bool
    receipt: Receipt | None = None
    detail: str = ""
    waiter: asyncio.Future[DeliveryUpdate] | None = None
    """Set when the channel has ``confirm_within_s``: resolved by a confirming far-end report."""


@dataclass(slots=True)
class _Begun:
    """A notice's first attempt, started as it was dispatched (a channel with ``begin``)."""

    deadline: float
    track: _Track
    receipt: asyncio.Future[Receipt] | None
    """The attempt under way; None when the channel could not start it at once."""

    def abandon(self, _task: object = None) -> None:
        """The delivery ended before it ran (cancelled): stop waiting for the answer."""
        if self.receipt is not None and not self.receipt.done():
            self.receipt.cancel()
            self.receipt.add_done_callback(_swallow)


class EagerNotifier(Notifier, Protocol):
    """A channel that can start an attempt synchronously: ``begin`` hands the notice to the far end
    now (a request written on a connection held open) and returns the future of its receipt, or
    None when it cannot at the moment (then ``send`` is used)."""

    def begin(self, notice: Notice) -> asyncio.Future[Receipt] | None: ...


@dataclass(slots=True)
class _Track:
    """What is remembered about one (key, channel), so that it can be forgotten in one go."""

    at: float
    addresses: set[str] = field(default_factory=set)
    providers: set[str] = field(default_factory=set)


def _endpoint_name(notifier: Notifier) -> str:
    endpoint = getattr(notifier, "endpoint", None)
    return str(endpoint) if endpoint else notifier.channel


def _swallow(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


class Delivery:
    """Delivers notices through ``notifiers`` (one per channel name) and reports to ``on_update``."""

    def __init__(
        self,
        notifiers: Iterable[Notifier],
        on_update: UpdateCallback,
        clock: Clock,
        *,
        policy: DeliveryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._notifiers: dict[str, Notifier] = {n.channel: n for n in notifiers}
        self._on_update = on_update
        self._clock = clock
        self.policy = policy or DeliveryPolicy()
        self._rng = rng or random.Random()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._done: set[tuple[str, str, str]] = set()
        self._inflight: set[tuple[str, str, str]] = set()
        self._by_key: dict[tuple[str, str], Notice] = {}
        self._by_provider: dict[str, Notice] = {}
        self._tracks: OrderedDict[tuple[str, str], _Track] = OrderedDict()
        self._waiters: dict[tuple[str, str], asyncio.Future[DeliveryUpdate]] = {}
        self._tasks: set[asyncio.Task[Outcome]] = set()
        self._reports: asyncio.Queue[DeliveryUpdate] = asyncio.Queue()
        self._reporter: asyncio.Task[None] | None = None

    # -- public API ------------------------------------------------------------------------------

    @property
    def notifiers(self) -> list[Notifier]:
        """The channels this layer delivers through."""
        return list(self._notifiers.values())

    def dispatch(self, methods: Sequence[Notice]) -> asyncio.Task[Outcome]:
        """Start delivering to one target in the background; returns the task (awaiting is optional).

        The first contact method's first attempt starts now when its channel can start one at once
        (``begin``): the notice leaves in this turn of the event loop, before the caller goes on
        (decision 14); the rest of the delivery runs in the task."""
        begun = self._begin(methods[0]) if methods else None
        task = asyncio.get_running_loop().create_task(
            self._run(methods, begun), name=f"delivery:{methods[0].key if methods else '-'}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if begun is not None:
            task.add_done_callback(begun.abandon)
        return task

    async def deliver(self, methods: Sequence[Notice]) -> Outcome:
        """Try ``methods`` (one target's contact methods, in order) until one succeeds; returns
        once its reports have reached the callback too."""
        return await self._run(methods, None)

    async def _run(self, methods: Sequence[Notice], begun: _Begun | None) -> Outcome:
        mine: list[tuple[tuple[str, str], asyncio.Future[DeliveryUpdate]]] = []
        try:
            return await self._deliver(methods, mine, begun)
        finally:
            # A confirmation waiter only matters while this delivery waits for it.
            for ident, waiter in mine:
                if self._waiters.get(ident) is waiter:
                    del self._waiters[ident]
                if not waiter.done():
                    waiter.cancel()
            await self.drain()

    async def _deliver(
        self,
        methods: Sequence[Notice],
        mine: list[tuple[tuple[str, str], asyncio.Future[DeliveryUpdate]]],
        begun: _Begun | None = None,
    ) -> Outcome:
        tried: list[str] = []
        pending_confirm: list[asyncio.Future[DeliveryUpdate]] = []
        last_detail = "no contact method"
        best: Outcome | None = None
        for index, notice in enumerate(methods):
            tried.append(f"{notice.channel}:{notice.address}")
            following = methods[index + 1] if index + 1 < len(methods) else None
            result = await self._try_method(notice, following, begun if index == 0 else None)
            if not result.ok:
                last_detail = result.detail
                continue
            status = result.receipt.status if result.receipt else DeliveryStatus.SENT
            best = best or Outcome(status, notice, (), result.detail)
            wait_s = self.policy.for_channel(notice.channel).confirm_within_s
            waiter = result.waiter
            if wait_s is None or status in _CONFIRMED or waiter is None:
                return Outcome(status, notice, tuple(tried), result.detail)
            mine.append(((notice.key, notice.channel), waiter))
            pending_confirm.append(waiter)
            update = await self._wait_any(pending_confirm, wait_s)
            if update is not None:
                return Outcome(update.status, notice, tuple(tried), "confirmed")
            if following is not None:
                self._report(
                    notice,
                    DeliveryStatus.FAILED,
                    detail=f"not confirmed within {wait_s:g} s; also trying "
                    f"{following.channel}:{following.address}",
                )
        if best is not None:
            return Outcome(best.status, best.notice, tuple(tried), "sent, not confirmed")
        return Outcome(DeliveryStatus.FAILED, None, tuple(tried), last_detail)

    async def inbound(self, update: DeliveryUpdate) -> None:
        """A far end's report (status, reply): matched to what was sent, then handed to ``on_update``.

        Give this (not the runtime's callback) to channel routers and listeners.
        """
        self._prune()
        notice = None
        if update.key is not None and update.channel:
            notice = self._by_key.get((update.key, update.channel))
        if notice is None and update.provider_id is not None:
            notice = self._by_provider.get(update.provider_id)
        if notice is not None:
            update = replace(
                update,
                key=update.key or notice.key,
                alert=update.alert or notice.alert,
                # Our person, not the far end's name for the device (a pager number).
                recipient=notice.recipient,
                channel=update.channel or notice.channel,
                address=update.address or notice.address,
            )
            if update.status in _CONFIRMED:
                waiter = self._waiters.get((notice.key, notice.channel))
                if waiter is not None and not waiter.done():
                    waiter.set_result(update)
        self._emit(update)
        await self.drain()  # the far end's report is recorded before its request is answered

    def breaker(self, endpoint: str) -> CircuitBreaker:
        """The circuit breaker of one endpoint (a notifier's ``endpoint``, else its channel name)."""
        if endpoint not in self._breakers:
            self._breakers[endpoint] = CircuitBreaker(self.policy.breaker, self._clock)
        return self._breakers[endpoint]

    async def aclose(self) -> None:
        """Cancel every delivery still running, then close the channels' connections (a
        notifier with an ``aclose`` holds a connection pool or a link; closing twice is harmless)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for waiter in self._waiters.values():
            waiter.cancel()
        for notifier in self._notifiers.values():
            close = getattr(notifier, "aclose", None)
            if close is None:
                continue
            try:
                await close()
            except Exception:  # one channel failing to close must not keep the others open
                log.exception("delivery.close_failed", channel=notifier.channel)

    # -- one contact method ------------------------------------------------------------------------

    def _begin(self, notice: Notice) -> _Begun | None:
        """Open the notice's first contact method and start its first attempt now, when its channel
        can (``begin``), its endpoint's circuit is closed and it is not sent already. The queued
        report is emitted first, as on the ordinary path."""
        notifier = self._notifiers.get(notice.channel)
        begin = getattr(notifier, "begin", None)
        if notifier is None or begin is None:
            return None
        ident = (notice.key, notice.channel, notice.address)
        if ident in self._done or ident in self._inflight:
            return None
        if self.breaker(_endpoint_name(notifier)).state is not BreakerState.CLOSED:
            return None
        self._inflight.add(ident)
        deadline, track = self._open_method(notice)
        try:
            receipt: asyncio.Future[Receipt] | None = begin(notice)
        except Exception:  # a channel bug: the ordinary attempt below reports what it does
            log.exception("delivery.begin_failed", channel=notice.channel, key=notice.key)
            receipt = None
        return _Begun(deadline, track, receipt)

    def _open_method(self, notice: Notice) -> tuple[float, _Track]:
        """Start a contact method's attempts: its failover deadline, its memory, ``queued``."""
        policy = self.policy.for_channel(notice.channel)
        deadline = self._clock.monotonic() + policy.failover_after_s
        track = self._track(notice)
        self._prune()
        self._by_key[(notice.key, notice.channel)] = notice
        self._report(notice, DeliveryStatus.QUEUED)
        return deadline, track

    async def _try_method(
        self, notice: Notice, following: Notice | None, begun: _Begun | None = None
    ) -> _MethodResult:
        ident = (notice.key, notice.channel, notice.address)
        if begun is None and (ident in self._done or ident in self._inflight):
            return _MethodResult(True, None, "already sent to this endpoint; not sent again")
        notifier = self._notifiers.get(notice.channel)
        then = f"; trying {following.channel}:{following.address}" if following else ""
        if notifier is None:
            self._report(
                notice, DeliveryStatus.FAILED, detail=f"no channel {notice.channel!r}{then}"
            )
            return _MethodResult(False, None, f"no channel {notice.channel!r}")
        self._inflight.add(ident)
        try:
            return await self._attempts(notice, notifier, then, ident, begun)
        finally:
            self._inflight.discard(ident)

    async def _attempts(
        self,
        notice: Notice,
        notifier: Notifier,
        then: str,
        ident: tuple[str, str, str],
        begun: _Begun | None = None,
    ) -> _MethodResult:
        policy = self.policy.for_channel(notice.channel)
        retry = self.policy.retry
        breaker = self.breaker(_endpoint_name(notifier))
        if begun is None:
            deadline, track = self._open_method(notice)
        else:
            deadline, track = begun.deadline, begun.track
        started = begun.receipt if begun is not None else None
        reason = "not attempted"
        for attempt in range(1, max(1, retry.attempts) + 1):
            under_way, started = started, None  # only the first attempt can have started
            if under_way is None and not breaker.allow():
                reason = (
                    f"circuit open for {_endpoint_name(notifier)} "
                    f"(retry in {breaker.retry_in_s:.0f} s)"
                )
                self._report(notice, DeliveryStatus.FAILED, detail=reason + then, attempt=attempt)
                return _MethodResult(False, None, reason)
            remaining = deadline - self._clock.monotonic()
            timeout = min(policy.timeout_s, remaining)
            retryable = True
            try:
                call = under_way if under_way is not None else notifier.send(notice)
                receipt = await self._bounded(call, timeout)
            except TimeoutError:
                reason = f"no answer within {timeout:.1f} s"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a channel bug must not stop delivery; it is reported instead
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if receipt.status is not DeliveryStatus.FAILED:
                    breaker.success()
                    self._done.add(ident)
                    track.addresses.add(notice.address)
                    if receipt.provider_id:
                        self._by_provider[receipt.provider_id] = notice
                        track.providers.add(receipt.provider_id)
                    waiter = None
                    if policy.confirm_within_s is not None:
                        waiter = asyncio.get_running_loop().create_future()
                        self._waiters[(notice.key, notice.channel)] = waiter
                    self._report(
                        notice,
                        receipt.status,
                        detail=receipt.detail,
                        attempt=attempt,
                        provider_id=receipt.provider_id,
                    )
                    return _MethodResult(True, receipt, receipt.detail, waiter)
                reason = receipt.detail or "failed"
                retryable = receipt.retryable
            last = attempt >= retry.attempts or not retryable
            delay = 0.0 if last else retry.delay(attempt, self._rng)
            if not last and self._clock.monotonic() + delay >= deadline:
                last = True
                reason += f"; no success within {policy.failover_after_s:g} s"
            if retryable:
                breaker.failure()
            self._report(
                notice,
                DeliveryStatus.FAILED,
                detail=reason + (then if last else f"; retrying in {delay:.2f} s"),
                attempt=attempt,
            )
            if last:
                return _MethodResult(False, None, reason)
            await self._clock.sleep(delay)
        return _MethodResult(False, None, reason)

    def _track(self, notice: Notice) -> _Track:
        ident = (notice.key, notice.channel)
        track = self._tracks.get(ident)
        if track is None:
            track = self._tracks[ident] = _Track(self._clock.monotonic())
        else:  # sent again: remembered from now on
            track.at = self._clock.monotonic()
            self._tracks.move_to_end(ident)
        return track

    def _prune(self) -> None:
        """Forget notices older than ``retention_s`` (and the oldest beyond ``max_tracked``)."""
        horizon = self._clock.monotonic() - self.policy.retention_s
        while self._tracks:
            ident, track = next(iter(self._tracks.items()))
            if track.at > horizon and len(self._tracks) <= self.policy.max_tracked:
                return
            if ident in self._waiters or any(
                (*ident, address) in self._inflight for address in track.addresses
            ):
                return  # still in use: keep it (and, to stay in order, everything after it)
            del self._tracks[ident]
            self._by_key.pop(ident, None)
            for address in track.addresses:
                self._done.discard((*ident, address))
            for provider in track.providers:
                self._by_provider.pop(provider, None)

    @property
    def tracked(self) -> int:
        """How many (key, channel) pairs are remembered (for metrics and tests)."""
        return len(self._tracks)

    async def _bounded(self, call: Awaitable[Receipt], seconds: float) -> Receipt:
        """``await call`` for at most ``seconds`` on the injected clock; a late call is abandoned."""
        task: asyncio.Future[Receipt] = asyncio.ensure_future(call)
        if seconds <= 0:
            task.cancel()
            task.add_done_callback(_swallow)
            raise TimeoutError
        timer = asyncio.ensure_future(self._clock.sleep(seconds))
        racers: set[asyncio.Future[Any]] = {task, timer}
        try:
            await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            task.add_done_callback(_swallow)
            raise
        finally:
            timer.cancel()
        if task.done():
            return task.result()
        task.cancel()
        task.add_done_callback(_swallow)
        raise TimeoutError

    async def _wait_any(
        self, futures: list[asyncio.Future[DeliveryUpdate]], seconds: float
    ) -> DeliveryUpdate | None:
        done = [f for f in futures if f.done() and not f.cancelled()]
        if done:
            return done[0].result()
        timer = asyncio.ensure_future(self._clock.sleep(seconds))
        racers: set[asyncio.Future[Any]] = {timer, *futures}
        try:
            await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        done = [f for f in futures if f.done() and not f.cancelled()]
        return done[0].result() if done else None

    # -- reporting ------------------------------------------------------------------------------------

    def _report(
        self,
        notice: Notice,
        status: DeliveryStatus,
        *,
        detail: str = "",
        attempt: int = 0,
        provider_id: str | None = None,
    ) -> None:
        self._emit(
            DeliveryUpdate(
                status=status,
                ts=self._clock.now(),
                key=notice.key,
                provider_id=provider_id,
                alert=notice.alert,
                recipient=notice.recipient,
                channel=notice.channel,
                address=notice.address,
                detail=detail,
                attempt=attempt,
            )
        )

    def _emit(self, update: DeliveryUpdate) -> None:
        """Hand ``update`` to the callback without waiting for it: a send never waits for its own
        report to be recorded. Reports reach the callback one at a time, in the order emitted."""
        self._reports.put_nowait(update)
        if self._reporter is None or self._reporter.done():
            self._reporter = asyncio.get_running_loop().create_task(
                self._report_in_order(), name="delivery-reports"
            )

    async def _report_in_order(self) -> None:
        while not self._reports.empty():
            update = self._reports.get_nowait()
            try:
                await self._on_update(update)
            except asyncio.CancelledError:
                raise
            except Exception:  # the runtime's callback failing must not stop delivery
                log.exception("delivery.callback_failed", key=update.key, status=update.status)

    async def drain(self) -> None:
        """Wait until every report emitted so far has been handed to the callback."""
        while self._reporter is not None and not self._reporter.done():
            await asyncio.shield(self._reporter)
