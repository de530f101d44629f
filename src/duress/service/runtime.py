"""The running system: one object that the server, the CLI, the demo and the tests all drive.

It owns the site, the event store, the clock, the live event hub, the scheduler and the in-memory
projections (device health, badge locations). Ingest goes through :meth:`Runtime.ingest`: button
events first (committed durably before anything else is looked at), then heartbeats, then sightings.
Events are published to live listeners only after they are committed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog

from duress.domain.device_health import DeviceHealth, DeviceStatus
from duress.domain.errors import StoreUnavailable
from duress.domain.events import (
    BadgeMoved,
    BadgeSignalled,
    ButtonPressed,
    DeviceCameOnline,
    DeviceWentSilent,
    Event,
    StoredEvent,
    Subject,
    decode,
)
from duress.domain.notification import DeliveryUpdate, Notifier
from duress.domain.observations import ButtonEvent, Heartbeat, Observation, Sighting
from duress.domain.site import Site
from duress.service.alerts import ALERT_EVENT_TYPES, AlertDesk
from duress.service.clock import Clock
from duress.service.delivery import Delivery, DeliveryPolicy
from duress.service.hub import EventHub
from duress.service.locating import BadgeLocator
from duress.service.metrics import Metrics
from duress.service.scheduler import Scheduler
from duress.store.base import EventStore

log = structlog.get_logger(__name__)
T = TypeVar("T")

FUTURE_TOLERANCE = timedelta(seconds=30)
"""A message stamped further ahead than this is rejected: the sender's clock is wrong."""
RECENT_PRESSES = 50
PRESS_MEMORY = 256
"""How many recent sequence numbers per badge are remembered to drop resent presses."""

