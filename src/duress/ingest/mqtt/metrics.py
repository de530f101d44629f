"""Prometheus metrics of the MQTT ingest, registered against the runtime's registry (once each)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge

_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, MqttMetrics] = (
    weakref.WeakKeyDictionary()
)


class MqttMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter(
            "duress_mqtt_messages_total",
            "MQTT messages received, by route (buttons, sightings, espresense, ...).",
            ["route"],
            registry=registry,
        )
        self.rejected = Counter(
            "duress_mqtt_rejected_total",
            "MQTT messages (or messages of a batch) rejected by the MQTT ingest, by reason; "
            "also counted in duress_ingest_rejected_total.",
            ["reason"],
            registry=registry,
        )
        self.dropped = Counter(
            "duress_mqtt_dropped_total",
            "Bulk messages (sightings, heartbeats, telemetry) dropped, oldest first, because the "
            "bulk lane was full. Button messages are never dropped.",
            ["route"],
            registry=registry,
        )
        self.waiting = Gauge(
            "duress_mqtt_queue_depth",
            "Messages received but not yet ingested, by lane.",
            ["lane"],
            registry=registry,
        )
        self.connected = Gauge(
            "duress_mqtt_connected", "1 while connected to the broker.", registry=registry
        )
        self.gateway_online = Gauge(
            "duress_mqtt_gateway_online",
            "A gateway's last status (1 online, 0 offline: its last will).",
            ["gateway"],
            registry=registry,
        )
        self.gateway_temperature = Gauge(
            "duress_mqtt_gateway_temperature_celsius",
            "A gateway's last reported temperature.",
            ["gateway"],
            registry=registry,
        )


def mqtt_metrics(registry: CollectorRegistry) -> MqttMetrics:
    """The MQTT metrics of ``registry``, created on first use (a restarted consumer reuses them)."""
    found = _BY_REGISTRY.get(registry)
    if found is None:
        found = _BY_REGISTRY[registry] = MqttMetrics(registry)
    return found
