"""``duress serve`` and ``duress demo``: run the server, alone or driven by a simulated hospital."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import sys
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console

from duress.config.loader import load_site
from duress.config.settings import Settings, load_settings, unknown_env
from duress.domain.errors import ConfigError, StoreUnavailable
from duress.domain.site import Site
from duress.logs import configure_logging
from duress.service.accounts import Accounts
from duress.service.bootstrap import build_runtime
from duress.service.checkpoints import QuietCheckpoints
from duress.service.heap import QuietHeap
from duress.service.runtime import Runtime
from duress.store.spool import Spool
from duress.store.sqlite import SqliteStore
from duress.web.app import create_app

console = Console(stderr=True)
DEMO_SITE = Path("examples/mercy-general")

Companion = Callable[[], Coroutine[Any, Any, None]]
"""Work that runs beside the HTTP server once it has started (MQTT ingest, the demo's hospital)."""


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(demo)


def serve(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="The site configuration (file or folder)."),
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Event store URL; overrides server.store_url.")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Bind address; overrides server.host.")] = None,
    port: Annotated[int | None, typer.Option(help="Port; overrides server.port.")] = None,
    mqtt: Annotated[
        bool, typer.Option("--mqtt/--no-mqtt", help="Take gateway messages from the MQTT broker.")
    ] = True,
) -> None:
    """Run the Duress server for a site."""
    settings, site = _settings_and_site(config, db, host, port)
    runtime = _runtime(site, settings, mqtt_url=settings.mqtt_url if mqtt else None)
    from duress.cli import users

    users.first_run(runtime, settings)
    accounts = users.server_accounts(runtime, settings)
    companions: list[Companion] = []
    if mqtt:
        from duress.ingest.mqtt import MqttIngest

        ingest = MqttIngest(runtime, url=settings.mqtt_url, prefix=settings.mqtt_topic_prefix)
        companions.append(ingest.run)
        from duress.ingest.mqtt.feedback import FeedbackPublisher

        # Badge feedback (sent / received / responder coming / undelivered) to the gateways, and
        # the daily synthetic test's press (docs/supervision.md), on one more connection.
        feedback = FeedbackPublisher(
            runtime, url=settings.mqtt_url, prefix=settings.mqtt_topic_prefix
        )
        runtime.supervision.injector = feedback
        companions.append(feedback.run)
    console.print(
        f"[bold]Duress[/bold] serving {site.facility.name} on http://{settings.host}:{settings.port}/"
        f"  (store {runtime.store.url}{', MQTT ' + settings.mqtt_url if mqtt else ''})"
    )
    run_server_loop(_serve(runtime, settings, companions, accounts))


def demo(
    site: Annotated[Path, typer.Option("--site", help="The site to simulate.")] = DEMO_SITE,
    db: Annotated[str, typer.Option("--db", help="Event store URL.")] = "sqlite:///var/demo.db",
    port: Annotated[int, typer.Option(help="Port for the dashboard and API.")] = 8000,
    badges: Annotated[int, typer.Option(help="How many staff badges walk the hospital.")] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 7,
    presses: Annotated[
        float, typer.Option(help="Real presses per badge per hour (busy, for a demo).")
    ] = 3.0,
    keep: Annotated[
        bool, typer.Option("--keep/--fresh", help="Keep the events of earlier demo runs.")
    ] = False,
) -> None:
    """Run a simulated hospital: the server on an embedded SQLite store, staff walking and pressing."""
    from duress.sim.demo import DemoDriver, answers, demo_site
    from duress.sim.peers.alert_manager import AlertManagerPeer
    from duress.sim.peers.wctp_gateway import WctpGatewayPeer

    if not keep and db.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(db.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    settings, loaded = _settings_and_site(site, db, "127.0.0.1", port)
    gateway_port, manager_port = _free_port(), _free_port()
    runtime = _runtime(
        demo_site(loaded, settings.port, gateway_port, manager_port), settings, mqtt_url=None
    )
    gateway = WctpGatewayPeer(port=gateway_port, delay_s=3.0, reply_for=answers)
    manager = AlertManagerPeer(port=manager_port, delay_s=2.0)
    driver = DemoDriver(
        runtime,
        badges=badges,
        seed=seed,
        gateway=gateway,
        alert_manager=manager,
        presses_per_badge_hour=presses,
    )
    from duress.cli import users

    users.first_run(runtime, settings)
    accounts = users.server_accounts(runtime, settings)
    link = users.demo_login(runtime, accounts, settings)
    console.print(
        f"[bold]Duress demo[/bold]: {loaded.facility.name}, {badges} simulated staff badges\n"
        f"  dashboard  {link}\n"
        "             (signs you in as demo-operator, a security operator; once, within 10 min)\n"
        f"  API docs   http://{settings.host}:{settings.port}/docs\n"
        f"  store      {runtime.store.url}\n"
        f"  pagers     a WCTP gateway on 127.0.0.1:{gateway_port} (one pager in three accepts, after ~10 s)\n"
        f"  command    an HL7 alert manager on 127.0.0.1:{manager_port} (dispatch reports after ~2 s)\n"
        "  Ctrl-C stops it."
    )
    run_server_loop(_serve(runtime, settings, [driver.run], accounts))


def _settings_and_site(
    config: Path | None, db: str | None, host: str | None, port: int | None
) -> tuple[Settings, Site]:
    try:
        settings = load_settings(config, os.environ)
        overrides = {"store_url": db, "host": host, "port": port}
        settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]  # keys are Settings fields
        configure_logging(settings.log_level, settings.log_format)
        for warning in unknown_env(os.environ):
            console.print(f"[yellow]warning:[/yellow] {warning}")
        return settings, load_site(settings.site)
    except ConfigError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None


