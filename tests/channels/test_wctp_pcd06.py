"""The IHE PCD-06 form of WCTP, checked against the real (namespaced) PCD-06 schema."""

import asyncio
from dataclasses import replace
from pathlib import Path

import hl7
import httpx
import pytest
from fastapi import FastAPI
from lxml import etree

from duress.channels.text import NameDisplay, TextSettings
from duress.channels.wctp import (
    MessageReply,
    StatusInfo,
    WctpNotifier,
    WctpSettings,
    build_confirmation,
    build_message_reply,
    build_status_info,
    build_submit_request,
    parse_confirmation,
    parse_inbound,
    parse_submit_request,
    pcd04_for,
    wctp_router,
)
from duress.channels.wctp_ihe import (
    NAMESPACE,
    VERSION,
    AcmInfo,
    AcmLocation,
    AcmParticipant,
    AcmResponder,
    acm_from_notice,
    acm_from_pcd04,
)
from duress.domain.errors import ConfigError, InvalidMessage
from duress.domain.notification import DeliveryStatus, EventPhase, Notice, Reply
from duress.service.clock import SystemClock
from duress.service.delivery import Delivery
from duress.sim.peers import WctpGatewayPeer
from duress.testing import FakeClock
from tests.channels.support import WHEN, Updates, duress_notice

SETTINGS = WctpSettings(
    url="http://127.0.0.1:9/wctp",
    sender_id="duress",
    reply_url="http://127.0.0.1:8000/wctp",
    pcd06=True,
    facility="General",
)


@pytest.fixture
def xsd(vectors: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(vectors / "wctp" / "wctp-dtd-ihepcd-pcd06-v1r2.xsd")))


@pytest.fixture
def dtd(vectors: Path) -> etree.DTD:
    return etree.DTD(str(vectors / "wctp" / "wctp-dtd-v1r3.dtd"))


def valid(xsd: etree.XMLSchema, document: bytes) -> etree._Element:
    root = etree.fromstring(document)
    assert xsd.validate(root), xsd.error_log.filter_from_errors()
    return root


def ns(path: str) -> str:
    return "/".join(f"{{{NAMESPACE}}}{part}" for part in path.split("/"))


def submit(notice: Notice | None = None, settings: WctpSettings = SETTINGS) -> bytes:
    notice = notice or duress_notice()
    return build_submit_request(
        notice,
        settings,
        text="DURESS SECURITY. Floor 4",
        message_id=notice.key,
        submitted=WHEN,
        pcd04=pcd04_for(notice, settings, message_id=notice.key, ts=WHEN, text=TextSettings()),
    )


def test_the_submit_request_is_valid_pcd06_and_carries_the_alert_as_pcd04(
    xsd: etree.XMLSchema,
) -> None:
    root = valid(xsd, submit())
    assert root.tag == f"{{{NAMESPACE}}}wctp-Operation"
    assert root.get("wctpVersion") == VERSION
    pcd04 = root.findtext(ns("wctp-SubmitRequest/wctp-Payload/wctp-MCR/wctp-IHEPCD04"))
    assert pcd04 is not None
    message = hl7.parse(pcd04)
    assert str(message.segment("MSH")[9]) == "ORU^R40^ORU_R40"
    assert str(message.segment("PID")[5]) == "Jane Doe (RN)"  # the staff member in duress
    pv1_3 = message.segment("PV1")[3][0]
    assert (str(pv1_3[0]), str(pv1_3[1]), str(pv1_3[2]), str(pv1_3[3])) == (
        "4B",
        "12",
        "A",
        "General",
    )
    assert str(message.segment("OBR")[3]) == "alert-1^alert-1:t1:s2"


@pytest.mark.parametrize("phase", list(EventPhase))
def test_every_phase_is_valid(xsd: etree.XMLSchema, phase: EventPhase) -> None:
    valid(xsd, submit(duress_notice(phase=phase, update_reason="escalated")))


def test_a_message_without_choices_is_still_valid_pcd06(xsd: etree.XMLSchema) -> None:
    notice = replace(duress_notice(), choices=())
    root = valid(xsd, submit(notice))
    assert root.find(ns("wctp-SubmitRequest/wctp-Payload/wctp-Alphanumeric")) is not None


def test_without_pcd06_the_document_stays_plain_wctp_1_3(dtd: etree.DTD) -> None:
    plain = replace(SETTINGS, pcd06=False)
    root = etree.fromstring(submit(settings=plain))
    assert dtd.validate(root), dtd.error_log.filter_from_errors()
    assert root.find(".//wctp-IHEPCD04") is None


def test_the_pcd06_request_parses_back() -> None:
    request = parse_submit_request(submit())
    assert request.pcd06
    assert (request.message_id, request.recipient_id, request.choices) == (
        "alert-1:t1:s2",
        "4711",
        ("Accept", "Decline"),
    )
    info = acm_from_pcd04(request.pcd04)
    assert info.participants == (AcmParticipant("s1", "STAFF", "Jane Doe (RN)"),)
    assert [(loc.identifier, loc.physical_type) for loc in info.locations] == [
        ("4B^12", "ro"),
        ("4B^12^A", "bd"),
    ]
    assert info.observation is not None
    assert (info.observation.filler_order_number, info.observation.alarm_priority) == (
        "alert-1",
        "PH",
    )


