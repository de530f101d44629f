import gc
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from lxml import etree

from duress.channels.http_client import HttpClient
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
    wctp_router,
)
from duress.domain.errors import ConfigError, InvalidMessage
from duress.domain.notification import DeliveryStatus, Mode, Notice, Reply
from duress.testing import FakeClock
from tests.channels.http_server import Answer, HttpServer, closed_port
from tests.channels.support import WHEN, Updates, duress_notice

SETTINGS = WctpSettings(
    url="http://127.0.0.1:9/wctp", sender_id="duress", reply_url="http://127.0.0.1:8000/wctp"
)


@pytest.fixture
def dtd(vectors: Path) -> etree.DTD:
    return etree.DTD(str(vectors / "wctp" / "wctp-dtd-v1r3.dtd"))


def assert_valid(dtd: etree.DTD, document: bytes) -> etree._Element:
    root = etree.fromstring(document)
    assert dtd.validate(root), dtd.error_log.filter_from_errors()
    return root


def submit(notice: Notice | None = None, settings: WctpSettings = SETTINGS) -> bytes:
    return build_submit_request(
        notice or duress_notice(),
        settings,
        text="DURESS SECURITY. Floor 4",
        message_id="m-1",
        submitted=WHEN,
    )


# -- documents against the real DTD ------------------------------------------------------------------


def test_submit_request_with_choices_is_valid_wctp_1_3(dtd: etree.DTD) -> None:
    root = assert_valid(dtd, submit())
    control = root.find("wctp-SubmitRequest/wctp-SubmitHeader/wctp-MessageControl")
    assert control is not None
    assert control.get("messageID") == "m-1"
    assert control.get("notifyWhenDelivered") == "true"
    assert control.get("notifyWhenRead") == "true"
    assert control.get("sendResponsesToID") == "http://127.0.0.1:8000/wctp"
    assert control.get("deliveryPriority") == "HIGH"
    choices = root.findall("wctp-SubmitRequest/wctp-Payload/wctp-MCR/wctp-Choice")
    assert [c.text for c in choices] == ["Accept", "Decline"]


@pytest.mark.parametrize("mode", list(Mode))
def test_plain_text_and_every_mode_are_valid(dtd: etree.DTD, mode: Mode) -> None:
    plain = WctpSettings(
        url=SETTINGS.url, sender_id="duress", use_mcr=False, security_code="s3", token="tok"
    )
    root = assert_valid(dtd, submit(duress_notice(mode=mode), plain))
    assert root.find("wctp-SubmitRequest/wctp-Payload/wctp-Alphanumeric") is not None
    originator = root.find("wctp-SubmitRequest/wctp-SubmitHeader/wctp-Originator")
    assert originator is not None
    assert originator.get("miscInfo") == mode.value


def test_confirmations_status_and_replies_we_emit_are_valid(dtd: etree.DTD) -> None:
    assert_valid(dtd, build_confirmation(True, "200", "Accepted"))
    assert_valid(dtd, build_confirmation(False, "301", "bad"))
    assert_valid(
        dtd,
        build_status_info(
            "m-1",
            sender_id="gw",
            recipient_id="4711",
            status="READ",
            status_message_id="s-1",
            responded=WHEN,
        ),
    )
    assert_valid(
        dtd,
        build_status_info(
            "m-1",
            sender_id="gw",
            recipient_id="4711",
            status="",
            status_message_id="s-2",
            responded=WHEN,
            error_code="403",
            error_text="invalid recipientID",
        ),
    )
    assert_valid(
        dtd,
        build_message_reply(
            "m-1",
            sender_id="gw",
            recipient_id="4711",
            text="Accept",
            reply_message_id="r-1",
            responded=WHEN,
        ),
    )


