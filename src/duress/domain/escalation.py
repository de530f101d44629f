"""Escalation: which tier to notify next, and when the step after it is due.

A policy is a list of tiers. Tier 0 goes out when the alert is raised (after the unit's cancel window,
if any). If nobody has accepted (or arrived, per the policy's ``stop_on``) ``escalate_after_s`` later,
the tier is repeated ``repeat`` more times, then the next tier goes out. A tier that resolves to nobody
reachable is skipped at once, never waited out. After the last tier, the last tier is repeated at its
interval until the alert is accepted: a duress alert is never given up on silently. When no tier at
all can reach anybody, the step says so and the alert is marked undelivered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from duress.domain.alert import Alert
from duress.domain.recipients import Recipient
from duress.domain.routing import Tier

Resolve = Callable[[Tier], list[Recipient]]


@dataclass(frozen=True, slots=True)
class Step:
    """Notify ``recipients`` as ``tier``/``round``; the next step is due at ``next_at``.

    ``tier`` is -1 when nobody at all could be reached (``recipients`` is then empty)."""

    tier: int
    round: int
    recipients: tuple[Recipient, ...]
    skipped: tuple[int, ...]
    unreachable: tuple[Recipient, ...]
    next_at: datetime | None
    reason: str

    @property
    def delivered_to_nobody(self) -> bool:
        return not self.recipients


def first_step(alert: Alert, resolve: Resolve, now: datetime) -> Step:
    """Tier 0 (or the first tier that reaches somebody)."""
    return _from(alert, resolve, now, tier=0, round_=0, reason="raised")


def next_step(alert: Alert, resolve: Resolve, now: datetime) -> Step:
    """The step after the alert's current one: a repeat, the next tier, or the last tier again."""
    if alert.policy is None or alert.tier < 0:
        return first_step(alert, resolve, now)
    tiers = alert.policy.tiers
    current = tiers[alert.tier]
    if alert.round < current.repeat:
        return _from(alert, resolve, now, alert.tier, alert.round + 1, "repeat")
    if alert.tier + 1 < len(tiers):
        step = _from(alert, resolve, now, alert.tier + 1, 0, "escalated")
        if not step.delivered_to_nobody:
            return step
    # Past the last tier, or every later tier is empty: page the current tier again.
    again = _from(
        alert, resolve, now, alert.tier, alert.round + 1, "final tier repeated", scan=False
    )
    return again if not again.delivered_to_nobody else _nobody(alert, now)


def _from(
    alert: Alert,
    resolve: Resolve,
    now: datetime,
    tier: int,
    round_: int,
    reason: str,
    *,
    scan: bool = True,
) -> Step:
    if alert.policy is None:
        return _nobody(alert, now)
    tiers = alert.policy.tiers
    skipped: list[int] = []
    unreachable: list[Recipient] = []
    last = len(tiers) if scan else tier + 1
    for index in range(tier, last):
        found = resolve(tiers[index])
        reachable = tuple(r for r in found if r.contacts)
        unreachable += [r for r in found if not r.contacts]
        if reachable:
            return Step(
                tier=index,
                round=round_ if index == tier else 0,
                recipients=reachable,
                skipped=tuple(skipped),
                unreachable=tuple(unreachable),
                next_at=now + timedelta(seconds=_interval(tiers[index])),
                reason=reason if index == tier else f"{reason}; tiers {skipped} reached nobody",
            )
        skipped.append(index)
    return Step(
        tier=-1,
        round=0,
        recipients=(),
        skipped=tuple(skipped),
        unreachable=tuple(unreachable),
        next_at=None,
        reason="no tier reaches anybody",
    )


def _nobody(alert: Alert, now: datetime) -> Step:
    reason = "no routing policy applies" if alert.policy is None else "no tier reaches anybody"
    return Step(-1, 0, (), (), (), None, reason)


MIN_INTERVAL_S = 5.0
"""No tier re-pages faster than this, whatever the configuration says."""


def _interval(tier: Tier) -> float:
    return max(MIN_INTERVAL_S, tier.escalate_after_s)
