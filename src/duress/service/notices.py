"""Building the notices of an alert step: one per recipient and contact method, with stable keys.

The key of a notice is ``<alert>:<tier>.<round>:<phase>:<recipient>``: the same step re-sent after a
restart carries the same key, so the delivery layer and far ends that honour idempotency (WCTP
``messageID``, webhook ``Idempotency-Key``) page nobody twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from duress.domain.alert import Alert
from duress.domain.notification import EventPhase, Mode, Notice, NoticeLocation
from duress.domain.site import Site

PRIORITY_WORDS = {1: "critical", 2: "high", 3: "normal"}


def notice_key(
    alert: str, tier: int, round_: int, phase: EventPhase, recipient: str, n: int = 0
) -> str:
    suffix = f".{n}" if n else ""
    return f"{alert}:{tier}.{round_}:{phase.value}{suffix}:{recipient}"


def location_of(alert: Alert, site: Site) -> NoticeLocation:
    loc = alert.location
    unit = str(loc.get("unit") or alert.unit or "")
    found_unit = site.facility.units.get(unit)
    floor = str(loc.get("floor") or "")
    found_floor = site.facility.floors.get(floor)
    unit_name = found_unit.name if found_unit else (unit or None)
    floor_name = found_floor.name if found_floor else (floor or None)
    return NoticeLocation(
        floor=floor_name,
        unit=unit_name,
        room=_area_name(site, loc.get("room")),
        bay=_area_name(site, loc.get("bay")),
        zone=_area_name(site, loc.get("zone")),
        facility=site.facility.name,
        precision=loc.get("precision"),
        age_s=loc.get("age_s"),
    )


def _area_name(site: Site, area: Any) -> str | None:
    if area is None:
        return None
    found = site.facility.areas.get(str(area))
    return found.name if found else str(area)


def build_notices(
    alert: Alert,
    recipient: Mapping[str, Any],
    *,
    site: Site,
    tier: int,
    round_: int,
    phase: EventPhase,
    reason: str = "",
    n: int = 0,
    reply_url: str | None = None,
) -> list[Notice]:
    """One notice per contact method of ``recipient`` (as stored in ``alert.notified``), in order."""
    key = notice_key(alert.id, tier, round_, phase, str(recipient["id"]), n)
    location = location_of(alert, site)
    mode = Mode(alert.mode) if alert.mode in Mode._value2member_map_ else Mode.REAL
    subject = f"{alert.kind.upper()} {alert.staff_name or 'unknown wearer'}"
    body = f"{subject} at {location.room or location.zone or location.unit or 'unknown location'}"
    notices = []
    for contact in recipient.get("contacts", ()):
        notices.append(
            Notice(
                key=key,
                alert=alert.id,
                recipient=str(recipient["id"]),
                channel=str(contact["channel"]),
                address=str(contact["address"]),
                subject=subject,
                body=body,
                priority=PRIORITY_WORDS.get(alert.priority, "normal"),
                drill=mode is Mode.DRILL,
                kind=alert.kind,
                phase=phase,
                update_reason=reason,
                location=location,
                staff_id=alert.staff,
                staff_name=alert.staff_name,
                staff_role=alert.role,
                mode=mode,
                reply_url=reply_url,
                raised_at=alert.raised_at,
                site=site.id,
            )
        )
    return notices


def recipients_of(alert: Alert) -> Sequence[Mapping[str, Any]]:
    """Everyone notified so far, once each (for updates and the end notice)."""
    seen: dict[str, Mapping[str, Any]] = {}
    for recipient in alert.notified:
        seen.setdefault(str(recipient["id"]), recipient)
    return list(seen.values())