# -- the field's samples -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["connectathon-epic-submitrequest.xml", "nist-TestCase2.xml"])
def test_real_utf16_submit_requests_parse_and_validate(
    vectors: Path, dtd: etree.DTD, name: str
) -> None:
    body = (vectors / "wctp" / name).read_bytes()
    assert body[:2] in (b"\xff\xfe", b"\xfe\xff")  # UTF-16, either byte order
    assert_valid(dtd, body)
    request = parse_submit_request(body)
    assert request.recipient_id == "test@connectathon"
    assert request.text == "Overdue: 3 - 108 - Bed A :PCD IHE Medium"
    assert request.choices == ("Accept", "Reject")
    assert request.notify_when_read
    assert request.message_id.startswith("1334f7d8-3c51-420e-8d5f-ace100fbff84:")


def test_our_submit_request_round_trips() -> None:
    request = parse_submit_request(submit())
    assert (request.message_id, request.recipient_id, request.choices) == (
        "m-1",
        "4711",
        ("Accept", "Decline"),
    )


# -- parsing what gateways send ------------------------------------------------------------------------


def test_status_info_and_replies_parse() -> None:
    read = build_status_info(
        "m-1",
        sender_id="gw",
        recipient_id="4711",
        status="READ",
        status_message_id="s-1",
        responded=WHEN,
    )
    assert parse_inbound(read) == StatusInfo("m-1", "4711", DeliveryStatus.READ)
    failed = build_status_info(
        "m-1",
        sender_id="gw",
        recipient_id="4711",
        status="",
        status_message_id="s-2",
        responded=WHEN,
        error_code="403",
        error_text="invalid recipientID",
    )
    assert parse_inbound(failed) == StatusInfo(
        "m-1", "4711", DeliveryStatus.FAILED, "403", "invalid recipientID"
    )
    reply = build_message_reply(
        "m-1",
        sender_id="gw",
        recipient_id="4711",
        text=" Accept ",
        reply_message_id="r",
        responded=WHEN,
    )
    assert parse_inbound(reply) == MessageReply("m-1", "4711", "Accept")


def test_utf16_inbound_is_accepted() -> None:
    reply = build_message_reply(
        "m-1",
        sender_id="gw",
        recipient_id="4711",
        text="Decline",
        reply_message_id="r",
        responded=WHEN,
    )
    utf16 = reply.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert parse_inbound(utf16) == MessageReply("m-1", "4711", "Decline")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "wctp.empty"),
        (b"<wctp-Operation><oops", "wctp.not_xml"),
        (b"<html/>", "wctp.root"),
        (
            b'<wctp-Operation wctpVersion="x"><wctp-VersionQuery inquirer="a"/></wctp-Operation>',
            "wctp.unsupported",
        ),
        (b'<wctp-Operation wctpVersion="x"><wctp-StatusInfo/></wctp-Operation>', "wctp.missing"),
        (
            b'<wctp-Operation wctpVersion="x"><wctp-StatusInfo><wctp-ResponseHeader '
            b'responseToMessageID="m"/><wctp-Notification type="LOST"/></wctp-StatusInfo>'
            b"</wctp-Operation>",
            "wctp.notification",
        ),
    ],
)
def test_malformed_inbound_is_a_clear_error(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage) as err:
        parse_inbound(body)
    assert err.value.reason == reason


def test_entities_are_not_expanded() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<wctp-Operation wctpVersion="x"><wctp-MessageReply><wctp-ResponseHeader '
        b'responseToMessageID="m"/><wctp-Payload><wctp-Alphanumeric>&e;</wctp-Alphanumeric>'
        b"</wctp-Payload></wctp-MessageReply></wctp-Operation>"
    )
    reply = parse_inbound(evil)
    assert isinstance(reply, MessageReply)
    assert "root" not in reply.text


def test_confirmation_success_and_failure() -> None:
    assert parse_confirmation(build_confirmation(True, "200", "OK")).ok
    failure = parse_confirmation(build_confirmation(False, "403", "invalid recipientID"))
    assert (failure.ok, failure.code, failure.text) == (False, "403", "invalid recipientID")


# -- the client over HTTP --------------------------------------------------------------------------------


