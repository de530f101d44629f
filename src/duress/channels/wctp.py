"""WCTP 1.3 (Wireless Communications Transfer Protocol): XML over HTTP to paging and smartphone gateways.

This is how alerts reach Spok, Vocera, Ascom, TelmedIQ and classic pager gateways. Outbound we POST a
``wctp-SubmitRequest`` with a multiple-choice response (``wctp-MCR``: Accept / Decline), our
``messageID`` (the notice key, so a gateway can refuse a duplicate) and ``notifyWhenDelivered`` /
``notifyWhenRead``; the gateway answers ``wctp-Confirmation`` (``wctp-Success`` or ``wctp-Failure``
with a code). Later it POSTs ``wctp-StatusInfo`` (QUEUED / DELIVERED / READ or a failure) and
``wctp-MessageReply`` (the chosen answer) to our endpoint, :func:`wctp_router`, which turns them into
:class:`~duress.domain.notification.DeliveryUpdate` values.

The document builders and parsers are pure (bytes in, typed values out; :class:`InvalidMessage` on bad
input); :class:`WctpNotifier` and :func:`wctp_router` are thin shells around them. Every document we
emit is valid against the WCTP 1.3 DTD (tests check it with lxml).

With ``pcd06: true`` the documents take the IHE PCD-06 form (namespaced ``wctp-dtd-ihepcd-pcd06-v1r2``,
valid against its XSD): the alert rides as PCD-04 in ``wctp-IHEPCD04``, and the gateway's status and
replies carry ``wctp-IHEPCDACM`` (see :mod:`duress.channels.wctp_ihe`). Both forms are accepted inbound.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from lxml import etree

from duress.channels.hl7_acm_messages import build_oru_r40
from duress.channels.http_client import HttpClient, HttpTimeout, HttpUnreachable
from duress.channels.settings import Reader
from duress.channels.text import TextSettings, short_text
from duress.channels.wctp_ihe import NAMESPACE as PCD06_NAMESPACE
from duress.channels.wctp_ihe import VERSION as PCD06_VERSION
from duress.channels.wctp_ihe import AcmInfo, acm_element, parse_acm
from duress.domain.errors import InvalidMessage
from duress.domain.notification import (
    DeliveryStatus,
    DeliveryUpdate,
    Notice,
    Receipt,
    UpdateCallback,
    parse_reply,
)
from duress.service.clock import Clock, SystemClock

WCTP_VERSION = "wctp-dtd-v1r3"
DOCTYPE = '<!DOCTYPE wctp-Operation SYSTEM "http://dtd.wctp.org/wctp-dtd-v1r3.dtd">'
CONTENT_TYPE = "text/xml; charset=utf-8"

# WCTP result codes (wctp.org technical specification): 200 success; 3xx protocol errors; 4xx content
# errors (bad sender, recipient, authorization); 5xx message processing errors; 6xx and up vendor codes.
SUCCESS = "200"
NOT_SUPPORTED = "300"
PARSE_ERROR = "301"
VALIDATION_ERROR = "302"
CONTENT_ERROR = "400"
PROCESSING_ERROR = "500"

_PRIORITY = {"critical": "HIGH", "high": "HIGH", "normal": "NORMAL", "low": "LOW"}


@dataclass(frozen=True, slots=True)
class WctpSettings:
    """``channels: {wctp: {url, sender_id, security_code, reply_url, ...}}``."""

    url: str
    sender_id: str
    security_code: str | None = None
    reply_url: str | None = None
    """Where the gateway posts status and replies (``sendResponsesToID``); our mounted router's URL."""
    token: str | None = None
    use_mcr: bool = True
    notify_when_queued: bool = False
    notify_when_delivered: bool = True
    notify_when_read: bool = True
    text_limit: int = 160
    timeout_s: float = 2.0
    pcd06: bool = False
    """Send the IHE PCD-06 form: the namespaced ``wctp-dtd-ihepcd-pcd06-v1r2`` document with the
    alert as PCD-04 in ``wctp-IHEPCD04`` (see :mod:`duress.channels.wctp_ihe`)."""
    facility: str = ""
    """PV1-3.4 of the embedded PCD-04 when the notice names no facility (with ``pcd06``)."""

    @classmethod
    def from_mapping(
        cls, data: dict[str, Any] | None, *, where: str = "channels.wctp"
    ) -> WctpSettings:
        r = Reader(data, where)
        settings = cls(
            url=r.url("url", required=True),
            sender_id=r.string("sender_id", required=True),
            security_code=r.optional("security_code"),
            reply_url=r.url("reply_url") or None,
            token=r.optional("token"),
            use_mcr=r.boolean("use_mcr", True),
            notify_when_queued=r.boolean("notify_when_queued", False),
            notify_when_delivered=r.boolean("notify_when_delivered", True),
            notify_when_read=r.boolean("notify_when_read", True),
            text_limit=r.integer("text_limit", 160, minimum=40, maximum=100_000),
            timeout_s=r.number("timeout_s", 2.0, minimum=0.1),
            pcd06=r.boolean("pcd06", False),
            facility=r.string("facility"),
        )
        if settings.pcd06 and not settings.use_mcr:
            r.problems.append(
                f"{where}.pcd06: the PCD-06 alert information rides in wctp-MCR; "
                "set use_mcr: true or pcd06: false"
            )
        r.done()
        return settings

    # What the embedded PCD-04 says about us (duress.channels.hl7_acm_messages.ReporterHeader).
    @property
    def sending_application(self) -> str:
        return self.sender_id

    @property
    def sending_facility(self) -> str:
        return ""

    @property
    def receiving_application(self) -> str:
        return ""

    @property
    def receiving_facility(self) -> str:
        return ""


