"""Decoding the MQTT messages of sighting topics in the location process instead of the server's loop.

With the location engine in its own process (``server.location_engine: process``), the server's
MQTT consumer does not decode the messages of sighting topics (native ``.../sightings``, ESPresense,
OpenMQTTGateway, ``mqtt_room``, omlox): it sends them as received to the location process, which
decodes them with :class:`RemoteDecoding` (the same :class:`~duress.ingest.mqtt.dispatch.Dispatcher`
checks: gateway, signature, limits, codecs, mapping), locates their sightings and reports back
what was rejected (by the message's index) and what is not a sighting (a button event or a heartbeat
published on a sighting topic), which the server then ingests as usual. Presses on the buttons
topic never take this way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from duress.domain.ingest_mapping import IngestMapping
from duress.domain.observations import Observation
from duress.domain.site import Site
from duress.ingest.codecs import native
from duress.ingest.mqtt.lanes import Inbound
from duress.ingest.mqtt.topics import Route

ELSEWHERE = frozenset(
    {
        Route.SIGHTINGS,
        Route.ESPRESENSE,
        Route.OPENMQTTGATEWAY,
        Route.MQTT_ROOM,
        Route.OMLOX_LOCATION,
        Route.OMLOX_PROXIMITY,
    }
)
"""The routes whose messages are decoded in the location process."""


class _Collected:
    """Stands in for a Prometheus counter: the location process reports, the server counts."""

    def labels(self, *values: str) -> _Collected:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    def set(self, value: float) -> None:
        pass


class _Metrics:
    def __init__(self) -> None:
        self.rejected = self.gateway_online = self.gateway_temperature = _Collected()


@dataclass
class _Target:
    site: Site

    async def ingest(self, messages: Sequence[tuple[int, Observation]]) -> Any:
        raise TypeError("the location process only decodes; the server ingests")


@dataclass
class RemoteDecoding:
    """What the location process needs to decode sighting topics like the server would."""

    mapping: IngestMapping
    keys: Mapping[str, bytes] = field(default_factory=dict)
    limits: native.BatchLimits = native.DEFAULT_LIMITS
    _dispatcher: Any = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {"mapping": self.mapping, "keys": dict(self.keys), "limits": self.limits}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.mapping, self.keys, self.limits = state["mapping"], state["keys"], state["limits"]
        self._dispatcher = None

    def decode(
        self, site: Site, messages: Sequence[Inbound]
    ) -> tuple[list[tuple[int, Observation]], list[tuple[int, str, str]]]:
        """Each message's observations (by the message's index), and the rejections
        ``(index, reason, detail)`` of whole messages and of single messages of a batch."""
        from duress.domain.errors import InvalidMessage
        from duress.ingest.mqtt.dispatch import Dispatcher

        dispatcher = self._dispatcher
        if dispatcher is None:
            dispatcher = self._dispatcher = Dispatcher(
                _Target(site),
                mapping=self.mapping,
                metrics=_Metrics(),  # type: ignore[arg-type]  # counted by the server
                rejected=_Collected(),
                keys=self.keys,
                limits=self.limits,
            )
        rejected: list[tuple[int, str, str]] = []
        observations: list[tuple[int, Observation]] = []
        for index, message in enumerate(messages):
            dispatcher.reject = lambda _m, reason, detail, i=index: rejected.append(
                (i, reason, detail)
            )
            try:
                decoded = dispatcher.decode(message)
            except InvalidMessage as error:
                rejected.append((index, error.reason, error.detail))
                continue
            observations += [(index, o) for o in decoded]
        return observations, rejected
