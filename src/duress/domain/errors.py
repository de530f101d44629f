"""Every error Duress raises, in one hierarchy.

::

    DuressError                      base; the HTTP layer maps each subclass to one status in one place
    ├── ConfigError                  the site configuration is invalid (carries every problem found)
    ├── InvalidMessage               an ingested message cannot be decoded (names the field and the fix)
    ├── UnknownEventType             a stored event has a type this version does not know
    ├── NotFound                     an id (alert, badge, device, ...) names nothing
    ├── IllegalTransition            an action is not allowed in the alert's current state
    └── StoreUnavailable             the event store cannot be reached or refused a write
"""

from __future__ import annotations


class DuressError(Exception):
    """Base of every error Duress raises on purpose."""


class ConfigError(DuressError):
    """The site configuration is invalid. ``problems`` lists every problem found, each one line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the site configuration"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class InvalidMessage(DuressError):
    """An ingested message cannot be decoded. ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class UnknownEventType(DuressError):
    def __init__(self, event_type: str) -> None:
        self.event_type = event_type
        super().__init__(f"unknown event type {event_type!r}: was it written by a newer version?")


class NotFound(DuressError):
    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"no {kind} with id {ident!r}")


class IllegalTransition(DuressError):
    pass


class StoreUnavailable(DuressError):
    pass


class LocationUnavailable(DuressError):
    """The location process cannot take sightings now (it is starting again, or failed a batch)."""
