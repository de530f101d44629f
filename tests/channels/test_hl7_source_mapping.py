import asyncio
from dataclasses import replace
from pathlib import Path

import hl7
import pytest

from duress.channels.hl7_acm import Hl7AcmSettings, build_oru_r40
from duress.channels.hl7_source import ExternalAlert, decode_oru_r40
from duress.channels.hl7_source_mapping import (
    ExternalPress,
    Hl7SourceSettings,
    SourceAction,
    external_alert_to_press,
)
from duress.channels.mllp import frame, read_frame
from duress.channels.setup import ChannelsConfig, build_alert_source, read_channels
from duress.domain.errors import ConfigError, InvalidMessage
from duress.domain.facility import Area, AreaKind
from duress.domain.notification import EventPhase, Mode, NoticeLocation
from duress.testing import FakeClock
from tests.channels.support import WHEN, duress_notice

SQUARE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
AREAS = {
    "icu-bed-1": Area("icu-bed-1", "Bed 1", AreaKind.BAY, "f2", SQUARE, unit="icu", parent="icu-1"),
    "room-4b-12": Area("room-4b-12", "Room 12", AreaKind.ROOM, "f4", SQUARE, unit="4b"),
}
SETTINGS = Hl7SourceSettings.from_mapping(
    {
        "port": 2575,
        "mappings": {
            "units": {"CU1": "icu", "4B": "4b"},
            "rooms": {"4B^12": "room-4b-12"},
            "beds": {"CU1^^Bed001": "icu-bed-1"},
            "events": {"DURESS_SECURITY": "security", "MDC_EVT_SENSOR_DISCONN": "assist"},
        },
    }
)


def draeger(vectors: Path, name: str = "draeger-PCD04_alarm.txt") -> str:
    return (vectors / "hl7-acm" / name).read_bytes().decode()


def press(alert: ExternalAlert, settings: Hl7SourceSettings = SETTINGS) -> ExternalPress:
    result = external_alert_to_press(alert, settings, received_at=WHEN, areas=AREAS)
    assert result is not None
    return result


def test_the_draeger_alarm_maps_to_a_bed_of_ours(vectors: Path) -> None:
    result = press(decode_oru_r40(draeger(vectors)))
    assert result.action is SourceAction.RAISE
    assert result.source_key == "hl7:0000000000000001:3d313edb-6fab-4718-9d38-82262c83aea5"
    assert (result.kind, result.priority, result.mode) == ("assist", 3, "test")  # PL, MSH-11 D
    assert result.mapped
    assert result.unit == "icu"
    assert result.text == "CO2 Sensor unplugged"
    location = dict(result.location)
    assert (location["area"], location["bay"], location["room"]) == (
        "icu-bed-1",
        "icu-bed-1",
        "icu-1",
    )
    assert (location["floor"], location["precision"], location["confidence"]) == ("f2", "bed", 1.0)
    assert location["external"] == "CU1^^Bed001^TAM"
    assert location["source"] == "hl7:0000000000000001"


def test_the_watchdog_is_not_an_alert(vectors: Path) -> None:
    watchdog = decode_oru_r40(draeger(vectors, "draeger-PCD04_watchdog.txt"))
    assert watchdog.confirm_timeout_s == 5.0
    assert external_alert_to_press(watchdog, SETTINGS, received_at=WHEN) is None


def test_events_not_listed_are_ignored_when_asked(vectors: Path) -> None:
    strict = Hl7SourceSettings.from_mapping(
        {"mappings": {"events": {"DURESS_SECURITY": "security"}}, "default_kind": "ignore"}
    )
    alarm = decode_oru_r40(draeger(vectors))
    assert external_alert_to_press(alarm, strict, received_at=WHEN) is None
    lenient = Hl7SourceSettings()
    assert press(alarm, lenient).kind == "assist"


@pytest.mark.parametrize(
    ("phase", "state", "action"),
    [
        ("start", "active", SourceAction.RAISE),
        ("update", "active", SourceAction.UPDATE),
        ("escalate", "active", SourceAction.UPDATE),
        ("continue", "active", SourceAction.UPDATE),
        ("end", "inactive", SourceAction.END),
        ("update", "inactive", SourceAction.END),
    ],
)
def test_phases(vectors: Path, phase: str, state: str, action: SourceAction) -> None:
    text = draeger(vectors).replace("|start|", f"|{phase}|").replace("|active|", f"|{state}|")
    assert press(decode_oru_r40(text)).action is action


def test_an_unknown_phase_is_refused(vectors: Path) -> None:
    alert = decode_oru_r40(draeger(vectors).replace("|start|", "|sometime|"))
    with pytest.raises(InvalidMessage) as err:
        external_alert_to_press(alert, SETTINGS, received_at=WHEN)
    assert err.value.reason == "hl7.event_phase"


