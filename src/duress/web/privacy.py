"""Privacy: what a principal may see of locations, applied to the API, the stream and the board.

The rule itself is :func:`duress.domain.accounts.visible_badges`; this module applies it to the
runtime's current alerts and badge locations, and names the wearers for the audit of each view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from fastapi import Request

from duress.domain.accounts import Permission, Principal, visible_badges
from duress.domain.events import BadgeMoved, StoredEvent, SubjectKind
from duress.service.accounts import Accounts
from duress.service.runtime import Runtime


def window(request: Request) -> timedelta:
    """How long after an alert closes its people's locations stay visible (the setting)."""
    accounts: Accounts = request.app.state.accounts
    return accounts.policy.location_after


def badge_filter(runtime: Runtime, principal: Principal, after: timedelta) -> frozenset[str] | None:
    """The badges whose location ``principal`` may see now; None: all of them."""
    return visible_badges(
        principal, runtime.alerts.alerts.values(), now=runtime.clock.now(), after=after
    )


def visible_locations(
    runtime: Runtime,
    principal: Principal,
    snapshot: Mapping[str, Mapping[str, Any]],
    after: timedelta,
) -> dict[str, dict[str, Any]]:
    allowed = badge_filter(runtime, principal, after)
    return {
        badge: dict(fields)
        for badge, fields in snapshot.items()
        if allowed is None or badge in allowed
    }


def wearers(runtime: Runtime, badges: Iterable[str]) -> list[tuple[str, str | None]]:
    out = []
    for badge in badges:
        staff = runtime.site.wearer(badge)
        out.append((badge, staff.id if staff else None))
    return out


def stream_filter(
    runtime: Runtime, principal: Principal, after: timedelta
) -> Callable[[StoredEvent], StoredEvent | None]:
    """What the live stream may send ``principal``: badge movements only for visible badges
    (others redacted to the badge id, so a board still knows to refresh), alerts only of the
    principal's units."""

    def redact(event: StoredEvent) -> StoredEvent | None:
        if event.type == BadgeMoved.type and not principal.can(Permission.READ_ALL_LOCATIONS):
            allowed = badge_filter(runtime, principal, after)
            if allowed is None or event.subject.id in allowed:
                return event
            return replace(event, payload={"badge": event.subject.id})
        if principal.unit_scoped and event.subject.kind is SubjectKind.ALERT:
            alert = runtime.alerts.alerts.get(event.subject.id)
            if alert is None or not principal.sees_unit(alert.unit):
                return None
        return event

    return redact


def redact_events(
    runtime: Runtime, principal: Principal, events: Iterable[StoredEvent], after: timedelta
) -> list[StoredEvent]:
    keep = stream_filter(runtime, principal, after)
    out = []
    for event in events:
        kept = keep(event)
        if kept is not None:
            out.append(kept)
    return out
