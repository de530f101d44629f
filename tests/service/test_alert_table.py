from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from duress.domain.alert import Alert, AlertState
from duress.service.alert_table import AlertTable

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


def alert(
    alert_id: str, state: AlertState = AlertState.RAISED, closed_min: int | None = None
) -> Alert:
    return Alert(
        id=alert_id,
        kind="assist",
        priority=2,
        mode="real",
        badge=f"b-{alert_id}",
        press_seq=1,
        staff=None,
        staff_name=None,
        role=None,
        unit="icu",
        location={},
        policy=None,
        raised_at=T0,
        received_at=T0,
        notify_at=T0,
        state=state,
        closed_at=None if closed_min is None else T0 + timedelta(minutes=closed_min),
    )


def test_open_and_closed_alerts_are_kept_apart() -> None:
    table = AlertTable()
    table["a"] = alert("a")
    table["b"] = alert("b", AlertState.RESOLVED, closed_min=5)
    assert [a.id for a in table.get_open()] == ["a"]
    assert set(table) == {"a", "b"}
    assert len(table) == 2
    assert "b" in table
    assert list(table.working_copy()) == ["a"]


def test_an_alert_that_closes_leaves_the_open_index() -> None:
    table = AlertTable()
    table["a"] = alert("a")
    table["a"] = replace(table["a"], state=AlertState.CANCELLED, closed_at=T0)
    assert table.get_open() == []
    assert table["a"].state is AlertState.CANCELLED


def test_the_working_copy_is_a_copy() -> None:
    table = AlertTable()
    table["a"] = alert("a")
    copy = table.working_copy()
    copy["z"] = alert("z")
    assert "z" not in table


def test_closed_before_lists_the_oldest_closed_first_and_stops_at_the_cutoff() -> None:
    table = AlertTable()
    table["open"] = alert("open")
    for minute in (1, 2, 30, 90):
        table[f"c{minute}"] = alert(f"c{minute}", AlertState.RESOLVED, closed_min=minute)
    assert table.closed_before(T0 + timedelta(minutes=10)) == ["c1", "c2"]
    del table["c1"]
    assert table.closed_before(T0 + timedelta(minutes=10)) == ["c2"]
    assert "c1" not in table


def test_deleting_an_open_alert_removes_it_everywhere() -> None:
    table = AlertTable()
    table["a"] = alert("a")
    del table["a"]
    assert table.get_open() == []
    assert len(table) == 0
