"""A notification channel that records every notice it is asked to send and answers as told."""

from __future__ import annotations

from duress.domain.notification import DeliveryStatus, Notice, Receipt


class RecordingNotifier:
    """Records notices in :attr:`sent`; answers with ``status`` (``failed`` to test failover)."""

    def __init__(
        self,
        channel: str = "recording",
        status: DeliveryStatus = DeliveryStatus.SENT,
        journal: list[Notice] | None = None,
    ):
        """``journal``, when given, is a list shared by several notifiers: it records every notice of
        all of them in the order they were sent."""
        self.channel = channel
        self.status = status
        self.sent: list[Notice] = []
        self.journal = journal

    async def send(self, notice: Notice) -> Receipt:
        self.sent.append(notice)
        if self.journal is not None:
            self.journal.append(notice)
        return Receipt(key=notice.key, status=self.status, detail=f"recorded by {self.channel}")

    def to(self, recipient: str) -> list[Notice]:
        """The notices sent to one recipient, in order."""
        return [n for n in self.sent if n.recipient == recipient]
