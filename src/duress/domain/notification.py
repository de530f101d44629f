"""What goes out to responders: a notice, one channel's attempt at delivering it, and its receipt.

Each channel (WCTP, HL7 ACM, email, SMS, webhook, CAP, the dashboard) implements :class:`Notifier`;
retries, timeouts and failover live in one delivery layer, not in the channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    REPLIED = "replied"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Notice:
    """One message to one recipient through one channel.

    ``key`` is the idempotency key: a retried send of the same step carries the same key, so a
    channel (or its far end) can refuse to page twice.
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


@dataclass(frozen=True, slots=True)
class Receipt:
    key: str
    status: DeliveryStatus
    detail: str = ""
    provider_id: str | None = None


class Notifier(Protocol):
    channel: str

    async def send(self, notice: Notice) -> Receipt: ...
