"""Walls: room-level polygon edges, each counted once, crossed by a straight line."""

from __future__ import annotations

from tests.sim.site_fixtures import two_floor_site

from duress.domain.walls import Walls

SITE = two_floor_site()


def test_walls_are_counted_once() -> None:
    walls = Walls(SITE)
    assert walls.count("f1", (3, 7), (3, 11.5)) == 1  # r1 -> corridor: r1's north wall
    assert walls.count("f1", (3, 7), (9, 7)) == 1  # r1 -> r2: one shared wall, counted once
    # x = 6, 12 and 18; the bay curtain at x = 15 is no wall
    assert walls.count("f1", (3, 7), (21, 7)) == 3
    assert walls.count("f1", (5, 11.5), (25, 11.5)) == 0  # along the corridor


def test_other_floors_and_unknown_floors_have_their_own_walls() -> None:
    walls = Walls(SITE)
    assert walls.count("f2", (3, 7), (3, 11.5)) == 1  # r21's north wall on floor f2
    assert walls.count("f2", (30, 7), (30, 11.5)) == 0  # no room there on f2
    assert walls.count("nowhere", (3, 7), (3, 11.5)) == 0
