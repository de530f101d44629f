"""Supervision at run time: trouble alerts for engineering, badge checks, the daily synthetic test.

The :class:`Supervisor` follows the runtime's committed events (``runtime.hub``; a gap in sequence
numbers, after a burst made it lag, is read back from the store) and acts on them:

- ``device.silent`` / ``gateway.offline`` / a battery turning ``low`` / ``button.stuck`` /
  ``synthetic.failed`` raise a **trouble** alert (:meth:`AlertDesk.raise_trouble`): one open alert per
  subject and trouble, routed only by policies that name the ``trouble`` kind;
- ``device.online`` / ``gateway.online`` / a battery no longer ``low`` / ``synthetic.passed`` resolve
  the matching open trouble alert by themselves (code ``event``, severity ``minor``);
- every button press feeds the stuck-button rule; a sweep each hour reports badges not seen;
- at the configured time each day a test badge's press is injected at a gateway's ``buttons`` topic
  (through a :class:`PressInjector`, the MQTT publisher in production) and must reach a test
  recipient (a ``notice.status`` of ``sent`` or better for its ``test`` alert) before the deadline.

Device health and the last synthetic result are exported to ``/metrics`` by a collector that reads
the projections at scrape time. See ``docs/supervision.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from duress.domain.alert import Action
from duress.domain.device_health import DeviceStatus
from duress.domain.errors import IllegalTransition, NotFound
from duress.domain.events import (
    BadgeBatteryChanged,
    ButtonPressed,
    DeviceBatteryChanged,
    Event,
    StoredEvent,
    SyntheticFailed,
    SyntheticPassed,
    decode,
)
from duress.domain.supervision import (
    TROUBLE_KIND,
    BatteryLevel,
    StuckButtons,
    SyntheticTest,
    next_run,
)

if TYPE_CHECKING:
    from duress.service.runtime import Runtime

log = structlog.get_logger(__name__)

BADGE_SWEEP = timedelta(hours=1)
"""How often badges are checked against the not-seen threshold."""
SYNTHETIC_SUBJECT = "site:synthetic"
DELIVERED = frozenset({"sent", "delivered", "read", "replied"})
"""A ``notice.status`` with one of these proves the synthetic press reached its recipient."""
BY = "supervision"


class PressInjector(Protocol):
    """Publishes a native button message as ``gateway`` would (the MQTT publisher in production)."""

    async def inject(self, gateway: str, payload: bytes) -> None: ...


@dataclass(slots=True)
class SyntheticRun:
    seq: int
    test: SyntheticTest
    started_at: datetime
    started_mono: float
    stage: str = "injected"
    alert: str | None = None
    done: bool = False


@dataclass(frozen=True, slots=True)
class SyntheticResult:
    passed: bool
    at: datetime
    path_s: float
    stage: str
    alert: str | None
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "at": self.at.isoformat(),
            "path_s": self.path_s,
            "stage": self.stage,
            "alert": self.alert,
            "detail": self.detail,
        }


class Supervisor:
    def __init__(self, runtime: Runtime, *, injector: PressInjector | None = None) -> None:
        self.runtime = runtime
        self.site = runtime.site
        self.rules = runtime.site.supervision
        self.injector = injector
        """Set before :meth:`start` to run the daily synthetic test (``duress serve`` sets it)."""
        self.stuck = StuckButtons(self.rules.stuck)
        self._zone = ZoneInfo(self.site.facility.timezone)
        self._open: dict[tuple[str, str], str] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_seq = 0
        self._run: SyntheticRun | None = None
        self.last_synthetic: SyntheticResult | None = None
        self.synthetic_done = asyncio.Event()
        """Set whenever a synthetic run finishes (for tests and the CLI)."""
        self.processed = 0
        self._progress = asyncio.Condition()
        runtime.metrics.registry.register(_HealthCollector(self))

    # --- life cycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Adopt open trouble alerts, follow the event hub, arm the sweeps and the synthetic test."""
        self._adopt_open_troubles()
        now = self.runtime.clock.now()
        self.runtime.badge_watch.begin(now)
        self._last_seq = await self._head()
        self._task = asyncio.create_task(self._follow(), name="supervision")
        await asyncio.sleep(0)  # let the listener register with the hub before anything commits
        await self._reconcile()
        self.runtime.scheduler.schedule("supervision:badges", now + BADGE_SWEEP, self.sweep_badges)
        self._arm_synthetic(now)

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait_until(self, predicate: Any, timeout: float = 10.0) -> None:
        """Wait (tests) until ``predicate()`` holds after some event was handled."""

        async def wait() -> None:
            async with self._progress:
                await self._progress.wait_for(predicate)

        await asyncio.wait_for(wait(), timeout)

    async def _head(self) -> int:
        store = self.runtime.store
        if self.runtime._inline:
            return store.last_seq()
        return await asyncio.to_thread(store.last_seq)

    async def _follow(self) -> None:
        while not self._stopping:
            async for record in self.runtime.hub.listen():
                if record.seq <= self._last_seq:
                    continue
                if record.seq > self._last_seq + 1:
                    await self._catch_up(record.seq)
                await self._handle(record)
            if not self._stopping:  # dropped for lagging: listen again, read the gap back
                log.warning("supervision.lagged", after=self._last_seq)

    async def _catch_up(self, before: int) -> None:
        missed = await self.runtime.read(after=self._last_seq, limit=before - self._last_seq - 1)
        for record in missed:
            await self._handle(record)

    async def _handle(self, record: StoredEvent) -> None:
        self._last_seq = max(self._last_seq, record.seq)
        try:
            await self.on_event(record)
        except Exception:  # never let one event stop supervision
            log.exception("supervision.failed", type=record.type, seq=record.seq)
        self.processed += 1
        async with self._progress:
            self._progress.notify_all()

    # --- reacting to facts -------------------------------------------------------------------------

    async def on_event(self, record: StoredEvent) -> None:
        kind = record.type
        subject = record.subject.id
        if kind == "button.pressed":
            await self._pressed(record)
        elif kind == "device.silent":
            await self.trouble(
                f"device:{subject}",
                "silent",
                f"{self._device_name(subject)} silent since {record.payload.get('last_seen', '?')}",
                **self._where(subject),
            )
        elif kind == "device.online":
            await self.clear(f"device:{subject}", "silent", "heard from again")
        elif kind == "gateway.offline":
            count = len(record.payload.get("devices") or ())
            await self.trouble(
                f"device:{subject}",
                "offline",
                f"gateway {subject} offline (last will): {count} devices unsupervised",
                **self._where(subject),
            )
        elif kind == "gateway.online":
            await self.clear(f"device:{subject}", "offline", "back online")
        elif kind in ("device.battery", "badge.battery"):
            await self._battery(decode(record))
        elif kind == "button.stuck":
            await self.trouble(
                f"badge:{subject}",
                "stuck_button",
                f"badge {subject} button stuck ({record.payload.get('reason')})",
                unit=self._home_unit(subject),
            )
        elif kind == "synthetic.failed":
            await self.trouble(
                SYNTHETIC_SUBJECT,
                "synthetic_failed",
                f"daily end-to-end test failed at {record.payload.get('stage')}: "
                f"{record.payload.get('detail') or 'deadline passed'}",
            )
        elif kind == "synthetic.passed":
            await self.clear(SYNTHETIC_SUBJECT, "synthetic_failed", "the test passed again")
        elif self._run is not None and not self._run.done:
            await self._follow_synthetic(record)

    async def _pressed(self, record: StoredEvent) -> None:
        press = decode(record)
        assert isinstance(press, ButtonPressed)
        if self._run is not None and not self._run.done:
            await self._follow_synthetic(record)
        if self._is_synthetic_badge(press.badge):
            return
        stuck = self.stuck.pressed(press.badge, press.ts, press.hold_s)
        if stuck:
            await self.runtime.record(stuck)

    async def _battery(self, event: Event) -> None:
        if isinstance(event, DeviceBatteryChanged):
            subject, where = f"device:{event.device}", self._where(event.device)
            name = self._device_name(event.device)
        elif isinstance(event, BadgeBatteryChanged):
            subject, where = f"badge:{event.badge}", {"unit": self._home_unit(event.badge)}
            name = f"badge {event.badge}"
        else:
            return
        if event.level == BatteryLevel.LOW.value:
            await self.trouble(
                subject, "battery_low", f"{name} battery low ({event.battery:.0f} %)", **where
            )
        else:
            await self.clear(
                subject, "battery_low", f"battery {event.level} ({event.battery:.0f} %)"
            )

    # --- trouble alerts ----------------------------------------------------------------------------

    def open_troubles(self) -> Mapping[tuple[str, str], str]:
        """Open trouble alerts by ``(subject, trouble)``."""
        alerts = self.runtime.alerts.alerts
        return {k: a for k, a in self._open.items() if a in alerts and alerts[a].is_open}

    async def trouble(
        self,
        subject: str,
        trouble: str,
        description: str,
        *,
        unit: str | None = None,
        floor: str | None = None,
        area: str | None = None,
    ) -> str:
        """Raise a trouble alert unless one is open for ``(subject, trouble)``; returns its id."""
        key = (subject, trouble)
        existing = self.open_troubles().get(key)
        if existing is not None:
            return existing
        alert = await self.runtime.alerts.raise_trouble(
            subject=subject,
            trouble=trouble,
            description=description,
            unit=unit,
            floor=floor,
            area=area,
        )
        self._open[key] = alert.id
        log.warning("supervision.trouble", subject=subject, trouble=trouble, alert=alert.id)
        return alert.id

    async def clear(self, subject: str, trouble: str, note: str) -> None:
        """Resolve the open trouble alert of ``(subject, trouble)``, if any."""
        alert_id = self.open_troubles().get((subject, trouble))
        if alert_id is None:
            return
        with contextlib.suppress(IllegalTransition, NotFound):
            await self.runtime.alerts.act(
                alert_id,
                Action.RESOLVE,
                by=BY,
                via=BY,
                code="recovered",
                note=f"resolved by itself: {note}",
            )
        self._open.pop((subject, trouble), None)
        log.info("supervision.cleared", subject=subject, trouble=trouble, alert=alert_id)

    def _adopt_open_troubles(self) -> None:
        for alert in self.runtime.alerts.alerts.get_open():
            if alert.kind != TROUBLE_KIND:
                continue
            subject = alert.location.get("subject")
            trouble = alert.location.get("trouble")
            if subject and trouble:
                self._open[(str(subject), str(trouble))] = alert.id

    async def _reconcile(self) -> None:
        """After a restart: every device in trouble has its open trouble alert (a crash between
        the fact and its alert loses nothing)."""
        for state in list(self.runtime.health.states()):
            device = state.device
            if state.status is DeviceStatus.SILENT:
                await self.trouble(
                    f"device:{device}",
                    "silent",
                    f"{self._device_name(device)} silent since {self._local(state.last_seen)}",
                    **self._where(device),
                )
            elif state.status is DeviceStatus.OFFLINE:
                await self.trouble(
                    f"device:{device}",
                    "offline",
                    f"gateway {device} offline (last will)",
                    **self._where(device),
                )
            if state.battery_level is BatteryLevel.LOW:
                await self.trouble(
                    f"device:{device}",
                    "battery_low",
                    f"{self._device_name(device)} battery low ({state.battery} %)",
                    **self._where(device),
                )

    # --- badges not seen ---------------------------------------------------------------------------

    async def sweep_badges(self) -> None:
        """Report badges that crossed the not-seen threshold; runs every :data:`BADGE_SWEEP`."""
        now = self.runtime.clock.now()
        try:
            events: list[Event] = list(self.runtime.badge_watch.sweep(now))
            if events:
                await self.runtime.record(events)
                log.info("supervision.badges_not_seen", count=len(events))
        finally:
            self.runtime.scheduler.schedule(
                "supervision:badges", now + BADGE_SWEEP, self.sweep_badges
            )

    # --- the daily synthetic test ------------------------------------------------------------------

    def _arm_synthetic(self, now: datetime) -> None:
        test = self.rules.synthetic
        if test is None:
            return
        if self.injector is None:
            log.warning("supervision.synthetic_unarmed", reason="no MQTT publisher to inject with")
            return
        at = next_run(now, test.at, self._zone)
        self.runtime.scheduler.schedule("supervision:synthetic", at, self._scheduled_synthetic)

    async def _scheduled_synthetic(self) -> None:
        try:
            await self.run_synthetic()
        finally:
            self._arm_synthetic(self.runtime.clock.now())

    async def run_synthetic(self) -> None:
        """Inject the test badge's press now; the result follows as ``synthetic.passed`` or
        ``synthetic.failed`` (at the latest when the deadline passes)."""
        test = self.rules.synthetic
        if test is None or self.injector is None:
            raise RuntimeError("no synthetic test configured, or nothing to inject it with")
        clock = self.runtime.clock
        now = clock.now()
        seq = int(now.timestamp())
        if self._run is not None and not self._run.done and self._run.seq >= seq:
            seq = self._run.seq + 1
        run = SyntheticRun(seq=seq, test=test, started_at=now, started_mono=clock.monotonic())
        self._run = run
        self.synthetic_done.clear()
        payload = {
            "type": "button",
            "ts": now.isoformat(),
            "badge": test.badge,
            "seq": seq,
            "presses": self._presses_needed(),
            "gateway": test.gateway,
        }
        self.runtime.scheduler.schedule(
            "supervision:synthetic:deadline",
            now + timedelta(seconds=test.deadline_s),
            lambda: self._synthetic_deadline(run),
        )
        log.info("supervision.synthetic_started", badge=test.badge, gateway=test.gateway, seq=seq)
        try:
            await self.injector.inject(test.gateway, json.dumps(payload).encode())
        except Exception as error:  # a broker or network failure is the test's failure
            await self._synthetic_finished(run, passed=False, stage="publish", detail=str(error))

    def _is_synthetic_badge(self, badge: str) -> bool:
        return self.rules.synthetic is not None and badge == self.rules.synthetic.badge

    def _presses_needed(self) -> int:
        rules = self.site.activation.rules_for(None)
        for presses in range(1, 21):
            if rules.classify(presses, 0.0) is not None:
                return presses
        return 3

    async def _follow_synthetic(self, record: StoredEvent) -> None:
        run = self._run
        if run is None or run.done:
            return
        payload = record.payload
        badge = run.test.badge
        if record.type == "button.pressed":
            if payload.get("badge") == badge and payload.get("seq") == run.seq:
                run.stage = "pressed"
        elif record.type in ("alert.raised", "alert.joined"):
            if payload.get("badge") == badge and payload.get("press_seq") == run.seq:
                run.stage = "raised"
                run.alert = str(payload.get("alert"))
        elif run.alert is None or record.subject.id != run.alert:
            return
        elif record.type == "alert.notified":
            run.stage = "notified"
        elif record.type == "alert.undelivered":
            await self._synthetic_finished(
                run, passed=False, stage=run.stage, detail=str(payload.get("reason"))
            )
        elif record.type == "notice.status" and payload.get("status") in DELIVERED:
            await self._synthetic_finished(run, passed=True, stage="delivered")

    async def _synthetic_deadline(self, run: SyntheticRun) -> None:
        if not run.done:
            await self._synthetic_finished(
                run,
                passed=False,
                stage=run.stage,
                detail=f"no test recipient reached within {run.test.deadline_s:g} s",
            )

    async def _synthetic_finished(
        self, run: SyntheticRun, *, passed: bool, stage: str, detail: str = ""
    ) -> None:
        if run.done:
            return
        run.done = True
        clock = self.runtime.clock
        path_s = round(clock.monotonic() - run.started_mono, 6)
        self.runtime.scheduler.cancel("supervision:synthetic:deadline")
        test = run.test
        event: Event
        if passed and run.alert is not None:
            event = SyntheticPassed(
                ts=clock.now(),
                site=self.site.id,
                badge=test.badge,
                gateway=test.gateway,
                seq=run.seq,
                alert=run.alert,
                path_s=path_s,
            )
        else:
            event = SyntheticFailed(
                ts=clock.now(),
                site=self.site.id,
                badge=test.badge,
                gateway=test.gateway,
                seq=run.seq,
                stage=stage,
                path_s=path_s,
                deadline_s=test.deadline_s,
                alert=run.alert,
                detail=detail,
            )
        self.last_synthetic = SyntheticResult(
            passed=passed,
            at=clock.now(),
            path_s=path_s,
            stage=stage,
            alert=run.alert,
            detail=detail,
        )
        await self.runtime.record([event])
        if passed:
            log.info("supervision.synthetic_passed", path_s=path_s)
        else:
            log.error("supervision.synthetic_failed", path_s=path_s, stage=stage, detail=detail)
        if run.alert is not None:  # the test alert has done its job: close it
            with contextlib.suppress(IllegalTransition, NotFound):
                await self.runtime.alerts.act(
                    run.alert, Action.RESOLVE, by=BY, via=BY, code="test", note="synthetic test"
                )
        self.synthetic_done.set()

    # --- what the API and metrics show -------------------------------------------------------------

    def device_fields(self, device: str) -> dict[str, Any]:
        """Extra fields of ``device`` in ``GET /api/v1/devices``."""
        state = self.runtime.health.state(device)
        found = self.site.devices.get(device)
        fields: dict[str, Any] = {
            "supervised": state.status is DeviceStatus.ONLINE,
            "battery_level": state.battery_level.value,
            "gateway": found.gateway if found else None,
            "troubles": sorted(t for (s, t) in self.open_troubles() if s == f"device:{device}"),
        }
        test = self.rules.synthetic
        if test is not None and test.gateway == device:
            last = self.last_synthetic
            fields["synthetic"] = last.as_json() if last is not None else None
        return fields

    # --- helpers -----------------------------------------------------------------------------------

    def _where(self, device: str) -> dict[str, str | None]:
        found = self.site.devices.get(device)
        if found is None:
            return {}
        area = self.site.facility.areas.get(found.area) if found.area else None
        return {"unit": area.unit if area else None, "floor": found.floor, "area": found.area}

    def _device_name(self, device: str) -> str:
        found = self.site.devices.get(device)
        kind = _KIND_NAMES.get(found.kind.value, found.kind.value) if found else "device"
        return f"{kind} {device}"

    def _local(self, value: object) -> str:
        """An RFC 3339 time (or datetime) as site time, for people."""
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return f"{moment.astimezone(self._zone):%Y-%m-%d %H:%M}"

    def _home_unit(self, badge: str) -> str | None:
        wearer = self.site.wearer(badge)
        return wearer.home_unit if wearer else None


