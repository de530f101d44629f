"""The Duress server for the latency benchmark, in its own process (as in production).

``python -m benchmarks.latency.server --port P --db PATH --hook URL --mqtt-url URL --mqtt-site ID``
serves the
benchmark site (:mod:`benchmarks.latency.site`) like ``duress serve`` does (uvicorn with its default
loop and HTTP parser on 127.0.0.1, the SQLite store in WAL with synchronous=FULL), and consumes the
native MQTT topics ``bench/<ID>/gw/+/...`` from the broker at ``--mqtt-url``. It stops on SIGTERM or
SIGINT, after at most ``--seconds``. With ``--profile FILE`` it writes a cProfile of the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import signal
import time
from typing import Any

import uvicorn

from benchmarks.latency.site import bench_site
from duress.cli.server import keep_the_heap_quiet, run_server_loop, settle_the_heap
from duress.ingest.mqtt import MqttIngest
from duress.logs import configure_logging
from duress.service.bootstrap import build_runtime
from duress.web.app import create_app


class Trace:
    """Diagnostics (``--trace FILE``): monotonic stamps of the hand-off path's steps, for finding
    where the time goes. Wraps the runtime's ``record``, ``alerts.escalate``, the webhook notifier's
    ``send`` and ``begin`` and the ASGI app from outside; nothing in the product changes."""

    def __init__(self, runtime: Any) -> None:
        self.rows: list[tuple[Any, ...]] = []
        rows = self.rows
        record = runtime.record

        async def traced_record(events: Any, *args: Any, **kwargs: Any) -> Any:
            events = list(events)
            started = time.monotonic_ns()
            stored = await record(events, *args, **kwargs)
            rows.append(("record", started, time.monotonic_ns(), [e.type for e in events]))
            return stored

        runtime.record = traced_record
        ingest = runtime.ingest

        async def traced_ingest(messages: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.monotonic_ns()
            outcome = await ingest(messages, *args, **kwargs)
            rows.append(("ingest", started, time.monotonic_ns(), len(messages)))
            return outcome

        runtime.ingest = traced_ingest
        on_writer = runtime._on_writer

        async def traced_on_writer(fn: Any, *args: Any) -> Any:
            stamps: list[int] = []
            cpus: list[int] = []

            def run() -> Any:
                cpu = time.thread_time_ns()
                stamps.append(time.monotonic_ns())
                try:
                    return fn(*args)
                finally:
                    stamps.append(time.monotonic_ns())
                    cpus.append(time.thread_time_ns() - cpu)

            started = time.monotonic_ns()
            try:
                return await on_writer(run)
            finally:
                rows.append(("writer", started, *stamps, time.monotonic_ns(), *cpus))

        runtime._on_writer = traced_on_writer
        runtime.alerts._record = traced_record
        for notifier in runtime.delivery.notifiers:
            if notifier.channel.startswith("webhook:"):
                send = notifier.send

                async def traced_send(notice: Any, send: Any = send) -> Any:
                    rows.append(("send", time.monotonic_ns(), notice.key))
                    return await send(notice)

                notifier.send = traced_send
                begin = getattr(notifier, "begin", None)
                if begin is not None:  # the first attempt, written as the commit is published

                    def traced_begin(notice: Any, begin: Any = begin) -> Any:
                        rows.append(("send", time.monotonic_ns(), notice.key))
                        return begin(notice)

                    notifier.begin = traced_begin
        for name in ("escalate", "_step"):  # the timer job's per-alert step, by version
            step = getattr(runtime.alerts, name, None)
            if step is None:
                continue

            async def traced_step(alert_id: str, step: Any = step) -> None:
                started = time.monotonic_ns()
                await step(alert_id)
                rows.append(("escalate", started, time.monotonic_ns(), alert_id))

            setattr(runtime.alerts, name, traced_step)

    def wrap_app(self, app: Any) -> Any:
        rows = self.rows

        async def traced(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                rows.append(("request", time.monotonic_ns(), scope["path"]))
            await app(scope, receive, send)

        return traced

    def dump(self, path: str) -> None:
        with open(path, "w") as out:
            json.dump(self.rows, out)


class StallWatch:
    """Diagnostics (``--stalls FILE``): a callback on the loop every 5 ms stamps a heartbeat; a
    thread writes every thread's stack whenever the heartbeat is over 50 ms old (the loop is held:
    by Python code, by C code, or waiting for the interpreter lock)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.beat = time.monotonic()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        import threading

        def tick() -> None:
            self.beat = time.monotonic()
            loop.call_later(0.005, tick)

        loop.call_soon(tick)
        threading.Thread(target=self._watch, daemon=True, name="stall-watch").start()

    def _watch(self) -> None:
        import sys
        import threading
        import traceback

        out = open(self.path, "w")  # noqa: SIM115  # the process's lifetime
        reported = 0.0
        while True:
            time.sleep(0.01)
            held = time.monotonic() - self.beat
            if held < 0.05 or self.beat == reported:
                continue
            reported = self.beat
            names = {t.ident: t.name for t in threading.enumerate()}
            lines = [f"STALL {held * 1000:.0f} ms and counting at {time.time():.3f}"]
            for ident, frame in sys._current_frames().items():
                lines.append(f"--- {names.get(ident, ident)}")
                lines += [x.rstrip() for x in traceback.format_stack(frame)[-6:]]
            out.write("\n".join(lines) + "\n")
            out.flush()


