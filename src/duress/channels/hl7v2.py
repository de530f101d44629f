"""HL7 v2 messages, sans I/O: split a message into segments and fields, escape text, build ACKs.

Just what the IHE PCD ACM messages need. Segments are separated by CR (``\\r``); ``\\r\\n`` and ``\\n``
are tolerated on input. The encoding characters come from MSH-2 (``^~\\&``, or ``^~\\&#`` in v2.7).
Field numbers follow the standard: ``MSH-9`` is the message type (MSH-1 is the field separator).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from duress.domain.errors import InvalidMessage

SEGMENT_SEPARATOR = "\r"


def escape(text: str) -> str:
    """Escape HL7 delimiters in free text (default encoding characters); drop line breaks."""
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    out = out.replace("&", "\\T\\").replace("~", "\\R\\")
    return " ".join(out.split())


def unescape(text: str) -> str:
    table = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"}
    return re.sub(r"\\([FSTRE])\\", lambda m: table[m.group(1)], text)


def timestamp(moment: datetime) -> str:
    """HL7 DTM with offset: ``20260105080003+0000``."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


@dataclass(frozen=True, slots=True)
class Hl7Message:
    """A parsed message: ``segments`` as lists of raw fields (index 0 is the segment name)."""

    segments: tuple[tuple[str, ...], ...]
    component_separator: str = "^"
    subcomponent_separator: str = "&"

    @classmethod
    def parse(cls, text: str | bytes) -> Hl7Message:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        lines = [s for s in re.split(r"\r\n|\r|\n", text.strip("\x0b\x1c\r\n ")) if s.strip()]
        if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
            raise InvalidMessage("hl7.no_msh", "the message does not start with an MSH segment")
        field_sep = lines[0][3]
        encoding = lines[0][4:].split(field_sep, 1)[0]
        if len(encoding) < 4:
            raise InvalidMessage(
                "hl7.encoding", f"MSH-2 {encoding!r} must hold 4 encoding characters"
            )
        segments = []
        for line in lines:
            fields = line.split(field_sep)
            if fields[0] == "MSH":
                fields = ["MSH", field_sep, *fields[1:]]
            segments.append(tuple(fields))
        return cls(tuple(segments), encoding[0], encoding[3])

    def all(self, name: str) -> list[tuple[str, ...]]:
        return [s for s in self.segments if s[0] == name]

    def first(self, name: str) -> tuple[str, ...] | None:
        found = self.all(name)
        return found[0] if found else None

    def need(self, name: str) -> tuple[str, ...]:
        segment = self.first(name)
        if segment is None:
            raise InvalidMessage("hl7.missing_segment", f"the message has no {name} segment")
        return segment

    @staticmethod
    def field(segment: tuple[str, ...] | None, number: int) -> str:
        if segment is None or number >= len(segment):
            return ""
        return segment[number]

    def component(self, value: str, number: int) -> str:
        """Component ``number`` (1-based) of a field value, unescaped."""
        parts = value.split(self.component_separator)
        return unescape(parts[number - 1]) if number <= len(parts) else ""

    def components(self, value: str) -> list[str]:
        return [unescape(p) for p in value.split(self.component_separator)]

    @property
    def message_type(self) -> str:
        """``ORU^R40`` (the first two components of MSH-9)."""
        msh9 = self.field(self.first("MSH"), 9)
        return "^".join(self.components(msh9)[:2])

    @property
    def control_id(self) -> str:
        return self.field(self.first("MSH"), 10)

    @property
    def version(self) -> str:
        return self.field(self.first("MSH"), 12)


def build_ack(
    incoming: Hl7Message,
    code: str,
    *,
    control_id: str,
    ts: datetime,
    text: str = "",
    application: str = "DURESS",
) -> str:
    """``ACK`` for ``incoming``: MSA-1 ``code`` (AA/AE/AR or CA/CE/CR), MSA-2 its control id, an ERR
    segment with ``text`` when it is not accepted."""
    msh = incoming.first("MSH")
    trigger = incoming.components(Hl7Message.field(msh, 9))[1:2] or [""]
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                application,
                "",
                Hl7Message.field(msh, 3),
                Hl7Message.field(msh, 4),
                timestamp(ts),
                "",
                f"ACK^{trigger[0]}^ACK",
                control_id,
                Hl7Message.field(msh, 11) or "P",
                incoming.version or "2.6",
            ]
        ),
        f"MSA|{code}|{incoming.control_id}" + (f"|{escape(text)}" if text else ""),
    ]
    if code not in ("AA", "CA") and text:
        segments.append(f"ERR||||E|||{escape(text)}")
    return SEGMENT_SEPARATOR.join(segments) + SEGMENT_SEPARATOR


@dataclass(frozen=True, slots=True)
class Ack:
    code: str
    control_id: str
    text: str

    @property
    def ok(self) -> bool:
        return self.code in ("AA", "CA")


def parse_ack(message: Hl7Message) -> Ack:
    msa = message.need("MSA")
    text = unescape(Hl7Message.field(msa, 3))
    err = message.first("ERR")
    if err is not None and not text:
        text = next((unescape(f) for f in reversed(err[1:]) if f), "")
    return Ack(Hl7Message.field(msa, 1), Hl7Message.field(msa, 2), text)
