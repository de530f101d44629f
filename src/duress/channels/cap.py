"""CAP 1.2 (OASIS Common Alerting Protocol) for mass notification, desktop takeover and strobes.

An alert's first notice is a CAP ``Alert``; later phases are ``Update`` (location changed, escalated)
and ``Cancel`` (ended), each referencing the earlier messages (``references``: sender,identifier,sent).
``status`` is ``Actual``, ``Exercise`` (drills) or ``Test``. Scope is ``Private`` by default: these are
for the hospital's own systems. Every document we emit validates against the CAP 1.2 schema (tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from duress.channels.http_client import HttpClient, HttpTimeout, HttpUnreachable
from duress.channels.settings import Reader
from duress.channels.text import TextSettings, directions, long_text, subject_line
from duress.domain.errors import InvalidMessage
from duress.domain.notification import DeliveryStatus, EventPhase, Mode, Notice, Receipt
from duress.service.clock import Clock, SystemClock

NS = "urn:oasis:names:tc:emergency:cap:1.2"
CONTENT_TYPE = "application/cap+xml"
_STATUS = {Mode.REAL: "Actual", Mode.DRILL: "Exercise", Mode.TEST: "Test"}
_MSG_TYPE = {EventPhase.START: "Alert", EventPhase.UPDATE: "Update", EventPhase.END: "Cancel"}
DEFAULT_INSTRUCTION = "Respond per the duress procedure. Do not enter alone if unsafe."
_CATEGORY = {
    "security": "Security",
    "lockdown": "Security",
    "medical": "Health",
    "assist": "Safety",
}


@dataclass(frozen=True, slots=True)
class CapSettings:
    """``channels: {cap: {sender, url, sender_name, scope, addresses, language, instruction}}``."""

    sender: str
    url: str = ""
    sender_name: str = "Duress"
    scope: str = "Private"
    addresses: str = ""
    language: str = "en-US"
    instruction: str = DEFAULT_INSTRUCTION
    timeout_s: float = 2.0

    @classmethod
    def from_mapping(
        cls, data: dict[str, Any] | None, *, where: str = "channels.cap"
    ) -> CapSettings:
        r = Reader(data, where)
        settings = cls(
            sender=r.string("sender", required=True),
            url=r.url("url"),
            sender_name=r.string("sender_name", "Duress"),
            scope=r.choice("scope", "Private", ("Public", "Restricted", "Private")),
            addresses=" ".join(r.strings("addresses")),
            language=r.string("language", "en-US"),
            instruction=r.string("instruction", DEFAULT_INSTRUCTION),
            timeout_s=r.number("timeout_s", 2.0, minimum=0.1),
        )
        if settings.sender and (
            " " in settings.sender or "," in settings.sender or "<" in settings.sender
        ):
            r.problems.append(
                f"{where}.sender: {settings.sender!r} must not contain spaces, commas or '<'"
            )
        r.done()
        return settings


def _cap_time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "-00:00")


def _identifier(value: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.:" else "_" for ch in value)


def build_cap(
    notice: Notice,
    settings: CapSettings,
    *,
    sent: datetime,
    identifier: str,
    references: tuple[tuple[str, datetime], ...] = (),
    text: TextSettings | None = None,
) -> bytes:
    """One CAP 1.2 ``alert`` for a notice; ``references`` are earlier (identifier, sent) pairs."""

    def add(parent: etree._Element, tag: str, value: str) -> etree._Element:
        child = etree.SubElement(parent, f"{{{NS}}}{tag}")
        child.text = value
        return child

    alert = etree.Element(f"{{{NS}}}alert", nsmap={None: NS})
    add(alert, "identifier", _identifier(identifier))
    add(alert, "sender", settings.sender)
    add(alert, "sent", _cap_time(sent))
    add(alert, "status", _STATUS[notice.effective_mode])
    add(alert, "msgType", _MSG_TYPE[notice.phase] if references else "Alert")
    add(alert, "source", settings.sender_name)
    add(alert, "scope", settings.scope)
    if settings.scope == "Restricted":
        add(alert, "restriction", "Hospital staff only")
    if settings.scope == "Private" and settings.addresses:
        add(alert, "addresses", settings.addresses)
    if notice.effective_mode is not Mode.REAL:
        add(alert, "note", f"{notice.effective_mode.value.upper()}: not a real emergency")
    if references:
        add(
            alert,
            "references",
            " ".join(
                f"{settings.sender},{_identifier(ident)},{_cap_time(when)}"
                for ident, when in references
            ),
        )
    add(alert, "incidents", _identifier(notice.alert))
    info = etree.SubElement(alert, f"{{{NS}}}info")
    add(info, "language", settings.language)
    add(info, "category", _CATEGORY.get(str(notice.kind), "Security"))
    add(info, "event", f"Staff duress ({notice.kind})")
    add(
        info,
        "responseType",
        "AllClear"
        if notice.phase is EventPhase.END
        else ("Shelter" if notice.kind == "lockdown" else "Execute"),
    )
    add(info, "urgency", "Past" if notice.phase is EventPhase.END else "Immediate")
    add(info, "severity", "Extreme" if notice.kind == "lockdown" else "Severe")
    add(info, "certainty", "Observed")
    add(info, "senderName", settings.sender_name)
    add(info, "headline", subject_line(notice, text)[:160])
    add(info, "description", long_text(notice, text))
    if notice.phase is not EventPhase.END:
        add(info, "instruction", settings.instruction)
    if notice.reply_url:
        add(info, "web", notice.reply_url)
    area = etree.SubElement(info, f"{{{NS}}}area")
    add(area, "areaDesc", directions(notice.location))
    out: bytes = etree.tostring(alert, xml_declaration=True, encoding="UTF-8")
    return out


@dataclass(frozen=True, slots=True)
class CapSummary:
    identifier: str
    sender: str
    status: str
    msg_type: str
    events: tuple[str, ...]
    headlines: tuple[str, ...]
    references: str = ""


def parse_cap(body: bytes) -> CapSummary:
    """The essentials of a CAP 1.2 alert (entities are never expanded)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidMessage("cap.not_xml", f"not well-formed XML: {exc}") from exc
    if root.tag != f"{{{NS}}}alert":
        raise InvalidMessage("cap.root", f"root is {root.tag!r}; expected a CAP 1.2 alert")

    def text(parent: etree._Element, tag: str) -> str:
        found = parent.find(f"{{{NS}}}{tag}")
        return (found.text or "").strip() if found is not None else ""

    infos = root.findall(f"{{{NS}}}info")
    return CapSummary(
        identifier=text(root, "identifier"),
        sender=text(root, "sender"),
        status=text(root, "status"),
        msg_type=text(root, "msgType"),
        events=tuple(text(i, "event") for i in infos),
        headlines=tuple(text(i, "headline") for i in infos),
        references=text(root, "references"),
    )


