"""People and what they wear: staff, badges, teams, and the duress-coverage rules per unit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BadgeKind(StrEnum):
    STAFF = "staff"
    """A clinician's duress badge."""
    TEST = "test"
    """A test badge: its presses raise ``test`` alerts routed to a test list."""
    RESPONDER = "responder"
    """A responder's badge: locates responders for proximity routing."""


@dataclass(frozen=True, slots=True)
class Staff:
    id: str
    name: str
    role: str
    home_unit: str | None = None
    responder: bool = False
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True, slots=True)
class Contact:
    """One way to reach a person: a channel (``wctp``, ``sms``, ``email``, ...) and an address there."""

    channel: str
    address: str


@dataclass(frozen=True, slots=True)
class Badge:
    id: str
    kind: BadgeKind = BadgeKind.STAFF
    staff: str | None = None


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str
    members: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True, slots=True)
class CoverageRule:
    """Staff with one of ``roles`` working in ``unit`` must carry duress coverage."""

    unit: str
    roles: tuple[str, ...]