# -- typed messages ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Confirmation:
    ok: bool
    code: str
    text: str


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """The gateway's report about one of our messages (``message_id`` = our ``messageID``)."""

    message_id: str
    recipient_id: str
    status: DeliveryStatus
    error_code: str = ""
    error_text: str = ""
    acm: AcmInfo | None = None
    """The PCD-07 alert information (``wctp-IHEPCDACM``), when the gateway speaks PCD-06."""
    pcd06: bool = False


@dataclass(frozen=True, slots=True)
class MessageReply:
    """A recipient's answer to one of our messages."""

    message_id: str
    recipient_id: str
    text: str
    acm: AcmInfo | None = None
    """The PCD-07 alert information (``wctp-IHEPCDACM``: who responded, for which alert)."""
    pcd06: bool = False


Inbound = StatusInfo | MessageReply


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """A ``wctp-SubmitRequest`` as a gateway sees it (used by the test gateway and for checks)."""

    message_id: str
    sender_id: str
    recipient_id: str
    text: str
    choices: tuple[str, ...] = ()
    reply_to: str | None = None
    notify_when_delivered: bool = False
    notify_when_read: bool = False
    priority: str = "NORMAL"
    pcd04: str = ""
    """The PCD-06 ``wctp-IHEPCD04`` content: the alert as an ``ORU^R40``."""
    pcd06: bool = False


# -- building -----------------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _document(operation: etree._Element, token: str | None = None, *, pcd06: bool = False) -> bytes:
    """The whole ``wctp-Operation``: WCTP 1.3 with its DOCTYPE, or the namespaced PCD-06 form."""
    if pcd06:
        root = etree.Element(
            f"{{{PCD06_NAMESPACE}}}wctp-Operation",
            nsmap={None: PCD06_NAMESPACE},
            wctpVersion=PCD06_VERSION,
        )
        for element in operation.iter():
            if isinstance(element.tag, str) and not element.tag.startswith("{"):
                element.tag = f"{{{PCD06_NAMESPACE}}}{element.tag}"
    else:
        root = etree.Element("wctp-Operation", wctpVersion=WCTP_VERSION)
    if token:
        root.set("wctpToken", token)
    root.append(operation)
    etree.cleanup_namespaces(root)
    doctype = None if pcd06 else DOCTYPE
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", doctype=doctype)
    return out


