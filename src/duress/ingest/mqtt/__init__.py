"""Ingest over MQTT: the site's own gateways (native layout) and the wild formats.

- :mod:`topics`: which topic is what, and what to subscribe to;
- :mod:`lanes`: backpressure (a priority lane for buttons, a bounded drop-oldest bulk lane);
- :mod:`dispatch`: authenticate, decode, map, then :meth:`Runtime.ingest`;
- :mod:`consumer`: :class:`MqttIngest`, the aiomqtt loop (persistent session, acks after commit).

See ``docs/mqtt.md``.
"""

from duress.ingest.mqtt.consumer import MqttIngest
from duress.ingest.mqtt.topics import Route, TopicMap

__all__ = ["MqttIngest", "Route", "TopicMap"]
