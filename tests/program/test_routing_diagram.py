from datetime import time

from tests.sites import routed_site

from duress.domain.routing import HOLIDAY, Window
from duress.program.routing_diagram import branches, schedule_text, to_dot, to_mermaid


def test_schedules_read_as_people_write_them() -> None:
    assert schedule_text([]) == "always"
    assert (
        schedule_text([Window(frozenset(range(1, 6)), time(7), time(19))]) == "Mon–Fri 07:00–19:00"
    )
    assert (
        schedule_text([Window(frozenset({6, 7, HOLIDAY}), time(0), time(0))]) == "Sat–Sun, holidays"
    )
    assert (
        schedule_text([Window(frozenset(range(1, 9)), time(19), time(7))])
        == "every day 19:00–07:00"
    )


def test_each_unit_shows_its_policies_and_tiers_in_order() -> None:
    site = routed_site()
    assert [b.policy.id for b in branches(site, "icu")] == ["icu"]
    dot = to_dot(site, "icu")
    assert "digraph routing" in dot
    assert "1. the unit's charge nurse + 1 nearest responder within 50 m" in dot
    assert 'label="no accept in 30 s"' in dot
    assert "3. team supervisors (paged 2×)" in dot
    mermaid = to_mermaid(site)
    assert mermaid.startswith("flowchart LR")
    assert 'subgraph ed["ED"]' in mermaid
