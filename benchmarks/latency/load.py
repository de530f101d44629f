"""The background load: native sighting batches posted to Duress at a fixed rate, in its own process.

``python -m benchmarks.latency.load URL AUTHORIZATION RATE BATCH SECONDS`` posts ``RATE`` sightings per second in
batches of ``BATCH`` (one batch every ``BATCH / RATE`` seconds, on a schedule; a late batch is sent at
once, never bunched beyond the schedule) over one keep-alive connection, for at most ``SECONDS`` or
until SIGTERM (``POOL_S`` seconds of batches are generated before the clock starts
and replayed in a loop, so the generator's own CPU stays small), then prints one JSON line with what it sent and what the server accepted.

Sightings are what gateways in a real ward would send: each located badge is in one room at a time
and is heard by that room's IR device (40 %) and its three nearest BLE beacons (60 %, RSSI from a
log-distance model with 4 dB of noise); every badge moves to another random room every 30-90 s.
Timestamps are the current time.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from benchmarks.latency.site import bench_site, located_badges, neighbourhoods

POOL_S = 10.0
"""Seconds of distinct batches generated up front, then replayed in a loop."""


def main(url: str, auth: str, rate: float, batch: int, seconds: float) -> dict[str, Any]:
    site = bench_site("http://127.0.0.1:9/unused")
    badges = located_badges(site)
    rooms = neighbourhoods(site)
    rng = random.Random(7)
    where = {b: rng.choice(rooms) for b in badges}
    move_at = {b: rng.uniform(30, 90) for b in badges}
    stop = False

    def halt(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, halt)
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    period = batch / rate
    pool = int(POOL_S / period)
    bodies = [_body(batch, badges, rooms, where, move_at, n * period, rng) for n in range(pool)]
    sent = accepted = late = batches = 0
    print("running", flush=True)
    started = time.monotonic()
    with httpx.Client(timeout=10, headers=headers) as client:
        while not stop and time.monotonic() - started < seconds:
            due = started + batches * period
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > period:
                late += 1
            ts = datetime.now(UTC).isoformat().encode()
            response = client.post(url, content=bodies[batches % pool].replace(b"@TS@", ts))
            sent += batch
            batches += 1
            if response.status_code < 300:
                accepted += response.json()["accepted"]
    elapsed = time.monotonic() - started
    return {
        "sent": sent,
        "accepted": accepted,
        "seconds": round(elapsed, 2),
        "per_s": round(accepted / elapsed) if elapsed else 0,
        "late_batches": late,
    }


def _body(
    batch: int,
    badges: list[str],
    rooms: list[dict[str, Any]],
    where: dict[str, dict[str, Any]],
    move_at: dict[str, float],
    elapsed: float,
    rng: random.Random,
) -> bytes:
    """One batch, its timestamps left as ``@TS@`` (filled in when it is sent)."""
    messages: list[dict[str, Any]] = []
    for _ in range(batch):
        badge = rng.choice(badges)
        if elapsed >= move_at[badge]:
            where[badge] = rng.choice(rooms)
            move_at[badge] = elapsed + rng.uniform(30, 90)
        room = where[badge]
        if rng.random() < 0.4:
            messages.append(
                {
                    "type": "sighting",
                    "ts": "@TS@",
                    "badge": badge,
                    "device": room["ir"],
                    "kind": "ir",
                }
            )
        else:
            beacon, rssi = rng.choice(room["ble"])
            messages.append(
                {
                    "type": "sighting",
                    "ts": "@TS@",
                    "badge": badge,
                    "device": beacon,
                    "kind": "ble",
                    "rssi": round(rssi + rng.gauss(0, 4), 1),
                }
            )
    return json.dumps({"messages": messages}, separators=(",", ":")).encode()


if __name__ == "__main__":
    url, auth = sys.argv[1], sys.argv[2]
    rate, batch, seconds = float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    print(json.dumps(main(url, auth, rate, batch, seconds)), flush=True)