async def _bench_routes(app: Any, runtime: Any, token_file: str) -> None:
    """``POST /_bench/resolve/{alert}`` resolves an alert as a drill (the benchmark closes each
    alert it measured, so that the next press raises a new one), ``POST /_bench/resolve-all``
    every open one, and, when the server has accounts,
    a service token with every scope is written to ``token_file`` for the ingest route."""
    from duress.domain.alert import Action

    async def resolve(alert_id: str) -> dict[str, str]:
        await runtime.alerts.act(
            alert_id, Action.RESOLVE, by="bench", code="drill", note="latency benchmark"
        )
        return {"resolved": alert_id}

    async def resolve_all() -> dict[str, int]:
        alerts = [a.id for a in runtime.alerts.alerts.values() if a.is_open]
        for alert_id in alerts:
            await resolve(alert_id)
        return {"resolved": len(alerts)}

    app.add_api_route("/_bench/resolve/{alert_id}", resolve, methods=["POST"])
    app.add_api_route("/_bench/resolve-all", resolve_all, methods=["POST"])
    # Routes are matched in order: put ours before the app's catch-alls (the dashboard's static).
    app.router.routes[:0] = [app.router.routes.pop(), app.router.routes.pop()]
    secret = ""
    accounts = getattr(app.state, "accounts", None)
    if accounts is not None:
        from duress.domain.accounts import Scope

        _, secret = await accounts.issue_token("latency-bench", tuple(Scope), by="bench")
    with open(token_file, "w") as out:
        out.write(secret)


def _keep_the_wal_short(runtime: Any) -> Any:
    """As `duress serve` does once started; nothing on an older ``src/`` (press_cpu's ``--src``)
    from before checkpoints were taken out of the commits."""
    from duress.cli import server

    keep = getattr(server, "keep_the_wal_short", None)
    return keep(runtime) if keep is not None else None


async def serve(args: argparse.Namespace) -> None:
    site = bench_site(args.hook)
    # The location engine in its own process, as `duress serve` runs it by default.
    runtime = build_runtime(
        site, store_url=f"sqlite:///{args.db}", location_engine=args.location_engine
    )
    trace = Trace(runtime) if args.trace else None
    await runtime.start()
    if args.stalls:
        StallWatch(args.stalls).start(asyncio.get_running_loop())
    settle_the_heap()  # as `duress serve` does once started
    heap = keep_the_heap_quiet(runtime)
    checkpoints = _keep_the_wal_short(runtime)
    app: Any = create_app(runtime, manage_runtime=False)
    await _bench_routes(app, runtime, args.token_file)
    if trace is not None:
        app = trace.wrap_app(app)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    ingest = MqttIngest(
        runtime,
        url=args.mqtt_url,
        prefix="bench",
        site_id=args.mqtt_site,
        client_id=f"bench-{args.mqtt_site}",
        session_expiry_s=60,
    )
    loop = asyncio.get_running_loop()
    http = asyncio.create_task(server.serve(), name="http")
    mqtt = asyncio.create_task(ingest.run(), name="mqtt")
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(http), args.seconds)
    server.should_exit = True
    await http
    ingest.stop()
    heap.stop()
    if checkpoints is not None:
        checkpoints.stop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(mqtt, 5)
    await runtime.delivery.aclose()
    await runtime.stop()
    if trace is not None:
        trace.dump(args.trace)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--hook", required=True)
    parser.add_argument("--mqtt-site", required=True)
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--profile")
    parser.add_argument("--trace")
    parser.add_argument("--stalls")
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--location-engine", choices=("process", "inline"), default="process")
    args = parser.parse_args()
    configure_logging("warning")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            run_server_loop(serve(args))  # the same loop as without the profile
        finally:
            profiler.disable()
            profiler.dump_stats(args.profile)
    else:
        run_server_loop(serve(args))  # as `duress serve` does: uvloop, short GIL switch interval


if __name__ == "__main__":
    main()