def test_senders_can_be_restricted(vectors: Path) -> None:
    only = Hl7SourceSettings(sources=("NURSECALL",))
    with pytest.raises(InvalidMessage) as err:
        external_alert_to_press(decode_oru_r40(draeger(vectors)), only, received_at=WHEN)
    assert "is not one of NURSECALL" in str(err.value)


def our_alert(
    phase: EventPhase = EventPhase.START, mode: Mode = Mode.REAL, room: str = "12"
) -> str:
    notice = replace(
        duress_notice(phase=phase, mode=mode),
        location=NoticeLocation(unit="4B", room=room, floor="4"),
    )
    return build_oru_r40(
        notice,
        Hl7AcmSettings(host="h", port=1, sending_application="RTLS2"),
        control_id="C",
        ts=WHEN,
    )


def test_a_room_level_duress_from_another_rtls() -> None:
    result = press(decode_oru_r40(our_alert(mode=Mode.DRILL)))
    assert (result.kind, result.priority, result.mode) == ("security", 1, "drill")
    assert result.source_key == "hl7:RTLS2:alert-1"
    assert (result.location["area"], result.location["room"], result.location["bay"]) == (
        "room-4b-12",
        "room-4b-12",
        None,
    )
    assert result.location["precision"] == "room"
    assert result.unit == "4b"


def test_a_place_we_do_not_know_is_still_raised_with_the_senders_words() -> None:
    result = press(decode_oru_r40(our_alert(room="99")))
    assert not result.mapped
    location = dict(result.location)
    assert (location["area"], location["precision"], location["confidence"]) == (
        None,
        "unknown",
        None,
    )
    assert (location["unit"], location["room"]) == ("4b", "99")
    assert result.unit == "4b"


def test_without_the_sites_areas_the_table_still_places_it(vectors: Path) -> None:
    result = external_alert_to_press(decode_oru_r40(draeger(vectors)), SETTINGS, received_at=WHEN)
    assert result is not None
    assert (result.location["area"], result.location["bay"], result.location["precision"]) == (
        "icu-bed-1",
        "icu-bed-1",
        "bed",
    )


def test_settings_problems_are_all_reported() -> None:
    with pytest.raises(ConfigError) as err:
        Hl7SourceSettings.from_mapping(
            {
                "port": 0,
                "mappings": {"rooms": {"12": "r"}, "beds": {"4B^12": "b"}, "floors": {}},
                "colour": "red",
            }
        )
    text = str(err.value)
    assert "channels.hl7_source.port: 0 must be a whole number from 1" in text
    assert "channels.hl7_source.mappings.rooms.12: write the key as 'point of care^room'" in text
    assert (
        "channels.hl7_source.mappings.beds.4B^12: write the key as 'point of care^room^bed'" in text
    )
    assert "channels.hl7_source.mappings.floors: unknown key" in text
    assert "channels.hl7_source.colour: unknown key" in text


def test_the_channels_section_reads_it() -> None:
    config = read_channels({"hl7_source": {"port": 2576, "mappings": {"rooms": {"4B^12": "r"}}}})
    assert config.hl7_source is not None
    assert config.hl7_source.rooms == {"4B^12": "r"}
    assert "hl7_source" not in config.channel_names
    assert build_alert_source(ChannelsConfig(), _ignore, clock=FakeClock()) is None


async def _ignore(press: ExternalPress) -> None:
    return None


async def exchange(port: int, message: str) -> hl7.Message:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(frame(message))
    await writer.drain()
    answer = await asyncio.wait_for(read_frame(reader), 5)
    writer.close()
    await writer.wait_closed()
    return hl7.parse(answer.decode())


async def test_the_configured_listener_hands_mapped_presses_to_the_desk(vectors: Path) -> None:
    pressed: list[ExternalPress] = []

    async def on_press(result: ExternalPress) -> None:
        pressed.append(result)

    config = read_channels(
        {
            "hl7_source": {
                "port": 2575,
                "sources": ["0000000000000001"],
                "mappings": {"beds": {"CU1^^Bed001": "icu-bed-1"}},
            }
        }
    )
    assert config.hl7_source is not None
    config = ChannelsConfig(hl7_source=replace(config.hl7_source, port=0))
    listener = build_alert_source(config, on_press, clock=FakeClock(), areas=AREAS)
    assert listener is not None
    async with listener:
        ack = await exchange(listener.port, draeger(vectors))
        watchdog = await exchange(listener.port, draeger(vectors, "draeger-PCD04_watchdog.txt"))
        odd = await exchange(listener.port, draeger(vectors).replace("|start|", "|sometime|"))
    assert str(ack.segment("MSA")[1]) == "AA"
    assert str(watchdog.segment("MSA")[1]) == "AA"
    assert str(odd.segment("MSA")[1]) == "AE"
    assert "unknown MDC_ATTR_EVENT_PHASE 'sometime'" in str(odd.segment("MSA")[3])
    assert [p.location["area"] for p in pressed] == ["icu-bed-1"]
    assert listener.last_keepalive_at is not None
