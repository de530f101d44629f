"""IR supervision in the location engine: which IR devices work, so which rooms' IR silence is
evidence.

A second without any code of a room's IR says the badge is not in that room only while the room's
IR works. An IR device heard (a code, or a heartbeat) within ``after`` of its heartbeat intervals
works; one not heard for longer, counted from its last code or heartbeat or from the first check,
is down, as device supervision judges it (decision 0024). A room whose IR devices (its monitor and
its bay emitters) are all down is *offline*: a room without IR until one of them is heard again.
Times are epoch seconds; nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


class IrSupervision:
    __slots__ = ("_checked_at", "_down", "_heard", "_intervals", "_rooms", "_since", "offline")

    def __init__(self, rooms: Mapping[str, str], intervals: Mapping[str, float]) -> None:
        """``rooms``: each IR device's room (its zone-level place); ``intervals``: the heartbeat
        interval of each supervised one (a device without one is never taken as down)."""
        self._rooms: dict[str, str] = dict(rooms)
        self._intervals: dict[str, float] = {
            d: s for d, s in intervals.items() if d in self._rooms and s > 0.0
        }
        self._heard: dict[str, float] = {}
        self._down: set[str] = set()
        self._since = math.nan
        self._checked_at = -math.inf
        self.offline: frozenset[str] = frozenset()
        """The rooms whose IR devices are all down."""

    def __contains__(self, device: str) -> bool:
        return device in self._rooms

    def heard(self, device: str, t: float) -> bool:
        """``device`` sent a code or a heartbeat at ``t``; True when :attr:`offline` changed."""
        if t <= self._heard.get(device, -math.inf):
            return False
        self._heard[device] = t
        if device not in self._down:
            return False
        self._down.discard(device)
        return self._rooms_changed()

    def check(self, now: float, after: float) -> bool:
        """Take a device not heard for ``after`` of its intervals as down (``after`` 0: never),
        at most once a second; True when :attr:`offline` changed."""
        if after <= 0.0 or now - self._checked_at < 1.0:
            return False
        self._checked_at = now
        if math.isnan(self._since):
            self._since = now
        since = self._since
        heard = self._heard
        down = {
            device
            for device, interval in self._intervals.items()
            if now - heard.get(device, since) > after * interval
        }
        if down == self._down:
            return False
        self._down = down
        return self._rooms_changed()

    def _rooms_changed(self) -> bool:
        rooms = self._rooms
        working = {room for device, room in rooms.items() if device not in self._down}
        offline = frozenset(room for room in rooms.values() if room not in working)
        if offline == self.offline:
            return False
        self.offline = offline
        return True