Probe = Callable[[], Awaitable[None]]


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
    ) -> None:
        """``inline_store`` calls the store on the event loop instead of the writer thread: only for
        an in-memory store in tests, where it makes every step deterministic."""
        self.site = site
        self._inline = inline_store
        self.store = store
        self.clock = clock
        self.locator = locator
        self.hub = EventHub()
        self.scheduler = Scheduler(clock)
        self.metrics = Metrics()
        intervals = {d.id: d.heartbeat_s for d in site.devices.values()}
        self.health = DeviceHealth(intervals)
        self._probes = dict(probes or {})
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duress-writer")
        self._presses: dict[str, deque[int]] = {}
        self.recent_presses: deque[ButtonPressed] = deque(maxlen=RECENT_PRESSES)
        """The latest presses, newest last (for the board until alerts own this)."""
        self._write_lock = asyncio.Lock()
        self.started = False
        self.delivery = Delivery(notifiers, self._on_delivery_update, clock, policy=delivery_policy)
        self.alerts = AlertDesk(
            site=site,
            clock=clock,
            locator=locator,
            scheduler=self.scheduler,
            record=self.record,
            dispatch=self.delivery.dispatch,
            new_id=new_alert_id,
            reply_url=reply_url,
        )

    async def _on_delivery_update(self, update: DeliveryUpdate) -> None:
        await self.alerts.on_update(update)

    # --- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Rebuild projections from the store, then start the scheduler."""
        await self._replay()
        self.scheduler.start()
        await self.alerts.watchdog()
        self.started = True
        log.info("runtime.started", site=self.site.id, store=self.store.url)

    async def stop(self) -> None:
        await self.scheduler.stop()
        self.hub.close()
        await self._on_writer(self.store.close)
        self._writer.shutdown(wait=True)
        self.started = False
        log.info("runtime.stopped", site=self.site.id)

    async def _replay(self) -> None:
        types = [ButtonPressed.type, DeviceCameOnline.type, DeviceWentSilent.type]
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
                else:
                    self.health.apply(event)
            after = page[-1].seq
        await self.alerts.replay(alert_records)
        now = self.clock.now()
        for state in self.health.states():
            self._arm_supervision(state.device, now)
        self._update_device_gauges()

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
            scratch = dict(self.alerts.alerts)
            press_events: list[Event] = []
            for press in presses:
                press_events.append(press)
                press_events.append(BadgeSignalled(ts=now, badge=press.badge, signal="sent"))
                press_events += self.alerts.decide_press(press, scratch)
            stored = await self.record(press_events)
            outcome.stored += stored
            self.recent_presses.extend(presses)
            outcome.accepted += len(presses)
            self.metrics.ingested.labels("button").inc(len(presses))
            await self.alerts.commit(stored)

        events: list[Event] = []
        for index, beat in heartbeats:
            if beat.device in self.health:
                events += self._heard(beat.device, beat.ts, beat.battery, now)
            elif beat.device not in self.site.badges:
                self._reject(outcome, index, "unknown_device", _unknown_device(beat.device))
                continue
            outcome.accepted += 1
            self.metrics.ingested.labels("heartbeat").inc()

        for index, sighting in sightings:
            reason = self._check_sighting(sighting)
            if reason is not None:
                self._reject(outcome, index, *reason)
                continue
            events += self._heard(sighting.device, sighting.ts, None, now)
            moved = self.locator.observe(sighting, now)
            if moved is not None:
                events.append(moved)
                events += self.alerts.relocation_events(moved)
            outcome.accepted += 1
            self.metrics.ingested.labels("sighting").inc()

        if events:
            stored = await self.record(events)
            outcome.stored += stored
            await self.alerts.commit(stored)
        outcome.rejected.sort(key=lambda r: r.index)
        return outcome

    def _press(self, message: ButtonEvent, now: datetime) -> ButtonPressed | None:
        seen = self._presses.get(message.badge)
        if seen is not None and message.seq in seen:
            return None
        self._remember_press(message.badge, message.seq)
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

    def _check_sighting(self, sighting: Sighting) -> tuple[str, str] | None:
        if sighting.badge not in self.site.badges:
            return (
                "unknown_badge",
                f"badge {sighting.badge!r} is not in the site configuration; "
                "add it under people.badges",
            )
        if sighting.device not in self.site.devices:
            return "unknown_device", _unknown_device(sighting.device)
        return None

    def _heard(
        self, device: str, ts: datetime, battery: float | None, now: datetime
    ) -> list[Event]:
        events = self.health.heard(device, ts, battery)
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
        if current != due:
            self.scheduler.schedule(f"supervise:{device}", due, lambda: self._supervise(device))

    async def _supervise(self, device: str) -> None:
        events = self.health.check(device, self.clock.now())
        if events:
            await self.record(events)
            log.warning("device.silent", device=device)
        else:
            self._arm_supervision(device, self.clock.now())

    def _update_device_gauges(self) -> None:
        counts = dict.fromkeys(DeviceStatus, 0)
        for state in self.health.states():
            counts[state.status] += 1
        for status, count in counts.items():
            self.metrics.devices.labels(status.value).set(count)

    # --- the store --------------------------------------------------------------------------

    async def record(self, events: Iterable[Event]) -> list[StoredEvent]:
        """Commit events durably (on the single writer thread), then publish them."""
        records = [e.to_record() for e in events]
        if not records:
            return []
        async with self._write_lock:
            started = self.clock.monotonic()
            stored = await self._on_writer(self.store.append, records)
            self.metrics.append_seconds.observe(self.clock.monotonic() - started)
        for record in stored:
            self.metrics.appended.labels(record.type).inc()
        if any(r.type in (DeviceCameOnline.type, DeviceWentSilent.type) for r in stored):
            self._update_device_gauges()
        self.hub.publish(stored)
        return stored

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
        try:
            if self._inline:
                self.store.ping()
            else:
                await asyncio.wait_for(asyncio.to_thread(self.store.ping), 2.0)
            checks["store"] = "ok"
        except (StoreUnavailable, TimeoutError) as error:
            checks["store"] = str(error) or "no answer within 2 s"
        for name, probe in self._probes.items():
            try:
                await asyncio.wait_for(probe(), 2.0)
                checks[name] = "ok"
            except (OSError, TimeoutError) as error:
                checks[name] = str(error) or "no answer within 2 s"
        return checks


def _future_detail(ts: datetime, now: datetime) -> str:
    ahead = (ts - now).total_seconds()
    return (
        f"ts {ts.isoformat()} is {ahead:.0f} s ahead of the server's clock; "
        "check the sender's time source (NTP)"
    )


def _unknown_device(device: str) -> str:
    return f"device {device!r} is not in the site configuration; add it under devices"


__all__ = ["BadgeMoved", "IngestOutcome", "Rejection", "Runtime"]
