from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from duress.domain.alert import (
    TRANSITIONS,
    Action,
    Alert,
    AlertState,
    apply,
    fold,
    mermaid,
    next_state,
)
from duress.domain.errors import IllegalTransition
from duress.domain.events import (
    AlertAccepted,
    AlertCancelled,
    AlertDeclined,
    AlertJoined,
    AlertNotified,
    AlertOnScene,
    AlertRaised,
    AlertRelocated,
    AlertResolved,
    Event,
)

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


def raised(alert: str = "a-1") -> AlertRaised:
    return AlertRaised(
        ts=T0,
        alert=alert,
        kind="assist",
        priority=2,
        mode="real",
        badge="b-1",
        press_seq=1,
        staff="n-1",
        staff_name="Ana Reyes",
        role="rn",
        unit="icu",
        location={"area": "icu-1", "room": "icu-1", "precision": "room"},
        policy=None,
        notify_at=T0,
        received_at=T0,
    )


def test_the_lifecycle_runs_from_raised_to_resolved() -> None:
    alert = fold(
        [
            raised(),
            AlertNotified(ts=T0, alert="a-1", tier=0, round=0, recipients=({"id": "n-2"},)),
            AlertAccepted(ts=T0 + timedelta(seconds=9), alert="a-1", by="n-2"),
            AlertOnScene(ts=T0 + timedelta(seconds=70), alert="a-1", by="n-2"),
            AlertResolved(
                ts=T0 + timedelta(seconds=300), alert="a-1", by="n-2", code="false_alarm"
            ),
        ]
    )
    assert alert is not None
    assert alert.state is AlertState.RESOLVED
    assert alert.accepted_at == T0 + timedelta(seconds=9)
    assert alert.on_scene_at == T0 + timedelta(seconds=70)
    assert (alert.resolution, alert.closed_by) == ("false_alarm", "n-2")
    assert not alert.is_open


def test_an_illegal_action_names_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition, match=r"allowed: .*resolve"):
        next_state(AlertState.ON_SCENE, Action.CANCEL)
    with pytest.raises(IllegalTransition, match="closed"):
        next_state(AlertState.RESOLVED, Action.ACCEPT)


def test_closed_states_allow_nothing_and_every_open_state_can_be_resolved() -> None:
    for state, actions in TRANSITIONS.items():
        if state.is_open:
            assert actions[Action.RESOLVE] is AlertState.RESOLVED
        else:
            assert actions == {}


def test_events_before_the_raise_describe_no_alert() -> None:
    assert fold([AlertAccepted(ts=T0, alert="a-1", by="x")]) is None


def test_a_join_adds_a_party_once_and_may_upgrade() -> None:
    alert = fold(
        [
            raised(),
            AlertJoined(
                ts=T0,
                alert="a-1",
                badge="b-2",
                press_seq=1,
                staff=None,
                kind="security",
                priority=1,
            ),
            AlertJoined(
                ts=T0,
                alert="a-1",
                badge="b-2",
                press_seq=2,
                staff=None,
                kind="security",
                priority=1,
            ),
        ]
    )
    assert alert is not None
    assert alert.parties == ("b-1", "b-2")
    assert (alert.kind, alert.priority) == ("security", 1)


def test_the_diagram_is_generated_from_the_table() -> None:
    text = mermaid()
    assert text.startswith("stateDiagram-v2")
    assert "notified --> accepted: accept" in text
    assert "on_scene --> cancelled" not in text


ACTION_EVENTS = {
    Action.NOTIFY: lambda ts: AlertNotified(ts=ts, alert="a-1", tier=0, round=0, recipients=()),
    Action.ACCEPT: lambda ts: AlertAccepted(ts=ts, alert="a-1", by="r"),
    Action.DECLINE: lambda ts: AlertDeclined(ts=ts, alert="a-1", by="r"),
    Action.ARRIVE: lambda ts: AlertOnScene(ts=ts, alert="a-1", by="r"),
    Action.RESOLVE: lambda ts: AlertResolved(ts=ts, alert="a-1", by="r", code="drill"),
    Action.CANCEL: lambda ts: AlertCancelled(ts=ts, alert="a-1", by="r", reason="x", notified=True),
    Action.RELOCATE: lambda ts: AlertRelocated(ts=ts, alert="a-1", location={"area": "icu-2"}),
}


class Lifecycle(RuleBasedStateMachine):
    """Any sequence of actions: the table is obeyed, illegal ones change nothing, the alert is
    never lost (every event after the raise still describes it)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = [raised()]
        self.alert: Alert | None = fold(self.events)
        self.now = T0

    @rule(action=st.sampled_from(sorted(ACTION_EVENTS)))
    def act(self, action: Action) -> None:
        assert self.alert is not None
        self.now += timedelta(seconds=1)
        before = self.alert
        try:
            expected = next_state(before.state, action)
        except IllegalTransition:
            assert action not in TRANSITIONS[before.state]
            assert self.alert == before
            return
        event = ACTION_EVENTS[action](self.now)
        self.events.append(event)
        self.alert = apply(before, event)
        assert self.alert is not None
        assert self.alert.state is expected

    @precondition(lambda self: self.alert is not None and not self.alert.is_open)
    @rule()
    def closed_stays_closed(self) -> None:
        assert self.alert is not None
        assert self.alert.next_at is None
        assert self.alert.closed_at is not None

    @invariant()
    def replaying_the_events_gives_the_same_alert(self) -> None:
        assert fold(self.events) == self.alert


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)
