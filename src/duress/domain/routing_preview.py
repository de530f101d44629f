"""Who would be paged, tier by tier, for a press in a given place at a given time: without raising
anything. The routing tools (``duress routes test``) and the admin views show this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from duress.domain.recipients import AlertPlace, Recipient, position_of_area, resolve_tier
from duress.domain.routing import Policy, Target, TargetKind, select_policy
from duress.domain.site import Site


@dataclass(frozen=True, slots=True)
class PreviewTier:
    index: int
    at_s: float
    """Seconds after the press at which this tier goes out if nobody accepted before."""
    recipients: tuple[Recipient, ...]
    unreachable: tuple[Recipient, ...]
    """Resolved people without any contact method: they would not be paged."""
    pending: tuple[str, ...]
    """Targets decided only at the time of a real press (nearest responders), described."""
    repeats: int
    skipped: bool


@dataclass(frozen=True, slots=True)
class RoutingPreview:
    unit: str | None
    area: str | None
    kind: str
    at: datetime
    policy: Policy | None
    tiers: tuple[PreviewTier, ...]
    warnings: tuple[str, ...]


def describe_target(target: Target) -> str:
    """A target in words a nurse manager reads: ``3 nearest responders within 40 m``."""
    if target.kind is TargetKind.PROXIMITY:
        count = target.count or 1
        noun = "responder" if count == 1 else "responders"
        text = f"{count} nearest {noun}"
        if target.within_m is not None:
            text += f" within {target.within_m:g} m"
        if target.same_floor:
            text += " on the same floor"
        return text
    labels = {
        TargetKind.ROLE: "the unit's {}",
        TargetKind.TEAM: "team {}",
        TargetKind.STAFF: "{}",
        TargetKind.ROTATION: "on call in {}",
    }
    return labels[target.kind].format((target.ref or "").replace("_", " "))


def preview(
    site: Site, *, unit: str | None, area: str | None, kind: str, at: datetime
) -> RoutingPreview:
    """``at`` is site-local time. Proximity targets are described, not resolved: who is nearest is
    known only when a real press happens."""
    chain: list[str] = []
    current = site.facility.areas.get(area) if area else None
    while current is not None and current.id not in chain:
        chain.append(current.id)
        current = site.facility.areas.get(current.parent) if current.parent else None
    policy = select_policy(
        site.policies, unit=unit, areas=chain, kind=kind, local=at, holidays=site.holidays
    )
    warnings: list[str] = []
    if policy is None:
        warnings.append(
            f"no routing policy applies to a {kind} alert in {unit or 'no unit'} at this time: "
            "the alert would be raised, shown on the board and marked undelivered"
        )
        return RoutingPreview(unit, area, kind, at, None, (), tuple(warnings))
    place = AlertPlace(unit, position_of_area(site, area))
    tiers: list[PreviewTier] = []
    elapsed = 0.0
    for index, tier in enumerate(policy.tiers):
        found = resolve_tier(tier, site=site, place=place, at=at, responders={})
        reachable = tuple(r for r in found if r.contacts)
        unreachable = tuple(r for r in found if not r.contacts)
        pending = tuple(describe_target(t) for t in tier.targets if t.kind is TargetKind.PROXIMITY)
        skipped = not reachable and not pending
        tiers.append(
            PreviewTier(index, elapsed, reachable, unreachable, pending, tier.repeat, skipped)
        )
        for person in unreachable:
            warnings.append(
                f"tier {index + 1}: {person.name} ({person.reason}) has no contact method"
            )
        for target in tier.targets:
            if target.kind is not TargetKind.PROXIMITY and not resolve_tier(
                type(tier)((target,), tier.escalate_after_s),
                site=site,
                place=place,
                at=at,
                responders={},
            ):
                warnings.append(f"tier {index + 1}: {describe_target(target)} resolves to nobody")
        if skipped:
            warnings.append(f"tier {index + 1} reaches nobody: it would be skipped at once")
        else:
            elapsed += tier.escalate_after_s * (tier.repeat + 1)
    return RoutingPreview(unit, area, kind, at, policy, tuple(tiers), tuple(warnings))
