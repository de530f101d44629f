"""Fixed infrastructure: gateways, IR room monitors and bay emitters, BLE beacons and locators.

Every device is supervised: it has an expected heartbeat interval, and silence past it is trouble.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from duress.domain.facility import Point


class DeviceKind(StrEnum):
    GATEWAY = "gateway"
    IR_MONITOR = "ir_monitor"
    """An infrared room monitor: a badge that sees its code is in that room."""
    BAY_EMITTER = "bay_emitter"
    """An infrared emitter aimed at a bay or bed area: bed-level certainty."""
    IR_DOOR = "ir_door"
    """An infrared door monitor (a "virtual wall") aimed across a room's doorway; its ``area`` is
    the room. A badge that sees its code is in that doorway, going in or out: not evidence of
    being in the room by itself, but it tells an entrant's first code of the room from a leak
    to someone walking past the open door."""
    BLE_BEACON = "ble_beacon"
    """A BLE beacon at a known position; badges report its RSSI."""
    BLE_LOCATOR = "ble_locator"
    """A fixed BLE receiver at a known position; it reports the RSSI of badges it hears."""

    @property
    def is_ir(self) -> bool:
        return self in (DeviceKind.IR_MONITOR, DeviceKind.BAY_EMITTER)

    @property
    def is_ir_door(self) -> bool:
        return self is DeviceKind.IR_DOOR

    @property
    def is_ble(self) -> bool:
        return self in (DeviceKind.BLE_BEACON, DeviceKind.BLE_LOCATOR)


DEFAULT_HEARTBEAT_S: dict[DeviceKind, float] = {
    DeviceKind.GATEWAY: 60.0,
    DeviceKind.IR_MONITOR: 300.0,
    DeviceKind.BAY_EMITTER: 300.0,
    DeviceKind.IR_DOOR: 300.0,
    DeviceKind.BLE_BEACON: 900.0,
    DeviceKind.BLE_LOCATOR: 60.0,
}


@dataclass(frozen=True, slots=True)
class Device:
    """A fixed device. IR devices name the ``area`` they cover; BLE devices have a ``position``.

    ``tx_power`` is a BLE beacon's calibrated RSSI at one metre (dBm).
    """

    id: str
    kind: DeviceKind
    floor: str
    heartbeat_s: float
    area: str | None = None
    position: Point | None = None
    gateway: str | None = None
    tx_power: float | None = None
    name: str = ""
