import asyncio
from pathlib import Path

import hl7
import pytest

from duress.channels.hl7_acm import Hl7AcmSettings, build_oru_r40
from duress.channels.hl7_source import ExternalAlert, Hl7AlertListener, decode_oru_r40
from duress.channels.mllp import frame, read_frame
from duress.domain.errors import InvalidMessage
from duress.domain.notification import DeliveryStatus
from tests.channels.support import WHEN, Updates, duress_notice


def alarm(vectors: Path) -> str:
    return (vectors / "hl7-acm" / "draeger-PCD04_alarm.txt").read_bytes().decode()


def test_the_draeger_alarm_decodes(vectors: Path) -> None:
    alert = decode_oru_r40(alarm(vectors))
    assert alert.identifier == "3d313edb-6fab-4718-9d38-82262c83aea5"
    assert alert.phase == "start"
    assert alert.priority == "PL"
    assert alert.state == "active"
    assert alert.event == "MDC_EVT_SENSOR_DISCONN"
    assert alert.text == "CO2 Sensor unplugged"
    assert (alert.location.point_of_care, alert.location.bed, alert.location.facility) == (
        "CU1",
        "Bed001",
        "TAM",
    )
    assert alert.profile == "1.3.6.1.4.1.19376.1.6.1.4.1"
    assert not alert.keepalive


def test_the_draeger_watchdog_is_a_keepalive(vectors: Path) -> None:
    alert = decode_oru_r40((vectors / "hl7-acm" / "draeger-PCD04_watchdog.txt").read_bytes())
    assert alert.keepalive


@pytest.mark.parametrize(
    "oid",
    ["1.3.6.1.4.1.19376.1.6.4.4", "1.3.6.1.4.1.19376.1.6.4.4.1", "1.3.6.1.4.1.19376.1.6.1.4.1"],
)
def test_every_profile_oid_in_the_field_is_accepted(vectors: Path, oid: str) -> None:
    text = alarm(vectors).replace("1.3.6.1.4.1.19376.1.6.1.4.1", oid)
    assert decode_oru_r40(text).profile == oid


def test_older_attribute_codes_are_read_by_reference_name(vectors: Path) -> None:
    text = alarm(vectors)
    for new, old in zip(range(68480, 68486), range(68163, 68169), strict=True):
        text = text.replace(f"{new}^MDC_ATTR", f"{old}^MDC_ATTR")
    alert = decode_oru_r40(text.replace("\r\n", "\r"))
    assert (alert.phase, alert.priority) == ("start", "PL")


def test_attribute_numbers_alone_are_understood(vectors: Path) -> None:
    text = alarm(vectors).replace("^MDC_ATTR_EVENT_PHASE^MDC", "^^MDC")
    assert decode_oru_r40(text).phase == "start"


def test_our_own_messages_decode(vectors: Path) -> None:
    ours = build_oru_r40(duress_notice(), Hl7AcmSettings(host="h", port=1), control_id="C", ts=WHEN)
    alert = decode_oru_r40(ours)
    assert (alert.identifier, alert.phase, alert.priority) == ("alert-1", "start", "PH")
    assert (alert.location.point_of_care, alert.location.room, alert.location.floor) == (
        "4B",
        "12",
        "4",
    )


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda t: t.replace("1.3.6.1.4.1.19376.1.6.1.4.1", "1.2.3"), "hl7.profile"),
        (
            lambda t: "\r\n".join(s for s in t.split("\r\n") if not s.startswith("OBR")),
            "hl7.missing_segment",
        ),
        (
            lambda t: "\r\n".join(s for s in t.split("\r\n") if not s.startswith("OBX")),
            "hl7.missing_segment",
        ),
        (
            lambda t: t.replace("MDC_ATTR_EVENT_PHASE", "X").replace("68481", "1"),
            "hl7.missing_attribute",
        ),
        (lambda t: t.replace("ORU^R40^ORU_R40", "ADT^A01"), "hl7.type"),
        (lambda t: t.replace("MSH|", "XXX|", 1), "hl7.no_msh"),
    ],
)
def test_bad_messages_are_clear_errors(vectors: Path, mangle: object, reason: str) -> None:
    with pytest.raises(InvalidMessage) as err:
        decode_oru_r40(mangle(alarm(vectors)))  # type: ignore[operator]
    assert err.value.reason == reason


async def exchange(port: int, message: str) -> hl7.Message:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(frame(message))
    await writer.drain()
    answer = await asyncio.wait_for(read_frame(reader), 5)
    writer.close()
    await writer.wait_closed()
    return hl7.parse(answer.decode())


async def test_listener_acks_alerts_and_hands_them_on(vectors: Path) -> None:
    alerts: list[ExternalAlert] = []

    async def on_alert(alert: ExternalAlert) -> None:
        alerts.append(alert)

    async with Hl7AlertListener(on_alert) as listener:
        ack = await exchange(listener.port, alarm(vectors).replace("\r\n", "\r"))
        assert str(ack.segment("MSA")[1]) == "AA"
        assert str(ack.segment("MSA")[2]) == "0"
        watchdog = await exchange(
            listener.port,
            (vectors / "hl7-acm" / "draeger-PCD04_watchdog.txt").read_bytes().decode(),
        )
        assert str(watchdog.segment("MSA")[1]) == "AA"
        bad = await exchange(
            listener.port, alarm(vectors).replace("1.3.6.1.4.1.19376.1.6.1.4.1", "9.9")
        )
        assert str(bad.segment("MSA")[1]) == "AE"
        assert "unknown message profile" in str(bad.segment("MSA")[3])
        assert str(bad.segment("ERR")) != ""
    assert [a.identifier for a in alerts] == ["3d313edb-6fab-4718-9d38-82262c83aea5"]
    assert listener.last_keepalive is not None


async def test_listener_answers_ae_when_the_alert_cannot_be_recorded(vectors: Path) -> None:
    async def broken(alert: ExternalAlert) -> None:
        raise RuntimeError("store down")

    async with Hl7AlertListener(broken) as listener:
        ack = await exchange(listener.port, alarm(vectors))
    assert str(ack.segment("MSA")[1]) == "AE"


async def test_listener_takes_dispatch_reports_too(vectors: Path) -> None:
    updates = Updates()

    async def ignore(alert: ExternalAlert) -> None:
        return None

    async with Hl7AlertListener(ignore, on_update=updates) as listener:
        ack = await exchange(
            listener.port, (vectors / "hl7-acm" / "draeger-PCD05_alarm.txt").read_bytes().decode()
        )
    assert str(ack.segment("MSA")[1]) == "AA"
    assert updates[0].status is DeliveryStatus.DELIVERED
    assert updates[0].key == "3d313edb-6fab-4718-9d38-82262c83aea5"