def build_submit_request(
    notice: Notice,
    settings: WctpSettings,
    *,
    text: str,
    message_id: str,
    submitted: datetime,
    pcd04: str | None = None,
) -> bytes:
    """A ``wctp-SubmitRequest`` for one notice: MCR with the notice's choices, or plain text.

    With ``settings.pcd06`` the document is the IHE PCD-06 form, and ``pcd04`` (the alert as an
    ``ORU^R40``, see :func:`pcd04_for`) rides in ``wctp-IHEPCD04`` when the message has choices."""
    request = etree.Element("wctp-SubmitRequest")
    header = etree.SubElement(request, "wctp-SubmitHeader", submitTimestamp=_timestamp(submitted))
    originator = etree.SubElement(header, "wctp-Originator", senderID=settings.sender_id)
    if settings.security_code:
        originator.set("securityCode", settings.security_code)
    originator.set("miscInfo", notice.effective_mode.value)
    with_choices = settings.use_mcr and bool(notice.choices)
    control = etree.SubElement(
        header,
        "wctp-MessageControl",
        messageID=message_id,
        transactionID=notice.alert,
    )
    if settings.reply_url:
        control.set("sendResponsesToID", settings.reply_url)
    control.set("allowResponse", _bool(with_choices))
    control.set("notifyWhenQueued", _bool(settings.notify_when_queued))
    control.set("notifyWhenDelivered", _bool(settings.notify_when_delivered))
    control.set("notifyWhenRead", _bool(settings.notify_when_read))
    control.set("deliveryPriority", _PRIORITY.get(notice.priority, "HIGH"))
    control.set("allowTruncation", "false")
    etree.SubElement(header, "wctp-Recipient", recipientID=notice.address)
    payload = etree.SubElement(request, "wctp-Payload")
    if with_choices:
        mcr = etree.SubElement(payload, "wctp-MCR")
        etree.SubElement(mcr, "wctp-MessageText").text = text
        for choice in notice.choices:
            etree.SubElement(mcr, "wctp-Choice").text = choice
        if settings.pcd06 and pcd04:
            etree.SubElement(mcr, "wctp-IHEPCD04").text = pcd04
    else:
        etree.SubElement(payload, "wctp-Alphanumeric").text = text
    return _document(request, settings.token, pcd06=settings.pcd06)


def pcd04_for(
    notice: Notice, settings: WctpSettings, *, message_id: str, ts: datetime, text: TextSettings
) -> str:
    """The alert as PCD-04 for ``wctp-IHEPCD04``: staff member (PID), room and bed (PV1-3), phase."""
    return build_oru_r40(notice, settings, control_id=message_id, ts=ts, text=text)


def build_confirmation(ok: bool, code: str, text: str, *, pcd06: bool = False) -> bytes:
    """``wctp-Confirmation``: what a receiver answers to any WCTP operation (``pcd06``: in the
    PCD-06 namespace, to answer a PCD-06 document in kind)."""
    confirmation = etree.Element("wctp-Confirmation")
    tag = "wctp-Success" if ok else "wctp-Failure"
    attr = "successCode" if ok else "errorCode"
    etree.SubElement(confirmation, tag, {attr: code, attr.replace("Code", "Text"): text})
    return _document(confirmation, pcd06=pcd06)


