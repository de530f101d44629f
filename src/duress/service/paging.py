"""Paging: turning an alert's committed steps into notices for the delivery layer, and the
channels' reports back into the alert's timeline (a reply Accept accepts the alert)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any

import structlog

from duress.domain.alert import Action, Alert
from duress.domain.events import (
    AlertCancelled,
    AlertJoined,
    AlertNotified,
    AlertRelocated,
    AlertResolved,
    Event,
    NoticeStatusChanged,
    StoredEvent,
)
from duress.domain.notification import DeliveryStatus, DeliveryUpdate, EventPhase, Notice, Reply
from duress.domain.site import Site
from duress.service.notices import build_notices, recipients_of

log = structlog.get_logger(__name__)


class Paging:
    def __init__(
        self,
        *,
        site: Site,
        alerts: Mapping[str, Alert],
        dispatch: Callable[[Sequence[Notice]], object],
        record_bulk: Callable[[Sequence[Event]], Awaitable[list[StoredEvent]]],
        act: Callable[..., Awaitable[Any]],
        reply_url: str | None = None,
    ) -> None:
        self.site = site
        self._alerts = alerts
        self._dispatch = dispatch
        self._record_bulk = record_bulk
        self._act = act
        self._reply_url = reply_url
        self._by_notice: dict[str, str] = {}

    def forget(self, alert_ids: Collection[str]) -> None:
        """Stop matching reports to alerts that left memory."""
        gone = set(alert_ids)
        self._by_notice = {k: v for k, v in self._by_notice.items() if v not in gone}

    def after(self, before: Alert | None, alert: Alert, event: Event) -> None:
        """Send what a committed event calls for: a tier's notices, updates, the end."""
        if isinstance(event, AlertNotified):
            for recipient in event.recipients:
                self.send(alert, recipient, event.tier, event.round, EventPhase.START, event.reason)
        elif isinstance(event, AlertRelocated | AlertJoined):
            reason = (
                "location changed" if isinstance(event, AlertRelocated) else "another press joined"
            )
            self._update_all(alert, EventPhase.UPDATE, reason, event)
        elif isinstance(event, AlertResolved | AlertCancelled):
            reason = "resolved" if isinstance(event, AlertResolved) else "cancelled"
            if before is not None and before.notified:
                self._update_all(alert, EventPhase.END, reason, event)

    def _update_all(self, alert: Alert, phase: EventPhase, reason: str, event: Event) -> None:
        n = sum(1 for _ in alert.notified)  # a per-alert counter keeps update keys distinct
        for recipient in recipients_of(alert):
            self.send(alert, recipient, max(alert.tier, 0), alert.round, phase, reason, n=n)

    def send(
        self,
        alert: Alert,
        recipient: Mapping[str, Any],
        tier: int,
        round_: int,
        phase: EventPhase,
        reason: str,
        n: int = 0,
        unless_sent: Collection[str] = (),
    ) -> None:
        """Hand one recipient's notices (one per contact method) to the delivery layer, unless
        their key is in ``unless_sent`` (a restart re-sends only what no channel took)."""
        notices = build_notices(
            alert,
            recipient,
            site=self.site,
            tier=tier,
            round_=round_,
            phase=phase,
            reason=reason,
            n=n,
            reply_url=self._reply_url,
        )
        if notices and notices[0].key not in unless_sent:
            if unless_sent:
                log.info("alert.resend_after_restart", alert=alert.id, key=notices[0].key)
            self._by_notice[notices[0].key] = alert.id
            self._dispatch(notices)

    async def on_update(self, update: DeliveryUpdate) -> None:
        """A delivery update: recorded on the alert's timeline; a reply accepts or declines."""
        alert_id = update.alert or (self._by_notice.get(update.key) if update.key else None)
        if alert_id is None or alert_id not in self._alerts:
            log.warning("notice.unmatched", key=update.key, provider_id=update.provider_id)
            return
        events: list[Event] = [
            NoticeStatusChanged(
                ts=update.ts,
                alert=alert_id,
                key=update.key or update.provider_id or "",
                recipient=update.recipient or update.responder or "",
                channel=update.channel,
                status=update.status.value,
                detail=update.detail or update.reply_text,
            )
        ]
        await self._record_bulk(events)
        if update.status is DeliveryStatus.REPLIED and update.reply is not None:
            who = update.responder or update.recipient or "unknown"
            action = Action.ACCEPT if update.reply is Reply.ACCEPT else Action.DECLINE
            alert = self._alerts[alert_id]
            if alert.allows(action):
                await self._act(alert_id, action, by=who, via=update.channel or "channel")
