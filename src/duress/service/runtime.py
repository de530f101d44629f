"""The running system: one object that the server, the CLI, the demo and the tests all drive.

It owns the site, the event store, the clock, the live event hub, the scheduler and the in-memory
projections (device health, badge locations). Ingest goes through :meth:`Runtime.ingest`: button
events first (committed durably before anything else is looked at), then heartbeats, then sightings.
Events are published to live listeners only after they are committed.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog

from duress.domain.commands import ActOnAlert, Ingest
from duress.domain.device_health import DeviceHealth, DeviceStatus
from duress.domain.errors import LocationUnavailable, StoreUnavailable
from duress.domain.events import (
    BadgeBatteryChanged,
    BadgeMoved,
    BadgeSignalled,
    ButtonPressed,
    DeviceBatteryChanged,
    DeviceCameOnline,
    DeviceWentSilent,
    Event,
    GatewayCameOnline,
    GatewayWentOffline,
    NewEvent,
    StoredEvent,
    Subject,
    SubjectKind,
    decode,
)
from duress.domain.notification import DeliveryUpdate, Notifier
from duress.domain.observations import ButtonEvent, Heartbeat, Observation, Sighting
from duress.domain.site import Site
from duress.domain.supervision import BadgeWatch
from duress.service.alerts import ALERT_EVENT_TYPES, AlertDesk
from duress.service.bus import MessageBus
from duress.service.clock import Clock
from duress.service.delivery import Delivery, DeliveryPolicy
from duress.service.escalation import timer_key, timers_for
from duress.service.hub import EventHub
from duress.service.locating import BadgeLocator, SightingWorker
from duress.service.location_timer import LocationTimer
from duress.service.metrics import Metrics
from duress.service.scheduler import Scheduler
from duress.service.sighting_work import (
    Decoding,
    SightingReport,
    check_sighting,
    unknown_device,
)
from duress.service.supervision import Supervisor
from duress.store.base import EventStore, Timer, Timers
from duress.store.spool import Spool

log = structlog.get_logger(__name__)
T = TypeVar("T")

FUTURE_TOLERANCE = timedelta(seconds=30)
"""A message stamped further ahead than this is rejected: the sender's clock is wrong."""
RECENT_PRESSES = 50
PRESS_MEMORY = 256
SIGHTINGS_PER_TURN = 64
"""Sightings handled before ingest lets the event loop run other work (a press) for a moment."""
HANDOFF_GRACE_S = 0.002
"""How long sighting work stays held after an urgent commit, so that the notices it called for are
handed to their channels (a keep-alive HTTP request written, an MLLP frame sent) before the loop
is shared again."""
STORE_RETRY_S = 1.0
"""How often a down store is asked again."""
TIMER_LEASE_S = 30.0
"""How long a claimed escalation timer is this instance's before another may take it over."""
"""How many recent sequence numbers per badge are remembered to drop resent presses."""

Probe = Callable[[], Awaitable[None]]


