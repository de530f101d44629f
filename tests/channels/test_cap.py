import gc
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from duress.channels.cap import CONTENT_TYPE, CapNotifier, CapSettings, parse_cap
from duress.channels.http_client import HttpClient
from duress.domain.errors import ConfigError, InvalidMessage
from duress.domain.notification import DeliveryStatus, EventPhase, Mode
from duress.testing import FakeClock
from tests.channels.http_server import Answer, HttpServer, closed_port
from tests.channels.support import duress_notice

SETTINGS = CapSettings(
    sender="duress@hospital.example", url="https://mns.example/cap", addresses="strobes desktops"
)


def at(server: HttpServer) -> CapSettings:
    return replace(SETTINGS, url=server.url("/cap"))


@pytest.fixture
def schema(vectors: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(vectors / "cap" / "CAP-v1.2.xsd")))


def valid(schema: etree.XMLSchema, document: bytes) -> etree._Element:
    root = etree.fromstring(document)
    assert schema.validate(root), schema.error_log
    return root


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("kind", ["security", "lockdown", "assist", "medical"])
async def test_alert_update_cancel_are_valid_cap_and_reference_each_other(
    server: HttpServer, http: HttpClient, schema: etree.XMLSchema, mode: Mode, kind: str
) -> None:
    notifier = CapNotifier(at(server), clock=FakeClock(), client=http)
    for phase in (EventPhase.START, EventPhase.UPDATE, EventPhase.END):
        receipt = await notifier.send(
            duress_notice(
                channel="cap", phase=phase, mode=mode, kind=kind, update_reason="location changed"
            )
        )
        assert receipt.status is DeliveryStatus.SENT
        assert receipt.detail == "HTTP 200"
    seen = [request.body for request in server.seen]
    assert {request.headers["content-type"] for request in server.seen} == {CONTENT_TYPE}
    assert [request.headers["idempotency-key"] for request in server.seen] == ["alert-1:t1:s2"] * 3
    assert [request.path for request in server.seen] == ["/cap"] * 3
    summaries = [parse_cap(valid(schema, doc) is not None and doc) for doc in seen]
    assert [s.msg_type for s in summaries] == ["Alert", "Update", "Cancel"]
    assert {s.status for s in summaries} == {
        {Mode.REAL: "Actual", Mode.DRILL: "Exercise", Mode.TEST: "Test"}[mode]
    }
    assert summaries[2].references.count("duress@hospital.example,alert-1-") == 2


def test_the_oasis_example_parses_and_validates(vectors: Path, schema: etree.XMLSchema) -> None:
    body = (vectors / "cap" / "oasis-amber-alert-example.xml").read_bytes()
    valid(schema, body)
    summary = parse_cap(body)
    assert summary.identifier == "KAR0-0306112239-SW"
    assert summary.msg_type == "Alert"
    assert summary.events == ("Child Abduction", "Abducción de Niño")


def test_bad_cap_is_a_clear_error() -> None:
    with pytest.raises(InvalidMessage, match=r"cap\.root"):
        parse_cap(b"<alert/>")
    with pytest.raises(InvalidMessage, match=r"cap\.not_xml"):
        parse_cap(b"<alert")


async def test_endpoint_failures_are_failed_receipts(server: HttpServer, http: HttpClient) -> None:
    server.answer = Answer(503)
    notifier = CapNotifier(at(server), client=http)
    receipt = await notifier.send(duress_notice(channel="cap"))
    assert receipt.detail == "CAP endpoint answered HTTP 503"
    assert receipt.retryable
    server.answer = Answer(404)
    receipt = await notifier.send(duress_notice(channel="cap"))
    assert (receipt.detail, receipt.retryable) == ("CAP endpoint answered HTTP 404", False)


async def test_a_hanging_endpoint_is_a_failed_receipt(server: HttpServer, http: HttpClient) -> None:
    server.answer = Answer(hang=True)
    notifier = CapNotifier(replace(at(server), timeout_s=0.2), client=http)
    receipt = await notifier.send(duress_notice(channel="cap"))
    assert receipt.detail == "CAP endpoint did not answer within 0.2 s"


async def test_an_unreachable_endpoint_is_a_failed_receipt(http: HttpClient) -> None:
    settings = replace(SETTINGS, url=f"http://127.0.0.1:{closed_port()}/cap")
    receipt = await CapNotifier(settings, client=http).send(duress_notice(channel="cap"))
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.detail.startswith("CAP endpoint unreachable: ClientConnectorError: ")


async def test_without_a_url_the_notice_address_is_the_endpoint(
    server: HttpServer, http: HttpClient
) -> None:
    notifier = CapNotifier(replace(SETTINGS, url=""), client=http)
    receipt = await notifier.send(duress_notice(channel="cap", address=server.url("/strobes")))
    assert receipt.status is DeliveryStatus.SENT
    assert server.seen[0].path == "/strobes"


async def test_a_notifier_closes_the_pool_it_owns(server: HttpServer) -> None:
    notifier = CapNotifier(at(server))
    assert (await notifier.send(duress_notice(channel="cap"))).status is DeliveryStatus.SENT
    await notifier.aclose()
    del notifier
    gc.collect()  # an unclosed pool would warn here (ResourceWarning: an error in this suite)


def test_settings() -> None:
    assert (
        CapSettings.from_mapping({"sender": "duress@h.example", "scope": "Restricted"}).scope
        == "Restricted"
    )
    with pytest.raises(ConfigError, match=r"channels\.cap\.sender: 'a b' must not contain spaces"):
        CapSettings.from_mapping({"sender": "a b"})
