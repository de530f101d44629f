"""``duress serve`` and ``duress demo``: run the server, alone or driven by a simulated hospital."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Protocol

import typer
import uvicorn
from rich.console import Console

from duress.config.loader import load_site
from duress.config.settings import Settings, load_settings
from duress.domain.errors import ConfigError, StoreUnavailable
from duress.logs import configure_logging
from duress.service.bootstrap import build_runtime
from duress.service.runtime import Runtime
from duress.web.app import create_app

console = Console(stderr=True)
DEMO_SITE = Path("examples/mercy-general")


class Driver(Protocol):
    """Something that feeds the running server (the demo's simulated hospital)."""

    async def run(self) -> None: ...


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
) -> None:
    """Run the Duress server for a site."""
    settings, runtime = _prepare(config, db, host, port)
    asyncio.run(_serve(runtime, settings))


def demo(
    site: Annotated[Path, typer.Option("--site", help="The site to simulate.")] = DEMO_SITE,
    db: Annotated[str, typer.Option("--db", help="Event store URL.")] = "sqlite:///var/demo.db",
    port: Annotated[int, typer.Option(help="Port for the dashboard and API.")] = 8000,
    badges: Annotated[int, typer.Option(help="How many staff badges walk the hospital.")] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 7,
) -> None:
    """Run a simulated hospital: the server on an embedded SQLite store, staff walking and pressing."""
    from duress.cli.demo import DemoDriver

    settings, runtime = _prepare(site, db, "127.0.0.1", port)
    driver = DemoDriver(runtime, badges=badges, seed=seed)
    console.print(
        f"[bold]Duress demo[/bold]: {runtime.site.facility.name}, {badges} simulated badges\n"
        f"  dashboard  http://{settings.host}:{settings.port}/\n"
        f"  API docs   http://{settings.host}:{settings.port}/docs\n"
        f"  store      {runtime.store.url}\n"
        "  Ctrl-C stops it."
    )
    asyncio.run(_serve(runtime, settings, driver=driver))


def _prepare(
    config: Path | None, db: str | None, host: str | None, port: int | None
) -> tuple[Settings, Runtime]:
    try:
        settings = load_settings(config, os.environ)
        overrides = {"store_url": db, "host": host, "port": port}
        settings = _with(settings, {k: v for k, v in overrides.items() if v is not None})
        configure_logging(settings.log_level, settings.log_format)
        site = load_site(settings.site)
        runtime = build_runtime(site, store_url=settings.store_url, mqtt_url=settings.mqtt_url)
    except (ConfigError, StoreUnavailable) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    return settings, runtime


def _with(settings: Settings, changes: dict[str, object]) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)  # type: ignore[arg-type]  # keys are Settings fields


async def _serve(runtime: Runtime, settings: Settings, driver: Driver | None = None) -> None:
    app = create_app(runtime)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    tasks = [asyncio.create_task(server.serve(), name="http")]
    if driver is not None:
        tasks.append(asyncio.create_task(_drive_when_started(server, driver), name="demo"))
    try:
        await tasks[0]
    finally:
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks[1:], return_exceptions=True)


async def _drive_when_started(server: uvicorn.Server, driver: Driver) -> None:
    while not server.started:
        await asyncio.sleep(0.05)
    await driver.run()
