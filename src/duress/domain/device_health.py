"""Supervision of fixed devices: who has been heard from, who has gone silent, who is unsupervised.

A projection of heartbeats (and of sightings, which also prove a device alive): each device is
``unknown`` until first heard, ``online`` while heard within its heartbeat interval times a tolerance,
and ``silent`` after. A gateway whose last will arrived is ``offline`` and every device it carries is
``unsupervised`` at once (we cannot hear them, so we cannot say they are fine); when the gateway comes
back they return to what they were and their silence is counted again from that moment.
Battery readings move a device between the levels of :class:`BatteryThresholds`. Transitions come
back as events; the service stores them and arms the deadline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from duress.domain.events import (
    DeviceBatteryChanged,
    DeviceCameOnline,
    DeviceWentSilent,
    Event,
    GatewayCameOnline,
    GatewayWentOffline,
)
from duress.domain.supervision import BatteryLevel, BatteryThresholds

SILENCE_TOLERANCE = 2.0
"""A device is silent after missing this many heartbeat intervals (one lost heartbeat is not trouble)."""


class DeviceStatus(StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    SILENT = "silent"
    OFFLINE = "offline"
    """A gateway whose last will arrived."""
    UNSUPERVISED = "unsupervised"
    """A device carried by an offline gateway."""


@dataclass(frozen=True, slots=True)
class DeviceState:
    device: str
    status: DeviceStatus = DeviceStatus.UNKNOWN
    last_seen: datetime | None = None
    battery: float | None = None
    battery_level: BatteryLevel = BatteryLevel.OK
    supervised_from: datetime | None = None
    """Silence is counted from the later of this and ``last_seen`` (a gateway's return)."""
    held: DeviceStatus | None = None
    """The status before the device's gateway went offline (restored when it comes back)."""
    offline_since: datetime | None = None


class DeviceHealth:
    """Current health of every supervised device, keyed by id; ``intervals`` gives heartbeat seconds,
    ``gateways`` the gateway that carries each device (if any)."""

    def __init__(
        self,
        intervals: Mapping[str, float],
        tolerance: float = SILENCE_TOLERANCE,
        *,
        gateways: Mapping[str, str | None] | None = None,
        battery: BatteryThresholds | None = None,
    ) -> None:
        self._intervals = dict(intervals)
        self._tolerance = tolerance
        self._states = {device: DeviceState(device) for device in intervals}
        self._carried: dict[str, list[str]] = {}
        for device, gateway in (gateways or {}).items():
            if gateway is not None and gateway in self._states and device in self._states:
                self._carried.setdefault(gateway, []).append(device)
        self._battery = battery or BatteryThresholds()

    def __contains__(self, device: str) -> bool:
        return device in self._states

    def state(self, device: str) -> DeviceState:
        return self._states[device]

    def states(self) -> Iterable[DeviceState]:
        return self._states.values()

    def carried_by(self, gateway: str) -> list[str]:
        """The devices that report through ``gateway``."""
        return list(self._carried.get(gateway, ()))

    def heard(self, device: str, ts: datetime, battery: float | None = None) -> list[Event]:
        """Record that ``device`` was heard at ``ts``; returns ``DeviceCameOnline`` on a change (and
        ``gateway.online`` first when an offline gateway is heard, ``device.battery`` when its battery
        crosses a threshold)."""
        old = self._states[device]
        if battery is None and old.status is DeviceStatus.ONLINE and old.held is None:
            # The common case (a sighting from a device that is fine): only ``last_seen`` moves.
            if old.last_seen is None or ts > old.last_seen:
                self._states[device] = DeviceState(
                    device=device,
                    status=DeviceStatus.ONLINE,
                    last_seen=ts,
                    battery=old.battery,
                    battery_level=old.battery_level,
                    supervised_from=old.supervised_from,
                    offline_since=old.offline_since,
                )
            return []
        events: list[Event] = []
        if old.status is DeviceStatus.OFFLINE:
            events += self.gateway_online(device, ts)
            old = self._states[device]
        if old.last_seen is not None and ts < old.last_seen:
            return events  # late news: it does not make the device any fresher
        new = replace(
            old,
            status=DeviceStatus.ONLINE,
            last_seen=ts,
            battery=battery if battery is not None else old.battery,
            held=None,
        )
        if old.status is not DeviceStatus.ONLINE:
            events.append(DeviceCameOnline(ts=ts, device=device, battery=new.battery))
        if battery is not None:
            level = self._battery.level(battery, old.battery_level)
            if level is not old.battery_level:
                new = replace(new, battery_level=level)
                events.append(
                    DeviceBatteryChanged(
                        ts=ts,
                        device=device,
                        battery=battery,
                        level=level.value,
                        previous=old.battery_level.value,
                    )
                )
        self._states[device] = new
        return events

    def deadline(self, device: str) -> datetime | None:
        """When ``device`` turns silent unless heard from again (None when never heard, or not
        supervised now)."""
        state = self._states[device]
        if state.last_seen is None or state.status is not DeviceStatus.ONLINE:
            return None
        start = state.last_seen
        if state.supervised_from is not None and state.supervised_from > start:
            start = state.supervised_from
        return start + timedelta(seconds=self._intervals[device] * self._tolerance)

    def check(self, device: str, now: datetime) -> list[Event]:
        """Mark ``device`` silent if its deadline has passed; returns ``DeviceWentSilent`` if so."""
        due = self.deadline(device)
        state = self._states[device]
        if due is None or now < due or state.last_seen is None:
            return []
        self._states[device] = replace(state, status=DeviceStatus.SILENT)
        silent_s = (now - state.last_seen).total_seconds()
        return [
            DeviceWentSilent(ts=now, device=device, last_seen=state.last_seen, silent_s=silent_s)
        ]

    # --- gateways' last wills -----------------------------------------------------------------------

    def gateway_offline(self, gateway: str, ts: datetime) -> list[Event]:
        """The gateway's last will: it is ``offline`` and its devices ``unsupervised``, at once.
        Returns ``gateway.offline`` (nothing when it is offline already)."""
        state = self._states[gateway]
        if state.status is DeviceStatus.OFFLINE:
            return []
        devices = tuple(self._carried.get(gateway, ()))
        self._mark_offline(gateway, devices, ts)
        return [GatewayWentOffline(ts=ts, gateway=gateway, devices=devices)]

    def gateway_online(self, gateway: str, ts: datetime) -> list[Event]:
        """An offline gateway is back: its devices return to their status before, their silence
        counted from ``ts``. Returns ``gateway.online`` (nothing when it was not offline)."""
        state = self._states[gateway]
        if state.status is not DeviceStatus.OFFLINE:
            return []
        devices = tuple(self._carried.get(gateway, ()))
        offline_s = (
            (ts - state.offline_since).total_seconds() if state.offline_since is not None else None
        )
        self._mark_online(gateway, devices, ts)
        return [GatewayCameOnline(ts=ts, gateway=gateway, devices=devices, offline_s=offline_s)]

    def _mark_offline(self, gateway: str, devices: Iterable[str], ts: datetime) -> None:
        state = self._states[gateway]
        self._states[gateway] = replace(
            state, status=DeviceStatus.OFFLINE, held=state.status, offline_since=ts
        )
        for device in devices:
            carried = self._states[device]
            if carried.status is DeviceStatus.UNSUPERVISED:
                continue
            self._states[device] = replace(
                carried, status=DeviceStatus.UNSUPERVISED, held=carried.status
            )

    def _mark_online(self, gateway: str, devices: Iterable[str], ts: datetime) -> None:
        state = self._states[gateway]
        back = DeviceStatus.ONLINE if state.last_seen is not None else DeviceStatus.UNKNOWN
        self._states[gateway] = replace(
            state, status=back, held=None, offline_since=None, supervised_from=ts
        )
        for device in devices:
            carried = self._states[device]
            if carried.status is not DeviceStatus.UNSUPERVISED:
                continue
            self._states[device] = replace(
                carried,
                status=carried.held or DeviceStatus.UNKNOWN,
                held=None,
                supervised_from=ts,
            )

    # --- start-up -----------------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Fold a stored event back in (used to rebuild state at start-up)."""
        if isinstance(event, DeviceCameOnline) and event.device in self._states:
            self.heard(event.device, event.ts, event.battery)
        elif isinstance(event, DeviceWentSilent) and event.device in self._states:
            state = self._states[event.device]
            self._states[event.device] = replace(
                state, status=DeviceStatus.SILENT, last_seen=event.last_seen
            )
        elif isinstance(event, DeviceBatteryChanged) and event.device in self._states:
            state = self._states[event.device]
            self._states[event.device] = replace(
                state, battery=event.battery, battery_level=BatteryLevel(event.level)
            )
        elif isinstance(event, GatewayWentOffline) and event.gateway in self._states:
            known = [d for d in event.devices if d in self._states]
            self._mark_offline(event.gateway, known, event.ts)
        elif (
            isinstance(event, GatewayCameOnline)
            and event.gateway in self._states
            and self._states[event.gateway].status is DeviceStatus.OFFLINE
        ):
            known = [d for d in event.devices if d in self._states]
            self._mark_online(event.gateway, known, event.ts)