def _runtime(site: Site, settings: Settings, *, mqtt_url: str | None) -> Runtime:
    try:
        return build_runtime(
            site,
            store_url=settings.store_url,
            mqtt_url=mqtt_url,
            reply_url=settings.public_url,
            spool=Spool(settings.spool_path),
            location_engine=settings.location_engine,
            location_priority=settings.location_priority,
        )
    except (ConfigError, StoreUnavailable) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None


GIL_SWITCH_INTERVAL_S = 0.001
"""How long a thread may hold the interpreter before a waiting one gets it (Python's default is
5 ms). The store writer thread needs it a few times per commit; while the event loop is busy with
a burst of sightings each of those waits could take the full interval, which a press's commit
would feel (see docs/decisions/0010-sightings-give-way-to-urgent-commits.md)."""


def settle_the_heap() -> None:
    """Once started: collect, then move everything alive (modules, the site, what start-up rebuilt)
    out of the garbage collector's sight (``gc.freeze``). A full collection walks every tracked
    object; with the libraries and the site in it one took 60-110 ms under load, a pause any press
    arriving meanwhile would wait out."""
    gc.collect()
    gc.freeze()


def keep_the_heap_quiet(runtime: Runtime) -> QuietHeap:
    """From now on full garbage collections run at quiet moments only (``duress.service.heap``)."""
    heap = QuietHeap(runtime, runtime.scheduler, runtime.clock)
    heap.start()
    return heap


def keep_the_wal_short(runtime: Runtime) -> QuietCheckpoints | None:
    """From now on an SQLite store's checkpoints run at quiet moments, beside the commits, not in
    them (``duress.service.checkpoints``); nothing for PostgreSQL."""
    if not isinstance(runtime.store, SqliteStore) or runtime.store.path is None:
        return None
    checkpoints = QuietCheckpoints(
        runtime.store, runtime, runtime.scheduler, runtime.clock, metrics=runtime.metrics
    )
    checkpoints.start()
    return checkpoints


def run_server_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the server on uvloop when it is installed (it comes with uvicorn[standard]): its event
    loop wakes faster than the standard one, which the press-to-page latency feels; and with a
    short GIL switch interval, so the writer thread is not kept waiting behind sighting work."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        asyncio.run(main)
    else:
        uvloop.run(main)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _serve(
    runtime: Runtime,
    settings: Settings,
    companions: list[Companion],
    accounts: Accounts | None = None,
) -> None:
    from duress.cli.users import cookie_policy

    app = create_app(
        runtime, manage_runtime=False, accounts=accounts, cookies=cookie_policy(settings)
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    await runtime.start()  # replays the store before the first request or companion
    await serve_with_companions(runtime, server.serve(), lambda: server.started, companions)


async def serve_with_companions(
    runtime: Runtime,
    serving: Coroutine[Any, Any, None],
    started: Callable[[], bool],
    companions: list[Companion],
) -> None:
    """Run ``serving`` (the HTTP server) with the ``companions`` beside it (the demo's simulated
    hospital, an MQTT loop), all on the started ``runtime``; when the server exits (Ctrl-C), stop
    the companions first and the runtime last, so that nothing feeds a runtime that is stopping
    (a press in that window raised an alert whose delivery reports then found the store's writer
    shut down)."""
    http = asyncio.create_task(serving, name="http")
    try:
        while not started() and not http.done():
            await asyncio.sleep(0.05)
        settle_the_heap()
        heap = keep_the_heap_quiet(runtime)
        checkpoints = keep_the_wal_short(runtime)
        tasks = [asyncio.create_task(run(), name="companion") for run in companions]
        try:
            await http
        finally:
            heap.stop()
            if checkpoints is not None:
                checkpoints.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
    finally:
        if not http.done():
            http.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await http
        if runtime.started:
            await runtime.stop()