_KIND_NAMES = {
    "gateway": "gateway",
    "ir_monitor": "IR monitor",
    "bay_emitter": "bay emitter",
    "ble_beacon": "BLE beacon",
    "ble_locator": "BLE locator",
}


class _HealthCollector(Collector):
    """Device health, badges and the last synthetic test, read at scrape time."""

    def __init__(self, supervisor: Supervisor) -> None:
        self._s = supervisor

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runtime = self._s.runtime
        supervised = GaugeMetricFamily(
            "duress_device_supervised",
            "1 while a device is online and within its heartbeat interval; 0 when unknown, silent, "
            "offline (a gateway's last will) or unsupervised (its gateway is offline).",
            labels=["device", "kind", "status"],
        )
        battery = GaugeMetricFamily(
            "duress_device_battery_percent",
            "A device's last reported battery level.",
            labels=["device"],
        )
        last_seen = GaugeMetricFamily(
            "duress_device_last_seen_timestamp_seconds",
            "When a device was last heard from (Unix time).",
            labels=["device"],
        )
        for state in runtime.health.states():
            device = runtime.site.devices.get(state.device)
            kind = device.kind.value if device else ""
            supervised.add_metric(
                [state.device, kind, state.status.value],
                1.0 if state.status is DeviceStatus.ONLINE else 0.0,
            )
            if state.battery is not None:
                battery.add_metric([state.device], state.battery)
            if state.last_seen is not None:
                last_seen.add_metric([state.device], state.last_seen.timestamp())
        yield supervised
        yield battery
        yield last_seen
        levels = dict.fromkeys(BatteryLevel, 0)
        not_seen = 0
        for badge in runtime.badge_watch.states():
            levels[badge.battery_level] += 1
            not_seen += badge.not_seen
        badges = GaugeMetricFamily(
            "duress_badges_battery", "Badges by battery level.", labels=["level"]
        )
        for level, count in levels.items():
            badges.add_metric([level.value], count)
        yield badges
        yield GaugeMetricFamily(
            "duress_badges_not_seen",
            "Badges not heard from for the site's badge_not_seen_h hours.",
            value=not_seen,
        )
        troubles = GaugeMetricFamily(
            "duress_trouble_open", "Open trouble alerts, by trouble.", labels=["trouble"]
        )
        counts: dict[str, int] = {}
        for _, trouble in self._s.open_troubles():
            counts[trouble] = counts.get(trouble, 0) + 1
        for trouble, count in sorted(counts.items()):
            troubles.add_metric([trouble], count)
        yield troubles
        last = self._s.last_synthetic
        if last is not None:
            yield GaugeMetricFamily(
                "duress_synthetic_passed",
                "1 when the last daily synthetic end-to-end test passed, 0 when it failed.",
                value=1.0 if last.passed else 0.0,
            )
            yield GaugeMetricFamily(
                "duress_synthetic_path_seconds",
                "The last synthetic test's path time: injection to a test recipient's notice.",
                value=last.path_s,
            )
            yield GaugeMetricFamily(
                "duress_synthetic_last_run_timestamp_seconds",
                "When the last synthetic test finished (Unix time).",
                value=last.at.timestamp(),
            )


__all__ = [
    "BADGE_SWEEP",
    "PressInjector",
    "Supervisor",
    "SyntheticResult",
]
