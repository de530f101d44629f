"""Prometheus metrics of the MQTT ingest, registered against the runtime's registry (once each)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
        self.feedback = Counter(
            "duress_feedback_total",
            "Badge feedback signals (sent, received, responder_coming, undelivered), by signal and "
            "result: published, no_gateway (the badge was never heard through a gateway), expired "
            "(older than the feedback age limit when the broker came back), dropped (buffer full).",
            ["signal", "result"],
            registry=registry,
        )
        self.feedback_seconds = Histogram(
            "duress_feedback_seconds",
            "From the decision (the event's time) to the feedback's PUBACK from the broker.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
            registry=registry,
        )
        self.feedback_connected = Gauge(
            "duress_feedback_connected",
            "1 while the feedback publisher is connected to the broker.",
            registry=registry,
        )


def mqtt_metrics(registry: CollectorRegistry) -> MqttMetrics:
    """The MQTT metrics of ``registry``, created on first use (a restarted consumer reuses them)."""
    found = _BY_REGISTRY.get(registry)
    if found is None:
        found = _BY_REGISTRY[registry] = MqttMetrics(registry)
    return found