class AlertSource(Protocol):
    """Something that takes alerts from another system while the runtime runs."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    reason: str
    detail: str


@dataclass(slots=True)
class IngestOutcome:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    stored: list[StoredEvent] = field(default_factory=list)


class Runtime:
    def __init__(
        self,
        *,
        site: Site,
        store: EventStore,
        clock: Clock,
        locator: BadgeLocator,
        probes: Mapping[str, Probe] | None = None,
        notifiers: Iterable[Notifier] = (),
        delivery_policy: DeliveryPolicy | None = None,
        new_alert_id: Callable[[], str] | None = None,
        reply_url: str | None = None,
        inline_store: bool = False,
        spool: Spool | None = None,
    ) -> None:
        """``inline_store`` calls the store on the event loop instead of the writer thread: only for
        an in-memory store in tests, where it makes every step deterministic."""
        self.site = site
        self._inline = inline_store
        self.spool = spool
        """Where events wait, durably, while the store is down (None: writes fail instead)."""
        self.store_down: str | None = None
        self.broker_down: str | None = None
        """Set by the MQTT ingest while it cannot reach the broker (shown on the board)."""
        self._spooled = 0
        self._recovery: asyncio.Task[None] | None = None
        self.instance = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        """This process among several sharing one store (timer claims name their owner)."""
        self.store = store
        self.clock = clock
        self.locator = locator
        self.hub = EventHub()
        self.scheduler = Scheduler(clock)
        self.location_timer = LocationTimer(
            scheduler=self.scheduler,
            clock=clock,
            params=locator.params,
            tick=self._advance_locations,
        )
        """Judges BLE scans that become due when no batch follows them (decision 0023)."""
        self.metrics = Metrics()
        intervals = {d.id: d.heartbeat_s for d in site.devices.values()}
        self.health = DeviceHealth(
            intervals,
            gateways={d.id: d.gateway for d in site.devices.values()},
            battery=site.supervision.battery,
        )
        self.badge_watch = BadgeWatch(
            site.badges,
            thresholds=site.supervision.battery,
            not_seen_h=site.supervision.badge_not_seen_h,
            staff={b.id: b.staff for b in site.badges.values()},
        )
        """Each badge's last sighting, gateway (for feedback) and battery (supervision)."""
        self._probes = dict(probes or {})
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duress-writer")
        self._presses: dict[str, deque[int]] = {}
        self.recent_presses: deque[ButtonPressed] = deque(maxlen=RECENT_PRESSES)
        """The latest presses, newest last (for the board until alerts own this)."""
        self._write_lock = asyncio.Lock()
        self._bulk: list[tuple[list[NewEvent], asyncio.Future[list[StoredEvent]]]] = []
        self._bulk_task: asyncio.Task[None] | None = None
        self._urgent = 0
        self._calm = asyncio.Event()
        """Set while no urgent write (a press, an alert step, an action) is being committed."""
        self._calm.set()
        self.started = False
        self.alert_sources: list[AlertSource] = []
        """Listeners taking alerts from other systems (HL7 ORU^R40), run with the runtime."""
        self.bus = MessageBus()
        """Commands to their handler; committed events to the board, metrics and the alert desk."""
        self.delivery = Delivery(notifiers, self._on_delivery_update, clock, policy=delivery_policy)
        self.alerts = AlertDesk(
            site=site,
            clock=clock,
            locator=locator,
            scheduler=self.scheduler,
            record=self.record,
            record_bulk=self.record_bulk,
            claim=self._claim_timers,
            load=self._alert_events,
            dispatch=self.delivery.dispatch,
            new_id=new_alert_id,
            reply_url=reply_url,
        )
        self.supervision = Supervisor(self)
        """Trouble alerts, badge checks and the daily synthetic test (docs/supervision.md)."""
        self.bus.subscribe("metrics", self._count)
        self.bus.subscribe("alerts", self.alerts.commit)
        self.bus.subscribe("live", self.hub.publish)
        self.bus.handle_with(Ingest, lambda command: self.ingest(command.messages))
        self.bus.handle_with(
            ActOnAlert,
            lambda c: self.alerts.act(
                c.alert, c.action, by=c.by, via=c.via, code=c.code, severity=c.severity, note=c.note
            ),
        )

    async def _claim_timers(self, now: datetime) -> list[Timer]:
        if self.store_down is not None:
            # The store cannot arbitrate between instances now: this one takes its own due steps.
            return [
                Timer(timer_key(a.id), a.next_at)
                for a in self.alerts.alerts.get_open()
                if not a.escalation_stopped and a.next_at and a.next_at <= now
            ]
        return await self._on_writer(
            lambda: self.store.claim_due(now, owner=self.instance, lease_s=TIMER_LEASE_S)
        )

    async def _alert_events(self, alert_id: str) -> list[StoredEvent]:
        if self.store_down is not None:
            return []  # the desk then acts on what it holds in memory
        return await self.read(subject=Subject(SubjectKind.ALERT, alert_id))

    async def _on_delivery_update(self, update: DeliveryUpdate) -> None:
        await self.alerts.paging.on_update(update)

    # --- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Write back a spool left by a crash, rebuild projections from the store, then start the
        scheduler."""
        await self._flush_spool()
        await self._replay()
        if isinstance(self.locator, SightingWorker):
            await self.locator.start()
        self._tell_locator_of_silent_devices()
        self.scheduler.start()
        await self.alerts.escalation.watchdog()
        await self.supervision.start()
        for source in self.alert_sources:
            await source.start()
        self.started = True
        log.info("runtime.started", site=self.site.id, store=self.store.url)

    async def stop(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
        for source in self.alert_sources:
            await source.stop()
        await self.supervision.stop()
        await self.scheduler.stop()
        await self.delivery.aclose()  # sends still running end here; what they reported is kept
        await self.delivery.drain()
        if self._bulk_task is not None:
            await asyncio.gather(self._bulk_task, return_exceptions=True)
        if isinstance(self.locator, SightingWorker):
            await self.locator.stop()
        self.hub.close()
        await self._on_writer(self.store.close)
        self._writer.shutdown(wait=True)
        self.started = False
        log.info("runtime.stopped", site=self.site.id)

    async def _replay(self) -> None:
        types = [ButtonPressed.type, DeviceCameOnline.type, DeviceWentSilent.type]
        types += SUPERVISION_EVENT_TYPES
        types += ALERT_EVENT_TYPES
        after = 0
        alert_records: list[StoredEvent] = []
        while True:
            page = await self.read(after=after, limit=5000, types=types)
            if not page:
                break
            for record in page:
                if record.type in ALERT_EVENT_TYPES:
                    alert_records.append(record)
                    continue
                event = decode(record)
                if isinstance(event, ButtonPressed):
                    self._remember_press(event.badge, event.seq)
                    self.recent_presses.append(event)
                elif isinstance(event, BadgeBatteryChanged):
                    self.badge_watch.apply(event)
                else:
                    self.health.apply(event)
            after = page[-1].seq
        await self.alerts.replay(alert_records)
        now = self.clock.now()
        for state in self.health.states():
            self._arm_supervision(state.device, now)
        self._update_device_gauges()

    def _tell_locator_of_silent_devices(self) -> None:
        """Devices silent when the server stopped: the engine takes an IR device among them as
        offline at its first timer call, not two heartbeat intervals after this start (it learns
        when each was last heard; decision 0024)."""
        for state in self.health.states():
            if state.status is DeviceStatus.SILENT and state.last_seen is not None:
                self.locator.heartbeat(state.device, state.last_seen)

    # --- ingest -----------------------------------------------------------------------------

    async def ingest(self, messages: Sequence[tuple[int, Observation]]) -> IngestOutcome:
        """Take decoded messages (with their index in the sender's batch) and act on them.

        Presses are committed durably before this returns; sightings never overtake a press.
        """
        outcome = IngestOutcome()
        now = self.clock.now()
        presses: list[ButtonPressed] = []
        heartbeats: list[tuple[int, Heartbeat]] = []
        sightings: list[tuple[int, Sighting]] = []
        for index, message in messages:
            if message.ts - now > FUTURE_TOLERANCE:
                self._reject(outcome, index, "future_timestamp", _future_detail(message.ts, now))
                continue
            if isinstance(message, ButtonEvent):
                press = self._press(message, now)
                if press is None:
                    outcome.duplicates += 1
                    outcome.accepted += 1
                    self.metrics.duplicates.inc()
                else:
                    presses.append(press)
            elif isinstance(message, Heartbeat):
                heartbeats.append((index, message))
            else:
                sightings.append((index, message))

        if presses:
            scratch = self.alerts.alerts.working_copy()
            press_events: list[Event] = []
            for press in presses:
                press_events.append(press)
                press_events.append(BadgeSignalled(ts=now, badge=press.badge, signal="sent"))
                press_events += self.alerts.decide_press(press, scratch)
            stored = await self.record(press_events, timers_for(press_events, scratch))
            outcome.stored += stored
            self.recent_presses.extend(presses)
            outcome.accepted += len(presses)
            self.metrics.ingested.labels("button").inc(len(presses))

        events: list[Event] = []
        for index, beat in heartbeats:
            if beat.device in self.health:
                events += self._heard(beat.device, beat.ts, beat.battery, now)
                self.locator.heartbeat(beat.device, beat.ts)
            elif beat.device in self.badge_watch:
                self.badge_watch.seen(beat.device, beat.ts, beat.gateway)
                if beat.battery is not None:
                    events += self.badge_watch.battery(beat.device, beat.ts, beat.battery)
            elif beat.device not in self.site.badges:
                self._reject(outcome, index, "unknown_device", unknown_device(beat.device))
                continue
            outcome.accepted += 1
            self.metrics.ingested.labels("heartbeat").inc()

        located = 0
        if sightings:
            await self.after_urgent_writes()
            if isinstance(self.locator, SightingWorker):
                located = await self._take_elsewhere(self.locator, sightings, outcome, events, now)
            else:
                located = await self._take_here(sightings, outcome, events, now)
        if located:
            outcome.accepted += located
            self.metrics.ingested.labels("sighting").inc(located)
            self.location_timer.batch_taken(now)

        if events:
            # What sightings and heartbeats conclude may wait behind a press: gathered with other
            # such writes, committed right after any urgent one.
            outcome.stored += await self.record_bulk(events)
        outcome.rejected.sort(key=lambda r: r.index)
        return outcome

    async def _take_here(
        self,
        sightings: Sequence[tuple[int, Sighting]],
        outcome: IngestOutcome,
        events: list[Event],
        now: datetime,
    ) -> int:
        """Sightings through the engine in this process, a few dozen per turn of the loop."""
        located = 0
        for count, (index, sighting) in enumerate(sightings, start=1):
            if count % SIGHTINGS_PER_TURN == 0 and not self._inline:
                # Let a press that arrived meanwhile run: it must not wait for a long batch, nor
                # share the machine with it while it is being committed.
                await asyncio.sleep(0)
                await self.after_urgent_writes()
            reason = check_sighting(self.site, sighting.badge, sighting.device)
            if reason is not None:
                self._reject(outcome, index, *reason)
                continue
            events += self._heard(sighting.device, sighting.ts, None, now)
            self.badge_watch.seen(sighting.badge, sighting.ts, sighting.gateway)
            moved = self.locator.observe(sighting, now)
            if moved is not None:
                events.append(moved)
                events += self.alerts.relocation_events(moved)
            located += 1
        for moved in self.locator.advance(now):  # scans that became due, of any badge
            events.append(moved)
            events += self.alerts.relocation_events(moved)
        return located

    async def _take_elsewhere(
        self,
        worker: SightingWorker,
        sightings: Sequence[tuple[int, Sighting]],
        outcome: IngestOutcome,
        events: list[Event],
        now: datetime,
    ) -> int:
        """Sightings through the location process; this loop only applies what it reports."""
        try:
            report = await worker.take(sightings, now)
        except LocationUnavailable as error:
            for index, _ in sightings:
                self._reject(outcome, index, "location_unavailable", str(error))
            return 0
        return self._apply(report, outcome, events, now)

    def _apply(
        self, report: SightingReport, outcome: IngestOutcome, events: list[Event], now: datetime
    ) -> int:
        for index, reason, detail in report.rejected:
            self._reject(outcome, index, reason, detail)
        for device, ts in report.heard.items():
            events += self._heard(device, datetime.fromtimestamp(ts, UTC), None, now)
        for badge, (ts, gateway) in report.seen.items():
            self.badge_watch.seen(badge, datetime.fromtimestamp(ts, UTC), gateway)
        for moved in report.moved:
            events.append(moved)
            events += self.alerts.relocation_events(moved)
        return report.located

    async def _advance_locations(self, now: datetime) -> None:
        """The location timer's tick: the moves of scans that became due since the last batch."""
        events: list[Event] = []
        if isinstance(self.locator, SightingWorker):
            try:
                report = await self.locator.take([], now)  # an empty batch: only the engine's timer
            except LocationUnavailable:
                return  # it is starting again; its next batch advances it
            self._apply(report, IngestOutcome(), events, now)
        else:
            for moved in self.locator.advance(now):
                events.append(moved)
                events += self.alerts.relocation_events(moved)
        if events:
            await self.record_bulk(events)

    @property
    def locates_elsewhere(self) -> bool:
        """Whether sightings are located in the location process (``location_engine: process``)."""
        return isinstance(self.locator, SightingWorker)

    async def ingest_undecoded(
        self, messages: Sequence[Any], decoding: Decoding
    ) -> tuple[SightingReport, IngestOutcome]:
        """Messages of sighting topics as received, for the location process to decode (with
        ``decoding``) and locate. The report says what was rejected undecoded and what is not a
        sighting (the caller ingests that); the outcome counts the sightings, by message index."""
        if not isinstance(self.locator, SightingWorker):
            raise TypeError("sightings are located in this process: decode them and call ingest()")
        await self.after_urgent_writes()
        report = await self.locator.take_undecoded(messages, decoding, self.clock.now())
        return report, await self.apply_located(report)

    async def apply_located(self, report: SightingReport) -> IngestOutcome:
        """Act on what the location process reports of a batch it located: the sightings sent
        to it, or what its own sighting feed received (decision 13)."""
        outcome = IngestOutcome()
        now = self.clock.now()
        events: list[Event] = []
        located = self._apply(report, outcome, events, now)
        if located:
            outcome.accepted += located
            self.metrics.ingested.labels("sighting").inc(located)
            self.location_timer.batch_taken(now)
        if events:
            outcome.stored += await self.record_bulk(events)
        return outcome

    def _press(self, message: ButtonEvent, now: datetime) -> ButtonPressed | None:
        seen = self._presses.get(message.badge)
        if seen is not None and message.seq in seen:
            return None
        self._remember_press(message.badge, message.seq)
        self.badge_watch.seen(message.badge, message.ts, message.gateway)
        wearer = self.site.wearer(message.badge)
        return ButtonPressed(
            ts=message.ts,
            badge=message.badge,
            seq=message.seq,
            presses=message.presses,
            hold_s=message.hold_s,
            received_at=now,
            gateway=message.gateway,
            staff=wearer.id if wearer else None,
        )

    def _remember_press(self, badge: str, seq: int) -> None:
        self._presses.setdefault(badge, deque(maxlen=PRESS_MEMORY)).append(seq)

    def _heard(
        self, device: str, ts: datetime, battery: float | None, now: datetime
    ) -> list[Event]:
        events = self.health.heard(device, ts, battery)
        if events or self.scheduler.due_at(f"supervise:{device}") is None:
            # Hearing a device only moves its deadline later: a check already armed stays (it
            # re-arms itself when it finds the device heard since), so only a change arms one.
            self._arm_supervision(device, now)
        return events

    def _reject(self, outcome: IngestOutcome, index: int, reason: str, detail: str) -> None:
        outcome.rejected.append(Rejection(index, reason, detail))
        self.metrics.rejected.labels(reason).inc()

    # --- supervision ------------------------------------------------------------------------

    def _arm_supervision(self, device: str, now: datetime) -> None:
        due = self.health.deadline(device)
        if due is None:
            self.scheduler.cancel(f"supervise:{device}")
            return
        current = self.scheduler.due_at(f"supervise:{device}")
        # A check already armed earlier stays: when it runs it finds the device heard since and
        # arms the next one. So a device heard many times a second costs one timer, not one each.
        if current is None or due < current:
            self.scheduler.schedule(f"supervise:{device}", due, lambda: self._supervise(device))

    async def _supervise(self, device: str) -> None:
        events = self.health.check(device, self.clock.now())
        if events:
            await self.record(events)
            log.warning("device.silent", device=device)
        else:
            self._arm_supervision(device, self.clock.now())

    async def gateway_status(self, gateway: str, online: bool, ts: datetime) -> list[StoredEvent]:
        """A gateway's status message (``online``, or ``offline``: its last will). Offline marks it
        and the devices it carries unsupervised at once (``gateway.offline``); online brings them
        back (``gateway.online``). A repeated status (retained, redelivered) changes nothing."""
        if gateway not in self.health:
            return []
        if online:
            events = self.health.gateway_online(gateway, ts)
        else:
            events = self.health.gateway_offline(gateway, ts)
        now = self.clock.now()
        for device in (gateway, *self.health.carried_by(gateway)):
            self._arm_supervision(device, now)
        if events:
            log.warning("gateway.offline" if not online else "gateway.online", gateway=gateway)
        return await self.record(events)

    def _update_device_gauges(self) -> None:
        counts = dict.fromkeys(DeviceStatus, 0)
        for state in self.health.states():
            counts[state.status] += 1
        for status, count in counts.items():
            self.metrics.devices.labels(status.value).set(count)

    # --- the store --------------------------------------------------------------------------

    async def record(
        self, events: Iterable[Event], timers: Timers | None = None
    ) -> list[StoredEvent]:
        """Commit events (and timer changes) durably on the single writer thread, then publish."""
        records = [e.to_record() for e in events]
        if not records and not timers:
            return []
        self._urgent += 1
        self._calm.clear()
        try:
            return await self._commit(records, timers)
        finally:
            self._urgent -= 1
            if not self._urgent:
                if self._inline:
                    self._calm.set()
                else:
                    # The notices the commit called for go out first: they are being handed to
                    # their channels in the next turns of the loop.
                    asyncio.get_running_loop().call_later(HANDOFF_GRACE_S, self._calm_if_quiet)

    def _calm_if_quiet(self) -> None:
        if not self._urgent:
            self._calm.set()

    async def after_urgent_writes(self) -> None:
        """Wait while a press, an alert step or an action is being committed: sighting work (here
        and in the MQTT consumer's decoding) would only compete with that commit for the
        interpreter and the CPU."""
        if not self._calm.is_set() and not self._inline:
            await self._calm.wait()

    async def record_bulk(self, events: Iterable[Event]) -> list[StoredEvent]:
        """Commit events that may wait a moment (delivery reports): they are gathered with others
        that arrive meanwhile and written in one transaction, so a burst of reports costs one disk
        flush rather than one each and a press never queues behind hundreds of them."""
        records = [e.to_record() for e in events]
        if not records:
            return []
        waiter: asyncio.Future[list[StoredEvent]] = asyncio.get_running_loop().create_future()
        self._bulk.append((records, waiter))
        if self._bulk_task is None or self._bulk_task.done():
            self._bulk_task = asyncio.create_task(self._flush_bulk(), name="bulk-writes")
        return await waiter

    async def _flush_bulk(self) -> None:
        await asyncio.sleep(0)  # let the reports of this loop turn gather
        while self._bulk:
            for _ in range(100):  # urgent writes (presses, alert steps) go first, within reason
                if not self._urgent:
                    break
                await asyncio.sleep(0.001)
            batch, self._bulk = self._bulk, []
            records = [r for recs, _ in batch for r in recs]
            try:
                stored = await self._commit(records, None)
            except Exception as error:
                for _, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(error)
                continue
            start = 0
            for recs, waiter in batch:
                if not waiter.done():
                    waiter.set_result(stored[start : start + len(recs)])
                start += len(recs)

    async def _commit(self, records: list[NewEvent], timers: Timers | None) -> list[StoredEvent]:
        async with self._write_lock:
            started = self.clock.monotonic()
            if self.store_down is None:
                try:
                    stored = await self._on_writer(
                        lambda: self.store.append(records, timers=timers)
                    )
                except StoreUnavailable as error:
                    if self.spool is None:
                        raise
                    self._went_down(str(error))
                    stored = await self._to_spool(records, timers)
            else:
                stored = await self._to_spool(records, timers)
            self.metrics.append_seconds.observe(self.clock.monotonic() - started)
        await self.bus.published(stored)
        return stored

    # --- when the store is down ---------------------------------------------------------------

    async def _to_spool(self, records: list[NewEvent], timers: Timers | None) -> list[StoredEvent]:
        """Keep the batch durably in the local spool; it gets its sequence numbers when the store
        is back (meanwhile it is published with seq 0: acted on, not yet in the log)."""
        if self.spool is None:
            raise StoreUnavailable(self.store_down or "the event store is down")
        spool = self.spool
        await self._on_writer(lambda: spool.write(records, timers))
        self._spooled += len(records)
        self.metrics.spooled.set(self._spooled)
        return [StoredEvent(0, r.type, r.ts, r.subject, r.payload) for r in records]

    def _went_down(self, reason: str) -> None:
        self.store_down = reason
        log.error("store.down", reason=reason, spool=str(self.spool.path) if self.spool else None)
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover(), name="store-recovery")

    async def _recover(self) -> None:
        """Until the store answers: wait a second, ask again; then write the spool to it."""
        while self.store_down is not None:
            await self.clock.sleep(STORE_RETRY_S)
            try:
                await self._on_writer(self.store.ping)
                async with self._write_lock:
                    await self._flush_spool()
                    self.store_down = None
            except StoreUnavailable as error:
                self.store_down = str(error)
        log.info("store.recovered", store=self.store.url)

    async def _flush_spool(self) -> None:
        """Write what the spool holds to the store, in order, then empty it."""
        if self.spool is None:
            return
        spool = self.spool
        for batch in await self._on_writer(spool.pending):
            await self._on_writer(lambda b=batch: self.store.append(b.events, timers=b.timers))
        await self._on_writer(spool.clear)
        self._spooled = 0
        self.metrics.spooled.set(0)

    def _count(self, stored: Sequence[StoredEvent]) -> None:
        for record in stored:
            self.metrics.appended.labels(record.type).inc()
        if any(r.type in _HEALTH_TYPES for r in stored):
            self._update_device_gauges()

    async def _on_writer(self, fn: Callable[..., T], *args: Any) -> T:
        if self._inline:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    async def read(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        subject: Subject | None = None,
        types: Collection[str] | None = None,
    ) -> list[StoredEvent]:
        """Read from the store off the event loop, and off the writer thread (presses never queue
        behind a reader)."""
        if self._inline:
            return self.store.read(after=after, limit=limit, subject=subject, types=types)
        return await asyncio.to_thread(
            self.store.read, after=after, limit=limit, subject=subject, types=types
        )

    # --- readiness --------------------------------------------------------------------------

    async def readiness(self) -> dict[str, str]:
        """Each dependency's state: ``ok`` or the reason it is not reachable."""
        checks: dict[str, str] = {}
        if self.store_down is not None:
            checks["store"] = self.degraded or "down"
            return checks | await self._probe_all()
        try:
            if self._inline:
                self.store.ping()
            else:
                await asyncio.wait_for(asyncio.to_thread(self.store.ping), 2.0)
            checks["store"] = "ok"
        except (StoreUnavailable, TimeoutError) as error:
            checks["store"] = str(error) or "no answer within 2 s"
        return checks | await self._probe_all()

    async def _probe_all(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        for name, probe in self._probes.items():
            try:
                await asyncio.wait_for(probe(), 2.0)
                checks[name] = "ok"
            except (OSError, TimeoutError) as error:
                checks[name] = str(error) or "no answer within 2 s"
        return checks

    @property
    def degraded(self) -> str | None:
        """What the board and /readyz say while the store or the broker is down (else None)."""
        if self.store_down is None:
            return self.broker_down
        where = f" in {self.spool.path}" if self.spool else ""
        store = (
            f"the event store is down ({self.store_down}); alerting goes on from memory and "
            f"{self._spooled} events are kept durably{where} until it is back"
        )
        return f"{store}; {self.broker_down}" if self.broker_down else store


SUPERVISION_EVENT_TYPES = [
    GatewayWentOffline.type,
    GatewayCameOnline.type,
    DeviceBatteryChanged.type,
    BadgeBatteryChanged.type,
]
"""Supervision facts folded back into device health and the badge watch at start-up."""
_HEALTH_TYPES = frozenset(
    {DeviceCameOnline.type, DeviceWentSilent.type, GatewayWentOffline.type, GatewayCameOnline.type}
)


def _future_detail(ts: datetime, now: datetime) -> str:
    ahead = (ts - now).total_seconds()
    return (
        f"ts {ts.isoformat()} is {ahead:.0f} s ahead of the server's clock; "
        "check the sender's time source (NTP)"
    )


__all__ = ["BadgeMoved", "IngestOutcome", "Rejection", "Runtime"]
