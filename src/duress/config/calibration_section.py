"""The site's ``calibration:`` section: what a survey walk measured (``duress calibrate`` writes it).

::

    calibration:
      source: survey walk 2026-11-30, badge B-0001, 2,310 readings
      path_loss_exponent: 2.47
      wall_loss_db: 4.6
      tx_power:
        ble-f1-01: -61.2
        ble-f1-02: -57.8

Each ``tx_power`` entry must name a BLE beacon or locator of the site; it replaces the device's
configured ``tx_power``. ``path_loss_exponent`` and ``wall_loss_db`` replace the engine's
``ble_path_loss_exponent`` and ``ble_grid_wall_db`` (docs/location.md, "Calibration from a survey
walk"). Problems are reported like the rest of the loader (file, line, key path, fix).
"""

from __future__ import annotations

from collections.abc import Mapping

from duress.config.reader import Reader, suggest
from duress.config.source import Node
from duress.domain.calibration import EXPONENT_RANGE, WALL_LOSS_RANGE_DB, Calibration
from duress.domain.devices import Device

CALIBRATION_KEYS = ("source", "path_loss_exponent", "wall_loss_db", "tx_power")


def read_calibration_section(
    node: Node, r: Reader, devices: Mapping[str, Device]
) -> Calibration | None:
    """The section as a :class:`Calibration`, or None (problems recorded in ``r``)."""
    m = r.mapping(node, "calibration", CALIBRATION_KEYS)
    if m is None:
        return None
    source = r.text(m.get("source"), "calibration.source") or ""
    exponent = r.number(
        m.get("path_loss_exponent"),
        "calibration.path_loss_exponent",
        minimum=EXPONENT_RANGE[0],
        maximum=EXPONENT_RANGE[1],
    )
    wall_loss = r.number(
        m.get("wall_loss_db"),
        "calibration.wall_loss_db",
        minimum=WALL_LOSS_RANGE_DB[0],
        maximum=WALL_LOSS_RANGE_DB[1],
        unit=" (dB)",
    )
    tx_power: dict[str, float] = {}
    table = m.get("tx_power")
    if table is not None and not table.is_mapping:
        r.fail(table, "calibration.tx_power", "write one `<device id>: <dBm at 1 m>` per line")
    elif table is not None:
        for device_id, value_node in table.items():
            path = f"calibration.tx_power.{device_id}"
            device = devices.get(device_id)
            if device is None:
                ble = [d for d, dev in devices.items() if dev.kind.is_ble]
                r.fail(
                    value_node,
                    path,
                    f"{device_id!r} is not a device of the site{suggest(device_id, ble)}; "
                    "calibrate the site's own devices (run duress calibrate on this site)",
                )
                continue
            if not device.kind.is_ble:
                r.fail(
                    value_node,
                    path,
                    f"{device_id!r} is a {device.kind}, which has no transmit power; "
                    "only BLE beacons and locators are calibrated, remove it",
                )
                continue
            value = r.number(value_node, path, minimum=-120, maximum=20, unit=" (dBm)")
            if value is not None:
                tx_power[device_id] = value
    return Calibration(
        tx_power=tx_power, path_loss_exponent=exponent, wall_loss_db=wall_loss, source=source
    )