def build_status_info(
    message_id: str,
    *,
    sender_id: str,
    recipient_id: str,
    status: str,
    status_message_id: str,
    responded: datetime,
    error_code: str = "",
    error_text: str = "",
    acm: AcmInfo | None = None,
) -> bytes:
    """``wctp-StatusInfo`` (``status`` QUEUED, DELIVERED or READ; or a failure with ``error_code``).

    With ``acm`` it is the PCD-06 form carrying ``wctp-IHEPCDACM`` (what a PCD-06 gateway sends)."""
    info = etree.Element("wctp-StatusInfo")
    _response_header(info, message_id, sender_id, recipient_id, status_message_id, responded)
    if error_code:
        etree.SubElement(info, "wctp-Failure", errorCode=error_code, errorText=error_text)
    else:
        etree.SubElement(info, "wctp-Notification", type=status)
    if acm is not None:
        info.append(acm_element(acm))
    return _document(info, pcd06=acm is not None)


def build_message_reply(
    message_id: str,
    *,
    sender_id: str,
    recipient_id: str,
    text: str,
    reply_message_id: str,
    responded: datetime,
    acm: AcmInfo | None = None,
) -> bytes:
    """``wctp-MessageReply``: a recipient's answer (``text`` = the chosen choice) to ``message_id``.

    With ``acm`` it is the PCD-06 form carrying ``wctp-IHEPCDACM`` (the responder, the alert)."""
    reply = etree.Element("wctp-MessageReply", MCRMessageReply="true")
    _response_header(reply, message_id, sender_id, recipient_id, reply_message_id, responded)
    payload = etree.SubElement(reply, "wctp-Payload")
    etree.SubElement(payload, "wctp-Alphanumeric").text = text
    if acm is not None:
        reply.append(acm_element(acm))
    return _document(reply, pcd06=acm is not None)


def _response_header(
    parent: etree._Element,
    message_id: str,
    sender_id: str,
    recipient_id: str,
    own_id: str,
    responded: datetime,
) -> None:
    header = etree.SubElement(
        parent,
        "wctp-ResponseHeader",
        responseToMessageID=message_id,
        responseTimestamp=_timestamp(responded),
    )
    etree.SubElement(header, "wctp-Originator", senderID=sender_id)
    etree.SubElement(header, "wctp-MessageControl", messageID=own_id)
    etree.SubElement(header, "wctp-Recipient", recipientID=recipient_id)


# -- parsing ------------------------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )


def parse_document(body: bytes) -> etree._Element:
    """The operation element inside ``wctp-Operation`` (any encoding the XML declares, e.g. UTF-16).

    A PCD-06 document (namespaced) comes back with the namespace removed from every element."""
    return _parse(body)[0]


def _parse(body: bytes) -> tuple[etree._Element, bool]:
    """The operation element, and whether the document was in the PCD-06 namespace."""
    if not body.strip():
        raise InvalidMessage("wctp.empty", "the body is empty; expected a wctp-Operation document")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidMessage("wctp.not_xml", f"not well-formed XML: {exc}") from exc
    pcd06 = root.tag == f"{{{PCD06_NAMESPACE}}}wctp-Operation"
    if pcd06:
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            qname = etree.QName(element)
            if qname.namespace not in (None, PCD06_NAMESPACE):
                raise InvalidMessage(
                    "wctp.namespace", f"element {element.tag!r} is in an unknown namespace"
                )
            element.tag = qname.localname
        etree.cleanup_namespaces(root)
    if root.tag != "wctp-Operation":
        raise InvalidMessage(
            "wctp.root",
            f"root element is {root.tag!r}; expected wctp-Operation "
            f"(no namespace, or {PCD06_NAMESPACE})",
        )
    children = [c for c in root if isinstance(c.tag, str)]
    if len(children) != 1:
        raise InvalidMessage("wctp.operation", "wctp-Operation must hold exactly one operation")
    return children[0], pcd06


def _need(element: etree._Element, path: str, what: str) -> etree._Element:
    found = element.find(path)
    if found is None:
        raise InvalidMessage("wctp.missing", f"{element.tag} has no {path} ({what})")
    return found


