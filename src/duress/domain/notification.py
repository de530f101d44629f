"""What goes out to responders: a notice, one channel's attempt at delivering it, its receipt, and the
delivery updates that come back.

Each channel (WCTP, HL7 ACM, email, SMS, webhook, CAP, the dashboard) implements :class:`Notifier`;
retries, timeouts and failover live in one delivery layer (``duress.service.delivery``), not in the
channels. Replies and status reports from the far end come back as :class:`DeliveryUpdate` values
handed to an :data:`UpdateCallback`.

A notice carries the *minimum necessary* for a responder to act: what kind of alert, where, who (as the
site chooses to display it), and whether it is real, a drill or a test. It never carries patient data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    """Accepted by the delivery layer (or the far end) and waiting to go out."""
    SENT = "sent"
    """Handed to the channel's far end, which acknowledged it."""
    DELIVERED = "delivered"
    """The far end reports the message reached the recipient's device."""
    READ = "read"
    """The recipient opened it."""
    REPLIED = "replied"
    """The recipient answered (see :attr:`DeliveryUpdate.reply`)."""
    FAILED = "failed"
    """This attempt failed; ``detail`` says why."""


class AlertKind(StrEnum):
    ASSIST = "assist"
    SECURITY = "security"
    LOCKDOWN = "lockdown"
    MEDICAL = "medical"


class EventPhase(StrEnum):
    START = "start"
    """The alert was raised."""
    UPDATE = "update"
    """Something changed while it is open (location moved, escalated): ``Notice.update_reason`` says what."""
    END = "end"
    """The alert was resolved or cancelled."""


class Mode(StrEnum):
    REAL = "real"
    DRILL = "drill"
    TEST = "test"


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Reply(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


ACCEPT_WORDS = frozenset({"accept", "accepted", "yes", "y", "ok", "acknowledge", "ack", "1"})
DECLINE_WORDS = frozenset({"decline", "declined", "reject", "rejected", "no", "n", "2"})


def parse_reply(text: str) -> Reply | None:
    """``Accept`` / ``Decline`` (and their usual synonyms: Reject, Yes, No) as a :class:`Reply`."""
    word = text.strip().lower().rstrip(".!")
    if word in ACCEPT_WORDS:
        return Reply.ACCEPT
    if word in DECLINE_WORDS:
        return Reply.DECLINE
    return None


@dataclass(frozen=True, slots=True)
class NoticeLocation:
    """Where the staff member in duress is, as precisely as the location engine knows.

    ``precision`` is the engine's precision level (``bay``, ``room``, ``zone``, ``floor``, ...);
    ``age_s`` how long ago the badge was last located.
    """

    floor: str | None = None
    unit: str | None = None
    room: str | None = None
    bay: str | None = None
    zone: str | None = None
    building: str | None = None
    facility: str | None = None
    precision: str | None = None
    age_s: float | None = None

    @property
    def known(self) -> bool:
        return any(
            v is not None
            for v in (self.floor, self.unit, self.room, self.bay, self.zone, self.building)
        )


@dataclass(frozen=True, slots=True)
class Notice:
    """One message to one recipient through one channel.

    ``key`` is the idempotency key: a retried send of the same step carries the same key, so a
    channel (or its far end) can refuse to page twice. ``subject`` and ``body`` are the fallback text
    when the structured fields below are not filled (``location`` unknown and no ``staff_name``).
    """

    key: str
    alert: str
    recipient: str
    channel: str
    address: str
    subject: str
    body: str
    priority: str = "high"
    drill: bool = False
    kind: str = AlertKind.ASSIST
    phase: EventPhase = EventPhase.START
    update_reason: str = ""
    location: NoticeLocation = field(default_factory=NoticeLocation)
    staff_id: str | None = None
    staff_name: str | None = None
    staff_role: str | None = None
    mode: Mode = Mode.REAL
    choices: tuple[str, ...] = ("Accept", "Decline")
    reply_url: str | None = None
    raised_at: datetime | None = None
    site: str | None = None

    @property
    def effective_mode(self) -> Mode:
        """``mode``, with the older ``drill=True`` flag counted as a drill."""
        if self.mode is Mode.REAL and self.drill:
            return Mode.DRILL
        return self.mode


@dataclass(frozen=True, slots=True)
class Receipt:
    """A channel's answer to one ``send``.

    ``retryable`` is false when trying again cannot help (an unknown recipient, a rejected message):
    the delivery layer then moves to the next contact method at once and does not count the failure
    against the endpoint's circuit breaker.
    """

    key: str
    status: DeliveryStatus
    detail: str = ""
    provider_id: str | None = None
    retryable: bool = True


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    """One thing that happened to a notice: an attempt, a status report or a reply from the far end.

    Updates from the delivery layer carry ``key``, ``alert``, ``recipient``, ``channel`` and
    ``address``; updates from a far end carry at least ``key`` or ``provider_id`` (and the rest when the
    channel still knows the message).
    """

    status: DeliveryStatus
    ts: datetime
    key: str | None = None
    provider_id: str | None = None
    alert: str | None = None
    recipient: str | None = None
    channel: str = ""
    address: str = ""
    reply: Reply | None = None
    reply_text: str = ""
    detail: str = ""
    attempt: int = 0
    responder: str | None = None


UpdateCallback = Callable[[DeliveryUpdate], Awaitable[None]]
"""``async def on_update(update) -> None``: provided by the runtime, called for every update."""


class Notifier(Protocol):
    channel: str

    async def send(self, notice: Notice) -> Receipt: ...
