"""Sightings through the real broker into located badges, and the broker's own ceiling.

Workload: the example hospital; the runtime with a SQLite store in a temporary folder; a
Mosquitto of the benchmark's own on a free loopback port, configured as ``duress mqtt-config``
configures a site's (:mod:`benchmarks.broker`: ``set_tcp_nodelay true``); one publisher (aiomqtt, QoS 0) and the consumer
(:class:`~duress.ingest.mqtt.MqttIngest`) in one process and event loop, on this 2-core machine
(the broker has the other core).

The runtime runs the location engine in its own process, as ``duress serve`` does by default (the
sighting topics are decoded there too, decision 11); ``inline_engine`` repeats the two throughput
runs with the engine on the consumer's event loop.

- ``batched_per_s``: messages of 100 native sightings (IR and BLE mixed, real ids) on
  ``<prefix>/<site>/gw/<gw>/sightings``; sightings accepted by the engine per second of wall time.
- ``unbatched_per_s``: the same with one sighting per message.
- ``broker_ceiling_per_s`` / ``broker_ceiling_batched_per_s``: the same publisher and payloads, but
  the subscriber is ``mosquitto_sub`` (C) and only counts messages (sightings per second the broker
  could hand a subscriber).
- ``lost``: sightings published but not accepted by the engine (the publisher keeps at most a
  window of messages in flight, so that a default broker never has to drop; loss would show here).
- ``feedback_ms``: the badge feedback downlink, on a fresh runtime of its own with
  :class:`~duress.ingest.mqtt.feedback.FeedbackPublisher` running beside the consumer (as
  ``duress serve`` runs them). A gateway (an aiomqtt client, ``TCP_NODELAY``) subscribed to its own
  ``<prefix>/<site>/gw/<gw>/feedback`` publishes FEEDBACK_PRESSES presses (native button events of
  three presses, QoS 1) on its ``/buttons`` topic, one at a time, each of another badge (the 188 of
  the example site, then again: a press that joins its badge's open alert), a new ``seq`` each;
  milliseconds from just before the publish to the arrival of ``sent`` and of ``received`` at the
  gateway, p50/p99/max. ``feedback_after_decision_ms``: from the decision (the signal's ``ts``) to
  its arrival at the gateway, the figure the goal of 100 ms is about. ``feedback_missing``: signals
  not arrived within FEEDBACK_TIMEOUT_S.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt

from benchmarks.broker import HOST, PrivateBroker
from benchmarks.workload import sightings
from duress.config.loader import load_site
from duress.ingest.mqtt import MqttIngest
from duress.ingest.mqtt.feedback import FeedbackPublisher
from duress.service.bootstrap import build_runtime

SITE = Path(__file__).resolve().parents[2] / "examples" / "mercy-general"
PORT = 1883
"""The port of the benchmark's own broker (:mod:`benchmarks.broker`), set by :func:`run`."""
BATCH = 100
BATCHED_MESSAGES = 2000  # 200,000 sightings
UNBATCHED_MESSAGES = 40_000
WINDOW = 400
"""Messages the publisher lets ahead of the consumer."""
FEEDBACK_PRESSES = 200
FEEDBACK_GATEWAY = "gw-f1-1"
FEEDBACK_TIMEOUT_S = 5.0
"""How long one press waits for its ``sent`` and ``received`` before they count as missing."""


def _payloads(site: Any, count: int, per_message: int, rng: random.Random) -> list[bytes]:
    ts = datetime.now(UTC).isoformat()
    every = sightings(site, rng, count * per_message, ts)  # one call: it sorts the site's ids
    out = []
    for start in range(0, len(every), per_message):
        messages = every[start : start + per_message]
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
    """Sightings per second the broker hands a subscriber that only counts: ``mosquitto_sub``, a C
    client in its own process, whose output (one line a message) is counted in blocks here."""
    topic = f"bench/ceiling-{uuid.uuid4().hex[:8]}"
    payloads = _payloads(site, count, per_message, rng)
    lines = 0
    progress = asyncio.Condition()

    async def wait(predicate: Callable[[], bool]) -> None:
        async with progress:
            await asyncio.wait_for(progress.wait_for(predicate), 30)

    subscriber = await asyncio.create_subprocess_exec(
        "mosquitto_sub",
        *("-h", HOST, "-p", str(PORT), "-t", topic, "-q", "0"),
        *("-i", f"bench-count-{uuid.uuid4().hex[:8]}"),
        stdout=asyncio.subprocess.PIPE,
    )
    assert subscriber.stdout is not None
    stdout = subscriber.stdout

    async def count_lines() -> None:
        nonlocal lines
        while block := await stdout.read(1 << 16):
            lines += block.count(b"\n")
            async with progress:
                progress.notify_all()

    counter = asyncio.create_task(count_lines())
    try:
        # The subscription is in place once a probe published now comes back.
        async with aiomqtt.Client(
            HOST, PORT, identifier=f"bench-probe-{uuid.uuid4().hex[:8]}"
        ) as probe:
            for _ in range(100):
                await probe.publish(topic, b"probe")
                try:
                    await asyncio.wait_for(wait(lambda: lines > 0), 0.1)
                    break
                except TimeoutError:
                    continue
        await asyncio.sleep(0.2)  # probes still in flight arrive before the clock starts
        base = lines
        elapsed = await _publish(
            topic, payloads, per_message, lambda: (lines - base) * per_message, wait
        )
    finally:
        subscriber.terminate()
        await subscriber.wait()
        counter.cancel()
        await asyncio.gather(counter, return_exceptions=True)
    return count * per_message / elapsed


