import asyncio
from dataclasses import replace
from pathlib import Path

import hl7
import pytest

from duress.channels.hl7_acm import (
    Hl7AcmNotifier,
    Hl7AcmSettings,
    build_oru_r40,
    build_watchdog,
    event_phase,
    parse_ora_r41,
)
from duress.channels.hl7v2 import Hl7Message, parse_ack
from duress.channels.text import NameDisplay, TextSettings
from duress.domain.errors import ConfigError, InvalidMessage
from duress.domain.notification import DeliveryStatus, EventPhase, Mode, NoticeLocation, Reply
from duress.service.clock import SystemClock
from duress.sim.peers import AlertManagerPeer
from tests.channels.support import WHEN, Updates, duress_notice

SETTINGS = Hl7AcmSettings(host="127.0.0.1", port=1, facility="General", ack_timeout_s=1.0)


def oru(**kwargs: object) -> str:
    return build_oru_r40(duress_notice(**kwargs), SETTINGS, control_id="C1", ts=WHEN)  # type: ignore[arg-type]


def obx(message: hl7.Message, name: str) -> str:
    for segment in message.segments("OBX"):
        if name in str(segment[3]):
            return str(segment[5])
    raise AssertionError(f"no {name}")


def test_oru_r40_parses_with_python_hl7_and_says_what_acm_needs() -> None:
    text = oru()
    assert "\n" not in text
    message = hl7.parse(text)
    assert str(message.segment("MSH")[9]) == "ORU^R40^ORU_R40"
    assert str(message.segment("MSH")[10]) == "C1"
    assert str(message.segment("MSH")[11]) == "P"
    assert "1.3.6.1.4.1.19376.1.6.1.4.1" in str(message.segment("MSH")[21])
    pv1_3 = message.segment("PV1")[3]
    assert (str(pv1_3[0][0]), str(pv1_3[0][1]), str(pv1_3[0][2]), str(pv1_3[0][3])) == (
        "4B",
        "12",
        "A",
        "General",
    )
    assert str(pv1_3[0][7]) == "4"
    assert str(message.segment("OBR")[3]) == "alert-1^alert-1:t1:s2"
    assert str(message.segment("PID")[5]) == "Jane Doe (RN)"
    assert obx(message, "MDC_ATTR_EVENT_PHASE") == "start"
    assert obx(message, "MDC_ATTR_ALARM_PRIORITY") == "PH"
    assert obx(message, "MDC_ATTR_ALARM_STATE") == "active"
    assert "Floor 4, unit 4B, room 12, bay A" in obx(message, "DURESS_SECURITY")


@pytest.mark.parametrize(
    ("phase", "reason", "expected", "state"),
    [
        (EventPhase.START, "", "start", "active"),
        (EventPhase.UPDATE, "location changed", "update", "active"),
        (EventPhase.UPDATE, "escalated to tier 2", "escalate", "active"),
        (EventPhase.END, "", "end", "inactive"),
    ],
)
def test_event_phases(phase: EventPhase, reason: str, expected: str, state: str) -> None:
    notice = duress_notice(phase=phase, update_reason=reason)
    assert event_phase(notice) == expected
    message = hl7.parse(oru(phase=phase, update_reason=reason))
    assert obx(message, "MDC_ATTR_EVENT_PHASE") == expected
    assert obx(message, "MDC_ATTR_ALARM_STATE") == state


def test_drills_and_tests_use_the_hl7_processing_id() -> None:
    assert str(hl7.parse(oru(mode=Mode.DRILL)).segment("MSH")[11]) == "T"
    assert str(hl7.parse(oru(mode=Mode.TEST)).segment("MSH")[11]) == "D"


def test_role_only_display_leaves_no_name_or_id() -> None:
    text = build_oru_r40(
        duress_notice(),
        SETTINGS,
        control_id="C",
        ts=WHEN,
        text=TextSettings(name_display=NameDisplay.ROLE),
    )
    assert "Jane" not in text
    assert "s1^^^" not in text


def test_delimiters_in_text_are_escaped() -> None:
    notice = duress_notice()
    odd = replace(notice, location=NoticeLocation(unit="4|B", room="12^a"))
    message = hl7.parse(build_oru_r40(odd, SETTINGS, control_id="C", ts=WHEN))
    assert len(message.segment("PV1")) == 4
    assert "\\F\\" in str(message.segment("PV1")[3])


def test_watchdog_matches_the_draeger_shape(vectors: Path) -> None:
    ours = hl7.parse(build_watchdog(SETTINGS, control_id="W1", ts=WHEN))
    theirs = hl7.parse(
        (vectors / "hl7-acm" / "draeger-PCD04_watchdog.txt")
        .read_bytes()
        .decode()
        .replace("\r\n", "\r")
    )
    assert obx(ours, "MDC_EVT_ACTIVE") == obx(theirs, "MDC_EVT_ACTIVE") == "continue"
    assert obx(ours, "MDC_ATTR_CONFIRM_TIMEOUT") == "5"


def test_the_real_pcd05_and_ack_decode(vectors: Path) -> None:
    dispatch = parse_ora_r41(
        Hl7Message.parse((vectors / "hl7-acm" / "draeger-PCD05_alarm.txt").read_bytes())
    )
    assert dispatch.status is DeliveryStatus.DELIVERED
    assert dispatch.alert == "0"
    assert dispatch.key == "3d313edb-6fab-4718-9d38-82262c83aea5"
    ack = parse_ack(
        Hl7Message.parse((vectors / "hl7-acm" / "draeger-ACK_watchdog.txt").read_bytes())
    )
    assert ack.ok
    assert ack.control_id == "2df8823a-f8fb-44e0-a4ba-1d826e0809f1"