@pytest.fixture
def gateway(server: HttpServer, http: HttpClient) -> WctpNotifier:
    """A notifier posting to the test server (answers set with ``server.answer``)."""
    return WctpNotifier(replace(SETTINGS, url=server.url("/wctp")), clock=FakeClock(), client=http)


async def test_send_posts_a_valid_document_and_reads_the_confirmation(
    dtd: etree.DTD, server: HttpServer, gateway: WctpNotifier
) -> None:
    server.answer = Answer(200, build_confirmation(True, "200", "Accepted"), XML)
    receipt = await gateway.send(duress_notice())
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.provider_id == "alert-1:t1:s2"
    assert receipt.detail == "WCTP 200 Accepted"
    seen = [request.body for request in server.seen]
    assert server.seen[0].headers["content-type"].startswith("text/xml")
    assert (server.seen[0].method, server.seen[0].path) == ("POST", "/wctp")
    assert_valid(dtd, seen[0])
    assert parse_submit_request(seen[0]).text.startswith("DURESS SECURITY. Floor 4, unit 4B")
    assert gateway.lookup("alert-1:t1:s2") == duress_notice()


XML = {"Content-Type": "text/xml; charset=utf-8"}


@pytest.mark.parametrize(
    ("answer", "detail", "retryable"),
    [
        (Answer(500, b"oops"), "gateway answered HTTP 500", True),
        (Answer(503), "gateway answered HTTP 503", True),
        (Answer(429), "gateway answered HTTP 429", True),
        (Answer(408), "gateway answered HTTP 408", True),
        (Answer(401), "gateway answered HTTP 401", False),
        (Answer(200, b"<not xml"), "malformed confirmation from gateway", True),
        (
            Answer(200, build_confirmation(False, "403", "invalid recipientID"), XML),
            "gateway refused: WCTP 403 invalid recipientID",
            False,
        ),
        (
            Answer(200, build_confirmation(False, "500", "busy"), XML),
            "gateway refused: WCTP 500 busy",
            True,
        ),
    ],
)
async def test_gateway_failures_are_failed_receipts_with_the_reason(
    server: HttpServer, gateway: WctpNotifier, answer: Answer, detail: str, retryable: bool
) -> None:
    server.answer = answer
    receipt = await gateway.send(duress_notice())
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail.startswith(detail)
    assert receipt.retryable is retryable


async def test_a_hanging_gateway_is_a_failed_receipt(server: HttpServer, http: HttpClient) -> None:
    server.answer = Answer(hang=True)
    settings = replace(SETTINGS, url=server.url("/wctp"), timeout_s=0.2)
    receipt = await WctpNotifier(settings, client=http).send(duress_notice())
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail == "gateway did not answer within 0.2 s"
    assert receipt.retryable


async def test_an_unreachable_gateway_is_a_failed_receipt(http: HttpClient) -> None:
    settings = replace(SETTINGS, url=f"http://127.0.0.1:{closed_port()}/wctp")
    receipt = await WctpNotifier(settings, client=http).send(duress_notice())
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail.startswith("gateway unreachable: ClientConnectorError: ")
    assert f"127.0.0.1:{settings.url.split(':')[2].split('/')[0]}" in receipt.detail
    assert receipt.retryable


async def test_a_notifier_closes_the_pool_it_owns(server: HttpServer) -> None:
    server.answer = Answer(200, build_confirmation(True, "200", "Accepted"), XML)
    notifier = WctpNotifier(replace(SETTINGS, url=server.url("/wctp")))
    assert (await notifier.send(duress_notice())).status is DeliveryStatus.SENT
    await notifier.aclose()
    del notifier
    gc.collect()  # an unclosed pool would warn here (ResourceWarning: an error in this suite)


# -- the inbound endpoint ------------------------------------------------------------------------------


def inbound_client(updates: Updates, **kwargs: object) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(wctp_router(updates, clock=FakeClock(), **kwargs))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test")