async def _through_duress(
    site: Any, folder: str, rng: random.Random, engine: str = "process"
) -> dict[str, Any]:
    runtime = build_runtime(
        site, store_url=f"sqlite:///{folder}/bench-{engine}.db", location_engine=engine
    )
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
        figures["dropped"] = ingest.stats.dropped
        figures["lost"] = published - ingest.stats.accepted
        figures["located_badges"] = len(runtime.locator.snapshot(runtime.clock.now()))
    finally:
        ingest.stop()
        await asyncio.wait_for(task, 10)
        await runtime.stop()
    return figures


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": at(0.5), "p99": at(0.99), "max": round(ordered[-1], 2)}


async def _feedback(site: Any, folder: str) -> dict[str, Any]:
    """Press to ``sent`` / ``received`` at the gateway, through the broker both ways."""
    runtime = build_runtime(
        site, store_url=f"sqlite:///{folder}/feedback.db", location_engine="process"
    )
    await runtime.start()
    site_id = f"bench-{uuid.uuid4().hex[:8]}"
    url = f"mqtt://{HOST}:{PORT}"
    ingest = MqttIngest(
        runtime,
        url=url,
        prefix="bench",
        site_id=site_id,
        client_id=f"bench-{site_id}",
        session_expiry_s=60,
    )
    feedback = FeedbackPublisher(
        runtime, url=url, prefix="bench", site_id=site_id, client_id=f"bench-{site_id}-feedback"
    )
    tasks = [asyncio.create_task(ingest.run()), asyncio.create_task(feedback.run())]
    root = f"bench/{site_id}/gw/{FEEDBACK_GATEWAY}"
    badges = sorted(site.badges)
    elapsed: dict[str, list[float]] = {"sent": [], "received": []}
    after_decision: dict[str, list[float]] = {"sent": [], "received": []}
    waiting: dict[tuple[str, str], asyncio.Future[float]] = {}
    missing = 0
    try:
        await asyncio.wait_for(ingest.connected.wait(), 10)
        await asyncio.wait_for(feedback.connected.wait(), 10)
        async with aiomqtt.Client(
            HOST, PORT, identifier=f"bench-{FEEDBACK_GATEWAY}-{site_id}"
        ) as gw:
            # A gateway's presses are seconds apart; ours follow each other at once, so Nagle
            # would hold each press until the broker acknowledged our PUBACK of the last
            # ``received`` (its delayed ACK, ~40 ms): not a cost of Duress, switched off.
            gw._client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await gw.subscribe(f"{root}/feedback", qos=1)

            async def listen() -> None:
                async for message in gw.messages:
                    arrived = time.perf_counter()
                    wall = datetime.now(UTC)
                    assert isinstance(message.payload, bytes)
                    signal = json.loads(message.payload)
                    future = waiting.pop((signal["badge"], signal["signal"]), None)
                    if future is not None and not future.done():
                        future.set_result(arrived)
                        decided = datetime.fromisoformat(signal["ts"])
                        after_decision[signal["signal"]].append(
                            (wall - decided).total_seconds() * 1000
                        )

            listener = asyncio.create_task(listen())
            try:
                for i in range(FEEDBACK_PRESSES):
                    badge = badges[i % len(badges)]
                    loop = asyncio.get_running_loop()
                    futures = {s: loop.create_future() for s in elapsed}
                    for s, future in futures.items():
                        waiting[(badge, s)] = future
                    payload = {
                        "type": "button",
                        "ts": datetime.now(UTC).isoformat(),
                        "badge": badge,
                        "seq": i + 1,
                        "presses": 3,
                    }
                    started = time.perf_counter()
                    await gw.publish(f"{root}/buttons", json.dumps(payload).encode(), qos=1)
                    done, _ = await asyncio.wait(futures.values(), timeout=FEEDBACK_TIMEOUT_S)
                    for s, future in futures.items():
                        if future in done:
                            elapsed[s].append((future.result() - started) * 1000)
                        else:
                            missing += 1
                            waiting.pop((badge, s), None)
            finally:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
    finally:
        feedback.stop()
        ingest.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        await runtime.stop()
    return {
        "feedback_ms": {s: _percentiles(v) for s, v in elapsed.items()},
        "feedback_after_decision_ms": {s: _percentiles(v) for s, v in after_decision.items()},
        "feedback_presses": FEEDBACK_PRESSES,
        "feedback_missing": missing,
    }


async def _main() -> dict[str, Any]:
    site = load_site(SITE)
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as folder:
        figures = await _through_duress(site, folder, rng)
        inline = await _through_duress(site, folder, random.Random(1), "inline")
        figures["inline_engine"] = {
            k: inline[k] for k in ("batched_per_s", "unbatched_per_s", "lost")
        }
        figures |= await _feedback(site, folder)
    ceiling = round(await _ceiling(site, 1, UNBATCHED_MESSAGES, rng))
    ceiling_batched = round(await _ceiling(site, BATCH, BATCHED_MESSAGES // 2, rng))
    figures["broker_ceiling_per_s"] = ceiling
    figures["broker_ceiling_batched_per_s"] = ceiling_batched
    figures["ratio_unbatched"] = round(figures["unbatched_per_s"] / ceiling, 3)
    figures["ratio_batched"] = round(figures["batched_per_s"] / ceiling_batched, 3)
    return figures


def run() -> dict[str, Any]:
    global PORT
    with PrivateBroker() as broker:
        PORT = broker.port
        return asyncio.run(_main())


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
