"""Press acknowledgement over HTTP, and sighting throughput through the HTTP ingest.

Workload: the example hospital; the real server (uvicorn) on 127.0.0.1 with a SQLite store in a
temporary folder (WAL, synchronous=FULL); one keep-alive client in another thread.
- ``press_ack_ms``: 1,000 single-press batches, each timed from the request until the response, which
  the server sends only after the press is committed and fsynced.
- ``sightings_per_s``: 100 batches of 1,000 sightings (IR and BLE mixed, real device ids) posted back to
  back; sightings accepted per second of wall time, end to end (JSON encode, HTTP, decode, engine).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from benchmarks.workload import sightings
from duress.config.loader import load_site
from duress.domain.accounts import Scope
from duress.service.bootstrap import build_runtime
from duress.web.app import create_app

SITE = Path(__file__).resolve().parents[2] / "examples" / "mercy-general"
PRESSES = 1000
BATCHES, BATCH_SIZE = 100, 1000


def _serve(app: Any, ready: threading.Event, box: dict[str, Any]) -> None:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    box["server"] = server

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        box["port"] = server.servers[0].sockets[0].getsockname()[1]
        _, box["token"] = await app.state.accounts.issue_token(
            "bench-gateway", [Scope.INGEST], by="benchmark"
        )
        ready.set()
        await task

    asyncio.run(main())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run() -> dict[str, Any]:
    site = load_site(SITE)
    badges = sorted(site.badges)
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as folder:
        runtime = build_runtime(site, store_url=f"sqlite:///{folder}/bench.db")
        ready, box = threading.Event(), {}
        thread = threading.Thread(target=_serve, args=(create_app(runtime), ready, box))
        thread.start()
        ready.wait(30)
        url = f"http://127.0.0.1:{box['port']}/api/v1/ingest"
        try:
            headers = {"Authorization": f"Bearer {box['token']}"}
            with httpx.Client(timeout=10, headers=headers) as client:
                ack_ms = []
                for seq in range(PRESSES):
                    now = datetime.now(UTC).isoformat()
                    body = {
                        "messages": [
                            {
                                "type": "button",
                                "ts": now,
                                "badge": badges[seq % len(badges)],
                                "seq": seq,
                                "presses": 3,
                            }
                        ]
                    }
                    started = time.perf_counter()
                    response = client.post(url, json=body)
                    ack_ms.append((time.perf_counter() - started) * 1000)
                    assert response.json()["accepted"] == 1, response.text
                base = datetime.now(UTC)
                batches = []
                for b in range(BATCHES):
                    ts = (base + timedelta(milliseconds=10 * b)).isoformat()
                    batches.append({"messages": sightings(site, rng, BATCH_SIZE, ts)})
                accepted = 0
                started = time.perf_counter()
                for batch in batches:
                    accepted += client.post(url, json=batch).json()["accepted"]
                elapsed = time.perf_counter() - started
        finally:
            box["server"].should_exit = True
            thread.join(30)
    return {
        "press_ack_ms": {
            "p50": round(statistics.median(ack_ms), 3),
            "p99": round(percentile(ack_ms, 0.99), 3),
            "max": round(max(ack_ms), 3),
            "n": PRESSES,
        },
        "sightings_per_s": round(accepted / elapsed),
        "sightings_accepted": accepted,
    }
