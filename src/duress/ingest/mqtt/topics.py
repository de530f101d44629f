"""Which topic is what: the native layout and the wild formats' topics, pure.

Native layout (``<prefix>`` is the ``mqtt_topic_prefix`` setting, ``duress`` by default)::

    <prefix>/<site>/gw/<gateway>/sightings   sightings, a batch or one message (QoS 0 or 1)
    <prefix>/<site>/gw/<gateway>/buttons     button events (QoS 1; acknowledged after the commit)
    <prefix>/<site>/gw/<gateway>/heartbeats  heartbeats, a batch or one message
    <prefix>/<site>/gw/<gateway>/status      "online" / "offline" (retained; the last will)
    <prefix>/<site>/gw/<gateway>/telemetry   {"battery": 87, "temperature_c": 41.5}
    <prefix>/<site>/gw/<gateway>/feedback/#  server -> gateway (the gateway subscribes)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from duress.domain.ingest_mapping import IngestMapping


class Route(StrEnum):
    BUTTONS = "buttons"
    SIGHTINGS = "sightings"
    HEARTBEATS = "heartbeats"
    STATUS = "status"
    TELEMETRY = "telemetry"
    ESPRESENSE = "espresense"
    OPENMQTTGATEWAY = "openmqttgateway"
    MQTT_ROOM = "mqtt_room"
    OMLOX_LOCATION = "omlox_location"
    OMLOX_PROXIMITY = "omlox_proximity"


NATIVE = frozenset(
    {Route.BUTTONS, Route.SIGHTINGS, Route.HEARTBEATS, Route.STATUS, Route.TELEMETRY}
)
_CHANNELS = {r.value: r for r in NATIVE}


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: str
    qos: int
    route: Route


class TopicMap:
    """Classifies topics of one site; lists what to subscribe to."""

    def __init__(self, prefix: str, site: str, mapping: IngestMapping) -> None:
        self.prefix = prefix
        self.site = site
        self.mapping = mapping
        self._native = [*prefix.split("/"), site, "gw"]
        self._wild: list[tuple[list[str], Route]] = []
        if mapping.espresense is not None:
            self._wild.append((mapping.espresense.prefix.split("/"), Route.ESPRESENSE))
        if mapping.omlox is not None:
            self._wild.append((mapping.omlox.topic.split("/"), Route.OMLOX_LOCATION))
        if mapping.openmqttgateway is not None:
            self._wild.append((mapping.openmqttgateway.base.split("/"), Route.OPENMQTTGATEWAY))
        if mapping.mqtt_room is not None:
            self._wild.append((mapping.mqtt_room.base.split("/"), Route.MQTT_ROOM))

    def gateway_topic(self, gateway: str, channel: str) -> str:
        return f"{self.prefix}/{self.site}/gw/{gateway}/{channel}"

    def classify(self, topic: str) -> tuple[Route, str | None] | None:
        """``(route, gateway)`` (the gateway of a native topic, else None), or None if unknown."""
        levels = topic.split("/")
        n = len(self._native)
        if len(levels) == n + 2 and levels[:n] == self._native and levels[n]:
            route = _CHANNELS.get(levels[n + 1])
            return None if route is None else (route, levels[n])
        for head, route in self._wild:
            if levels[: len(head)] != head or len(levels) <= len(head):
                continue
            if route is Route.OMLOX_LOCATION:
                tail = levels[len(head) :]
                if tail == ["location"]:
                    return route, None
                if tail == ["proximity"]:
                    return Route.OMLOX_PROXIMITY, None
                continue
            if route is Route.OPENMQTTGATEWAY and "BTtoMQTT" not in levels[-2:]:
                continue
            return route, None
        return None

    def subscriptions(self) -> list[Subscription]:
        qos = self.mapping.native.sightings_qos
        root = f"{self.prefix}/{self.site}/gw/+"
        subs = [
            Subscription(f"{root}/buttons", 1, Route.BUTTONS),
            Subscription(f"{root}/status", 1, Route.STATUS),
            Subscription(f"{root}/heartbeats", qos, Route.HEARTBEATS),
            Subscription(f"{root}/telemetry", qos, Route.TELEMETRY),
            Subscription(f"{root}/sightings", qos, Route.SIGHTINGS),
        ]
        m = self.mapping
        if m.espresense is not None:
            subs.append(Subscription(f"{m.espresense.prefix}/devices/#", 0, Route.ESPRESENSE))
            subs.append(Subscription(f"{m.espresense.prefix}/rooms/+/status", 0, Route.ESPRESENSE))
        if m.openmqttgateway is not None:
            subs.append(
                Subscription(f"{m.openmqttgateway.base}/+/BTtoMQTT/#", 0, Route.OPENMQTTGATEWAY)
            )
        if m.mqtt_room is not None:
            subs.append(Subscription(f"{m.mqtt_room.base}/+", 0, Route.MQTT_ROOM))
        if m.omlox is not None:
            subs.append(Subscription(f"{m.omlox.topic}/location", 0, Route.OMLOX_LOCATION))
            subs.append(Subscription(f"{m.omlox.topic}/proximity", 0, Route.OMLOX_PROXIMITY))
        return subs

    def wild_topics(self) -> list[str]:
        """The wild formats' topic filters (for the server's read ACL)."""
        native_root = f"{self.prefix}/{self.site}/"
        return [s.topic for s in self.subscriptions() if not s.topic.startswith(native_root)]