def _attr(element: etree._Element, name: str) -> str:
    value = element.get(name)
    if not value:
        raise InvalidMessage("wctp.missing", f"{element.tag} has no {name} attribute")
    return str(value)


def parse_confirmation(body: bytes) -> Confirmation:
    """A gateway's answer to our SubmitRequest."""
    operation = parse_document(body)
    if operation.tag not in ("wctp-Confirmation", "wctp-SubmitClientResponse"):
        raise InvalidMessage("wctp.unexpected", f"expected wctp-Confirmation, got {operation.tag}")
    success = operation.find("wctp-Success")
    if success is None:
        success = operation.find("wctp-ClientSuccess")
    if success is not None:
        return Confirmation(True, success.get("successCode", ""), success.get("successText", ""))
    failure = _need(operation, "wctp-Failure", "success or failure")
    text = failure.get("errorText") or (failure.text or "").strip()
    return Confirmation(False, failure.get("errorCode", ""), text)


def parse_submit_request(body: bytes) -> SubmitRequest:
    """A ``wctp-SubmitRequest`` (ours, or a real one such as the connectathon samples, in UTF-16;
    WCTP 1.3 or the PCD-06 form, whose ``wctp-IHEPCD04`` lands in :attr:`SubmitRequest.pcd04`)."""
    operation, pcd06 = _parse(body)
    if operation.tag != "wctp-SubmitRequest":
        raise InvalidMessage("wctp.unexpected", f"expected wctp-SubmitRequest, got {operation.tag}")
    header = _need(operation, "wctp-SubmitHeader", "sender, control and recipient")
    control = _need(header, "wctp-MessageControl", "the message id")
    payload = _need(operation, "wctp-Payload", "the message")
    mcr = payload.find("wctp-MCR")
    choices: tuple[str, ...] = ()
    pcd04 = ""
    if mcr is not None:
        text = (_need(mcr, "wctp-MessageText", "the text").text or "").strip()
        choices = tuple((c.text or "").strip() for c in mcr.iter("wctp-Choice", "wctp-SendChoice"))
        pcd04 = mcr.findtext("wctp-IHEPCD04") or ""
    else:
        plain = payload.find("wctp-Alphanumeric")
        if plain is None:
            raise InvalidMessage(
                "wctp.payload", "only wctp-MCR and wctp-Alphanumeric are supported"
            )
        text = (plain.text or "").strip()
    return SubmitRequest(
        message_id=_attr(control, "messageID"),
        sender_id=_attr(_need(header, "wctp-Originator", "the sender"), "senderID"),
        recipient_id=_attr(_need(header, "wctp-Recipient", "the recipient"), "recipientID"),
        text=text,
        choices=choices,
        reply_to=control.get("sendResponsesToID") or None,
        notify_when_delivered=control.get("notifyWhenDelivered") == "true",
        notify_when_read=control.get("notifyWhenRead") == "true",
        priority=control.get("deliveryPriority", "NORMAL"),
        pcd04=pcd04,
        pcd06=pcd06,
    )


_NOTIFICATION = {
    "QUEUED": DeliveryStatus.QUEUED,
    "DELIVERED": DeliveryStatus.DELIVERED,
    "READ": DeliveryStatus.READ,
}


