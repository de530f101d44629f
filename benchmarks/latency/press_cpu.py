"""CPU per press of the latency benchmark's server: a repeatable figure where wall-clock is noisy.

``python -m benchmarks.latency.press_cpu [--presses N] [--src DIR] [--profile FILE]``

Starts the benchmark's webhook receiver and Duress server (:mod:`benchmarks.latency.server`, as
``python -m benchmarks latency`` does, without Alertmanager and without load), presses ``N``
times over HTTP one at a time (each press raises a new alert whose tier-1 notice reaches the
receiver; the alert is then resolved and its end notice awaited) and reads the CPU time each of the
server's threads spent (``/proc/<pid>/task/<tid>/schedstat``: nanoseconds on a CPU, not ticks):

- ``press``: from just before the press is posted until 10 ms after its tier-1 notice arrived
  (so the delivery reports the notice leads to are counted too);
- ``resolve``: the same for the resolution and its end notice;
- ``idle``: what the same threads spend in 10 ms doing nothing (the scheduler, the heap's timer),
  measured over a quiet second and subtracted from both.

Figures are microseconds per cycle: ``loop`` is the event loop's thread, ``threads`` every other
thread of the server (the SQLite writer thread nearly all of it; Python 3.11 does not name threads
for the system, so they are not told apart), ``total`` both. The median of per-press figures is
printed besides the mean; ``--trace`` adds the median time of each step of the hand-off path (the
server's ``--trace`` stamps, matched to the receiver's arrivals), each step's 99th percentile
(``<step>_p99``), the writer thread's own CPU time in the append (``thread_append_cpu``) and the
latency as the driver saw it;
``--src DIR`` runs the server on the code in ``DIR`` (a copy of ``src/`` before a change, for an
A/B in fresh processes), ``--profile FILE`` writes the server's cProfile (slower: compare figures
without it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.latency import bench_latency
from benchmarks.latency.bench_latency import Bench
from benchmarks.latency.site import located_badges

SETTLE_S = 0.010
"""How long after a notice arrives the server's threads are still counted for its cycle."""


def thread_cpu(pid: int) -> dict[str, int]:
    """Nanoseconds the threads of ``pid`` have run: the main thread (``loop``) and the others."""
    out: dict[str, int] = {}
    tasks = Path(f"/proc/{pid}/task")
    for task in tasks.iterdir():
        try:
            ran = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
        key = "loop" if task.name == str(pid) else "threads"
        out[key] = out.get(key, 0) + ran
    return out


def _minus(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after.keys() | before.keys()}


class CpuBench(Bench):
    def _start_alertmanager(self) -> None:  # not measured here
        self.am_note = "not started"


def measure(
    presses: int, *, server_args: tuple[str, ...] = (), trace: bool = False
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="duress-press-cpu-") as tmp:
        bench = CpuBench(Path(tmp))
        if trace:
            server_args += ("--trace", str(Path(tmp) / "trace.json"))
        latencies: list[float] = []
        try:
            bench.start(*server_args)
            assert bench.server is not None
            pid = bench.server.pid
            from benchmarks.latency.site import bench_site

            badges = located_badges(bench_site("http://127.0.0.1:1/hook"))
            bench_latency.located_badges_list = badges  # as run() sets it for warm_up
            for i in range(30):
                _, alert = bench.press_http(badges[i % len(badges)])
                if alert:
                    bench.resolve(alert)
            time.sleep(1.0)
            quiet_start, t0 = thread_cpu(pid), time.monotonic()
            time.sleep(1.0)
            quiet = _minus(thread_cpu(pid), quiet_start)
            idle_per_s = {k: v / (time.monotonic() - t0) for k, v in quiet.items()}
            rows: list[tuple[dict[str, int], float, dict[str, int], float]] = []
            for i in range(presses):
                before, t0 = thread_cpu(pid), time.monotonic()
                took, alert = bench.press_http(badges[i % len(badges)])
                if took is None or alert is None:
                    raise RuntimeError("a press got no notice")
                latencies.append(took)
                time.sleep(SETTLE_S)
                middle, t1 = thread_cpu(pid), time.monotonic()
                bench.resolve(alert)
                time.sleep(SETTLE_S)
                after, t2 = thread_cpu(pid), time.monotonic()
                rows.append((_minus(middle, before), t1 - t0, _minus(after, middle), t2 - t1))
                time.sleep(0.002)
        finally:
            bench.stop()
        steps = _steps(json.loads((Path(tmp) / "trace.json").read_text()), bench) if trace else {}

    def figures(index: int) -> dict[str, Any]:
        per: dict[str, list[float]] = {}
        for row in rows:
            cpu: dict[str, int] = row[index]  # type: ignore[assignment]
            took: float = row[index + 1]  # type: ignore[assignment]
            total = 0.0
            for key in ("loop", "threads"):
                us = (cpu.get(key, 0) - idle_per_s.get(key, 0.0) * took) / 1000
                per.setdefault(key, []).append(us)
                total += us
            per.setdefault("total", []).append(total)
        return {
            k: {
                "mean_us": round(statistics.fmean(v), 1),
                "median_us": round(statistics.median(v), 1),
            }
            for k, v in per.items()
        }

    return {
        "presses": presses,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 3),
            "p90": round(sorted(latencies)[int(0.9 * len(latencies))], 3),
        },
        **({"steps_us_median": steps} if steps else {}),
        "press": figures(0),
        "resolve": figures(2),
        "idle_us_per_10ms": {k: round(v / 100 / 1000, 1) for k, v in idle_per_s.items()},
    }


