"""The composition root: the one place that chooses adapters and wires a :class:`Runtime`.

The store is picked by its URL (``sqlite:///...`` or ``postgresql://...``); tests pass their own
store and clock instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from duress.domain.errors import ConfigError
from duress.domain.notification import Notifier
from duress.domain.site import Site
from duress.service.clock import Clock, SystemClock
from duress.service.delivery import DeliveryPolicy
from duress.service.locating import BadgeLocator
from duress.service.runtime import Probe, Runtime
from duress.service.worker_locator import WorkerLocator
from duress.store import open_store
from duress.store.base import EventStore
from duress.store.spool import Spool


def build_runtime(
    site: Site,
    *,
    store_url: str | None = None,
    store: EventStore | None = None,
    clock: Clock | None = None,
    mqtt_url: str | None = None,
    locator: BadgeLocator | None = None,
    notifiers: Iterable[Notifier] | None = None,
    delivery_policy: DeliveryPolicy | None = None,
    new_alert_id: Callable[[], str] | None = None,
    reply_url: str | None = None,
    inline_store: bool = False,
    spool: Spool | None = None,
    location_engine: str = "inline",
    location_priority: str = "idle",
) -> Runtime:
    """Wire a runtime for ``site``: give ``store`` (tests) or ``store_url`` (the server).

    ``location_engine`` is ``inline`` (the engine on the event loop) or ``process`` (in its own
    process, :class:`~duress.service.worker_locator.WorkerLocator`; the server's default), which
    runs at ``location_priority`` (``idle`` or ``low``, see the setting)."""
    if store is None:
        if store_url is None:
            raise ConfigError(["no event store: set server.store_url or DURESS_STORE_URL"])
        store = open_store(store_url)
    probes: dict[str, Probe] = {}
    if mqtt_url:
        probes["broker"] = broker_probe(mqtt_url)
    clock = clock or SystemClock()
    from duress.channels.setup import build_alert_source, build_notifiers, read_channels

    channels = read_channels(site.channels)
    if notifiers is None:
        notifiers = build_notifiers(channels, clock=clock)
        delivery_policy = delivery_policy or channels.delivery
    if locator is None and location_engine == "process":
        locator = WorkerLocator(site, priority=location_priority)
        probes["location"] = locator.probe
    elif locator is None:
        from duress.service.engine_locator import EngineLocator

        locator = EngineLocator(site)
    runtime = Runtime(
        site=site,
        store=store,
        clock=clock,
        locator=locator,
        probes=probes,
        notifiers=notifiers,
        delivery_policy=delivery_policy,
        new_alert_id=new_alert_id,
        reply_url=reply_url,
        inline_store=inline_store,
        spool=spool,
    )
    if isinstance(locator, WorkerLocator):
        worker = locator
        runtime.metrics.location_restarts.set_function(lambda: worker.restarts)
        runtime.metrics.location_pending.set_function(lambda: worker.pending)
    source = build_alert_source(
        channels,
        runtime.alerts.take_external,
        clock=clock,
        on_update=runtime.delivery.inbound,
        areas=site.facility.areas,
    )
    if source is not None:
        runtime.alert_sources.append(source)
    return runtime


def broker_probe(mqtt_url: str) -> Probe:
    """A readiness probe that opens (and closes) a TCP connection to the MQTT broker."""
    parts = urlsplit(mqtt_url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    async def probe() -> None:
        try:
            _reader, writer = await asyncio.open_connection(host, port)
        except OSError as error:
            raise OSError(f"MQTT broker at {host}:{port} is not reachable: {error}") from error
        writer.close()
        await writer.wait_closed()

    return probe
