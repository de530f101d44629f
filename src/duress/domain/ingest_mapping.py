"""How the site's gateways and the wild formats' ids tie to ours: the ``ingest:`` section, frozen.

Pure data (no I/O): the MQTT shell (``duress.ingest.mqtt``) turns each source into the codec's own
mapping object. A source that is ``None`` is not subscribed to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from duress.domain.observations import SightingKind


@dataclass(frozen=True, slots=True)
class NativeSource:
    """The site's own gateways (``<prefix>/<site>/gw/<gateway>/...``).

    ``signed``: every payload must carry a valid HMAC-SHA256 signature made with the gateway's key;
    ``secrets``: the credentials file (written by ``duress mqtt-config``) that holds the keys, as
    written in the site file (relative paths are relative to that file's folder, resolved by the
    loader); ``sightings_qos``: the QoS of the sightings/heartbeats/telemetry subscriptions
    (buttons are always QoS 1).
    """

    signed: bool = False
    secrets: str | None = None
    sightings_qos: int = 0


@dataclass(frozen=True, slots=True)
class EspresenseSource:
    prefix: str = "espresense"
    rooms: Mapping[str, str] = field(default_factory=dict)
    devices: Mapping[str, str] = field(default_factory=dict)
    gateway: str | None = None


@dataclass(frozen=True, slots=True)
class OpenMqttGatewaySource:
    base: str = "home"
    gateways: Mapping[str, str] = field(default_factory=dict)
    beacons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MqttRoomSource:
    base: str = "room_presence"
    rooms: Mapping[str, str] = field(default_factory=dict)
    devices: Mapping[str, str] = field(default_factory=dict)
    gateway: str | None = None


@dataclass(frozen=True, slots=True)
class OmloxSource:
    """omlox Location/Proximity objects on ``<topic>/location`` and ``<topic>/proximity`` (and
    over HTTP, ``PUT /providers/{id}/location|proximity``)."""

    topic: str = "omlox"
    sources: Mapping[str, str] = field(default_factory=dict)
    providers: Mapping[str, str] = field(default_factory=dict)
    kinds: Mapping[str, SightingKind] = field(default_factory=lambda: {"ibeacon": SightingKind.BLE})
    default_kind: SightingKind = SightingKind.IR
    gateway: str | None = None


@dataclass(frozen=True, slots=True)
class IngestMapping:
    """The ``ingest:`` section. Every part is optional; the default ingests only native gateways."""

    native: NativeSource = field(default_factory=NativeSource)
    espresense: EspresenseSource | None = None
    openmqttgateway: OpenMqttGatewaySource | None = None
    mqtt_room: MqttRoomSource | None = None
    omlox: OmloxSource | None = None