def _steps(rows: list[list[Any]], bench: Bench) -> dict[str, float]:
    """Median microseconds between the hand-off path's stamps (the server's ``--trace``), for the
    presses whose tier-1 notice reached the receiver: request arrived → ingest started → record
    started → record returned → ingest returned; record returned → send called → notice arrived."""
    arrivals = {a.key: a.mono_ns for a in bench.inbox.lines if ":0.0:start:" in a.key}
    requests = [r[1] for r in rows if r[0] == "request" and r[2] == "/api/v1/ingest"]
    ingests = [r for r in rows if r[0] == "ingest"]
    records = [r for r in rows if r[0] == "record" and "button.pressed" in r[3]]
    sends: dict[str, int] = {}
    for row in rows:
        if row[0] == "send" and ":0.0:start:" in row[2]:
            sends.setdefault(row[2], row[1])  # the first attempt (begun, else sent)
    writes = [r for r in rows if r[0] == "writer" and len(r) >= 5]
    gaps: dict[str, list[float]] = {}
    for ingest, record in zip(ingests, records, strict=False):
        request = max((t for t in requests if t <= ingest[1]), default=None)
        send = min(
            ((key, t) for key, t in sends.items() if t >= record[1]),
            key=lambda s: s[1],
            default=None,
        )
        write = next((w for w in writes if record[1] <= w[1] and w[4] <= record[2]), None)
        arrival = arrivals.get(send[0]) if send is not None else None
        if request is None or arrival is None or send is None or write is None:
            continue
        for name, a, b in (
            ("record_to_thread", record[1], write[2]),
            ("thread_append", write[2], write[3]),
            ("thread_to_loop", write[3], write[4]),
            ("loop_to_record_end", write[4], record[2]),
            ("request_to_ingest", request, ingest[1]),
            ("ingest_to_record", ingest[1], record[1]),
            ("record", record[1], record[2]),
            ("record_to_ingest_end", record[2], ingest[2]),
            ("record_to_send", record[2], send[1]),
            ("send_to_arrival", send[1], arrival),
            ("request_to_arrival", request, arrival),
        ):
            gaps.setdefault(name, []).append((b - a) / 1000)
        if len(write) > 5:  # the writer thread's own CPU time in the append
            gaps.setdefault("thread_append_cpu", []).append(write[5] / 1000)
    medians = {k: round(statistics.median(v), 1) for k, v in gaps.items()}
    tails = {  # the 99th percentile of each step: where the slowest presses lose their time
        f"{k}_p99": round(sorted(v)[int(len(v) * 0.99)], 1) for k, v in gaps.items()
    }
    return medians | tails


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=300)
    parser.add_argument("--src", help="run the server on the code in this folder (a copy of src/)")
    parser.add_argument("--profile", help="write the server's cProfile here")
    parser.add_argument("--trace", action="store_true", help="median times of the path's steps")
    args = parser.parse_args()
    if args.src:
        os.environ["PYTHONPATH"] = str(Path(args.src).resolve())
    server_args = ("--profile", str(Path(args.profile).resolve())) if args.profile else ()
    result = measure(args.presses, server_args=server_args, trace=args.trace)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