async def test_router_turns_status_and_replies_into_updates(dtd: etree.DTD) -> None:
    updates = Updates()
    async with inbound_client(updates) as client:
        for body in (
            build_status_info(
                "m-1",
                sender_id="gw",
                recipient_id="4711",
                status="DELIVERED",
                status_message_id="s1",
                responded=WHEN,
            ),
            build_message_reply(
                "m-1",
                sender_id="gw",
                recipient_id="4711",
                text="Accept",
                reply_message_id="r1",
                responded=WHEN,
            ),
            build_message_reply(
                "m-1",
                sender_id="gw",
                recipient_id="4712",
                text="Decline",
                reply_message_id="r2",
                responded=WHEN,
            ),
        ):
            response = await client.post("/wctp", content=body)
            assert response.status_code == 200
            assert parse_confirmation(assert_valid_bytes(dtd, response.content)).ok
    assert [(u.status, u.key, u.reply) for u in updates] == [
        (DeliveryStatus.DELIVERED, "m-1", None),
        (DeliveryStatus.REPLIED, "m-1", Reply.ACCEPT),
        (DeliveryStatus.REPLIED, "m-1", Reply.DECLINE),
    ]
    assert updates[1].responder == "4711"
    assert updates[0].channel == "wctp"


def assert_valid_bytes(dtd: etree.DTD, body: bytes) -> bytes:
    assert_valid(dtd, body)
    return body


async def test_router_answers_malformed_documents_with_a_failure_and_reports_it() -> None:
    updates = Updates()
    async with inbound_client(updates) as client:
        response = await client.post("/wctp", content=b"<garbage")
    confirmation = parse_confirmation(response.content)
    assert (confirmation.ok, confirmation.code) == (False, "301")
    assert updates[0].status is DeliveryStatus.FAILED
    assert "malformed WCTP from gateway" in updates[0].detail


async def test_router_rejects_unknown_message_ids_when_it_can_look_them_up() -> None:
    updates = Updates()
    known = {"m-1": duress_notice()}
    async with inbound_client(updates, lookup=known.get) as client:
        ok = await client.post(
            "/wctp",
            content=build_message_reply(
                "m-1",
                sender_id="gw",
                recipient_id="4711",
                text="Accept",
                reply_message_id="r",
                responded=WHEN,
            ),
        )
        unknown = await client.post(
            "/wctp",
            content=build_message_reply(
                "m-9",
                sender_id="gw",
                recipient_id="4711",
                text="Accept",
                reply_message_id="r",
                responded=WHEN,
            ),
        )
    assert parse_confirmation(ok.content).ok
    refused = parse_confirmation(unknown.content)
    assert not refused.ok
    assert refused.text == "unknown message id 'm-9'"
    assert updates[-1].status is DeliveryStatus.FAILED
    assert updates[-1].detail == "unknown message id 'm-9' (gateway reported replied)"


async def test_router_asks_the_gateway_to_retry_when_recording_fails() -> None:
    async def broken(update: object) -> None:
        raise RuntimeError("store down")

    app = FastAPI()
    app.include_router(wctp_router(broken, clock=FakeClock()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.post(
            "/wctp",
            content=build_status_info(
                "m",
                sender_id="g",
                recipient_id="r",
                status="READ",
                status_message_id="s",
                responded=WHEN,
            ),
        )
    assert parse_confirmation(response.content).code == "500"


# -- settings ---------------------------------------------------------------------------------------------


def test_settings_from_mapping() -> None:
    settings = WctpSettings.from_mapping(
        {"url": "https://gw.example:8443/wctp", "sender_id": "duress", "timeout_s": 1.5}
    )
    assert settings.timeout_s == 1.5
    with pytest.raises(ConfigError) as err:
        WctpSettings.from_mapping({"url": "gw.example", "timeout_s": "soon", "colour": 1})
    text = str(err.value)
    assert "channels.wctp.url: 'gw.example' is not a http/https URL" in text
    assert "channels.wctp.sender_id: missing" in text
    assert "channels.wctp.timeout_s: 'soon' must be a number" in text
    assert "channels.wctp.colour: unknown key" in text