def parse_inbound(body: bytes) -> Inbound:
    """A ``wctp-StatusInfo`` or ``wctp-MessageReply`` posted to us by a gateway (WCTP 1.3, or the
    PCD-06 form with its ``wctp-IHEPCDACM`` alert information in ``acm``)."""
    operation, pcd06 = _parse(body)
    if operation.tag not in ("wctp-StatusInfo", "wctp-MessageReply"):
        raise InvalidMessage(
            "wctp.unsupported", f"{operation.tag} is not accepted here (StatusInfo, MessageReply)"
        )
    header = _need(operation, "wctp-ResponseHeader", "which message this is about")
    message_id = _attr(header, "responseToMessageID")
    recipient = header.find("wctp-Recipient")
    recipient_id = recipient.get("recipientID", "") if recipient is not None else ""
    found = operation.find("wctp-IHEPCDACM")
    acm = parse_acm(found) if found is not None else None
    if operation.tag == "wctp-StatusInfo":
        failure = operation.find("wctp-Failure")
        if failure is not None:
            text = failure.get("errorText") or (failure.text or "").strip()
            return StatusInfo(
                message_id,
                recipient_id,
                DeliveryStatus.FAILED,
                failure.get("errorCode", ""),
                text,
                acm,
                pcd06,
            )
        note = _need(operation, "wctp-Notification", "QUEUED, DELIVERED or READ")
        kind = (note.get("type") or "").upper()
        if kind not in _NOTIFICATION:
            raise InvalidMessage("wctp.notification", f"unknown notification type {kind!r}")
        return StatusInfo(message_id, recipient_id, _NOTIFICATION[kind], acm=acm, pcd06=pcd06)
    payload = _need(operation, "wctp-Payload", "the reply")
    text_element = payload.find("wctp-Alphanumeric")
    if text_element is None:
        text_element = payload.find("wctp-MCR/wctp-MessageText")
    if text_element is None:
        raise InvalidMessage("wctp.reply", "wctp-MessageReply has no text (wctp-Alphanumeric)")
    return MessageReply(message_id, recipient_id, (text_element.text or "").strip(), acm, pcd06)


def to_update(message: Inbound, ts: datetime, *, channel: str = "wctp") -> DeliveryUpdate:
    """A parsed gateway report as a :class:`DeliveryUpdate` (Accept/Decline parsed from the text)."""
    responder = None
    if message.acm is not None and message.acm.responder is not None:
        responder = message.acm.responder.responder_id or None
    if isinstance(message, MessageReply):
        return DeliveryUpdate(
            status=DeliveryStatus.REPLIED,
            ts=ts,
            key=message.message_id,
            provider_id=message.message_id,
            channel=channel,
            address=message.recipient_id,
            reply=parse_reply(message.text),
            reply_text=message.text,
            responder=responder or message.recipient_id or None,
        )
    detail = ""
    if message.status is DeliveryStatus.FAILED:
        detail = f"gateway reports failure {message.error_code}: {message.error_text}".strip()
    return DeliveryUpdate(
        status=message.status,
        ts=ts,
        key=message.message_id,
        provider_id=message.message_id,
        channel=channel,
        address=message.recipient_id,
        detail=detail,
        responder=responder,
    )


# -- the client -----------------------------------------------------------------------------------------


