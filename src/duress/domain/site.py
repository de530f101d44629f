"""The site: the facility, its devices, its people and its routing, as one frozen aggregate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from duress.domain.activation import Activation
from duress.domain.calibration import Calibration
from duress.domain.devices import Device
from duress.domain.facility import Facility
from duress.domain.ingest_mapping import IngestMapping
from duress.domain.people import Badge, CoverageRule, Staff, Team
from duress.domain.routing import Policy, Rotation
from duress.domain.supervision import SupervisionRules


@dataclass(frozen=True, slots=True)
class Site:
    facility: Facility
    devices: Mapping[str, Device] = field(default_factory=dict)
    staff: Mapping[str, Staff] = field(default_factory=dict)
    badges: Mapping[str, Badge] = field(default_factory=dict)
    teams: Mapping[str, Team] = field(default_factory=dict)
    coverage: tuple[CoverageRule, ...] = ()
    policies: tuple[Policy, ...] = ()
    holidays: frozenset[str] = frozenset()
    """ISO dates (``YYYY-MM-DD``) on which holiday schedules apply."""
    rotations: Mapping[str, Rotation] = field(default_factory=dict)
    activation: Activation = field(default_factory=Activation)
    """Press patterns per unit (``activation:`` section; defaults when absent)."""
    channels: Mapping[str, Any] = field(default_factory=dict)
    """The ``channels:`` section as plain data (validated by ``duress.channels.setup`` at load)."""
    ingest: IngestMapping = field(default_factory=IngestMapping)
    """The ``ingest:`` section: gateway signing and the wild formats' id mappings."""
    supervision: SupervisionRules = field(default_factory=SupervisionRules)
    """The ``supervision:`` section: battery thresholds, stuck buttons, badges not seen, the daily
    synthetic test (docs/supervision.md)."""
    calibration: Calibration | None = None
    """The ``calibration:`` section: what a survey walk measured (its transmit powers are already
    in ``devices``; the engine takes its exponent and wall loss, docs/location.md)."""
    location: Mapping[str, float | int | bool] = field(default_factory=dict)
    """The ``location:`` section: location engine parameters (``LocationParams`` names) that
    replace the defaults for this site (docs/location.md, "Parameters")."""

    @property
    def id(self) -> str:
        return self.facility.id

    def wearer(self, badge_id: str) -> Staff | None:
        """The staff member a badge is assigned to, or None (unknown badge or unassigned)."""
        badge = self.badges.get(badge_id)
        if badge is None or badge.staff is None:
            return None
        return self.staff.get(badge.staff)
