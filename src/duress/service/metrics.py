"""Prometheus metrics of one running system (its own registry, so tests and instances don't mix)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ingested = Counter(
            "duress_ingest_messages_total",
            "Messages accepted by ingest, by type.",
            ["type"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "duress_ingest_rejected_total",
            "Messages rejected by ingest, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "duress_ingest_duplicate_presses_total",
            "Button events already stored (badge resends), acknowledged again but not stored twice.",
            registry=self.registry,
        )
        self.appended = Counter(
            "duress_events_appended_total",
            "Events committed to the event store, by type.",
            ["type"],
            registry=self.registry,
        )
        self.append_seconds = Histogram(
            "duress_store_append_seconds",
            "Time to commit one batch of events durably.",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.spooled = Gauge(
            "duress_store_spooled_events",
            "Events kept in the local spool while the event store is down.",
            registry=self.registry,
        )
        self.devices = Gauge(
            "duress_devices",
            "Supervised devices by status.",
            ["status"],
            registry=self.registry,
        )
        self.stream_clients = Gauge(
            "duress_stream_clients",
            "Clients connected to the live event stream.",
            registry=self.registry,
        )
        self.location_restarts = Gauge(
            "duress_location_process_restarts",
            "Times the location process was started again after it died, since the server started.",
            registry=self.registry,
        )
        self.location_pending = Gauge(
            "duress_location_batches_pending",
            "Batches of sightings sent to the location process and not yet answered.",
            registry=self.registry,
        )
        self.log_pages = Gauge(
            "duress_store_log_pages",
            "SQLite: pages left in the write-ahead log after the last checkpoint (0 when healthy).",
            registry=self.registry,
        )
        self.checkpoint_seconds = Histogram(
            "duress_store_checkpoint_seconds",
            "SQLite: time of one checkpoint (copying the log into the database file).",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
            registry=self.registry,
        )
