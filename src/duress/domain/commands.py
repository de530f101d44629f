"""Commands: what someone asks the system to do, in the imperative. Each has exactly one handler
(``duress.service.bus``); what it leads to comes back as events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from duress.domain.alert import Action
from duress.domain.observations import Observation


@dataclass(frozen=True, slots=True)
class Ingest:
    """Take decoded observations from a gateway, each with its index in the sender's batch."""

    messages: Sequence[tuple[int, Observation]]


@dataclass(frozen=True, slots=True)
class ActOnAlert:
    """Accept, decline, acknowledge, mark on scene, resolve or cancel an alert, as ``by``."""

    alert: str
    action: Action
    by: str
    via: str = "api"
    code: str | None = None
    severity: str | None = None
    note: str = ""


Command = Ingest | ActOnAlert
