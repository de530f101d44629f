"""An alert as the board, the map and the responder view show it: plain words, from the alert and its
timeline (who was notified, each notice's delivery state, where the person went since the press).

No request and no rendering here: the views call :func:`alert_views` and hand the result to templates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from duress.channels.text import directions
from duress.domain.alert import Action, Alert
from duress.domain.events import StoredEvent, Subject, SubjectKind
from duress.domain.notification import NoticeLocation
from duress.domain.site import Site
from duress.service.runtime import Runtime

STALE_S = 15.0
"""A location whose newest evidence is older than this is shown as stale (the engine's default)."""
TROUBLE_KIND = "trouble"
TIMELINE_TYPES = ("alert.raised", "alert.relocated", "notice.status")
DELIVERY_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "replied": 4}
"""A later report never moves a notice backwards (a late ``sent`` after ``read``); ``failed`` shows
only when nothing better came through."""


def elapsed(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1:02:05``: a clock that a desk reads at a glance."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = max(0.0, (now - then).total_seconds())
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def person(site: Site, who: str) -> str:
    """A staff id as a name (``Ben Okafor``); anything else (a user name, ``token:x``) as it is."""
    staff = site.staff.get(who)
    return staff.name if staff else who


def place(site: Site, location: Mapping[str, Any], age_s: float | None) -> NoticeLocation:
    """Where, in the words a responder uses: floor by level, then unit, room and bay names."""
    facility = site.facility

    def area_name(key: str) -> str | None:
        value = location.get(key)
        if not value:
            return None
        found = facility.areas.get(str(value))
        return found.name if found else str(value)

    floor = facility.floors.get(str(location.get("floor") or ""))
    unit = facility.units.get(str(location.get("unit") or ""))
    room, bay = area_name("room"), area_name("bay")
    zone = area_name("zone")
    return NoticeLocation(
        floor=str(floor.level) if floor else (location.get("floor") or None),
        unit=unit.name if unit else (location.get("unit") or None),
        zone=zone if zone not in (room, None) else None,
        room=room,
        bay=bay,
        precision=location.get("precision"),
        age_s=age_s,
    )


@dataclass(slots=True)
class Recipient:
    id: str
    name: str
    reason: str
    channels: list[str]
    delivery: str = "not reported"
    detail: str = ""
    answer: str = ""
    """``accepted``, ``declined``, ``on scene`` or empty."""


@dataclass(slots=True)
class AlertView:
    id: str
    kind: str
    priority: int
    mode: str
    state: str
    trouble: bool
    who: str
    unit: str
    where: str
    floor: str | None
    area: str | None
    precision: str
    confidence: float | None
    age_s: float | None
    stale: bool
    elapsed: str
    elapsed_s: float
    tier: int
    """1-based; 0 before the first tier went out."""
    tiers: int
    escalates_in: float | None
    recipients: list[Recipient]
    accepted: list[str]
    declined: list[str]
    on_scene: list[str]
    acknowledged: list[str]
    undelivered: str | None
    parties: int
    allowed: frozenset[str]
    trail: list[str] = field(default_factory=list)
    badge: str = ""
    staff: str | None = None

    @property
    def acked(self) -> bool:
        return bool(self.acknowledged)

    @property
    def tone(self) -> str:
        """``trouble``, ``drill``, ``test`` or ``real``: how the card and the map mark it."""
        return "trouble" if self.trouble else self.mode

    @property
    def alarm(self) -> str:
        """What the board's alarm does while unacknowledged: ``duress`` (loud, repeating) for real
        alerts and drills, ``soft`` for tests and trouble."""
        return "duress" if self.tone in ("real", "drill") else "soft"

    @property
    def precise(self) -> bool:
        return self.precision in ("bed", "room")

    def can(self, action: str) -> bool:
        return action in self.allowed


async def timeline(runtime: Runtime, alert_id: str) -> list[StoredEvent]:
    return await runtime.read(
        subject=Subject(SubjectKind.ALERT, alert_id), types=TIMELINE_TYPES, limit=10_000
    )


def view(runtime: Runtime, alert: Alert, events: Sequence[StoredEvent]) -> AlertView:
    """The board's view of one alert, given its timeline (at least raised, relocated, notices)."""
    site = runtime.site
    now = runtime.clock.now()
    location: dict[str, Any] = dict(alert.location)
    live = runtime.locator.where(alert.badge, now) if alert.is_open else None
    if live and live.get("area") and live.get("area") == location.get("area"):
        location.update(
            {k: live.get(k) for k in ("confidence", "as_of", "age_s", "stale") if k in live}
        )
    age = _age(location, now)
    stale = bool(location.get("stale")) or (age is not None and age > STALE_S)
    unknown = not location.get("area") and not location.get("floor")
    where = directions(place(site, location, age)) if not unknown else "Location unknown"
    if alert.kind == TROUBLE_KIND:
        where = _trouble_where(site, location)
    unit = site.facility.units.get(alert.unit or "")
    policy_tiers = len(alert.policy.tiers) if alert.policy else 0
    return AlertView(
        id=alert.id,
        kind=alert.kind,
        priority=alert.priority,
        mode=alert.mode,
        state=alert.state.value,
        trouble=alert.kind == TROUBLE_KIND,
        who=_who(alert),
        unit=unit.name if unit else (alert.unit or "no unit"),
        where=where,
        floor=location.get("floor"),
        area=location.get("area"),
        precision=str(location.get("precision") or "unknown"),
        confidence=location.get("confidence"),
        age_s=age,
        stale=stale and not unknown,
        elapsed=elapsed((now - alert.raised_at).total_seconds()),
        elapsed_s=(now - alert.raised_at).total_seconds(),
        tier=alert.tier + 1,
        tiers=policy_tiers,
        escalates_in=(
            max(0.0, (alert.next_at - now).total_seconds())
            if alert.next_at and not alert.escalation_stopped
            else None
        ),
        recipients=_recipients(site, alert, events),
        accepted=[person(site, p) for p in alert.accepted_by],
        declined=[person(site, p) for p in alert.declined_by],
        on_scene=[person(site, p) for p in alert.on_scene_by],
        acknowledged=[person(site, p) for p in alert.acknowledged_by],
        undelivered=alert.undelivered,
        parties=len(alert.parties),
        allowed=frozenset(a.value for a in Action if alert.allows(a)),
        trail=trail(events),
        badge=alert.badge,
        staff=alert.staff,
    )


async def alert_views(runtime: Runtime, alerts: Iterable[Alert]) -> list[AlertView]:
    """Views of ``alerts`` (each with its timeline read from the store), most urgent first."""
    ordered = sorted(alerts, key=lambda a: (not a.is_open, a.priority, a.raised_at))
    return [view(runtime, a, await timeline(runtime, a.id)) for a in ordered]


def trail(events: Iterable[StoredEvent]) -> list[str]:
    """The areas since the press, oldest first, without repeats in a row (from ``alert.raised``
    and each ``alert.relocated``)."""
    out: list[str] = []
    for event in events:
        location: Mapping[str, Any] | None = None
        if event.type in ("alert.raised", "alert.relocated"):
            location = event.payload.get("location")
        area = (location or {}).get("area")
        if area and (not out or out[-1] != area):
            out.append(str(area))
    return out


def _age(location: Mapping[str, Any], now: datetime) -> float | None:
    as_of = location.get("as_of")
    if isinstance(as_of, str):
        try:
            return max(0.0, (now - datetime.fromisoformat(as_of)).total_seconds())
        except (TypeError, ValueError):
            pass
    age = location.get("age_s")
    return float(age) if isinstance(age, int | float) else None


def _who(alert: Alert) -> str:
    if alert.kind == TROUBLE_KIND:
        return alert.staff_name or "device trouble"
    if not alert.staff_name:
        return f"Unknown wearer (badge {alert.badge})"
    role = (alert.role or "").replace("_", " ")
    return f"{alert.staff_name} ({role})" if role else alert.staff_name


def _trouble_where(site: Site, location: Mapping[str, Any]) -> str:
    subject = str(location.get("subject") or "")
    area = site.facility.areas.get(str(location.get("device_area") or ""))
    floor = site.facility.floors.get(str(location.get("floor") or ""))
    parts = [p for p in (subject, floor.name if floor else "", area.name if area else "") if p]
    return " · ".join(parts) or "the system"


def _recipients(site: Site, alert: Alert, events: Iterable[StoredEvent]) -> list[Recipient]:
    found: dict[str, Recipient] = {}
    for r in alert.notified:
        rid = str(r.get("id"))
        if rid in found:
            continue
        found[rid] = Recipient(
            id=rid,
            name=str(r.get("name") or person(site, rid)),
            reason=str(r.get("reason") or ""),
            channels=sorted({str(c.get("channel")) for c in r.get("contacts", ())}),
        )
    best: dict[str, int] = {}
    for event in events:
        if event.type != "notice.status":
            continue
        rid = str(event.payload.get("recipient") or "")
        status = str(event.payload.get("status") or "")
        entry = found.get(rid)
        if entry is None:
            continue
        rank = DELIVERY_RANK.get(status, -1)
        if rank >= best.get(rid, -2):
            best[rid] = rank
            channel = event.payload.get("channel") or ""
            entry.delivery = f"{status} ({channel})" if channel else status
            entry.detail = str(event.payload.get("detail") or "")
    for rid, entry in found.items():
        if rid in alert.on_scene_by:
            entry.answer = "on scene"
        elif rid in alert.accepted_by:
            entry.answer = "accepted"
        elif rid in alert.declined_by:
            entry.answer = "declined"
    return list(found.values())


__all__ = ["AlertView", "Recipient", "ago", "alert_views", "elapsed", "place", "trail", "view"]