@pytest.mark.parametrize(
    ("word", "status", "reply"),
    [
        ("Accepted", DeliveryStatus.REPLIED, Reply.ACCEPT),
        ("Rejected", DeliveryStatus.REPLIED, Reply.DECLINE),
        ("Read", DeliveryStatus.READ, None),
        ("Undeliverable", DeliveryStatus.FAILED, None),
    ],
)
def test_dispatch_words(word: str, status: DeliveryStatus, reply: Reply | None) -> None:
    text = f"MSH|^~\\&|AM||||20260105||ORA^R41|1||2.6\rOBR|||a^k\rPRT|||{word}||R1^Smith^Pat"
    dispatch = parse_ora_r41(Hl7Message.parse(text))
    assert (dispatch.status, dispatch.reply, dispatch.responder) == (status, reply, "Pat Smith")


def test_dispatch_without_a_status_is_a_clear_error() -> None:
    with pytest.raises(InvalidMessage, match="no known dispatch status"):
        parse_ora_r41(Hl7Message.parse("MSH|^~\\&|AM||||2026||ORA^R41|1||2.6\rOBR|||a^k\rPRT|||"))
    with pytest.raises(InvalidMessage, match="no OBR segment"):
        parse_ora_r41(Hl7Message.parse("MSH|^~\\&|AM||||2026||ORA^R41|1||2.6\rPRT|||Read"))


# -- over a real MLLP socket ---------------------------------------------------------------------------


async def test_send_is_acked_and_dispatch_reports_come_back() -> None:
    updates = Updates()
    async with AlertManagerPeer() as manager:
        settings = Hl7AcmSettings(host="127.0.0.1", port=manager.port)
        notifier = Hl7AcmNotifier(settings, clock=SystemClock(), on_update=updates)
        receipt = await notifier.send(duress_notice())
        assert receipt.status is DeliveryStatus.SENT
        assert receipt.detail == "ACK AA"
        await asyncio.wait_for(manager.dispatched.wait(), 5)
        for _ in range(100):
            if len(updates) == 3 and len(manager.acks_received) == 3:
                break
            await asyncio.sleep(0.01)
        assert [(u.status, u.reply) for u in updates] == [
            (DeliveryStatus.DELIVERED, None),
            (DeliveryStatus.READ, None),
            (DeliveryStatus.REPLIED, Reply.ACCEPT),
        ]
        assert updates[-1].key == "alert-1:t1:s2"
        assert updates[-1].responder == "Pat Smith"
        assert [Hl7Message.field(a.first("MSA"), 1) for a in manager.acks_received] == ["AA"] * 3
        assert manager.received[0].message_type == "ORU^R40"
        await notifier.aclose()


@pytest.mark.parametrize(("code", "retryable"), [("AE", True), ("AR", False)])
async def test_refusals_carry_the_error_text(code: str, retryable: bool) -> None:
    async with AlertManagerPeer(ack=code, error_text="unknown location 4B") as manager:
        notifier = Hl7AcmNotifier(Hl7AcmSettings(host="127.0.0.1", port=manager.port))
        receipt = await notifier.send(duress_notice())
        await notifier.aclose()
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail == f"alert manager answered {code}: unknown location 4B"
    assert receipt.retryable is retryable


async def test_a_manager_that_never_acks_is_a_failed_receipt_and_the_next_send_reconnects() -> None:
    async with AlertManagerPeer(ack="none") as manager:
        settings = Hl7AcmSettings(host="127.0.0.1", port=manager.port, ack_timeout_s=0.2)
        notifier = Hl7AcmNotifier(settings)
        receipt = await notifier.send(duress_notice())
        assert receipt.status is DeliveryStatus.FAILED
        assert receipt.detail == "no ACK within 0.2 s"
        manager.ack = "AA"
        manager.dispatch = ()
        assert (await notifier.send(duress_notice(key="k2"))).status is DeliveryStatus.SENT
        await notifier.aclose()


async def test_an_unreachable_manager_is_a_failed_receipt() -> None:
    manager = await AlertManagerPeer().start()
    port = manager.port
    await manager.stop()
    notifier = Hl7AcmNotifier(Hl7AcmSettings(host="127.0.0.1", port=port))
    receipt = await notifier.send(duress_notice())
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail.startswith("alert manager unreachable")


async def test_keepalive_is_acknowledged() -> None:
    async with AlertManagerPeer() as manager:
        notifier = Hl7AcmNotifier(Hl7AcmSettings(host="127.0.0.1", port=manager.port))
        assert await notifier.keepalive()
        assert notifier.last_ack_at is not None
        assert any("MDC_EVT_ACTIVE" in "|".join(s) for s in manager.received[0].segments)
        await notifier.aclose()


async def test_keepalive_reports_a_silent_manager() -> None:
    async with AlertManagerPeer(ack="none") as manager:
        settings = Hl7AcmSettings(host="127.0.0.1", port=manager.port, ack_timeout_s=0.1)
        notifier = Hl7AcmNotifier(settings)
        assert not await notifier.keepalive()
        await notifier.aclose()


def test_settings_from_mapping() -> None:
    assert (
        Hl7AcmSettings.from_mapping({"host": "am.local", "port": 2575}).endpoint
        == "mllp://am.local:2575"
    )
    with pytest.raises(ConfigError) as err:
        Hl7AcmSettings.from_mapping({"port": 99999})
    assert "channels.hl7_acm.host: missing" in str(err.value)
    assert "channels.hl7_acm.port: 99999 must be a whole number from 1 to 65535" in str(err.value)
