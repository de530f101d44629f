from pathlib import Path

import httpx
import pytest
from lxml import etree

from duress.channels.cap import CapNotifier, CapSettings, parse_cap
from duress.domain.errors import ConfigError, InvalidMessage
from duress.domain.notification import DeliveryStatus, EventPhase, Mode
from duress.testing import FakeClock
from tests.channels.support import duress_notice

SETTINGS = CapSettings(
    sender="duress@hospital.example", url="https://mns.example/cap", addresses="strobes desktops"
)


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
    schema: etree.XMLSchema, mode: Mode, kind: str
) -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200)

    notifier = CapNotifier(
        SETTINGS,
        clock=FakeClock(),
        client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    for phase in (EventPhase.START, EventPhase.UPDATE, EventPhase.END):
        receipt = await notifier.send(
            duress_notice(
                channel="cap", phase=phase, mode=mode, kind=kind, update_reason="location changed"
            )
        )
        assert receipt.status is DeliveryStatus.SENT
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


async def test_endpoint_failures_are_failed_receipts() -> None:
    notifier = CapNotifier(
        SETTINGS,
        client=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(503))),
    )
    receipt = await notifier.send(duress_notice(channel="cap"))
    assert receipt.detail == "CAP endpoint answered HTTP 503"


def test_settings() -> None:
    assert (
        CapSettings.from_mapping({"sender": "duress@h.example", "scope": "Restricted"}).scope
        == "Restricted"
    )
    with pytest.raises(ConfigError, match=r"channels\.cap\.sender: 'a b' must not contain spaces"):
        CapSettings.from_mapping({"sender": "a b"})
