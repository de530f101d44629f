"""OpenMQTTGateway / Theengs gateways: BLE advertisements (iBeacon and others) over MQTT.

Topic ``<base>/<gateway>/BTtoMQTT/<MAC>`` (``home`` is the usual base; gateways set to publish on
one topic use ``<base>/<gateway>/BTtoMQTT``), payload such as::

    {"id":"58:78:20:76:BC:24","rssi":-79,"model_id":"IBEACON","uuid":"...","major":0,"minor":0,
     "txpower":-66}

The gateway heard the badge (which advertises as a beacon): the gateway is the BLE locator. A badge
is looked up by its iBeacon identity ``<uuid>:<major>:<minor>`` first (iBeacon MACs may rotate),
then by its MAC. There is no timestamp: the time is the caller's ``received_at``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from duress.domain.errors import InvalidMessage
from duress.domain.observations import Sighting, SightingKind
from duress.ingest.codecs import mapping as lookup
from duress.ingest.codecs.fields import (
    identifier,
    load_object,
    optional_integer,
    optional_number,
    optional_text,
    require_utc,
    required,
    rssi,
    show,
    topic_levels,
)

MAX_PAYLOAD_BYTES = 16 * 1024
_HEX = frozenset("0123456789ABCDEF")


@dataclass(frozen=True, slots=True)
class BleAdvert:
    """``gateway`` heard the advertiser ``mac`` at ``rssi`` dBm."""

    ts: datetime
    gateway: str
    mac: str
    """Upper case with colons (``58:78:20:76:BC:24``) when it is a MAC; otherwise as sent."""
    rssi: float
    model_id: str | None = None
    uuid: str | None = None
    major: int | None = None
    minor: int | None = None
    txpower: float | None = None
    name: str | None = None
    distance: float | None = None

    @property
    def ibeacon_key(self) -> str | None:
        """``<uuid>:<major>:<minor>`` (uuid in lower case) for an iBeacon, else None."""
        if self.uuid is None or self.major is None or self.minor is None:
            return None
        return f"{self.uuid.lower()}:{self.major}:{self.minor}"


@dataclass(frozen=True, slots=True)
class OpenMqttGatewayMapping:
    """``gateways``: gateway name -> our device id; ``beacons``: iBeacon key or MAC -> badge id."""

    gateways: Mapping[str, str] = field(default_factory=dict)
    beacons: Mapping[str, str] = field(default_factory=dict)


def normalise_mac(text: str) -> str:
    """``5878207...``, ``58-78-...`` or ``58:78:...`` in any case -> ``58:78:20:76:BC:24``."""
    bare = text.replace(":", "").replace("-", "").upper()
    if len(bare) == 12 and set(bare) <= _HEX:
        return ":".join(bare[i : i + 2] for i in range(0, 12, 2))
    return text


def decode(topic: str, payload: bytes, *, received_at: datetime) -> BleAdvert:
    """One ``.../<gateway>/BTtoMQTT[/<MAC>]`` message to a :class:`BleAdvert`."""
    levels = topic_levels(topic)
    ts = require_utc(received_at)
    if "BTtoMQTT" in levels[-2:]:
        at = len(levels) - 1 - levels[::-1].index("BTtoMQTT")
        if at >= 1 and levels[at - 1] and (at == len(levels) - 1 or levels[-1]):
            return _advert(payload, ts, levels[at - 1])
    raise InvalidMessage(
        "unknown_topic",
        f"topic {show(topic)} is not <base>/<gateway>/BTtoMQTT/<MAC>; subscribe only to those",
    )


def _advert(payload: bytes, ts: datetime, gateway: str) -> BleAdvert:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidMessage(
            "too_large", f"payload is {len(payload)} bytes, over {MAX_PAYLOAD_BYTES}"
        )
    msg = load_object(payload)
    mac = identifier(required(msg, "id", "the advertiser's MAC address"), "id")
    return BleAdvert(
        ts=ts,
        gateway=gateway,
        mac=normalise_mac(mac),
        rssi=rssi(required(msg, "rssi", "the signal strength in dBm")),
        model_id=optional_text(msg, "model_id"),
        uuid=optional_text(msg, "uuid"),
        major=optional_integer(msg, "major"),
        minor=optional_integer(msg, "minor"),
        txpower=optional_number(msg, "txpower"),
        name=optional_text(msg, "name"),
        distance=optional_number(msg, "distance"),
    )


def to_sighting(advert: BleAdvert, mapping: OpenMqttGatewayMapping) -> Sighting:
    """The gateway heard the badge: a BLE sighting with the gateway as the locator."""
    device = lookup.locator(mapping.gateways, advert.gateway, "gateway", "gateways")
    badge = lookup.badge(mapping.beacons, (advert.ibeacon_key, advert.mac), "beacon", "beacons")
    return Sighting(advert.ts, badge, device, SightingKind.BLE, advert.rssi, advert.gateway)
