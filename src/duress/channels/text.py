"""Message text for every channel: minimum necessary content, plain directions, length limits.

What a responder needs and nothing more: the kind of alert, where (in plain words, finest first), who
(as the site chooses to show staff: full name, initials or role only), how fresh the location is, and
whether it is a drill or a test. Never patient data: a :class:`~duress.domain.notification.Notice`
carries none, and these templates add none.

Pager and SMS text is plain ASCII (pager networks and GSM-7 lose anything else) and cut to the
channel's limit, dropping the least useful parts first (reply hint, then the name) so the location
always survives.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from html import escape
from typing import Any

from duress.domain.errors import ConfigError
from duress.domain.notification import EventPhase, Mode, Notice, NoticeLocation

PAGER_LIMIT = 160
SMS_LIMIT = 306  # two concatenated GSM-7 segments


class NameDisplay(StrEnum):
    FULL = "full"
    """``Jane Doe (RN)``"""
    INITIALS = "initials"
    """``J.D. (RN)``"""
    ROLE = "role"
    """``RN``: no name on any device."""


@dataclass(frozen=True, slots=True)
class TextSettings:
    """How messages read. YAML: ``channels: {text: {name_display: initials, pager_limit: 160}}``."""

    name_display: NameDisplay = NameDisplay.FULL
    pager_limit: int = PAGER_LIMIT
    sms_limit: int = SMS_LIMIT
    site_name: str = ""

    @classmethod
    def from_mapping(
        cls, data: dict[str, Any] | None, *, where: str = "channels.text"
    ) -> TextSettings:
        data = dict(data or {})
        problems: list[str] = []
        display = data.pop("name_display", NameDisplay.FULL.value)
        try:
            name_display = NameDisplay(display)
        except ValueError:
            problems.append(
                f"{where}.name_display: {display!r} is not one of full, initials, role; "
                "pick one (role shows no name at all)"
            )
            name_display = NameDisplay.FULL
        limits: dict[str, int] = {}
        for key, default in (("pager_limit", PAGER_LIMIT), ("sms_limit", SMS_LIMIT)):
            value = data.pop(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or value < 40:
                problems.append(f"{where}.{key}: {value!r} must be a whole number of at least 40")
                value = default
            limits[key] = value
        site_name = data.pop("site_name", "")
        problems += [f"{where}.{k}: unknown key; remove it or check the spelling" for k in data]
        if problems:
            raise ConfigError(problems)
        return cls(name_display, limits["pager_limit"], limits["sms_limit"], str(site_name))


_KIND_WORDS = {
    "assist": "STAFF ASSIST",
    "security": "SECURITY",
    "lockdown": "LOCKDOWN",
    "medical": "MEDICAL",
}


def mode_prefix(notice: Notice) -> str:
    """``DRILL: `` / ``TEST: `` in front of everything that is not real."""
    mode = notice.effective_mode
    return "" if mode is Mode.REAL else f"{mode.value.upper()}: "


def headline(notice: Notice) -> str:
    """``DRILL: DURESS SECURITY - location changed`` and the like."""
    kind = _KIND_WORDS.get(str(notice.kind), str(notice.kind).upper())
    text = f"DURESS {kind}" if kind not in ("LOCKDOWN",) else "LOCKDOWN"
    if notice.phase is EventPhase.UPDATE:
        text += f" UPDATE ({notice.update_reason})" if notice.update_reason else " UPDATE"
    elif notice.phase is EventPhase.END:
        text += " ENDED"
    return mode_prefix(notice) + text


def _initials(name: str) -> str:
    return "".join(f"{part[0].upper()}." for part in name.split() if part)


def who(notice: Notice, display: NameDisplay = NameDisplay.FULL) -> str:
    """The staff member as the site wants them shown; empty when unknown."""
    role = notice.staff_role or ""
    name = notice.staff_name or ""
    if display is NameDisplay.ROLE or not name:
        return role
    shown = _initials(name) if display is NameDisplay.INITIALS else name
    return f"{shown} ({role})" if role else shown


def age_words(age_s: float | None) -> str:
    if age_s is None:
        return ""
    seconds = max(0, round(age_s))
    if seconds < 120:
        return f"last seen {seconds} s ago"
    return f"last seen {seconds // 60} min ago"


def directions(location: NoticeLocation, *, dash: str = "—") -> str:
    """``Floor 4, unit 4B, room 12, bay A — last seen 3 s ago`` (coarsest to finest, then freshness)."""
    parts = []
    if location.building:
        parts.append(location.building)
    if location.floor:
        parts.append(f"Floor {location.floor}")
    if location.unit:
        parts.append(f"unit {location.unit}")
    if location.zone:
        parts.append(f"zone {location.zone}")
    if location.room:
        parts.append(f"room {location.room}")
    if location.bay:
        parts.append(f"bay {location.bay}")
    text = ", ".join(parts) if parts else "Location unknown"
    if parts and location.precision and location.precision in ("zone", "floor"):
        text += f" (nearest {location.precision})"
    age = age_words(location.age_s)
    return f"{text} {dash} {age}" if age else text


def reply_hint(notice: Notice) -> str:
    if notice.phase is EventPhase.END or not notice.choices:
        return ""
    return "Reply " + "/".join(notice.choices)


def is_structured(notice: Notice) -> bool:
    """True when the notice has structured fields; otherwise its ``subject``/``body`` are used."""
    return notice.location.known or bool(notice.staff_name or notice.staff_role)


def _ascii(text: str) -> str:
    table = {"—": "-", "–": "-", "’": "'", "…": "...", "·": "-"}
    text = "".join(table.get(ch, ch) for ch in text)
    return text.encode("ascii", "replace").decode("ascii")


def _fit(parts: list[str], limit: int) -> str:
    """Join ``parts`` with ``. ``; drop from the end (least important) and finally cut to ``limit``."""
    kept = [p for p in parts if p]
    while len(kept) > 2 and len(". ".join(kept)) > limit:
        kept.pop()
    text = ". ".join(kept)
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


def short_text(
    notice: Notice, settings: TextSettings | None = None, *, limit: int | None = None
) -> str:
    """Pager / SMS / push text: ASCII, at most ``limit`` (default: the pager limit) characters.

    Order of importance: headline, location, who, reply hint.
    """
    settings = settings or TextSettings()
    limit = limit or settings.pager_limit
    if not is_structured(notice):
        body = f"{mode_prefix(notice)}{notice.subject}: {notice.body}".strip(": ")
        return _fit([_ascii(body)], limit)
    parts = [
        headline(notice),
        directions(notice.location, dash="-"),
        who(notice, settings.name_display),
        reply_hint(notice),
    ]
    return _fit([_ascii(p) for p in parts], limit)


def pager_text(notice: Notice, settings: TextSettings | None = None) -> str:
    settings = settings or TextSettings()
    return short_text(notice, settings, limit=settings.pager_limit)


def sms_text(notice: Notice, settings: TextSettings | None = None) -> str:
    settings = settings or TextSettings()
    return short_text(notice, settings, limit=settings.sms_limit)


def subject_line(notice: Notice, settings: TextSettings | None = None) -> str:
    """Email subject / CAP headline: headline and where, one line."""
    if not is_structured(notice):
        return f"{mode_prefix(notice)}{notice.subject}"
    loc = notice.location
    where = ", ".join(
        p for p in (loc.unit and f"unit {loc.unit}", loc.room and f"room {loc.room}") if p
    )
    return f"{headline(notice)} — {where}" if where else headline(notice)


def long_text(notice: Notice, settings: TextSettings | None = None) -> str:
    """Email text / webhook summary / CAP description: a few short lines."""
    settings = settings or TextSettings()
    if not is_structured(notice):
        return f"{mode_prefix(notice)}{notice.body}"
    lines = [headline(notice), f"Where: {directions(notice.location)}"]
    person = who(notice, settings.name_display)
    if person:
        lines.append(f"Who: {person}")
    if notice.raised_at is not None:
        lines.append(f"Raised: {notice.raised_at.isoformat(timespec='seconds')}")
    hint = reply_hint(notice)
    if hint:
        lines.append(hint + (f" at {notice.reply_url}" if notice.reply_url else ""))
    if notice.effective_mode is not Mode.REAL:
        lines.append(f"This is a {notice.effective_mode.value}: no real emergency.")
    return "\n".join(lines)


def html_text(notice: Notice, settings: TextSettings | None = None) -> str:
    """The long text as a small self-contained HTML document (for email)."""
    lines = long_text(notice, settings).split("\n")
    head, rest = lines[0], lines[1:]
    body = "".join(f"<p>{escape(line)}</p>" for line in rest)
    link = ""
    if notice.reply_url and notice.phase is not EventPhase.END:
        url = escape(notice.reply_url, quote=True)
        link = f'<p><a href="{url}">Accept or decline</a></p>'
    return f"<!doctype html><html><body><h1>{escape(head)}</h1>{body}{link}</body></html>"
