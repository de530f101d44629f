"""Shared builders for channel tests."""

from __future__ import annotations

from datetime import UTC, datetime

from duress.domain.notification import (
    DeliveryUpdate,
    EventPhase,
    Mode,
    Notice,
    NoticeLocation,
)

WHEN = datetime(2026, 1, 5, 8, 0, 3, tzinfo=UTC)


def duress_notice(
    *,
    channel: str = "wctp",
    address: str = "4711",
    key: str = "alert-1:t1:s2",
    phase: EventPhase = EventPhase.START,
    mode: Mode = Mode.REAL,
    kind: str = "security",
    update_reason: str = "",
    reply_url: str | None = None,
) -> Notice:
    return Notice(
        key=key,
        alert="alert-1",
        recipient="s2",
        channel=channel,
        address=address,
        subject="Duress",
        body="Duress on 4B",
        kind=kind,
        phase=phase,
        update_reason=update_reason,
        location=NoticeLocation(
            floor="4", unit="4B", room="12", bay="A", facility="General", precision="bed", age_s=3
        ),
        staff_id="s1",
        staff_name="Jane Doe",
        staff_role="RN",
        mode=mode,
        reply_url=reply_url,
        raised_at=WHEN,
    )


class Updates(list[DeliveryUpdate]):
    """An ``on_update`` callback that records what it is handed."""

    async def __call__(self, update: DeliveryUpdate) -> None:
        self.append(update)
