"""The ``ingest:`` section of the site configuration."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from duress.config.loader import load_site
from duress.domain.errors import ConfigError
from duress.domain.ingest_mapping import IngestMapping
from duress.domain.observations import SightingKind

SITE = """\
site: {id: test, name: Test Hospital, timezone: UTC}
facility:
  buildings: [{id: main, name: Main}]
  floors:
    - id: f1
      building: main
      level: 1
      outline: [[0, 0], [40, 0], [40, 20], [0, 20]]
      areas:
        - {id: r1, kind: room, rect: [0, 0, 20, 8]}
devices:
  - {id: gw-1, kind: gateway, floor: f1, position: [5, 9]}
  - {id: ble-1, kind: ble_beacon, floor: f1, position: [10, 9], tx_power: -59}
  - {id: ir-1, kind: ir_monitor, area: r1}
people:
  badges: [{id: b-1}, {id: b-2}]
"""


def load(tmp_path: Path, ingest: str) -> object:
    path = tmp_path / "site.yaml"
    path.write_text(SITE + textwrap.dedent(ingest))
    return load_site(path)


def test_a_site_without_the_section_ingests_only_native_gateways(tmp_path: Path) -> None:
    site = load(tmp_path, "")
    assert site.ingest == IngestMapping()  # type: ignore[attr-defined]


def test_every_source_is_read(tmp_path: Path) -> None:
    site = load(
        tmp_path,
        """\
        ingest:
          native: {signed: true, secrets: secrets/credentials.yaml, sightings_qos: 1}
          espresense: {prefix: site-a/presence, rooms: {kitchen: ble-1}, devices: {"watch:darrell": b-1}}
          openmqttgateway: {gateways: {OMG_ED: gw-1}, beacons: {"58:78:20:76:BC:24": b-2}}
          mqtt_room: {base: rooms, rooms: {ed_bay_2: ble-1}, devices: {abc: b-2}, gateway: ha}
          omlox: {topic: rtls, sources: {zone-1: ir-1}, providers: {tag-7: b-1}, kinds: {uwb: ble}, default_kind: ir}
        """,
    )
    ingest = site.ingest  # type: ignore[attr-defined]
    assert ingest.native.signed
    assert ingest.native.sightings_qos == 1
    assert ingest.native.secrets == str((tmp_path / "secrets/credentials.yaml").resolve())
    assert ingest.espresense.prefix == "site-a/presence"
    assert ingest.espresense.devices == {"watch:darrell": "b-1"}
    assert ingest.openmqttgateway.base == "home"
    assert ingest.mqtt_room.gateway == "ha"
    assert ingest.omlox.kinds == {"ibeacon": SightingKind.BLE, "uwb": SightingKind.BLE}


def test_problems_name_the_file_the_line_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(
            tmp_path,
            """\
            ingest:
              native: {signed: true}
              espresense: {prefix: "a/+", rooms: {kitchen: ble-9}, devices: {x: b-7}}
              omlox: {kinds: {uwb: radio}}
              mqtt_rooms: {}
            """,
        )
    problems = "\n".join(caught.value.problems)
    assert "site.yaml:18: ingest.native: signed: true needs the gateways' keys" in problems
    assert "site.yaml:19: ingest.espresense.prefix: 'a/+' is not a topic prefix" in problems
    assert "ingest.espresense.rooms.kitchen: 'ble-9' is not a known device id" in problems
    assert "ingest.espresense.devices.x: 'b-7' is not a known badge id" in problems
    assert "ingest.omlox.kinds.uwb: 'radio' is not a valid sighting kind" in problems
    assert "unknown key 'mqtt_rooms' (did you mean 'mqtt_room'?)" in problems