def test_alert_information_from_a_notice() -> None:
    info = acm_from_notice(duress_notice(), responder="4711")
    assert info.staff == AcmParticipant("s1", "STAFF", "Jane Doe (RN)")
    assert info.locations[0] == AcmLocation(
        "4B^12", "Floor 4, unit 4B, room 12, bay A - last seen 3 s ago", "ro"
    )
    assert info.responder == AcmResponder("4711", "4711")
    assert info.observation is not None
    assert info.observation.event_identification == "DURESS_SECURITY"
    role_only = acm_from_notice(duress_notice(), TextSettings(name_display=NameDisplay.ROLE))
    assert role_only.participants == (AcmParticipant("RN", "STAFF", "RN"),)


def test_status_reply_and_confirmation_in_the_pcd06_form_are_valid_and_parse_back(
    xsd: etree.XMLSchema,
) -> None:
    status_acm = acm_from_notice(duress_notice())
    status = build_status_info(
        "m-1",
        sender_id="gw",
        recipient_id="4711",
        status="DELIVERED",
        status_message_id="s1",
        responded=WHEN,
        acm=status_acm,
    )
    valid(xsd, status)
    assert parse_inbound(status) == StatusInfo(
        "m-1", "4711", DeliveryStatus.DELIVERED, acm=status_acm, pcd06=True
    )
    reply_acm = acm_from_notice(duress_notice(), responder="guard-7", on_behalf_of="4711")
    reply = build_message_reply(
        "m-1",
        sender_id="gw",
        recipient_id="4711",
        text="Accept",
        reply_message_id="r1",
        responded=WHEN,
        acm=reply_acm,
    )
    valid(xsd, reply)
    assert parse_inbound(reply) == MessageReply("m-1", "4711", "Accept", reply_acm, True)
    failure = build_status_info(
        "m-1",
        sender_id="gw",
        recipient_id="4711",
        status="",
        status_message_id="s2",
        responded=WHEN,
        error_code="403",
        error_text="invalid recipientID",
        acm=AcmInfo(),
    )
    valid(xsd, failure)
    for ok in (True, False):
        valid(xsd, build_confirmation(ok, "200" if ok else "400", "x", pcd06=True))


def test_elements_from_another_namespace_are_refused() -> None:
    body = (
        f'<wctp-Operation xmlns="{NAMESPACE}" xmlns:x="urn:other" wctpVersion="{VERSION}">'
        "<x:wctp-StatusInfo/></wctp-Operation>"
    ).encode()
    with pytest.raises(InvalidMessage) as err:
        parse_inbound(body)
    assert err.value.reason == "wctp.namespace"


async def test_the_router_takes_pcd06_reports_and_answers_in_kind(xsd: etree.XMLSchema) -> None:
    updates = Updates()
    app = FastAPI()
    app.include_router(wctp_router(updates, clock=FakeClock()))
    reply = build_message_reply(
        "m-1",
        sender_id="gw",
        recipient_id="4711",
        text="Accept",
        reply_message_id="r1",
        responded=WHEN,
        acm=acm_from_notice(duress_notice(), responder="guard-7", on_behalf_of="4711"),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.post("/wctp", content=reply)
    valid(xsd, response.content)
    assert parse_confirmation(response.content).ok
    assert (updates[0].status, updates[0].reply, updates[0].responder) == (
        DeliveryStatus.REPLIED,
        Reply.ACCEPT,
        "guard-7",
    )


def test_settings() -> None:
    settings = WctpSettings.from_mapping(
        {"url": "https://gw.example/wctp", "sender_id": "duress", "pcd06": True}
    )
    assert settings.pcd06
    with pytest.raises(ConfigError) as err:
        WctpSettings.from_mapping(
            {"url": "https://gw.example/wctp", "sender_id": "d", "pcd06": True, "use_mcr": False}
        )
    assert "channels.wctp.pcd06: the PCD-06 alert information rides in wctp-MCR" in str(err.value)


async def test_end_to_end_with_a_pcd06_gateway(xsd: etree.XMLSchema) -> None:
    """Our PCD-06 request -> gateway peer -> PCD-07 status and reply with the alert information."""
    updates = Updates()
    app = FastAPI()
    inbound = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://duress.test")
    async with (
        WctpGatewayPeer(client=inbound, responder="guard-7") as gateway,
    ):
        settings = replace(SETTINGS, url=gateway.url, reply_url="http://duress.test/wctp")
        notifier = WctpNotifier(settings, clock=SystemClock())
        delivery = Delivery([notifier], updates, SystemClock())
        app.include_router(wctp_router(delivery.inbound, lookup=notifier.lookup))
        outcome = await delivery.deliver([duress_notice()])
        await asyncio.wait_for(gateway.reported.wait(), 5)
        await notifier.aclose()
    await inbound.aclose()
    assert outcome.status is DeliveryStatus.SENT
    valid(xsd, gateway.raw[0])
    assert gateway.received[0].pcd06
    assert gateway.posted == [("DELIVERED", 200), ("READ", 200), ("reply:Accept", 200)]
    replied = [u for u in updates if u.status is DeliveryStatus.REPLIED]
    assert [(u.reply, u.responder, u.recipient) for u in replied] == [
        (Reply.ACCEPT, "guard-7", "s2")
    ]
    assert {u.status for u in updates} >= {DeliveryStatus.DELIVERED, DeliveryStatus.READ}
