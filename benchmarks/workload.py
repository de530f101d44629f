"""Workloads shared by the benchmarks: native sightings with real ids of a site."""

from __future__ import annotations

import random
from typing import Any


def sightings(site: Any, rng: random.Random, count: int, ts: str) -> list[dict[str, Any]]:
    """``count`` native sightings at ``ts``: half IR, half BLE (RSSI -95..-55 dBm), random badges
    and devices of ``site``."""
    badges = sorted(site.badges)
    ir = sorted(d.id for d in site.devices.values() if d.kind.is_ir)
    ble = sorted(d.id for d in site.devices.values() if d.kind.is_ble)
    out: list[dict[str, Any]] = []
    for _ in range(count):
        if rng.random() < 0.5:
            out.append(
                {
                    "type": "sighting",
                    "ts": ts,
                    "badge": rng.choice(badges),
                    "device": rng.choice(ir),
                    "kind": "ir",
                }
            )
        else:
            out.append(
                {
                    "type": "sighting",
                    "ts": ts,
                    "badge": rng.choice(badges),
                    "device": rng.choice(ble),
                    "kind": "ble",
                    "rssi": round(rng.uniform(-95, -55), 1),
                }
            )
    return out
