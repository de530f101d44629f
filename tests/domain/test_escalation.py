from datetime import UTC, datetime, timedelta

from duress.domain.alert import fold
from duress.domain.escalation import first_step, next_step
from duress.domain.events import AlertNotified, AlertRaised
from duress.domain.people import Contact
from duress.domain.recipients import Recipient
from duress.domain.routing import Policy, Target, TargetKind, Tier, policy_to_json

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
PAGER = (Contact("wctp", "1"),)


def team(name: str) -> Target:
    return Target(TargetKind.TEAM, name)


POLICY = Policy(
    "p",
    "P",
    tiers=(
        Tier((team("empty"),), 30.0),
        Tier((team("nurses"),), 30.0, repeat=1),
        Tier((team("security"),), 60.0),
    ),
)
PEOPLE = {
    "empty": [],
    "nurses": [Recipient("n-2", "Ben", PAGER, "team nurses")],
    "security": [
        Recipient("s-1", "Cal", PAGER, "team security"),
        Recipient("s-9", "No Pager", (), "team security"),
    ],
}


def resolve(tier: Tier) -> list[Recipient]:
    return PEOPLE[str(tier.targets[0].ref)]


def alert_after(*steps: tuple[int, int]):
    events = [
        AlertRaised(
            ts=T0,
            alert="a",
            kind="assist",
            priority=2,
            mode="real",
            badge="b",
            press_seq=1,
            staff=None,
            staff_name=None,
            role=None,
            unit=None,
            location={},
            policy=policy_to_json(POLICY),
            notify_at=T0,
            received_at=T0,
        )
    ]
    events += [AlertNotified(ts=T0, alert="a", tier=t, round=r, recipients=()) for t, r in steps]
    return fold(events)


def test_an_empty_first_tier_is_skipped_at_once() -> None:
    step = first_step(alert_after(), resolve, T0)
    assert (step.tier, step.round, step.skipped) == (1, 0, (0,))
    assert [r.id for r in step.recipients] == ["n-2"]
    assert step.next_at == T0 + timedelta(seconds=30)


def test_repeat_then_escalate_then_keep_paging_the_last_tier() -> None:
    repeat = next_step(alert_after((1, 0)), resolve, T0)
    assert (repeat.tier, repeat.round, repeat.reason) == (1, 1, "repeat")
    escalated = next_step(alert_after((1, 0), (1, 1)), resolve, T0)
    assert (escalated.tier, escalated.reason) == (2, "escalated")
    assert [r.id for r in escalated.recipients] == ["s-1"]
    assert [r.id for r in escalated.unreachable] == ["s-9"]
    again = next_step(alert_after((1, 0), (1, 1), (2, 0)), resolve, T0)
    assert (again.tier, again.round, again.reason) == (2, 1, "final tier repeated")
    assert again.next_at == T0 + timedelta(seconds=60)


def test_nobody_anywhere_is_said_plainly() -> None:
    step = first_step(alert_after(), lambda tier: [], T0)
    assert step.delivered_to_nobody
    assert step.next_at is None
    assert step.skipped == (0, 1, 2)
