"""Supervision of fixed devices and badges: who has been heard from, who has gone silent.

A projection of heartbeats (and of sightings, which also prove a device alive): each device is
``unknown`` until first heard, ``online`` while heard within its heartbeat interval times a tolerance,
and ``silent`` after. Transitions come back as events; the service stores them and arms the deadline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from duress.domain.events import DeviceCameOnline, DeviceWentSilent, Event

SILENCE_TOLERANCE = 2.0
"""A device is silent after missing this many heartbeat intervals (one lost heartbeat is not trouble)."""


class DeviceStatus(StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    SILENT = "silent"


@dataclass(frozen=True, slots=True)
class DeviceState:
    device: str
    status: DeviceStatus = DeviceStatus.UNKNOWN
    last_seen: datetime | None = None
    battery: float | None = None


class DeviceHealth:
    """Current health of every supervised device, keyed by id; ``intervals`` gives heartbeat seconds."""

    def __init__(
        self, intervals: Mapping[str, float], tolerance: float = SILENCE_TOLERANCE
    ) -> None:
        self._intervals = dict(intervals)
        self._tolerance = tolerance
        self._states = {device: DeviceState(device) for device in intervals}

    def __contains__(self, device: str) -> bool:
        return device in self._states

    def state(self, device: str) -> DeviceState:
        return self._states[device]

    def states(self) -> Iterable[DeviceState]:
        return self._states.values()

    def heard(self, device: str, ts: datetime, battery: float | None = None) -> list[Event]:
        """Record that ``device`` was heard at ``ts``; returns ``DeviceCameOnline`` on a change."""
        old = self._states[device]
        if old.last_seen is not None and ts < old.last_seen:
            return []  # late news: it does not make the device any fresher
        new = replace(
            old,
            status=DeviceStatus.ONLINE,
            last_seen=ts,
            battery=battery if battery is not None else old.battery,
        )
        self._states[device] = new
        if old.status is DeviceStatus.ONLINE:
            return []
        return [DeviceCameOnline(ts=ts, device=device, battery=new.battery)]

    def deadline(self, device: str) -> datetime | None:
        """When ``device`` turns silent unless heard from again (None when never heard)."""
        state = self._states[device]
        if state.last_seen is None or state.status is not DeviceStatus.ONLINE:
            return None
        return state.last_seen + timedelta(seconds=self._intervals[device] * self._tolerance)

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

    def apply(self, event: Event) -> None:
        """Fold a stored event back in (used to rebuild state at start-up)."""
        if isinstance(event, DeviceCameOnline) and event.device in self._states:
            self.heard(event.device, event.ts, event.battery)
        elif isinstance(event, DeviceWentSilent) and event.device in self._states:
            state = self._states[event.device]
            self._states[event.device] = replace(
                state, status=DeviceStatus.SILENT, last_seen=event.last_seen
            )
