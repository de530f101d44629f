"""The background load: native sighting batches sent to Duress at a fixed rate, in its own process.

``python -m benchmarks.latency.load TARGET AUTHORIZATION RATE BATCH SECONDS`` sends ``RATE``
sightings per second in batches of ``BATCH`` (one batch every ``BATCH / RATE`` seconds, on a
schedule; a late batch is sent at once, never bunched beyond the schedule), for at most ``SECONDS``
or until SIGTERM, then prints one JSON line with what it sent (and, over HTTP, what the server
accepted). ``POOL_S`` seconds of batches are generated before the clock starts and replayed in a
loop, so the generator's own CPU stays small.

``TARGET`` is either the ingest URL (``http://...``: ``POST`` over one keep-alive connection, with
``AUTHORIZATION``) or ``mqtt://HOST:PORT/TOPIC``: each batch published as one native batch message
(QoS 0, as gateways send sightings) on ``TOPIC`` by one paho client, as a gateway would.

Sightings are what gateways in a real ward would send: each located badge is in one room at a time
and is heard by that room's IR device (40 %) and its three nearest BLE beacons (60 %, RSSI from a
log-distance model with 4 dB of noise); every badge moves to another random room every 30-90 s.
Timestamps are the current time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

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
    period = batch / rate
    pool = int(POOL_S / period)
    bodies = [_body(batch, badges, rooms, where, move_at, n * period, rng) for n in range(pool)]
    send, close = _mqtt_sender(url) if url.startswith("mqtt://") else _http_sender(url, auth)
    sent = accepted = late = batches = 0
    print("running", flush=True)
    started = time.monotonic()
    try:
        while not stop and time.monotonic() - started < seconds:
            due = started + batches * period
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > period:
                late += 1
            ts = datetime.now(UTC).isoformat().encode()
            accepted += send(bodies[batches % pool].replace(b"@TS@", ts))
            sent += batch
            batches += 1
    finally:
        close()
    elapsed = time.monotonic() - started
    figures: dict[str, Any] = {
        "transport": "mqtt" if url.startswith("mqtt://") else "http",
        "sent": sent,
        "seconds": round(elapsed, 2),
        "sent_per_s": round(sent / elapsed) if elapsed else 0,
        "late_batches": late,
    }
    if not url.startswith("mqtt://"):  # over MQTT the benchmark counts what the server took
        figures["accepted"] = accepted
        figures["per_s"] = round(accepted / elapsed) if elapsed else 0
    return figures


Sender = tuple[Callable[[bytes], int], Callable[[], None]]


def _http_sender(url: str, auth: str) -> Sender:
    """POST each batch; returns how many messages the server accepted."""
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    client = httpx.Client(timeout=10, headers=headers)

    def send(body: bytes) -> int:
        response = client.post(url, content=body)
        return int(response.json()["accepted"]) if response.status_code < 300 else 0

    return send, client.close


def _mqtt_sender(target: str) -> Sender:
    """Publish each batch as one message (QoS 0) on the topic of ``mqtt://HOST:PORT/TOPIC``."""
    import paho.mqtt.client as mqtt

    where = urlsplit(target)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,  # type: ignore[attr-defined]  # paho re-exports it
        client_id=f"latency-load-{os.getpid()}",
        protocol=mqtt.MQTTv311,
    )
    client.max_queued_messages_set(0)
    client.connect(where.hostname or "127.0.0.1", where.port or 1883)
    client.loop_start()
    topic = where.path.lstrip("/")

    def send(body: bytes) -> int:
        client.publish(topic, body, qos=0)
        return 0

    def close() -> None:
        client.loop_stop()
        client.disconnect()

    return send, close


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