class CapNotifier:
    """POSTs CAP documents to ``settings.url`` (a mass-notification system's CAP endpoint)."""

    def __init__(
        self,
        settings: CapSettings,
        *,
        client: HttpClient | None = None,
        clock: Clock | None = None,
        text: TextSettings | None = None,
        channel: str = "cap",
    ) -> None:
        self.settings = settings
        self.channel = channel
        self.endpoint = settings.url
        self._client = client or HttpClient()
        self._own_client = client is None
        self._clock = clock or SystemClock()
        self._text = text
        self._history: dict[str, list[tuple[str, datetime]]] = {}

    def render(self, notice: Notice) -> bytes:
        history = self._history.setdefault(notice.alert, [])
        sent = self._clock.now()
        identifier = f"{notice.alert}-{len(history) + 1}"
        document = build_cap(
            notice,
            self.settings,
            sent=sent,
            identifier=identifier,
            references=tuple(history),
            text=self._text,
        )
        history.append((identifier, sent))
        return document

    async def send(self, notice: Notice) -> Receipt:
        document = self.render(notice)
        try:
            answer = await self._client.request(
                "POST",
                self.settings.url or notice.address,
                content=document,
                headers={"Content-Type": CONTENT_TYPE, "Idempotency-Key": notice.key},
                timeout_s=self.settings.timeout_s,
            )
        except HttpTimeout:
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"CAP endpoint did not answer within {self.settings.timeout_s:g} s",
            )
        except HttpUnreachable as exc:
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"CAP endpoint unreachable: {exc.cause}",
            )
        if answer.status >= 300:
            return Receipt(
                notice.key,
                DeliveryStatus.FAILED,
                detail=f"CAP endpoint answered HTTP {answer.status}",
                retryable=answer.status >= 500,
            )
        return Receipt(
            notice.key,
            DeliveryStatus.SENT,
            detail=f"HTTP {answer.status}",
            provider_id=parse_cap(document).identifier,
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()
