"""A batch of sightings through the engine and what it reports to the server."""

from __future__ import annotations

from dataclasses import replace

from tests.sim.site_fixtures import at, ble, corridor_scan, ir, two_floor_site

from duress.domain.location import LocationEngine
from duress.domain.location_params import LocationParams
from duress.domain.observations import Sighting
from duress.service.sighting_work import SightingWork, rows_of


def batch(*sightings: Sighting) -> list[tuple[int, float, str, str, str, float | None, str | None]]:
    return rows_of(enumerate(sightings))


def test_a_first_fix_reports_the_move_the_place_and_who_heard_whom() -> None:
    work = SightingWork(two_floor_site())
    report = work.take(batch(ir("b1", "ir-r1", 0), ir("b1", "ir-r1", 0.5)), at(0.5))
    assert report.located == 2
    assert report.rejected == []
    [moved] = report.moved
    assert (moved.badge, moved.area) == ("b1", "r1")
    assert report.heard == {"ir-r1": at(0.5).timestamp()}
    assert report.seen == {"b1": (at(0.5).timestamp(), None)}
    assert report.places["b1"].room == "r1"


def test_the_engine_sees_what_it_would_see_in_the_server() -> None:
    site = two_floor_site()
    work = SightingWork(site)
    engine = LocationEngine(site)
    sightings = [ir("b1", "ir-r1", t) for t in range(3)] + [
        ble("b2", "ble-f1-2", t, -60.0) for t in range(6)
    ]
    for s in sightings:
        engine.observe(s, s.ts)
        work.take(batch(s), s.ts)
    for badge in ("b1", "b2"):
        assert work.engine.locate(badge, at(6)) == engine.locate(badge, at(6))


def test_unknown_badges_and_devices_are_rejected_with_the_fix_and_the_rest_taken() -> None:
    work = SightingWork(two_floor_site())
    report = work.take(
        batch(ir("nobody", "ir-r1", 0), ir("b1", "ir-r1", 0), ir("b1", "no-such-device", 0)),
        at(0),
    )
    assert report.located == 1
    assert [(i, reason) for i, reason, _ in report.rejected] == [
        (0, "unknown_badge"),
        (2, "unknown_device"),
    ]
    assert "people.badges" in report.rejected[0][2]
    assert "under devices" in report.rejected[1][2]


def test_last_heard_seen_and_places_are_reported_at_most_once_a_refresh() -> None:
    work = SightingWork(two_floor_site(), refresh_s=1.0)
    work.take(batch(ir("b1", "ir-r1", 0)), at(0))
    quiet = work.take(batch(ir("b1", "ir-r1", 0.4)), at(0.4))
    assert (quiet.heard, quiet.seen, quiet.places) == ({}, {}, {})
    due = work.take(batch(ir("b1", "ir-r1", 1.1)), at(1.1))
    assert due.heard == {"ir-r1": at(1.1).timestamp()}
    assert due.seen == {"b1": (at(1.1).timestamp(), None)}
    assert due.places["b1"].as_of == at(1.1).timestamp()


def test_a_new_gateway_is_reported_at_once() -> None:
    work = SightingWork(two_floor_site(), refresh_s=60.0)
    s = ir("b1", "ir-r1", 0)
    work.take(rows_of([(0, Sighting(s.ts, s.badge, s.device, s.kind, None, "gw-a"))]), at(0))
    s = ir("b1", "ir-r1", 0.2)
    report = work.take(
        rows_of([(0, Sighting(s.ts, s.badge, s.device, s.kind, None, "gw-b"))]), at(0.2)
    )
    assert report.seen == {"b1": (at(0.2).timestamp(), "gw-b")}


def test_a_batch_of_other_badges_judges_a_scan_that_became_due() -> None:
    # b1 walks east along the corridor, one scan a second arriving 0.2 s after it was measured;
    # b2's IR sightings arrive between b1's scans: their batches advance the engine's clock, and
    # b1's move into c2 is reported with one of them, before b1's next scan arrives
    work = SightingWork(two_floor_site())
    moved_with_b2: list[str] = []
    for second in range(70):
        x = 12.0 if second < 20 else min(48.0, 12.0 + 1.25 * (second - 20))
        work.take(batch(*corridor_scan("b1", second, x)), at(second + 0.2))
        report = work.take(batch(ir("b2", "ir-r1", second + 0.6)), at(second + 0.7))
        moved_with_b2 += [m.area for m in report.moved if m.badge == "b1"]
        if "c2" in moved_with_b2:
            assert report.places["b1"].zone == "c2"
            break
    assert moved_with_b2 == ["c2"]


def test_the_sites_location_settings_reach_the_engine() -> None:
    site = replace(two_floor_site(), location={"ir_one_hit_m": 0.0, "unknown_after_s": 300.0})
    work = SightingWork(site, LocationParams())
    assert work.engine.params.ir_one_hit_m == 0.0
    assert work.engine.params.unknown_after_s == 300.0
