"""The site's ``ingest:`` section: gateway signing and the wild formats' id mappings.

::

    ingest:
      native: {signed: true, secrets: secrets/mqtt-credentials.yaml, sightings_qos: 0}
      espresense: {prefix: espresense, gateway: espresense,
                   rooms: {kitchen: ble-f1-001}, devices: {"watch:darrell": b-0001}}
      openmqttgateway: {base: home, gateways: {OMG_ED: gw-f1-1},
                        beacons: {"58:78:20:76:BC:24": b-0002}}
      mqtt_room: {base: room_presence, rooms: {ed_bay_2: ble-f1-002}, devices: {abc: b-0003}}
      omlox: {topic: omlox, sources: {zone-ed: ir-ed-main}, providers: {tag-7: b-0004},
              kinds: {ibeacon: ble}, default_kind: ir}

Every mapped device id must be one of the site's devices and every badge id one of its badges;
problems are reported like the rest of the loader (file, line, key path, fix).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from duress.config.reader import Reader
from duress.config.source import Node
from duress.domain.ingest_mapping import (
    EspresenseSource,
    IngestMapping,
    MqttRoomSource,
    NativeSource,
    OmloxSource,
    OpenMqttGatewaySource,
)
from duress.domain.observations import SightingKind

INGEST_KEYS = ("native", "espresense", "openmqttgateway", "mqtt_room", "omlox")
NATIVE_KEYS = ("signed", "secrets", "sightings_qos")
ESPRESENSE_KEYS = ("prefix", "rooms", "devices", "gateway")
OMG_KEYS = ("base", "gateways", "beacons")
MQTT_ROOM_KEYS = ("base", "rooms", "devices", "gateway")
OMLOX_KEYS = ("topic", "sources", "providers", "kinds", "default_kind", "gateway")

Ref = Callable[[str, str | None, Node | None, str], None]
"""Records a reference to a ``device`` or ``badge`` id, checked once every id is known."""


def read_ingest_section(node: Node, r: Reader, ref: Ref) -> IngestMapping | None:
    """The ``ingest:`` section, or None when it has problems (recorded in ``r``)."""
    before = len(r.problems)
    m = r.mapping(node, "ingest", INGEST_KEYS)
    if m is None:
        return None if node.value is not None else IngestMapping()
    mapping = IngestMapping(
        native=_native(m.get("native"), r),
        espresense=_espresense(m.get("espresense"), r, ref),
        openmqttgateway=_omg(m.get("openmqttgateway"), r, ref),
        mqtt_room=_mqtt_room(m.get("mqtt_room"), r, ref),
        omlox=_omlox(m.get("omlox"), r, ref),
    )
    return mapping if len(r.problems) == before else None


def _native(node: Node | None, r: Reader) -> NativeSource:
    m = r.mapping(node, "ingest.native", NATIVE_KEYS) or {}
    signed = r.boolean(m.get("signed"), "ingest.native.signed")
    secrets = r.text(m.get("secrets"), "ingest.native.secrets")
    qos = r.integer(m.get("sightings_qos"), "ingest.native.sightings_qos", minimum=0, maximum=1)
    if signed and secrets is None and node is not None:
        r.fail(
            node,
            "ingest.native",
            "signed: true needs the gateways' keys; add `secrets: <credentials file>` "
            "(written by `duress mqtt-config`)",
        )
    if secrets is not None and node is not None:
        secrets = str((Path(node.file).parent / secrets).resolve())
    return NativeSource(signed=bool(signed), secrets=secrets, sightings_qos=qos or 0)


def _topic(r: Reader, node: Node | None, path: str, default: str) -> str:
    value = r.text(node, path)
    if value is None or node is None:
        return default
    levels = value.split("/")
    if any(not level or level in ("+", "#") for level in levels):
        r.fail(
            node,
            path,
            f"{value!r} is not a topic prefix; write levels separated by '/', "
            "without wildcards or empty levels (e.g. espresense or site-a/presence)",
        )
        return default
    return value


def _table(r: Reader, node: Node | None, path: str, kind: str, ref: Ref) -> dict[str, str]:
    """``{foreign id: our device/badge id}``; every value is checked against the site."""
    m = r.mapping(node, path, keys=_AnyKey(), what="a mapping of ids")
    out: dict[str, str] = {}
    for key, child in (m or {}).items():
        value = r.ident(child, f"{path}.{key}")
        ref(kind, value, child, f"{path}.{key}")
        if value is not None:
            out[str(key)] = value
    return out


class _AnyKey(tuple[str, ...]):
    """Accepts every key (foreign ids are free-form)."""

    def __contains__(self, item: object) -> bool:
        return True


def _espresense(node: Node | None, r: Reader, ref: Ref) -> EspresenseSource | None:
    m = r.mapping(node, "ingest.espresense", ESPRESENSE_KEYS)
    if m is None:
        return None
    p = "ingest.espresense"
    return EspresenseSource(
        prefix=_topic(r, m.get("prefix"), f"{p}.prefix", "espresense"),
        rooms=_table(r, m.get("rooms"), f"{p}.rooms", "device", ref),
        devices=_table(r, m.get("devices"), f"{p}.devices", "badge", ref),
        gateway=r.ident(m.get("gateway"), f"{p}.gateway"),
    )


def _omg(node: Node | None, r: Reader, ref: Ref) -> OpenMqttGatewaySource | None:
    m = r.mapping(node, "ingest.openmqttgateway", OMG_KEYS)
    if m is None:
        return None
    p = "ingest.openmqttgateway"
    return OpenMqttGatewaySource(
        base=_topic(r, m.get("base"), f"{p}.base", "home"),
        gateways=_table(r, m.get("gateways"), f"{p}.gateways", "device", ref),
        beacons=_table(r, m.get("beacons"), f"{p}.beacons", "badge", ref),
    )


def _mqtt_room(node: Node | None, r: Reader, ref: Ref) -> MqttRoomSource | None:
    m = r.mapping(node, "ingest.mqtt_room", MQTT_ROOM_KEYS)
    if m is None:
        return None
    p = "ingest.mqtt_room"
    return MqttRoomSource(
        base=_topic(r, m.get("base"), f"{p}.base", "room_presence"),
        rooms=_table(r, m.get("rooms"), f"{p}.rooms", "device", ref),
        devices=_table(r, m.get("devices"), f"{p}.devices", "badge", ref),
        gateway=r.ident(m.get("gateway"), f"{p}.gateway"),
    )


def _omlox(node: Node | None, r: Reader, ref: Ref) -> OmloxSource | None:
    m = r.mapping(node, "ingest.omlox", OMLOX_KEYS)
    if m is None:
        return None
    p = "ingest.omlox"
    kinds: dict[str, SightingKind] = {"ibeacon": SightingKind.BLE}
    km = r.mapping(m.get("kinds"), f"{p}.kinds", keys=_AnyKey(), what="a mapping of kinds")
    for key, child in (km or {}).items():
        kind = r.enum(child, f"{p}.kinds.{key}", SightingKind)
        if kind is not None:
            kinds[str(key)] = kind
    default_kind = r.enum(m.get("default_kind"), f"{p}.default_kind", SightingKind)
    return OmloxSource(
        topic=_topic(r, m.get("topic"), f"{p}.topic", "omlox"),
        sources=_table(r, m.get("sources"), f"{p}.sources", "device", ref),
        providers=_table(r, m.get("providers"), f"{p}.providers", "badge", ref),
        kinds=kinds,
        default_kind=default_kind or SightingKind.IR,
        gateway=r.ident(m.get("gateway"), f"{p}.gateway"),
    )
