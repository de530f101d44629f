"""The security desk's board as a channel: a notice to a desk (``{channel: dashboard, address:
security-desk}``) is delivered by the board itself, which shows every open alert live."""

from __future__ import annotations

from duress.domain.notification import DeliveryStatus, Notice, Receipt


class DashboardNotifier:
    channel = "dashboard"
    endpoint = "dashboard"

    async def send(self, notice: Notice) -> Receipt:
        return Receipt(
            key=notice.key,
            status=DeliveryStatus.DELIVERED,
            detail=f"shown on the live board ({notice.address})",
        )