class WctpNotifier:
    """Sends notices to one WCTP gateway. ``lookup(message_id)`` finds what we sent (recent messages)."""

    def __init__(
        self,
        settings: WctpSettings,
        *,
        clock: Clock | None = None,
        client: HttpClient | None = None,
        text: TextSettings | None = None,
        channel: str = "wctp",
        remember: int = 10_000,
    ) -> None:
        self.settings = settings
        self.channel = channel
        self.endpoint = settings.url
        self._clock = clock or SystemClock()
        self._client = client or HttpClient()
        self._own_client = client is None
        self._text = text or TextSettings()
        self._sent: OrderedDict[str, Notice] = OrderedDict()
        self._remember = remember

    def lookup(self, message_id: str) -> Notice | None:
        return self._sent.get(message_id)

    async def send(self, notice: Notice) -> Receipt:
        text = short_text(notice, self._text, limit=self.settings.text_limit)
        message_id = notice.key
        now = self._clock.now()
        pcd04 = None
        if self.settings.pcd06:
            pcd04 = pcd04_for(notice, self.settings, message_id=message_id, ts=now, text=self._text)
        document = build_submit_request(
            notice, self.settings, text=text, message_id=message_id, submitted=now, pcd04=pcd04
        )
        self._sent[message_id] = notice
        while len(self._sent) > self._remember:
            self._sent.popitem(last=False)
        try:
            answer = await self._client.request(
                "POST",
                self.settings.url,
                content=document,
                headers={"Content-Type": CONTENT_TYPE},
                timeout_s=self.settings.timeout_s,
            )
        except HttpTimeout:
            return self._failed(
                notice, f"gateway did not answer within {self.settings.timeout_s:g} s"
            )
        except HttpUnreachable as exc:
            return self._failed(notice, f"gateway unreachable: {exc.cause}")
        if answer.status >= 400:
            retryable = answer.status >= 500 or answer.status in (408, 429)
            return self._failed(notice, f"gateway answered HTTP {answer.status}", retryable)
        try:
            confirmation = parse_confirmation(answer.body)
        except InvalidMessage as exc:
            return self._failed(notice, f"malformed confirmation from gateway: {exc}")
        if not confirmation.ok:
            retryable = confirmation.code.startswith("5")
            reason = f"gateway refused: WCTP {confirmation.code} {confirmation.text}".rstrip()
            return self._failed(notice, reason, retryable)
        return Receipt(
            notice.key,
            DeliveryStatus.SENT,
            detail=f"WCTP {confirmation.code} {confirmation.text}".rstrip(),
            provider_id=message_id,
        )

    def _failed(self, notice: Notice, reason: str, retryable: bool = True) -> Receipt:
        return Receipt(notice.key, DeliveryStatus.FAILED, detail=reason, retryable=retryable)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()


# -- the inbound endpoint --------------------------------------------------------------------------------


def wctp_router(
    on_update: UpdateCallback,
    *,
    clock: Clock | None = None,
    lookup: Callable[[str], Notice | None] | None = None,
    path: str = "/wctp",
    channel: str = "wctp",
) -> APIRouter:
    """Receives ``wctp-StatusInfo`` and ``wctp-MessageReply`` from a gateway at ``POST {path}``.

    Each becomes a :class:`DeliveryUpdate` handed to ``on_update`` (give it ``Delivery.inbound``).
    Bad documents, and (when ``lookup`` is given) message ids we never sent, are answered with a
    ``wctp-Failure`` and reported as ``failed`` updates carrying the reason; nothing raises.
    """
    clock = clock or SystemClock()
    router = APIRouter()

    def answer(ok: bool, code: str, text: str, pcd06: bool = False) -> Response:
        return Response(build_confirmation(ok, code, text, pcd06=pcd06), media_type=CONTENT_TYPE)

    @router.post(path, response_class=Response, summary="WCTP status and replies from a gateway")
    async def wctp_inbound(request: Request) -> Response:
        body = await request.body()
        try:
            message = parse_inbound(body)
        except InvalidMessage as exc:
            await on_update(
                DeliveryUpdate(
                    DeliveryStatus.FAILED,
                    clock.now(),
                    channel=channel,
                    detail=f"malformed WCTP from gateway: {exc}",
                )
            )
            code = NOT_SUPPORTED if exc.reason == "wctp.unsupported" else PARSE_ERROR
            return answer(False, code, str(exc))
        update = to_update(message, clock.now(), channel=channel)
        if lookup is not None:
            sent = lookup(message.message_id)
            if sent is None:
                reason = f"unknown message id {message.message_id!r}"
                await on_update(
                    DeliveryUpdate(
                        DeliveryStatus.FAILED,
                        update.ts,
                        key=message.message_id,
                        provider_id=message.message_id,
                        channel=channel,
                        detail=f"{reason} (gateway reported {update.status.value})",
                    )
                )
                return answer(False, CONTENT_ERROR, reason, message.pcd06)
        try:
            await on_update(update)
        except Exception as exc:  # tell the gateway to retry later rather than lose the report
            return answer(
                False,
                PROCESSING_ERROR,
                f"could not record the report: {type(exc).__name__}",
                message.pcd06,
            )
        return answer(True, SUCCESS, "Accepted", message.pcd06)

    return router
