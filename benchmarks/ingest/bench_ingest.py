"""Sightings through the real broker into located badges, and the broker's own ceiling.

Workload: the example hospital; the runtime with a SQLite store in a temporary folder; the
Mosquitto broker on 127.0.0.1:1883; one publisher (aiomqtt, QoS 0) and the consumer
(:class:`~duress.ingest.mqtt.MqttIngest`) in one process and event loop, on this 2-core machine
(the broker has the other core).

- ``batched_per_s``: messages of 100 native sightings (IR and BLE mixed, real ids) on
  ``<prefix>/<site>/gw/<gw>/sightings``; sightings accepted by the engine per second of wall time.
- ``unbatched_per_s``: the same with one sighting per message.
- ``broker_ceiling_per_s`` / ``broker_ceiling_batched_per_s``: the same publisher and payloads, but
  the subscriber only counts messages (sightings per second it could be handed).
- ``lost``: sightings published but not accepted by the engine (the publisher keeps at most a
  window of messages in flight, so that a default broker never has to drop; loss would show here).
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt

from duress.config.loader import load_site
from duress.ingest.mqtt import MqttIngest
from duress.service.bootstrap import build_runtime

SITE = Path(__file__).resolve().parents[2] / "examples" / "mercy-general"
HOST, PORT = "127.0.0.1", 1883
BATCH = 100
BATCHED_MESSAGES = 2000  # 200,000 sightings
UNBATCHED_MESSAGES = 40_000
WINDOW = 400
"""Messages the publisher lets ahead of the consumer."""


def _payloads(site: Any, count: int, per_message: int, rng: random.Random) -> list[bytes]:
    badges = sorted(site.badges)
    ir = sorted(d.id for d in site.devices.values() if d.kind.is_ir)
    ble = sorted(d.id for d in site.devices.values() if d.kind.is_ble)
    ts = datetime.now(UTC).isoformat()
    out = []
    for _ in range(count):
        messages: list[dict[str, Any]] = []
        for _ in range(per_message):
            if rng.random() < 0.5:
                messages.append(
                    {
                        "type": "sighting",
                        "ts": ts,
                        "badge": rng.choice(badges),
                        "device": rng.choice(ir),
                        "kind": "ir",
                    }
                )
            else:
                messages.append(
                    {
                        "type": "sighting",
                        "ts": ts,
                        "badge": rng.choice(badges),
                        "device": rng.choice(ble),
                        "kind": "ble",
                        "rssi": round(rng.uniform(-95, -55), 1),
                    }
                )
        out.append(json.dumps(messages[0] if per_message == 1 else {"messages": messages}).encode())
    return out


async def _publish(
    topic: str,
    payloads: list[bytes],
    per_message: int,
    delivered: Callable[[], int],
    wait: Callable[[Callable[[], bool]], Awaitable[None]],
) -> float:
    """Publish every payload (QoS 0) with ``mosquitto_pub -l``, a C publisher in its own process
    that sends each line of its input as one message, keeping at most WINDOW messages ahead of
    the receiver; seconds until all arrived."""
    publisher = await asyncio.create_subprocess_exec(
        "mosquitto_pub",
        "-h",
        HOST,
        "-p",
        str(PORT),
        "-t",
        topic,
        "-q",
        "0",
        "-l",
        "-i",
        f"bench-pub-{uuid.uuid4().hex[:8]}",
        stdin=asyncio.subprocess.PIPE,
    )
    assert publisher.stdin is not None
    started = time.perf_counter()
    try:
        step = WINDOW // 2
        for i in range(0, len(payloads), step):
            publisher.stdin.write(b"\n".join(payloads[i : i + step]) + b"\n")
            await publisher.stdin.drain()
            ahead = (i + step - WINDOW) * per_message
            await wait(lambda ahead=ahead: delivered() >= ahead)
        await wait(lambda: delivered() >= len(payloads) * per_message)
        return time.perf_counter() - started
    finally:
        publisher.stdin.close()
        await publisher.wait()


async def _ceiling(site: Any, per_message: int, count: int, rng: random.Random) -> float:
    """Sightings per second a subscriber that only counts is handed by the broker."""
    topic = f"bench/ceiling-{uuid.uuid4().hex[:8]}"
    payloads = _payloads(site, count, per_message, rng)
    counted = 0
    progress = asyncio.Condition()

    async def wait(predicate: Callable[[], bool]) -> None:
        async with progress:
            await asyncio.wait_for(progress.wait_for(predicate), 30)

    async with aiomqtt.Client(HOST, PORT, identifier=f"bench-count-{uuid.uuid4().hex[:8]}") as sub:
        await sub.subscribe(topic)

        async def count_messages() -> None:
            nonlocal counted
            async for _ in sub.messages:
                counted += per_message
                async with progress:
                    progress.notify_all()

        counter = asyncio.create_task(count_messages())
        try:
            elapsed = await _publish(topic, payloads, per_message, lambda: counted, wait)
        finally:
            counter.cancel()
            await asyncio.gather(counter, return_exceptions=True)
    return count * per_message / elapsed


async def _through_duress(site: Any, folder: str, rng: random.Random) -> dict[str, Any]:
    runtime = build_runtime(site, store_url=f"sqlite:///{folder}/bench.db")
    await runtime.start()
    site_id = f"bench-{uuid.uuid4().hex[:8]}"
    ingest = MqttIngest(
        runtime,
        url=f"mqtt://{HOST}:{PORT}",
        prefix="bench",
        site_id=site_id,
        client_id=f"bench-{site_id}",
        session_expiry_s=60,
    )
    task = asyncio.create_task(ingest.run())
    figures: dict[str, Any] = {}
    try:
        await asyncio.wait_for(ingest.connected.wait(), 10)
        topic = f"bench/{site_id}/gw/gw-f1-1/sightings"

        def delivered() -> int:
            return ingest.stats.accepted + ingest.stats.rejected

        async def wait(predicate: Callable[[], bool]) -> None:
            await ingest.wait_until(predicate, timeout=30)

        published = 0
        for name, count, per in (
            ("batched", BATCHED_MESSAGES, BATCH),
            ("unbatched", UNBATCHED_MESSAGES, 1),
        ):
            payloads = _payloads(site, count, per, rng)
            before, base = ingest.stats.accepted, delivered()
            try:
                elapsed = await _publish(
                    topic, payloads, per, lambda base=base: delivered() - base, wait
                )
            except TimeoutError:
                elapsed = float("nan")
            published += count * per
            figures[f"{name}_per_s"] = round((ingest.stats.accepted - before) / elapsed)
            figures[f"{name}_seconds"] = round(elapsed, 2)
        figures["published"] = published
        figures["accepted"] = ingest.stats.accepted
        figures["rejected"] = ingest.stats.rejected
        figures["dropped"] = ingest.lanes.dropped
        figures["lost"] = published - ingest.stats.accepted
        figures["located_badges"] = len(runtime.locator.snapshot(runtime.clock.now()))
    finally:
        ingest.stop()
        await asyncio.wait_for(task, 10)
        await runtime.stop()
    return figures


async def _main() -> dict[str, Any]:
    site = load_site(SITE)
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as folder:
        figures = await _through_duress(site, folder, rng)
    ceiling = round(await _ceiling(site, 1, UNBATCHED_MESSAGES, rng))
    ceiling_batched = round(await _ceiling(site, BATCH, BATCHED_MESSAGES // 2, rng))
    figures["broker_ceiling_per_s"] = ceiling
    figures["broker_ceiling_batched_per_s"] = ceiling_batched
    figures["ratio_unbatched"] = round(figures["unbatched_per_s"] / ceiling, 3)
    figures["ratio_batched"] = round(figures["batched_per_s"] / ceiling_batched, 3)
    return figures


def run() -> dict[str, Any]:
    return asyncio.run(_main())


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
